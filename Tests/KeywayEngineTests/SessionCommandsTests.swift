import Testing
@testable import KeywayEngine

/// KEYWAY.HPATCH: merge into an existing hash only, never emptying it.
@Suite struct SessionCommandsTests {
    func patch(_ engine: Engine, _ words: String...) -> Reply {
        engine.run(["KEYWAY.HPATCH"] + words.map { Bytes($0) })
    }

    @Test func mergesSetsAndDeletesAndReportsTheResult() {
        let (engine, _) = makeEngine()
        engine.run("HSET", "session:x", "user", "1", "cart", "3")
        engine.run("PEXPIRE", "session:x", "60000")
        let reply = patch(engine, "session:x", "0", "1", "theme", "dark", "cart")
        #expect(reply == .array([.map([.bulk("user"), .bulk("1"), .bulk("theme"), .bulk("dark")]), .integer(60_000)]))
        #expect(engine.run("HGETALL", "session:x") == .map([.bulk("user"), .bulk("1"), .bulk("theme"), .bulk("dark")]))
        #expect(engine.pttl("session:x") == 60_000)
    }

    @Test func aPositiveTTLRenewsTheKey() {
        let (engine, clock) = makeEngine()
        engine.run("HSET", "h", "a", "1")
        engine.run("PEXPIRE", "h", "1000")
        clock.advance(milliseconds: 900)
        #expect(patch(engine, "h", "5000", "0").arrayValue?.last == .integer(5000))
        #expect(engine.pttl("h") == 5000)
    }

    @Test func neverCreatesAMissingOrExpiredHash() {
        let (engine, clock) = makeEngine()
        #expect(patch(engine, "h", "0", "1", "a", "1") == .null)
        #expect(engine.run("EXISTS", "h") == .integer(0))
        engine.run("HSET", "h", "a", "1")
        engine.run("PEXPIRE", "h", "100")
        clock.advance(milliseconds: 101)
        #expect(patch(engine, "h", "0", "1", "a", "2") == .null)
        #expect(engine.run("EXISTS", "h") == .integer(0))
    }

    @Test func refusesToRemoveTheLastField() {
        let (engine, _) = makeEngine()
        engine.run("HSET", "h", "a", "1", "b", "2")
        #expect(patch(engine, "h", "0", "0", "a", "b") == .integer(0))
        #expect(engine.run("HLEN", "h") == .integer(2))
        // Replacing a removed field in the same patch is fine.
        #expect(patch(engine, "h", "0", "1", "c", "3", "a", "b") != .integer(0))
        #expect(engine.run("HGETALL", "h") == .map([.bulk("c"), .bulk("3")]))
    }

    @Test func badArguments() {
        let (engine, _) = makeEngine()
        engine.run("SET", "s", "v")
        #expect(patch(engine, "s", "0", "1", "a", "1").errorMessage?.hasPrefix("WRONGTYPE") == true)
        #expect(patch(engine, "h", "-1", "0").errorMessage == "ERR invalid expire time in 'keyway.hpatch' command")
        #expect(patch(engine, "h", "0", "2", "a", "1").errorMessage == "ERR syntax error")
        #expect(patch(engine, "h", "0", "-1").errorMessage == "ERR syntax error")
        #expect(patch(engine, "h", "x", "0").errorMessage == "ERR value is not an integer or out of range")
    }

    @Test func logsHSetHDelAndPExpireAt() {
        let (engine, _) = makeEngine()
        let sink = RecordingSink()
        engine.run("HSET", "h", "a", "1", "b", "2")
        engine.attachPropagationSink(sink)
        _ = patch(engine, "h", "1000", "1", "c", "3", "a", "zzz")
        #expect(sink.commands == [["HSET", "h", "c", "3"], ["HDEL", "h", "a"], ["PEXPIREAT", "h", String(startMilliseconds + 1000)]])
    }
}
