import Testing
import KeywayEngine

/// The errors Redis gives before a command runs: unknown command and wrong
/// number of arguments (server.c commandCheckExistence / commandCheckArity).
/// WRONGTYPE is covered with the types that can trigger it.
@Suite struct ArityAndErrorsTests {
    let engine: Engine
    let clock: ManualClock

    init() { (engine, clock) = makeEngine() }

    // MARK: - Unknown commands

    @Test func unknownCommandText() {
        let reply = engine.run("foo", "a")
        #expect(reply.errorMessage == "ERR unknown command 'foo', with args beginning with: 'a' ")
        if case .error(let error) = reply { #expect(error.code == .unknownCommand) }
        #expect(engine.run("foo").errorMessage == "ERR unknown command 'foo', with args beginning with: ")
        #expect(engine.run("FoO", "a", "b c", "").errorMessage
            == "ERR unknown command 'FoO', with args beginning with: 'a' 'b c' '' ")
    }

    @Test func unknownCommandShowsAbout128BytesOfArguments() {
        // One long argument is cut at 128 bytes.
        let long = Bytes(String(repeating: "x", count: 200))
        #expect(engine.run("foo", long, "next").errorMessage
            == "ERR unknown command 'foo', with args beginning with: '\(String(repeating: "x", count: 128))' ")
        // Later arguments get what is left of the 128-byte budget.
        let hundred = Bytes(String(repeating: "a", count: 100))
        #expect(engine.run("foo", hundred, hundred, "third").errorMessage
            == "ERR unknown command 'foo', with args beginning with: '\(String(repeating: "a", count: 100))' '\(String(repeating: "a", count: 25))' ")
        // Many short arguments: listed until the list reaches 128 bytes (32 of "'a' ").
        let many = [Bytes](repeating: "a", count: 40)
        #expect(engine.run(["foo"] + many).errorMessage
            == "ERR unknown command 'foo', with args beginning with: " + String(repeating: "'a' ", count: 32))
        // The name itself is cut at 128 bytes.
        let name = Bytes(String(repeating: "n", count: 300))
        #expect(engine.run(name).errorMessage
            == "ERR unknown command '\(String(repeating: "n", count: 128))', with args beginning with: ")
    }

    @Test func unknownCommandTextStaysOnOneLine() {
        #expect(engine.run("foo\r\nbar", "a\nb").errorMessage
            == "ERR unknown command 'foo  bar', with args beginning with: 'a b' ")
    }

    @Test func commandNamesAreCaseInsensitive() {
        engine.run("set", "k", "v")
        #expect(engine.run("GeT", "k") == .bulk("v"))
        #expect(engine.run("gEt").errorMessage == RedisError.arity("get"))
    }

    // MARK: - Arity

    /// Redis 7's arity for every command this engine serves so far
    /// (`COMMAND INFO`): positive = exact argc, negative = at least.
    static let redisArity: [(String, Int)] = [
        ("get", 2), ("set", -3), ("getset", 3), ("getdel", 2), ("getex", -2),
        ("setnx", 3), ("setex", 4), ("psetex", 4), ("mget", -2), ("mset", -3), ("msetnx", -3),
        ("incr", 2), ("decr", 2), ("incrby", 3), ("decrby", 3), ("incrbyfloat", 3),
        ("append", 3), ("strlen", 2), ("getrange", 4), ("substr", 4), ("setrange", 4),
        ("del", -2), ("unlink", -2), ("exists", -2), ("touch", -2), ("type", 2),
        ("rename", 3), ("renamenx", 3), ("copy", -3), ("keys", 2), ("scan", -2),
        ("randomkey", 1), ("dbsize", 1), ("flushdb", -1), ("flushall", -1),
        ("expire", -3), ("pexpire", -3), ("expireat", -3), ("pexpireat", -3),
        ("ttl", 2), ("pttl", 2), ("expiretime", 2), ("pexpiretime", 2), ("persist", 2),
        ("ping", -1), ("echo", 2), ("time", 1), ("info", -1), ("select", 2),
    ]

    @Test(arguments: redisArity)
    func declaredArityMatchesRedis(_ name: String, _ arity: Int) {
        #expect(CommandTable.standard.lookup(Bytes(name))?.arity == arity)
    }

    @Test(arguments: redisArity)
    func wrongArgumentCountsAreRefused(_ name: String, _ arity: Int) {
        let expected = RedisError.arity(name)
        let tooFew = (arity > 0 ? arity : -arity) - 1
        if tooFew >= 1 {
            let argv = [Bytes(name.uppercased())] + [Bytes](repeating: "x", count: tooFew - 1)
            let reply = engine.run(argv)
            #expect(reply.errorMessage == expected, "\(name) with \(tooFew) argv")
            if case .error(let error) = reply { #expect(error.code == .wrongArity) }
        }
        if arity > 0 {
            let argv = [Bytes(name)] + [Bytes](repeating: "x", count: arity)
            #expect(engine.run(argv).errorMessage == expected, "\(name) with \(arity + 1) argv")
        }
    }

    @Test func arityErrorsDoNotRunTheCommand() {
        let sequence = engine.writeSequence
        #expect(engine.run("SET", "k").errorMessage == RedisError.arity("set"))
        #expect(engine.run("INCR", "k", "extra").errorMessage == RedisError.arity("incr"))
        #expect(engine.run("EXISTS", "k") == .integer(0))
        #expect(engine.writeSequence == sequence)
    }

    @Test func handlersCheckArityThatDependsOnArguments() {
        // MSET needs pairs and PING at most one message: Redis checks these in the command.
        #expect(engine.run("MSET", "a", "1", "b").errorMessage == RedisError.arity("mset"))
        #expect(engine.run("PING", "a", "b").errorMessage == RedisError.arity("ping"))
    }
}
