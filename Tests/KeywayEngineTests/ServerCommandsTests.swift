import Testing
import KeywayEngine

/// PING, ECHO, TIME, INFO, SELECT.
@Suite struct ServerCommandsTests {
    let engine: Engine
    let clock: ManualClock

    init() { (engine, clock) = makeEngine(milliseconds: startMilliseconds + 123) }

    @Test func ping() {
        #expect(engine.run("PING") == .status("PONG"))
        #expect(engine.run("ping", "hello") == .bulk("hello"))
        #expect(engine.run("PING", Bytes([0, 255])) == .bulk(Bytes([0, 255])))
        #expect(engine.run("PING", "a", "b").errorMessage == RedisError.arity("ping"))
    }

    @Test func echo() {
        #expect(engine.run("ECHO", "hello world") == .bulk("hello world"))
        #expect(engine.run("ECHO", "") == .bulk(""))
        #expect(engine.run("ECHO", Bytes([0, 13, 10, 255])) == .bulk(Bytes([0, 13, 10, 255])))
        #expect(engine.run("ECHO").errorMessage == RedisError.arity("echo"))
        #expect(engine.run("ECHO", "a", "b").errorMessage == RedisError.arity("echo"))
    }

    @Test func timeFollowsTheClock() {
        #expect(engine.run("TIME") == .array([.bulk(Bytes(String(startSeconds))), .bulk("123000")]))
        clock.advance(milliseconds: 1877)
        #expect(engine.run("TIME") == .array([.bulk(Bytes(String(startSeconds + 2))), .bulk("0")]))
        #expect(engine.run("TIME", "now").errorMessage == RedisError.arity("time"))
    }

    // MARK: - INFO

    private func infoText(_ sections: Bytes...) -> String {
        engine.run(["INFO"] + sections).bytesValue?.text ?? "<not a bulk reply>"
    }

    @Test func infoDefaultHasTheMainSections() {
        let text = infoText()
        for header in ["# Server\r\n", "# Stats\r\n", "# Keyspace\r\n"] {
            #expect(text.contains(header), "missing \(header)")
        }
        let fields = engine.infoFields()
        #expect(fields["redis_version"]?.hasPrefix("7.") == true)
        #expect(fields["redis_mode"] == "standalone")
        #expect(fields["process_id"].flatMap { Int($0) } != nil)
        func headers(_ text: String) -> [Substring] { text.split(separator: "\r\n").filter { $0.hasPrefix("#") } }
        #expect(headers(infoText("default")) == headers(text))
        #expect(infoText("all").contains("# Server\r\n"))
        #expect(infoText("everything").contains("# Keyspace\r\n"))
    }

    @Test func infoFormat() {
        let text = infoText("server", "stats")
        #expect(text.hasPrefix("# Server\r\n"))
        #expect(text.contains("\r\n\r\n# Stats\r\n"))
        #expect(text.hasSuffix("\r\n"))
        #expect(!text.contains("# Keyspace"))
        // Every line in a section is a field:value pair.
        for line in text.split(separator: "\r\n") where !line.hasPrefix("#") {
            #expect(line.contains(":"), "bad line \(line)")
        }
    }

    @Test func infoSectionNamesAreCaseInsensitive() {
        let text = infoText("STATS")
        #expect(text.hasPrefix("# Stats\r\n"))
        #expect(!text.contains("# Server"))
    }

    @Test func infoUnknownSectionIsEmpty() {
        #expect(engine.run("INFO", "nosuchsection") == .bulk(""))
    }

    @Test func infoUptimeUsesTheEngineClock() {
        #expect(engine.infoFields("server")["uptime_in_seconds"] == "0")
        clock.advance(milliseconds: 5_000)
        #expect(engine.infoFields("server")["uptime_in_seconds"] == "5")
        clock.advance(milliseconds: 2 * 86_400_000)
        #expect(engine.infoFields("server")["uptime_in_days"] == "2")
    }

    @Test func infoKeyspace() {
        #expect(infoText("keyspace") == "# Keyspace\r\n")
        engine.run("SET", "a", "1")
        engine.run("SET", "b", "2", "EX", "100")
        #expect(engine.infoFields("keyspace")["db0"]?.hasPrefix("keys=2,expires=1,avg_ttl=") == true)
    }

    @Test func infoCountsHitsAndMisses() {
        engine.run("SET", "k", "v")
        engine.run("GET", "k")
        engine.run("GET", "k")
        engine.run("GET", "missing")
        engine.run("MGET", "k", "missing", "missing2")
        let stats = engine.infoFields("stats")
        #expect(stats["keyspace_hits"] == "3")
        #expect(stats["keyspace_misses"] == "3")
    }

    /// Redis counts hits and misses on read lookups only (`lookupKeyRead*`);
    /// commands that look a key up to write it (`lookupKeyWrite`) count nothing.
    @Test(arguments: [
        (["GET", "k"], 1, 0), (["GET", "missing"], 0, 1), (["STRLEN", "k"], 1, 0),
        (["GETRANGE", "k", "0", "1"], 1, 0), (["GETSET", "k", "v"], 1, 0), (["GETDEL", "missing"], 0, 1),
        (["GETEX", "k"], 1, 0), (["SET", "k", "v", "GET"], 1, 0), (["MGET", "k", "missing"], 1, 1),
        (["EXISTS", "k", "missing", "k"], 2, 1), (["TOUCH", "k"], 1, 0), (["TYPE", "missing"], 0, 1),
        (["TYPE", "k"], 1, 0), (["TTL", "k"], 1, 0), (["PTTL", "missing"], 0, 1),
        (["COPY", "k", "k2"], 1, 0), (["COPY", "missing", "k2"], 0, 1),
        (["SET", "k", "v"], 0, 0), (["SET", "k", "v", "NX"], 0, 0), (["SETNX", "missing", "v"], 0, 0),
        (["INCR", "n"], 0, 0), (["INCR", "missing"], 0, 0), (["DECRBY", "n", "2"], 0, 0),
        (["INCRBYFLOAT", "n", "1.5"], 0, 0), (["SETRANGE", "k", "0", "x"], 0, 0),
        (["SETRANGE", "missing", "0", "x"], 0, 0), (["APPEND", "k", "x"], 0, 0), (["DEL", "k", "missing"], 0, 0),
        (["EXPIRE", "k", "10"], 0, 0), (["PERSIST", "k"], 0, 0), (["RENAME", "k", "k3"], 0, 0),
        (["MSETNX", "k", "v"], 0, 0), (["DBSIZE"], 0, 0), (["KEYS", "*"], 0, 0), (["SCAN", "0"], 0, 0),
    ])
    func hitsAndMissesCountReadLookupsOnly(_ command: [String], _ hits: Int, _ misses: Int) {
        engine.run("SET", "k", "v")
        engine.run("SET", "n", "10")
        let before = engine.infoFields("stats")
        let reply = engine.run(command.map { Bytes($0) })
        #expect(!reply.isError, "\(command): \(reply)")
        let after = engine.infoFields("stats")
        func delta(_ field: String) -> Int? {
            guard let a = after[field].flatMap({ Int($0) }), let b = before[field].flatMap({ Int($0) }) else { return nil }
            return a - b
        }
        #expect(delta("keyspace_hits") == hits, "\(command)")
        #expect(delta("keyspace_misses") == misses, "\(command)")
    }

    @Test func infoCountsCommandsAndErrors() {
        engine.run("PING")
        engine.run("SET", "k", "v")
        // INFO does not count itself: Redis counts a command once it has run.
        #expect(engine.infoFields("stats")["total_commands_processed"] == "2")
        // It has run now, so the next INFO counts it.
        #expect(engine.infoFields("stats")["total_commands_processed"] == "3")

        engine.run("NOSUCHCOMMAND")
        engine.run("GET")
        engine.run("INCR", "k")
        let stats = engine.infoFields("stats")
        // Every error reply counts, refused commands included...
        #expect(stats["total_error_replies"] == "3")
        // ...but only commands that ran count as processed.
        #expect(stats["total_commands_processed"] == "5")
    }

    // MARK: - SELECT

    @Test func selectOnlyTheFirstDatabase() {
        #expect(engine.run("SELECT", "0") == .ok)
        #expect(engine.run("SELECT", "1").errorMessage == "ERR DB index is out of range")
        #expect(engine.run("SELECT", "-1").errorMessage == "ERR DB index is out of range")
        #expect(engine.run("SELECT", "one").errorMessage == RedisError.notInteger)
        #expect(engine.run("SELECT").errorMessage == RedisError.arity("select"))
    }
}

/// COMMAND introspection, which some client libraries call on connect.
@Suite struct CommandIntrospectionTests {
    @Test func countListAndInfo() {
        let (engine, _) = makeEngine()
        guard case .array(let names) = engine.run("COMMAND", "LIST") else {
            Issue.record("COMMAND LIST should answer an array")
            return
        }
        #expect(engine.run("COMMAND", "COUNT").integerValue == Int64(names.count))
        #expect(names.contains(.bulk("blpop")))
        #expect(engine.run("COMMAND", "INFO", "get", "nope") == .array([
            .array([.bulk("get"), .integer(2), .array([.status("readonly"), .status("fast")]), .integer(1), .integer(1), .integer(1),
                    .array([.status("@read"), .status("@string"), .status("@fast")])]),
            .null,
        ]))
        #expect(engine.run("COMMAND", "FOO").errorMessage?.hasPrefix("ERR unknown subcommand") == true)
    }
}
