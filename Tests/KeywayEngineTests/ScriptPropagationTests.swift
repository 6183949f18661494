import Testing
@testable import KeywayEngine

/// Scripts reach the AOF as the effects of their commands, wrapped in
/// MULTI ... EXEC when there are several, so a replay rebuilds the data
/// whatever the script computed.
@Suite struct ScriptPropagationTests {
    let engine: Engine
    let clock: ManualClock
    let sink = RecordingSink()

    init() {
        (engine, clock) = makeEngine()
        engine.attachPropagationSink(sink)
    }

    func logged(_ script: String, keys: [String] = [], _ args: String...) -> [[String]] {
        sink.clear()
        engine.run([Bytes("EVAL"), Bytes(script), Bytes(String(keys.count))] + keys.map { Bytes($0) } + args.map { Bytes($0) })
        return sink.commands
    }

    @Test func oneWriteIsLoggedAlone() {
        #expect(logged("return redis.call('SET', KEYS[1], ARGV[1])", keys: ["k"], "v") == [["SET", "k", "v"]])
    }

    @Test func severalWritesAreWrappedInATransaction() {
        #expect(logged("redis.call('SET', 'a', '1'); redis.call('INCR', 'a'); return redis.call('GET', 'a')") == [
            ["MULTI"], ["SET", "a", "1"], ["INCR", "a"], ["EXEC"],
        ])
    }

    @Test func readsAndNoOpsLogNothing() {
        engine.run("SET", "k", "v")
        #expect(logged("return redis.call('GET', 'k')") == [])
        #expect(logged("return redis.call('DEL', 'missing')") == [])
        #expect(logged("return 1") == [])
    }

    @Test func timeDependentCommandsLogTheirEffects() {
        let at = startMilliseconds + 10_000
        #expect(logged("redis.call('SET', 'a', 'x', 'EX', 10); redis.call('RPUSH', 'q', 'j'); return redis.call('LPOP', 'q')") == [
            ["MULTI"], ["SET", "a", "x", "PXAT", String(at)], ["RPUSH", "q", "j"], ["LPOP", "q"], ["EXEC"],
        ])
    }

    @Test func aFailingScriptKeepsTheWritesItMade() {
        let effects = logged("redis.call('SET', 'a', '1'); redis.call('SET', 'b', '2'); error('stop')")
        #expect(effects == [["MULTI"], ["SET", "a", "1"], ["SET", "b", "2"], ["EXEC"]])
        #expect(engine.run("GET", "b") == .bulk("2"))
    }

    @Test func insideATransactionTheTransactionWraps() {
        sink.clear()
        _ = engine.executeTransaction([
            Command([Bytes("EVAL"), Bytes("redis.call('SET', 'a', '1'); redis.call('SET', 'b', '2')"), Bytes("0")]),
            Command("SET", "c", "3"),
        ])
        #expect(sink.commands == [["MULTI"], ["SET", "a", "1"], ["SET", "b", "2"], ["SET", "c", "3"], ["EXEC"]])
    }

    @Test func replayingTheAOFRebuildsWhatScriptsBuilt() throws {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        let writer = try AOFWriter(path: path, policy: .everysec)
        let (original, originalClock) = makeEngine()
        original.attachPropagationSink(writer)
        let script = """
            local n = redis.call('INCR', KEYS[1])
            redis.call('HSET', KEYS[2], 'n' .. n, ARGV[1])
            redis.call('SET', KEYS[3], n * 10, 'PX', 5000)
            if n % 2 == 0 then redis.call('SPOP', KEYS[4]) end
            return n
            """
        original.run("SADD", "set", "a", "b", "c", "d")
        for i in 0..<6 {
            original.run("EVAL", Bytes(script), "4", "counter", "hash", "tmp", "set", Bytes("v\(i)"))
            originalClock.advance(milliseconds: 100)
        }
        original.run("EVAL", "redis.call('DEL', 'missing'); return redis.call('LPUSH', 'list', 'x', 'y')", "0")
        writer.close()

        let (loaded, _) = makeEngine(milliseconds: originalClock.nowMilliseconds())
        let report = try AOFLoader.load(path: path, into: loaded)
        #expect(report.truncatedAt == nil)
        #expect(keyspaceDifferences(dumpKeyspace(loaded), dumpKeyspace(original)) == [])
        #expect(loaded.run("GET", "counter") == .bulk("6"))
        #expect(loaded.pttl("tmp") == original.pttl("tmp"))
        #expect(loaded.run("SCARD", "set") == .integer(1))
    }
}
