import Testing
@testable import KeywayEngine

/// EVAL and friends: Redis's conversion rules, the sandbox, errors in
/// Redis 7's words, the script cache and read-only scripts.
@Suite struct ScriptingTests {
    let engine = makeEngine().0

    @discardableResult
    func eval(_ script: String, keys: [String] = [], _ args: String...) -> Reply {
        engine.run([Bytes("EVAL"), Bytes(script), Bytes(String(keys.count))] + keys.map { Bytes($0) } + args.map { Bytes($0) })
    }

    // MARK: - Lua -> reply

    @Test func luaValuesBecomeRepliesByRedisRules() {
        #expect(eval("return 42") == .integer(42))
        #expect(eval("return 3.99") == .integer(3))
        #expect(eval("return -3.99") == .integer(-3))
        #expect(eval("return 'hello'") == .bulk("hello"))
        #expect(eval("return true") == .integer(1))
        #expect(eval("return false") == .null)
        #expect(eval("return nil") == .null)
        #expect(eval("return") == .null)
        #expect(eval("return {1, 'two', {3, false}}") == .array([.integer(1), .bulk("two"), .array([.integer(3), .null])]))
        // An array ends at the first nil.
        #expect(eval("return {1, 2, nil, 4}") == .array([.integer(1), .integer(2)]))
        #expect(eval("return {ok = 'FINE'}") == .status("FINE"))
        #expect(eval("return {err = 'MYERR broken'}").errorMessage == "MYERR broken")
        #expect(eval("return redis.status_reply('QUEUED')") == .status("QUEUED"))
        #expect(eval("return redis.error_reply('MYERR custom')").errorMessage == "MYERR custom")
        #expect(eval("return redis.error_reply('nocode')").errorMessage == "ERR nocode")
        #expect(eval("return {double = 1.5}") == .double(1.5))
        // Functions and other values have no reply form: nil.
        #expect(eval("return function() end") == .null)
        #expect(eval("return {name = 'x'}") == .array([]))
    }

    @Test func aSelfReferencingTableStopsAtTheStackLimit() {
        #expect(eval("local t = {}; t[1] = t; return t").errorMessage == "ERR reached lua stack limit")
    }

    // MARK: - reply -> Lua

    @Test func repliesBecomeLuaValuesByRedisRules() {
        engine.run("SET", "s", "text")
        engine.run("RPUSH", "l", "a", "b")
        #expect(eval("return type(redis.call('INCR', 'n'))") == .bulk("number"))
        #expect(eval("return redis.call('GET', 's')") == .bulk("text"))
        #expect(eval("return redis.call('GET', 'missing') == false") == .integer(1))
        #expect(eval("return redis.call('LRANGE', 'l', 0, -1)") == .array([.bulk("a"), .bulk("b")]))
        #expect(eval("return #redis.call('LRANGE', 'l', 0, -1)") == .integer(2))
        #expect(eval("local r = redis.call('SET', 'x', '1'); return r.ok") == .bulk("OK"))
        #expect(eval("return redis.call('SET', 'x', '1')") == .status("OK"))
        #expect(eval("return redis.call('PING')") == .status("PONG"))
        // pcall hands errors back as {err = ...}.
        #expect(eval("local r = redis.pcall('INCR', 's'); return r.err") == .bulk("ERR value is not an integer or out of range"))
        #expect(eval("return redis.pcall('INCR', 's')").errorMessage == "ERR value is not an integer or out of range")
        // Doubles arrive as RESP2 strings.
        engine.run("ZADD", "z", "1.5", "m")
        #expect(eval("return redis.call('ZSCORE', 'z', 'm')") == .bulk("1.5"))
    }

    @Test func numbersPassedToCommandsAreWrittenAsRedisWritesThem() {
        #expect(eval("redis.call('SET', 'a', 10); return redis.call('GET', 'a')") == .bulk("10"))
        #expect(eval("redis.call('SET', 'a', 2.5); return redis.call('GET', 'a')") == .bulk("2.5"))
        #expect(eval("redis.call('SET', 'a', -7); return redis.call('GET', 'a')") == .bulk("-7"))
        #expect(eval("return redis.call('SET', 'a', {})").errorMessage?.hasPrefix("ERR Lua redis lib command arguments must be strings or integers") == true)
        #expect(eval("return redis.call()").errorMessage?.hasPrefix("ERR Please specify at least one argument for this redis lib call") == true)
    }

    @Test func cjsonAndBitAreThere() {
        #expect(eval("return cjson.encode({1, 2, 'x'})") == .bulk("[1,2,\"x\"]"))
        #expect(eval("return cjson.decode(ARGV[1]).name", #"{"name":"keyway","n":[1,2]}"#) == .bulk("keyway"))
        #expect(eval("return cjson.decode('{bad')").errorMessage?.contains("Expected object key string") == true)
        #expect(eval("return {bit.band(12, 10), bit.bor(12, 10), bit.bxor(12, 10), bit.lshift(1, 4), bit.tohex(255)}") == .array([.integer(8), .integer(14), .integer(6), .integer(16), .bulk("000000ff")]))
    }

    @Test func coroutinesMayCallRedis() {
        #expect(eval("local co = coroutine.wrap(function() return redis.call('SET', 'c', '1') end) return co()") == .status("OK"))
        let raised = eval("local co = coroutine.create(function() return redis.call('INCR', 'c2', 'x') end) local ok, e = coroutine.resume(co) return e")
        #expect(raised.errorMessage?.hasPrefix("ERR Wrong number of args calling Redis command from script") == true)
        #expect(engine.run("GET", "c") == .bulk("1"))
    }

    @Test func keysAndArgvAreTables() {
        #expect(eval("return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}", keys: ["k1", "k2"], "a1") == .array([.bulk("k1"), .bulk("k2"), .bulk("a1"), .integer(2), .integer(1)]))
        #expect(eval("return #KEYS + #ARGV") == .integer(0))
        // Binary-safe both ways.
        let binary = Bytes([0, 255, 10])
        let reply = engine.run([Bytes("EVAL"), Bytes("return ARGV[1]"), Bytes("0"), binary])
        #expect(reply == .bulk(binary))
    }

    @Test func theLockReleaseScriptFromTheRedisDocsWorks() {
        let release = #"if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end"#
        engine.run("SET", "lock", "token-1", "NX", "PX", "30000")
        #expect(eval(release, keys: ["lock"], "token-2") == .integer(0))
        #expect(engine.run("GET", "lock") == .bulk("token-1"))
        #expect(eval(release, keys: ["lock"], "token-1") == .integer(1))
        #expect(engine.run("EXISTS", "lock") == .integer(0))
    }

    @Test func redisHelpers() {
        #expect(eval("return redis.sha1hex('')") == .bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709"))
        #expect(eval("return redis.sha1hex('abc')") == .bulk("a9993e364706816aba3e25717850c26c9cd0d89d"))
        #expect(eval("redis.log(redis.LOG_WARNING, 'from a script', 1); return redis.LOG_DEBUG + redis.LOG_VERBOSE + redis.LOG_NOTICE + redis.LOG_WARNING") == .integer(6))
        #expect(eval("redis.log(9, 'x')").errorMessage?.hasPrefix("ERR Invalid debug level.") == true)
        #expect(eval("redis.log(1)").errorMessage?.hasPrefix("ERR redis.log() requires two arguments or more.") == true)
        #expect(eval("return string.format('%d-%s', 7, 'x') .. string.rep('a', 2) .. math.floor(2.7) .. table.concat({'p', 'q'})") == .bulk("7-xaa2pq"))
    }

    // MARK: - Sandbox

    @Test func theSandboxHasNoFileOrProcessAccess() {
        for name in ["os", "io", "loadfile", "dofile", "require", "module", "package", "debug", "newproxy"] {
            let message = eval("return \(name)").errorMessage ?? ""
            #expect(message.contains("Script attempted to access nonexistent global variable '\(name)'"), "\(name): \(message)")
        }
        #expect(eval("return type(string) .. type(table) .. type(math) .. type(pcall)") == .bulk("tabletabletablefunction"))
    }

    @Test func scriptsCannotCreateGlobals() {
        let message = eval("x = 5; return x").errorMessage ?? ""
        #expect(message.hasPrefix("ERR user_script:1: Script attempted to create global variable 'x'"))
        #expect(message.hasSuffix(", on @user_script:1."))
        #expect(eval("function f() return 1 end return f()").errorMessage?.contains("Script attempted to create global variable 'f'") == true)
        #expect(eval("setmetatable(_G, nil)").errorMessage?.contains("cannot change a protected metatable") == true)
        // Locals are fine, and nothing leaks into the next script.
        #expect(eval("local y = 2; return y") == .integer(2))
        #expect(eval("return y").errorMessage?.contains("nonexistent global variable 'y'") == true)
    }

    // MARK: - Errors

    @Test func errorsUseRedisWords() {
        let compile = eval("return 1 +").errorMessage ?? ""
        #expect(compile.hasPrefix("ERR Error compiling script (new function): user_script:1:"))
        let sha = SHA1.hex(Array("error('boom')".utf8))
        #expect(eval("error('boom')").errorMessage == "ERR user_script:1: boom script: \(sha), on @user_script:1.")
        engine.run("SET", "s", "text")
        let incr = "local a = 1\nreturn redis.call('INCR', 's')"
        #expect(eval(incr).errorMessage == "ERR value is not an integer or out of range script: \(SHA1.hex(Array(incr.utf8))), on @user_script:2.")
        engine.run("RPUSH", "list", "a")
        let wrongType = eval("return redis.call('GET', 'list')")
        #expect(wrongType.errorMessage?.hasPrefix("WRONGTYPE Operation against a key holding the wrong kind of value script:") == true)
        if case .error(let error) = wrongType { #expect(error.code == .wrongType) }
        #expect(eval("return redis.call('NOSUCH')").errorMessage?.hasPrefix("ERR Unknown Redis command called from script") == true)
        #expect(eval("return redis.call('GET')").errorMessage?.hasPrefix("ERR Wrong number of args calling Redis command from script") == true)
        // A raised error is caught by pcall as its message.
        #expect(eval("local ok, e = pcall(redis.call, 'INCR', 's'); return {tostring(ok), e}") == .array([.bulk("false"), .bulk("ERR value is not an integer or out of range")]))
    }

    @Test func numberOfKeysIsChecked() {
        #expect(engine.run("EVAL", "return 1", "2", "a").errorMessage == "ERR Number of keys can't be greater than number of args")
        #expect(engine.run("EVAL", "return 1", "-1").errorMessage == "ERR Number of keys can't be negative")
        #expect(engine.run("EVAL", "return 1", "x").errorMessage == "ERR value is not an integer or out of range")
        #expect(engine.run("EVAL", "return 1").errorMessage == "ERR wrong number of arguments for 'eval' command")
    }

    @Test func commandsNotAllowedInScriptsAreRefused() {
        for command in ["MULTI", "EXEC", "SUBSCRIBE", "MONITOR", "CONFIG", "SAVE"] {
            let script = "return redis.call('\(command)', 'x')"
            let message = eval(script).errorMessage ?? ""
            #expect(message.hasPrefix("ERR This Redis command is not allowed from script") || message.hasPrefix("ERR Wrong number of args"), "\(command): \(message)")
        }
        #expect(eval("return redis.call('EVAL', 'return 1', '0')").errorMessage?.hasPrefix("ERR This Redis command is not allowed from script") == true)
        #expect(eval("return redis.call('SCRIPT', 'FLUSH')").errorMessage?.hasPrefix("ERR This Redis command is not allowed from script") == true)
    }

    @Test func blockingCommandsDoNotBlockInScripts() {
        #expect(eval("return redis.call('BLPOP', 'empty', 0)") == .null)
        engine.run("RPUSH", "q", "job")
        #expect(eval("return redis.call('BLPOP', 'q', 0)") == .array([.bulk("q"), .bulk("job")]))
        #expect(engine.blockedClientCount == 0)
    }

    // MARK: - Cache

    @Test func evalshaRunsCachedScripts() {
        let body = "return ARGV[1] .. '!'"
        let sha = SHA1.hex(Array(body.utf8))
        #expect(engine.run("EVALSHA", Bytes(sha), "0", "x").errorMessage == "NOSCRIPT No matching script. Please use EVAL.")
        if case .error(let error) = engine.run("EVALSHA", Bytes(sha), "0") { #expect(error.code == .noScript) }
        #expect(engine.run("SCRIPT", "LOAD", Bytes(body)) == .bulk(Bytes(sha)))
        #expect(engine.run("EVALSHA", Bytes(sha), "0", "x") == .bulk("x!"))
        #expect(engine.run("EVALSHA", Bytes(sha.uppercased()), "0", "y") == .bulk("y!"))
        #expect(engine.run("EVALSHA", "abc", "0").errorMessage == "NOSCRIPT No matching script. Please use EVAL.")
        // EVAL caches too.
        let other = "return 7"
        eval(other)
        #expect(engine.run("SCRIPT", "EXISTS", Bytes(sha), Bytes(SHA1.hex(Array(other.utf8))), "0000") == .array([.integer(1), .integer(1), .integer(0)]))
        let (cached, bodyBytes, vmBytes) = engine.withDatabase { _, server in
            (server.scripts.bodies.count, server.scripts.bodyBytes, server.scripts.interpreterBytes)
        }
        #expect(cached == 2 && bodyBytes == body.utf8.count + other.utf8.count && vmBytes > 0)
        #expect(engine.run("SCRIPT", "FLUSH") == .ok)
        #expect(engine.withDatabase { _, server in server.scripts.bodies.count } == 0)
        #expect(engine.run("SCRIPT", "EXISTS", Bytes(sha)) == .array([.integer(0)]))
        #expect(engine.run("EVALSHA", Bytes(sha), "0").errorMessage == "NOSCRIPT No matching script. Please use EVAL.")
        #expect(engine.run("SCRIPT", "FLUSH", "ASYNC") == .ok)
        #expect(engine.run("SCRIPT", "FLUSH", "SYNC") == .ok)
        #expect(engine.run("SCRIPT", "FLUSH", "LATER").errorMessage == "ERR SCRIPT FLUSH only support SYNC|ASYNC option")
        #expect(engine.run("SCRIPT", "LOAD", "return +").errorMessage?.hasPrefix("ERR Error compiling script (new function): user_script:1:") == true)
        #expect(engine.run("SCRIPT", "NOPE").errorMessage == "ERR unknown subcommand or wrong number of arguments for 'NOPE'. Try SCRIPT HELP.")
        #expect(engine.run("SCRIPT", "KILL").errorMessage == "NOTBUSY No scripts in execution right now.")
    }

    // MARK: - Read-only scripts

    @Test func readOnlyVariantsRefuseWrites() {
        engine.run("SET", "k", "v")
        #expect(engine.run("EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "k") == .bulk("v"))
        let refused = engine.run("EVAL_RO", "return redis.call('SET', KEYS[1], 'w')", "1", "k")
        #expect(refused.errorMessage?.hasPrefix("ERR Write commands are not allowed from read-only scripts.") == true)
        #expect(engine.run("GET", "k") == .bulk("v"))
        let body = "return redis.call('DEL', KEYS[1])"
        guard case .bulk(let sha) = engine.run("SCRIPT", "LOAD", Bytes(body)) else { Issue.record("no sha"); return }
        #expect(engine.run("EVALSHA_RO", sha, "1", "k").errorMessage?.hasPrefix("ERR Write commands are not allowed from read-only scripts.") == true)
        #expect(engine.run("EVALSHA", sha, "1", "k") == .integer(1))
        // A shebang can declare a script read-only too.
        #expect(eval("#!lua flags=no-writes\nreturn redis.call('SET', 'k', 'v')").errorMessage?.hasPrefix("ERR Write commands are not allowed from read-only scripts.") == true)
        #expect(eval("#!lua\nreturn redis.call('SET', 'k', 'v')") == .status("OK"))
        #expect(eval("#!python\nreturn 1").errorMessage == "ERR Unexpected engine in script shebang: python")
    }

    // MARK: - Atomicity

    @Test func aScriptRunsAtomicallyAgainstOtherClients() async {
        let script = "for i = 1, 200 do redis.call('INCR', KEYS[1]) end return redis.call('GET', KEYS[1])"
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<5 {
                        let reply = engine.run("EVAL", Bytes(script), "1", "counter")
                        // Each script sees its own 200 increments in a row.
                        if case .bulk(let value) = reply { #expect((Int(value.text) ?? 0) % 200 == 0) } else { Issue.record("\(reply)") }
                    }
                }
                group.addTask {
                    for _ in 0..<20 {
                        if case .bulk(let value) = engine.run("GET", "counter") { #expect((Int(value.text) ?? 0) % 200 == 0) }
                    }
                }
            }
        }
        #expect(engine.run("GET", "counter") == .bulk("4000"))
    }

    @Test func configSetsTheTimeLimit() {
        #expect(engine.run("CONFIG", "GET", "lua-time-limit") == .map([.bulk("lua-time-limit"), .bulk("5000")]))
        #expect(engine.run("CONFIG", "SET", "lua-time-limit", "250") == .ok)
        #expect(engine.run("CONFIG", "GET", "busy-reply-threshold") == .map([.bulk("busy-reply-threshold"), .bulk("250")]))
        #expect(engine.run("CONFIG", "SET", "lua-time-limit", "-5").errorMessage?.hasPrefix("ERR CONFIG SET failed (possibly related to argument 'lua-time-limit')") == true)
        #expect(engine.run("CONFIG", "SET", "lua-time-limit", "soon").errorMessage?.hasPrefix("ERR CONFIG SET failed") == true)
    }

    @Test func sha1MatchesKnownDigests() {
        #expect(SHA1.hex(Array("The quick brown fox jumps over the lazy dog".utf8)) == "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12")
        #expect(SHA1.hex(Array(repeating: UInt8(ascii: "a"), count: 1_000)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
        #expect(SHA1.hex(Array(repeating: UInt8(ascii: "x"), count: 55)).count == 40)
        #expect(SHA1.hex(Array(repeating: UInt8(ascii: "x"), count: 56)) != SHA1.hex(Array(repeating: UInt8(ascii: "x"), count: 57)))
    }
}
