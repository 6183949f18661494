import Foundation
import KeywayEngine
import Testing

/// ACL users: Redis's rule language, the checks every command passes
/// (pipelines, transactions and scripts included), the log, tokens and
/// the aclfile.
@Suite struct AccessControlTests {
    /// A command run as `user`.
    func run(_ engine: Engine, as user: String, _ words: Bytes...) -> Reply {
        var command = Command(words)
        command.user = engine.accessControl!.user(named: user)
        command.client = "127.0.0.1:5000"
        return engine.execute(command)
    }

    func setUser(_ engine: Engine, _ words: String...) {
        #expect(engine.run((["ACL", "SETUSER"] + words).map { Bytes($0) }) == .ok)
    }

    @Test func aNewUserIsOffAndMayRunNothing() {
        let (engine, _) = makeEngine()
        setUser(engine, "alice")
        #expect(run(engine, as: "alice", "GET", "k").errorMessage == "NOPERM User alice has no permissions to run the 'get' command")
        let line = engine.run("ACL", "LIST").arrayValue?.compactMap { $0.bytesValue?.text }
        #expect(line == ["user alice off resetchannels -@all", "user default on nopass ~* resetchannels &* +@all"])
    }

    @Test func categoriesAndCommandsAllowAndRefuse() {
        let (engine, _) = makeEngine()
        setUser(engine, "reader", "on", "nopass", "~*", "+@read", "-@dangerous", "-keys", "-scan")
        engine.run("SET", "k", "v")
        #expect(run(engine, as: "reader", "GET", "k") == .bulk("v"))
        #expect(run(engine, as: "reader", "HGETALL", "h").isError == false)
        #expect(run(engine, as: "reader", "SET", "k", "w").errorMessage == "NOPERM User reader has no permissions to run the 'set' command")
        #expect(run(engine, as: "reader", "KEYS", "*").errorMessage?.hasPrefix("NOPERM") == true)
        #expect(run(engine, as: "reader", "SCAN", "0").errorMessage?.hasPrefix("NOPERM") == true)
        #expect(run(engine, as: "reader", "FLUSHALL").errorMessage?.hasPrefix("NOPERM") == true)
        #expect(run(engine, as: "reader", "CONFIG", "GET", "dir").errorMessage?.hasPrefix("NOPERM") == true)
        #expect(engine.run("GET", "k") == .bulk("v"))
    }

    @Test func subcommandRules() {
        let (engine, _) = makeEngine()
        setUser(engine, "ops", "on", "nopass", "+config|get", "+client", "-client|kill")
        #expect(run(engine, as: "ops", "CONFIG", "GET", "maxmemory").isError == false)
        #expect(run(engine, as: "ops", "CONFIG", "SET", "maxmemory", "0").errorMessage
            == "NOPERM User ops has no permissions to run the 'config|set' command")
        #expect(run(engine, as: "ops", "CLIENT", "ID").errorMessage?.hasPrefix("NOPERM") != true)
        #expect(run(engine, as: "ops", "CLIENT", "KILL", "ID", "1").errorMessage
            == "NOPERM User ops has no permissions to run the 'client|kill' command")
    }

    @Test func keyPatternsWithReadAndWriteFlags() {
        let (engine, _) = makeEngine()
        setUser(engine, "app", "on", "nopass", "+@all", "~app:*", "%R~shared:*", "%W~log:*")
        engine.run("SET", "shared:x", "1")
        #expect(run(engine, as: "app", "SET", "app:1", "v") == .ok)
        #expect(run(engine, as: "app", "GET", "app:1") == .bulk("v"))
        #expect(run(engine, as: "app", "GET", "other").errorMessage == "NOPERM No permissions to access a key")
        #expect(run(engine, as: "app", "GET", "shared:x") == .bulk("1"))
        #expect(run(engine, as: "app", "SET", "shared:x", "2").errorMessage == "NOPERM No permissions to access a key")
        #expect(run(engine, as: "app", "RPUSH", "log:1", "a") == .integer(1))
        #expect(run(engine, as: "app", "LRANGE", "log:1", "0", "-1").errorMessage == "NOPERM No permissions to access a key")
        // Every key of a multi-key command is checked, numkeys forms too.
        #expect(run(engine, as: "app", "MSET", "app:a", "1", "x", "2").errorMessage == "NOPERM No permissions to access a key")
        #expect(engine.run("EXISTS", "app:a") == .integer(0))
        #expect(run(engine, as: "app", "ZUNION", "2", "app:z", "secret").errorMessage == "NOPERM No permissions to access a key")
        #expect(run(engine, as: "app", "ZUNIONSTORE", "app:d", "1", "secret").errorMessage == "NOPERM No permissions to access a key")
        #expect(run(engine, as: "app", "XREAD", "STREAMS", "app:s", "secret", "0", "0").errorMessage == "NOPERM No permissions to access a key")
        #expect(run(engine, as: "app", "LMPOP", "2", "app:l", "secret", "LEFT").errorMessage == "NOPERM No permissions to access a key")
        #expect(run(engine, as: "app", "EVAL", "return 1", "1", "secret").errorMessage == "NOPERM No permissions to access a key")
        // A numkeys near Int.max is checked over the arguments there are,
        // and the command refuses the count itself: no overflow, no trap.
        #expect(run(engine, as: "app", "EVAL", "return 1", "9223372036854775807", "app:1").isError)
        #expect(run(engine, as: "app", "ZUNION", "9223372036854775807", "secret").errorMessage == "NOPERM No permissions to access a key")
        #expect(run(engine, as: "app", "PING") == .status("PONG"))
    }

    @Test func channelsForPublish() {
        let (engine, _) = makeEngine()
        setUser(engine, "pub", "on", "nopass", "+publish", "&news:*")
        #expect(run(engine, as: "pub", "PUBLISH", "news:1", "hi") == .integer(0))
        #expect(run(engine, as: "pub", "PUBLISH", "private", "hi").errorMessage == "NOPERM No permissions to access a channel")
        let access = engine.accessControl!
        let user = access.user(named: "pub")!
        #expect(access.checkSubscription(user, channels: [Bytes("news:1")], patterns: [], client: nil, nowMilliseconds: 0)?.code == .noPermission)
        setUser(engine, "pub", "+subscribe", "+psubscribe")
        let updated = access.user(named: "pub")!
        #expect(access.checkSubscription(updated, channels: [Bytes("news:1")], patterns: [], client: nil, nowMilliseconds: 0) == nil)
        #expect(access.checkSubscription(updated, channels: [], patterns: [Bytes("news:*")], client: nil, nowMilliseconds: 0) == nil)
        // A pattern must be one of the user's literally, as in Redis.
        #expect(access.checkSubscription(updated, channels: [], patterns: [Bytes("news:1*")], client: nil, nowMilliseconds: 0)?.code == .noPermission)
        #expect(access.checkSubscription(updated, channels: [Bytes("other")], patterns: [], client: nil, nowMilliseconds: 0)?.code == .noPermission)
    }

    @Test func transactionsAndPipelinesCheckEveryCommand() {
        let (engine, _) = makeEngine()
        setUser(engine, "w", "on", "nopass", "+@all", "~mine:*")
        let user = engine.accessControl!.user(named: "w")
        func command(_ words: String...) -> Command {
            var command = Command(words.map { Bytes($0) })
            command.user = user
            return command
        }
        let result = engine.executeTransaction([command("SET", "mine:1", "a"), command("SET", "theirs", "b")])
        #expect((try? result.get()) == nil)
        if case .failure(let error) = result { #expect(error.code == .noPermission) }
        #expect(engine.run("EXISTS", "mine:1") == .integer(0), "nothing of a refused transaction runs")
        let replies = engine.executePipeline([command("SET", "mine:2", "a"), command("GET", "theirs")])
        #expect(replies[0] == .ok)
        #expect(replies[1].errorMessage == "NOPERM No permissions to access a key")
    }

    @Test func scriptsCallAsTheirCaller() {
        let (engine, _) = makeEngine()
        setUser(engine, "s", "on", "nopass", "+@all", "~mine:*")
        engine.run("SET", "secret", "x")
        let reply = run(engine, as: "s", "EVAL", "return redis.pcall('GET', 'secret')", "0")
        #expect(reply.errorMessage?.contains("No permissions to access a key") == true)
        #expect(run(engine, as: "s", "EVAL", "return redis.call('SET', KEYS[1], 'v')", "1", "mine:1") == .ok)
        let log = engine.run("ACL", "LOG").arrayValue ?? []
        let contexts = log.compactMap { entry -> String? in
            guard case .map(let pairs) = entry, let index = pairs.firstIndex(of: .bulk("context")) else { return nil }
            return pairs[index + 1].bytesValue?.text
        }
        #expect(contexts.contains("lua"))
    }

    @Test func dryRunWhoAmIAndCat() {
        let (engine, _) = makeEngine()
        setUser(engine, "r", "on", "nopass", "+@read", "~*")
        #expect(engine.run("ACL", "DRYRUN", "r", "GET", "k") == .ok)
        #expect(engine.run("ACL", "DRYRUN", "r", "SET", "k", "v") == .bulk("User r has no permissions to run the 'set' command"))
        #expect(run(engine, as: "default", "ACL", "WHOAMI") == .bulk("default"))
        let categories = engine.run("ACL", "CAT").arrayValue?.compactMap { $0.bytesValue?.text } ?? []
        #expect(categories.contains("sortedset") && categories.contains("dangerous") && categories.contains("middleware"))
        let strings = engine.run("ACL", "CAT", "string").arrayValue?.compactMap { $0.bytesValue?.text } ?? []
        #expect(strings.contains("get") && strings.contains("incrbyfloat") && !strings.contains("hset"))
        #expect(engine.run("ACL", "CAT", "nope").errorMessage == "ERR Unknown category 'nope'")
    }

    /// Every command of the table is in its family's category and in
    /// exactly one of @fast/@slow: a new command cannot be left out.
    @Test func everyCommandHasCategories() {
        let (engine, _) = makeEngine()
        let all = engine.run("COMMAND", "LIST").arrayValue?.compactMap { $0.bytesValue?.text } ?? []
        let fast = Set(engine.run("ACL", "CAT", "fast").arrayValue?.compactMap { $0.bytesValue?.text } ?? [])
        let slow = Set(engine.run("ACL", "CAT", "slow").arrayValue?.compactMap { $0.bytesValue?.text } ?? [])
        #expect(!all.isEmpty)
        for name in all { #expect(fast.contains(name) != slow.contains(name), "\(name)") }
        let admin = Set(engine.run("ACL", "CAT", "admin").arrayValue?.compactMap { $0.bytesValue?.text } ?? [])
        let dangerous = Set(engine.run("ACL", "CAT", "dangerous").arrayValue?.compactMap { $0.bytesValue?.text } ?? [])
        #expect(admin.isSubset(of: dangerous))
        #expect(["config", "save", "shutdown", "acl", "flushall", "keys", "monitor"].allSatisfy(dangerous.contains))
        // COMMAND INFO's categories are the ones ACL CAT lists the command under.
        let categoryNames = engine.run("ACL", "CAT").arrayValue?.compactMap { $0.bytesValue?.text } ?? []
        var members: [String: Set<String>] = [:]
        for category in categoryNames {
            for name in engine.run("ACL", "CAT", Bytes(category)).arrayValue?.compactMap({ $0.bytesValue?.text }) ?? [] {
                members[name, default: []].insert("@" + category)
            }
        }
        for name in all {
            guard case .array(let infos) = engine.run("COMMAND", "INFO", Bytes(name)), case .array(let info)? = infos.first,
                  info.count == 7, case .array(let listed) = info[6] else {
                Issue.record("COMMAND INFO \(name) has no categories")
                continue
            }
            let fromInfo = Set(listed.compactMap { reply -> String? in if case .status(let text) = reply { return text } else { return nil } })
            #expect(fromInfo == members[name] ?? [], "\(name)")
        }
    }

    @Test func rulesErrorsAndGetUser() {
        let (engine, _) = makeEngine()
        #expect(engine.run("ACL", "SETUSER", "x", "+nosuchcommand").errorMessage
            == "ERR Error in ACL SETUSER modifier '+nosuchcommand': Unknown command or category name in ACL")
        #expect(engine.run("ACL", "SETUSER", "x", "#abc").errorMessage?.contains("64 characters") == true)
        #expect(engine.run("ACL", "SETUSER", "x", "bogus").errorMessage == "ERR Error in ACL SETUSER modifier 'bogus': Syntax error")
        #expect(engine.run("ACL", "GETUSER", "x") == .null, "a failed SETUSER creates nothing")
        setUser(engine, "x", "on", ">secret", "~a:*", "%R~b:*", "&ch", "+@hash", "-hdel")
        guard case .map(let pairs) = engine.run("ACL", "GETUSER", "x") else { Issue.record("no map"); return }
        var fields: [String: Reply] = [:]
        for index in stride(from: 0, to: pairs.count, by: 2) { fields[pairs[index].bytesValue!.text] = pairs[index + 1] }
        #expect(fields["flags"] == .array([.bulk("on")]))
        #expect(fields["keys"] == .bulk("~a:* %R~b:*"))
        #expect(fields["channels"] == .bulk("&ch"))
        #expect(fields["commands"] == .bulk("-@all +@hash -hdel"))
        // SHA-256("secret"), never the password.
        #expect(fields["passwords"] == .array([.bulk("2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b")]))
        #expect(engine.run("ACL", "DELUSER", "default").errorMessage == "ERR The 'default' user cannot be removed")
        #expect(engine.run("ACL", "DELUSER", "x", "nobody") == .integer(1))
    }

    @Test func passwordsAuthenticate() {
        let (engine, _) = makeEngine()
        let access = engine.accessControl!
        setUser(engine, "bob", "on", ">pw1", ">pw2", "+@all")
        #expect(access.authenticate(name: "bob", password: "pw1")?.name == "bob")
        #expect(access.authenticate(name: "bob", password: "nope") == nil)
        setUser(engine, "bob", "<pw1")
        #expect(access.authenticate(name: "bob", password: "pw1") == nil)
        #expect(access.authenticate(name: "bob", password: "pw2") != nil)
        setUser(engine, "bob", "off")
        #expect(access.authenticate(name: "bob", password: "pw2") == nil)
        #expect(!access.requiresAuthentication)
        access.setDefaultPassword("top")
        #expect(access.requiresAuthentication)
        #expect(access.authenticate(bearer: "top", nowMilliseconds: 0)?.name == "default")
        #expect(access.authenticate(bearer: "", nowMilliseconds: 0) == nil)
        #expect(access.authenticate(bearer: "wrong", nowMilliseconds: 0) == nil)
    }

    @Test func tokensAreIssuedHashedListedAndRevoked() {
        let (engine, clock) = makeEngine()
        let access = engine.accessControl!
        setUser(engine, "svc", "on", "+@read", "~*")
        guard case .map(let pairs) = engine.run("ACL", "TOKEN", "CREATE", "svc", "TTL", "60", "LABEL", "ci") else {
            Issue.record("no token"); return
        }
        let token = pairs[1].bytesValue!.text
        #expect(token.hasPrefix("kw_"))
        #expect(access.authenticate(bearer: Substring(token), nowMilliseconds: clock.nowMilliseconds())?.name == "svc")
        let listed = engine.run("ACL", "TOKEN", "LIST").arrayValue ?? []
        #expect(listed.count == 1)
        #expect(!"\(listed)".contains(token), "the secret is never listed")
        clock.advance(milliseconds: 61_000)
        #expect(access.authenticate(bearer: Substring(token), nowMilliseconds: clock.nowMilliseconds()) == nil, "expired")
        guard case .map(let second) = engine.run("ACL", "TOKEN", "CREATE", "svc") else { Issue.record("no token"); return }
        let id = second[3].bytesValue!.text
        #expect(engine.run("ACL", "TOKEN", "REVOKE", Bytes(id)) == .integer(1))
        #expect(access.authenticate(bearer: Substring(second[1].bytesValue!.text), nowMilliseconds: clock.nowMilliseconds()) == nil)
        #expect(engine.run("ACL", "TOKEN", "CREATE", "ghost").errorMessage == "ERR User 'ghost' does not exist")
    }

    @Test func logGroupsRepeatsAndResets() {
        let (engine, _) = makeEngine()
        setUser(engine, "n", "on", "nopass")
        for _ in 0..<3 { _ = run(engine, as: "n", "GET", "k") }
        let entries = engine.run("ACL", "LOG").arrayValue ?? []
        #expect(entries.count == 1)
        guard case .map(let pairs)? = entries.first else { Issue.record("no entry"); return }
        #expect(pairs[0] == .bulk("count") && pairs[1] == .integer(3))
        #expect(pairs.contains(.bulk("addr=127.0.0.1:5000")))
        #expect(engine.run("ACL", "LOG", "RESET") == .ok)
        #expect(engine.run("ACL", "LOG").arrayValue?.isEmpty == true)
    }

    @Test func aclFileSavesAndLoads() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("acl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("users.acl").path
        let (engine, _) = makeEngine()
        #expect(engine.run("ACL", "SAVE").errorMessage?.contains("not configured to use an ACL file") == true)
        engine.accessControl!.configureFiles(aclFile: path, tokenFile: nil)
        setUser(engine, "alice", "on", ">pw", "~cache:*", "+@read", "+@write", "-@dangerous")
        #expect(engine.run("ACL", "SAVE") == .ok)
        let saved = try String(contentsOfFile: path, encoding: .utf8)
        #expect(saved.contains("user alice on #"))
        #expect(!saved.contains(">pw"))
        #expect(engine.run("ACL", "DELUSER", "alice") == .integer(1))
        #expect(engine.run("ACL", "LOAD") == .ok)
        let alice = engine.accessControl!.authenticate(name: "alice", password: "pw")
        #expect(alice != nil)
        #expect(alice?.rulesDescription.contains("~cache:*") == true)
        try "user bob on nopass +get\nnonsense\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(engine.run("ACL", "LOAD").errorMessage == "ERR \(path):2: line should start with user keyword")
        #expect(engine.accessControl!.user(named: "alice") != nil, "a bad file changes nothing")
    }

    @Test func placeholdersAreFilledFromClaims() {
        let (engine, _) = makeEngine()
        setUser(engine, "app-user", "on", "+@all", "~user:{sub}:*", "&user:{sub}:*")
        let template = engine.accessControl!.user(named: "app-user")!
        let alice = template.specialized(with: ["sub": "alice"])
        #expect(alice.mayAccess(Bytes("user:alice:cart"), read: true, write: true))
        #expect(!alice.mayAccess(Bytes("user:bob:cart"), read: true, write: false))
        #expect(alice.mayUse(channel: Bytes("user:alice:events")))
        // A claim holding glob characters matches only itself.
        let sneaky = template.specialized(with: ["sub": "*"])
        #expect(!sneaky.mayAccess(Bytes("user:bob:cart"), read: true, write: false))
        #expect(sneaky.mayAccess(Bytes("user:*:cart"), read: true, write: false))
        // No claim: the pattern matches nothing.
        #expect(!template.specialized(with: [:]).mayAccess(Bytes("user::x"), read: true, write: false))
    }
}
