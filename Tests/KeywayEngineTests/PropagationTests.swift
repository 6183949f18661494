import Testing
import Synchronization
@testable import KeywayEngine

/// Records what the engine propagates, one unit of work per element.
final class RecordingSink: PropagationSink, @unchecked Sendable {
    private let lock = Mutex<[[[Bytes]]]>([])
    func propagate(_ commands: [[Bytes]]) -> DurabilityTicket? {
        lock.withLock { $0.append(commands) }
        return nil
    }
    var units: [[[String]]] { lock.withLock { $0.map { $0.map { $0.map(\.text) } } } }
    var commands: [[String]] { units.flatMap { $0 } }
    func clear() { lock.withLock { $0.removeAll() } }
}

/// A parked client for blocking commands.
final class ParkedClient: BlockedClient, @unchecked Sendable {
    let replies = Mutex<[Reply]>([])
    var isConnected: Bool { true }
    func deliver(_ reply: Reply) { replies.withLock { $0.append(reply) } }
}

@Suite struct PropagationTests {
    let engine: Engine
    let clock: ManualClock
    let sink = RecordingSink()
    let t = startMilliseconds

    init() {
        (engine, clock) = makeEngine()
        engine.attachPropagationSink(sink)
    }

    /// Runs a command and returns what it logged.
    func logged(_ arguments: String...) -> [[String]] {
        sink.clear()
        engine.run(arguments.map { Bytes($0) })
        return sink.commands
    }

    @Test func plainWritesLogTheirOwnArgvAndReadsOrNoOpsNothing() {
        #expect(logged("RPUSH", "l", "a", "b") == [["RPUSH", "l", "a", "b"]])
        #expect(logged("SET", "k", "v") == [["SET", "k", "v"]])
        #expect(logged("GET", "k") == [])
        #expect(logged("SET", "k", "w", "NX") == [])
        #expect(logged("DEL", "missing") == [])
        #expect(logged("INCR", "n") == [["INCR", "n"]])
        #expect(logged("LPUSH", "k", "x").isEmpty)  // WRONGTYPE
        #expect(logged("SRANDMEMBER", "s") == [])
    }

    @Test func relativeExpiriesBecomeAbsolute() {
        #expect(logged("SET", "k", "v", "EX", "10") == [["SET", "k", "v", "PXAT", "\(t + 10_000)"]])
        #expect(logged("SET", "k2", "v", "PX", "100", "NX") == [["SET", "k2", "v", "PXAT", "\(t + 100)"]])
        #expect(logged("SET", "k3", "v", "EXAT", "\(startSeconds + 5)", "GET") == [["SET", "k3", "v", "PXAT", "\(t + 5000)"]])
        #expect(logged("SETEX", "s", "10", "v") == [["SET", "s", "v", "PXAT", "\(t + 10_000)"]])
        #expect(logged("PSETEX", "p", "500", "v") == [["SET", "p", "v", "PXAT", "\(t + 500)"]])
        #expect(logged("EXPIRE", "k", "20") == [["PEXPIREAT", "k", "\(t + 20_000)"]])
        #expect(logged("PEXPIRE", "k", "700", "GT") == [])  // condition not met: nothing changed
        #expect(logged("PEXPIRE", "k", "30000", "GT") == [["PEXPIREAT", "k", "\(t + 30_000)"]])
        #expect(logged("EXPIREAT", "k", "\(startSeconds + 40)") == [["PEXPIREAT", "k", "\(t + 40_000)"]])
        #expect(logged("GETEX", "k", "EX", "5") == [["PEXPIREAT", "k", "\(t + 5000)"]])
        #expect(logged("GETEX", "k", "PERSIST") == [["PERSIST", "k"]])
        #expect(logged("GETEX", "k") == [])
        // A deadline already past deletes the key: logged as DEL.
        #expect(logged("EXPIRE", "k", "-1") == [["DEL", "k"]])
        #expect(logged("SET", "s", "v", "PXAT", "\(t - 1)") == [["DEL", "s"]])
        #expect(logged("SET", "gone", "v", "PXAT", "\(t - 1)") == [])
    }

    @Test func floatIncrementsLogTheirResult() {
        engine.run("SET", "f", "10")
        engine.run("PEXPIRE", "f", "5000")
        #expect(logged("INCRBYFLOAT", "f", "1.5") == [["SET", "f", "11.5", "KEEPTTL"]])
        #expect(logged("HINCRBYFLOAT", "h", "x", "2.25") == [["HSET", "h", "x", "2.25"]])
        engine.run("HEXPIRE", "h", "100", "FIELDS", "1", "x")
        #expect(logged("HINCRBYFLOAT", "h", "x", "1") == [["HSETEX", "h", "KEEPTTL", "FIELDS", "1", "x", "3.25"]])
    }

    @Test func spopLogsTheMembersItRemoved() throws {
        engine.run("SADD", "s", "a", "b", "c", "d", "e")
        let one = try #require(engine.run("SPOP", "s").bytesValue)
        sink.clear()
        let two = try #require(engine.run("SPOP", "s", "2").arrayValue).compactMap(\.bytesValue)
        #expect(sink.commands == [["SREM", "s"] + two.map(\.text)])
        _ = one
        #expect(logged("SPOP", "s", "10") == [["DEL", "s"]])
        engine.run("SADD", "t", "only")
        #expect(logged("SPOP", "t") == [["SREM", "t", "only"]])
    }

    @Test func spopSingleLogsSREM() throws {
        engine.run("SADD", "s", "a", "b", "c")
        sink.clear()
        let popped = try #require(engine.run("SPOP", "s").bytesValue)
        #expect(sink.commands == [["SREM", "s", popped.text]])
    }

    @Test func xaddLogsTheGeneratedID() throws {
        sink.clear()
        let id = try #require(engine.run("XADD", "st", "*", "f", "v").bytesValue)
        #expect(id.text == "\(t)-0")
        #expect(sink.commands == [["XADD", "st", id.text, "f", "v"]])
        sink.clear()
        let second = try #require(engine.run(["XADD", "st", "MAXLEN", "5", Bytes("\(t)-*"), "g", "w"]).bytesValue)
        #expect(sink.commands == [["XADD", "st", "MAXLEN", "5", second.text, "g", "w"]])
        #expect(logged("XADD", "st", "\(t + 5)-7", "h", "x") == [["XADD", "st", "\(t + 5)-7", "h", "x"]])
    }

    @Test func blockingPopsLogTheirNonBlockingForms() {
        engine.run("RPUSH", "b", "1", "2", "3")
        #expect(logged("BLPOP", "a", "b", "0") == [["LPOP", "b"]])
        #expect(logged("BRPOP", "b", "1") == [["RPOP", "b"]])
        #expect(logged("BLMOVE", "b", "c", "LEFT", "RIGHT", "0") == [["LMOVE", "b", "c", "LEFT", "RIGHT"]])
        engine.run("RPUSH", "b", "4")
        #expect(logged("BRPOPLPUSH", "b", "c", "0") == [["RPOPLPUSH", "b", "c"]])
        #expect(logged("BLMPOP", "0", "2", "x", "c", "RIGHT", "COUNT", "5") == [["RPOP", "c", "2"]])
        engine.run("ZADD", "z", "1", "a", "2", "b", "3", "c")
        #expect(logged("BZPOPMIN", "z", "0") == [["ZPOPMIN", "z"]])
        #expect(logged("BZMPOP", "0", "1", "z", "MAX", "COUNT", "9") == [["ZPOPMAX", "z", "2"]])
    }

    @Test func aClientServedAfterBlockingIsLoggedAfterTheWriteThatServedIt() {
        let client = ParkedClient()
        guard case .blocked = engine.submit(Command("BLPOP", "q", "0"), client: client) else {
            Issue.record("expected to block")
            return
        }
        sink.clear()
        engine.run("RPUSH", "q", "job")
        #expect(sink.units == [[["RPUSH", "q", "job"], ["LPOP", "q"]]])
        #expect(client.replies.withLock { $0.count } == 1)
    }

    @Test func expiredKeysAreLoggedAsDEL() {
        engine.run("SET", "k", "v", "PX", "100")
        engine.run("SET", "other", "v", "PX", "100")
        clock.advance(milliseconds: 200)
        #expect(logged("GET", "k") == [["DEL", "k"]])
        #expect(logged("SET", "k", "new") == [["SET", "k", "new"]])
        sink.clear()
        engine.runActiveExpiryCycle()
        #expect(sink.commands == [["DEL", "other"]])
    }

    @Test func fieldExpiriesBecomeAbsolute() {
        engine.run("HSET", "h", "a", "1", "b", "2", "c", "3")
        #expect(logged("HEXPIRE", "h", "10", "FIELDS", "2", "a", "zz") == [["HPEXPIREAT", "h", "\(t + 10_000)", "FIELDS", "1", "a"]])
        #expect(logged("HPEXPIRE", "h", "0", "FIELDS", "1", "b") == [["HDEL", "h", "b"]])
        #expect(logged("HGETEX", "h", "PX", "300", "FIELDS", "1", "c") == [["HPEXPIREAT", "h", "\(t + 300)", "FIELDS", "1", "c"]])
        #expect(logged("HGETEX", "h", "PERSIST", "FIELDS", "1", "c") == [["HPERSIST", "h", "FIELDS", "1", "c"]])
        #expect(logged("HSETEX", "h", "FNX", "EX", "7", "FIELDS", "1", "d", "4") == [["HSETEX", "h", "PXAT", "\(t + 7000)", "FIELDS", "1", "d", "4"]])
    }

    @Test func streamGroupReadsAndClaimsLogExplicitXCLAIMs() throws {
        engine.run("XADD", "st", "1-0", "f", "1")
        engine.run("XADD", "st", "2-0", "f", "2")
        engine.run("XGROUP", "CREATE", "st", "g", "0")
        #expect(logged("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "st", ">") == [
            ["XGROUP", "CREATECONSUMER", "st", "g", "alice"],
            ["XCLAIM", "st", "g", "alice", "0", "1-0", "TIME", "\(t)", "RETRYCOUNT", "1", "FORCE", "JUSTID"],
            ["XGROUP", "SETID", "st", "g", "1-0", "ENTRIESREAD", "1"],
        ])
        clock.advance(milliseconds: 1000)
        #expect(logged("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "st", "0") == [
            ["XCLAIM", "st", "g", "alice", "0", "1-0", "TIME", "\(t + 1000)", "RETRYCOUNT", "2", "FORCE", "JUSTID"],
        ])
        #expect(logged("XREADGROUP", "GROUP", "g", "bob", "NOACK", "STREAMS", "st", ">") == [
            ["XGROUP", "CREATECONSUMER", "st", "g", "bob"],
            ["XGROUP", "SETID", "st", "g", "2-0", "ENTRIESREAD", "2"],
        ])
        clock.advance(milliseconds: 500)
        #expect(logged("XCLAIM", "st", "g", "bob", "100", "1-0", "IDLE", "50") == [
            ["XCLAIM", "st", "g", "bob", "0", "1-0", "TIME", "\(t + 1450)", "RETRYCOUNT", "3", "FORCE", "JUSTID"],
        ])
        clock.advance(milliseconds: 500)
        #expect(logged("XAUTOCLAIM", "st", "g", "alice", "10", "0", "JUSTID") == [
            ["XCLAIM", "st", "g", "alice", "0", "1-0", "TIME", "\(t + 2000)", "RETRYCOUNT", "3", "FORCE", "JUSTID"],
        ])
        engine.run("XDEL", "st", "1-0")
        #expect(logged("XAUTOCLAIM", "st", "g", "bob", "0", "0") == [["XACK", "st", "g", "1-0"]])
    }

    @Test func transactionsAreWrappedInMultiExec() {
        engine.run("SET", "gone", "v", "PX", "10")
        clock.advance(milliseconds: 20)
        sink.clear()
        _ = engine.executeTransaction([Command("SET", "a", "1"), Command("GET", "gone"), Command("INCRBYFLOAT", "a", "0.5")])
        #expect(sink.units == [[["MULTI"], ["SET", "a", "1"], ["DEL", "gone"], ["SET", "a", "1.5", "KEEPTTL"], ["EXEC"]]])
        sink.clear()
        _ = engine.executeTransaction([Command("GET", "a")])
        #expect(sink.units == [])
    }

    @Test func detachingStopsRecording() {
        engine.attachPropagationSink(nil)
        engine.run("SET", "k", "v")
        #expect(sink.commands == [])
    }
}
