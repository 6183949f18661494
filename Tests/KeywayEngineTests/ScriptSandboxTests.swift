import Testing
@testable import KeywayEngine

/// The sandbox holds against scripts that try to escape it or take the
/// process down: no bytecode, nothing shared between scripts is writable,
/// no heap addresses, no crash on extreme arguments, a bounded heap.
@Suite struct ScriptSandboxTests {
    let engine = makeEngine().0

    @discardableResult
    func eval(_ script: String) -> Reply {
        engine.run([Bytes("EVAL"), Bytes(script), Bytes("0")])
    }

    @Test func precompiledBytecodeIsRefusedEverywhere() {
        let body = Bytes([0x1B] + Array("LuaQ\u{0}\u{1}\u{4}\u{8}".utf8))
        let refused = engine.run([Bytes("EVAL"), body, Bytes("0")])
        #expect(refused.errorMessage?.contains("loading precompiled bytecode is not allowed") == true)
        #expect(eval("return {loadstring(string.dump(function() return 1 end))}")
            == .array([]))
        #expect(eval("local f, e = loadstring(string.dump(function() return 1 end)); return e")
            == .bulk("loading precompiled bytecode is not allowed"))
        #expect(eval("""
            local chunk = string.dump(function() return 1 end)
            local given = false
            local f, e = load(function() if given then return nil end given = true return chunk end)
            return e
            """) == .bulk("loading precompiled bytecode is not allowed"))
        // Source still loads.
        #expect(eval("return loadstring('return 6 * 7')()") == .integer(42))
        #expect(eval("local parts = {'return ', '5'}; local i = 0; return load(function() i = i + 1; return parts[i] end)()") == .integer(5))
    }

    @Test func nothingAScriptSharesWithTheNextIsWritable() {
        let attempts = [
            "redis.call = function() return 'hijacked' end",
            "redis = nil",
            "string.upper = function() return 'hijacked' end",
            "rawset(_G, 'redis', {})",
            "rawset(string, 'upper', nil)",
            "rawset(getfenv(redis.call), 'redis', {})",
            "rawset(getfenv(0), 'redis', {})",
            "table.insert(string, 'x')",
            "setmetatable(_G, {})",
            "setmetatable(string, {})",
            "cjson.encode = nil",
            "bit.band = nil",
            "math.floor = nil",
        ]
        for attempt in attempts {
            let reply = eval(attempt + " return 1")
            #expect(reply.errorMessage != nil, "\(attempt) was allowed")
        }
        // The string metatable cannot be fetched to poison string methods.
        #expect(eval("return tostring(getmetatable(''))") == .bulk("false"))
        // The thread's environment cannot be swapped out.
        #expect(eval("setfenv(0, {}) return 1").errorMessage?.contains("setfenv cannot change the environment of the thread") == true)
        #expect(eval("setfenv(redis.call, {}) return 1").errorMessage?.contains("only change the environment of a Lua function") == true)
        // After all that, every script still sees the real sandbox.
        #expect(eval("return redis.call('SET', 'k', 'v')") == .status("OK"))
        #expect(eval("return string.upper('ok')") == .bulk("OK"))
        #expect(eval("return ('ok'):upper()") == .bulk("OK"))
        #expect(engine.run([Bytes("EVAL_RO"), Bytes("return type(redis.call)"), Bytes("0")]) == .bulk("function"))
    }

    @Test func aScriptThatChangesItsOwnEnvironmentStartsAfreshNextTime() {
        let script = "if ARGV[1] == 'swap' then setfenv(1, {redis = {call = function() return 'fake' end}}) end return 1"
        #expect(engine.run([Bytes("EVAL"), Bytes(script), Bytes("0"), Bytes("swap")]) == .integer(1))
        #expect(engine.run([Bytes("EVAL"), Bytes(script + " "), Bytes("0")]) == .integer(1))
        // The same cached function, run again: its globals are the sandbox's.
        #expect(engine.run([Bytes("EVAL"), Bytes("return type(KEYS)"), Bytes("0")]) == .bulk("table"))
        #expect(engine.run([Bytes("EVAL"), Bytes(script), Bytes("0"), Bytes("keep")]) == .integer(1))
    }

    @Test func valuesShowNoHeapAddresses() {
        #expect(eval("return tostring(function() end)") == .bulk("function"))
        #expect(eval("return tostring({})") == .bulk("table"))
        #expect(eval("return tostring(coroutine.create(function() end))") == .bulk("thread"))
        #expect(eval("return tostring(setmetatable({}, {__tostring = function() return 'mine' end}))") == .bulk("mine"))
        #expect(eval("return tostring(12.5)") == .bulk("12.5"))
    }

    @Test func extremeArgumentsAreErrorsNotCrashes() {
        let unpacked = eval("local ok, e = pcall(unpack, {}, -2147483648, 2147483647); return {tostring(ok), e}")
        #expect(unpacked.arrayElements?.first == .bulk("false"))
        #expect(eval("return {unpack({1, 2, 3})}") == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(eval("return {unpack({1, 2, 3}, 2)}") == .array([.integer(2), .integer(3)]))
        #expect(eval("return {unpack({1, 2, 3}, 3, 2)}") == .array([]))
        #expect(eval("return bit.tohex(65535, -2147483648)") == .bulk("0000FFFF"))
        #expect(eval("return bit.tohex(65535, 2147483648)") == .bulk("0000FFFF"))
        #expect(eval("return bit.tohex(65535, 4)") == .bulk("ffff"))
        #expect(eval("return bit.tohex(255)") == .bulk("000000ff"))
    }

    @Test func theHeapIsBoundedAndAFailedScriptLeavesTheVMUsable() {
        engine.withDatabase { _, state in state.scripts.heapLimit = 32 << 20 }
        let grown = eval("local t = {} for i = 1, 64 do t[i] = string.rep('x', 1024 * 1024) .. i end return #t")
        #expect(grown.errorMessage?.contains("not enough memory") == true)
        let huge = eval("return #string.rep('x', 64 * 1024 * 1024)")
        #expect(huge.errorMessage?.contains("not enough memory") == true)
        // Under the limit all is well again, garbage collected.
        #expect(eval("local t = {} for i = 1, 8 do t[i] = string.rep('x', 1024 * 1024) .. i end return #t") == .integer(8))
        #expect(eval("return redis.call('PING')") == .status("PONG"))
    }
}

private extension Reply {
    var arrayElements: [Reply]? { if case .array(let elements) = self { return elements } else { return nil } }
}
