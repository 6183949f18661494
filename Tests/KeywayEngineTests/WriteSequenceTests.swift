import Testing
import KeywayEngine

/// `writeSequence`, the gateway's sync token, moves exactly when data changes
/// (where Redis would bump `server.dirty`), never on reads or no-op writes.
@Suite struct WriteSequenceTests {
    let engine: Engine
    let clock: ManualClock

    init() {
        (engine, clock) = makeEngine()
        engine.run("SET", "k", "v")
        engine.run("SET", "n", "1")
        engine.run("SET", "t", "v", "EX", "100")
    }

    @Test(arguments: [
        ["SET", "k", "v2"], ["SET", "new", "v"], ["INCR", "n"], ["DECRBY", "n", "5"], ["INCRBYFLOAT", "n", "1.5"],
        ["APPEND", "k", "x"], ["SETRANGE", "k", "0", "V"], ["GETSET", "k", "w"], ["GETDEL", "k"],
        ["GETEX", "k", "EX", "10"], ["GETEX", "t", "PERSIST"], ["MSET", "a", "1", "b", "2"], ["MSETNX", "x", "1"],
        ["SETNX", "fresh", "1"], ["SETEX", "k", "10", "v"], ["PSETEX", "k", "10", "v"],
        ["DEL", "k"], ["UNLINK", "k"], ["RENAME", "k", "k2"], ["RENAMENX", "k", "k2"], ["COPY", "k", "k2"],
        ["EXPIRE", "k", "10"], ["PEXPIREAT", "k", "1"], ["PERSIST", "t"], ["FLUSHDB"], ["FLUSHALL"],
    ])
    func writesMoveTheSequence(_ command: [String]) {
        let before = engine.writeSequence
        let reply = engine.run(command.map { Bytes($0) })
        #expect(!reply.isError, "\(command): \(reply)")
        #expect(engine.writeSequence > before, "\(command)")
    }

    @Test(arguments: [
        ["GET", "k"], ["GET", "missing"], ["MGET", "k", "n"], ["EXISTS", "k"], ["TOUCH", "k"], ["TYPE", "k"],
        ["STRLEN", "k"], ["GETRANGE", "k", "0", "-1"], ["SUBSTR", "k", "0", "1"], ["GETEX", "k"],
        ["TTL", "t"], ["PTTL", "t"], ["EXPIRETIME", "t"], ["PEXPIRETIME", "t"],
        ["KEYS", "*"], ["SCAN", "0"], ["RANDOMKEY"], ["DBSIZE"],
        ["PING"], ["ECHO", "x"], ["TIME"], ["INFO"], ["SELECT", "0"],
    ])
    func readsLeaveTheSequenceAlone(_ command: [String]) {
        let before = engine.writeSequence
        let reply = engine.run(command.map { Bytes($0) })
        #expect(!reply.isError, "\(command): \(reply)")
        #expect(engine.writeSequence == before, "\(command)")
    }

    @Test(arguments: [
        ["SET", "k", "v", "NX"], ["SET", "missing", "v", "XX"], ["SETNX", "k", "v"], ["MSETNX", "k", "v", "z", "1"],
        ["DEL", "missing"], ["GETDEL", "missing"], ["EXPIRE", "missing", "10"], ["EXPIRE", "k", "10", "XX"],
        ["PERSIST", "k"], ["SETRANGE", "missing", "0", ""], ["SETRANGE", "k", "0", ""], ["RENAMENX", "k", "n"],
        ["COPY", "missing", "x"], ["COPY", "k", "n"], ["GETEX", "missing", "EX", "10"],
    ])
    func writesThatChangeNothingLeaveTheSequenceAlone(_ command: [String]) {
        let before = engine.writeSequence
        let reply = engine.run(command.map { Bytes($0) })
        #expect(!reply.isError, "\(command): \(reply)")
        #expect(engine.writeSequence == before, "\(command)")
    }

    @Test(arguments: [
        ["INCR", "k"], ["SET", "k", "v", "EX", "0"], ["SETRANGE", "k", "-1", "x"], ["RENAME", "missing", "x"],
        ["EXPIRE", "k", "10", "NX", "XX"], ["NOSUCH"], ["SET", "k"],
    ])
    func failedCommandsLeaveTheSequenceAlone(_ command: [String]) {
        let before = engine.writeSequence
        #expect(engine.run(command.map { Bytes($0) }).isError, "\(command)")
        #expect(engine.writeSequence == before, "\(command)")
    }
}
