import Testing
@testable import KeywayEngine

/// Accounting and access data of keys that come from a snapshot.
@Suite("Memory of loaded snapshots")
struct SnapshotMemoryTests {
    @Test("a loaded snapshot's running total equals its recount and the original's")
    func loadedTotals() throws {
        let (engine, _) = makeEngine()
        for i in 0..<50 {
            engine.run("SET", Bytes("s\(i)"), Bytes(String(repeating: "x", count: i)), "EX", "1000")
            engine.run("HSET", "hash", Bytes("f\(i)"), Bytes("v\(i)"))
            engine.run("RPUSH", "list", Bytes("e\(i)"))
            engine.run("SADD", "set", Bytes("m\(i)"))
            engine.run("ZADD", "zset", Bytes(String(i)), Bytes("m\(i)"))
            engine.run("XADD", "stream", "*", "field", Bytes("value\(i)"))
        }
        engine.run("HPEXPIRE", "hash", "100000", "FIELDS", "1", "f1")
        let original = engine.withDatabase { db, _ in db.keyspace }
        var bytes: [UInt8] = []
        RDBWriter.write(original, now: startMilliseconds, to: &bytes)
        let loaded = try RDBReader.load(bytes: bytes, now: startMilliseconds).keyspace
        #expect(loaded.usedMemory == loaded.recountMemoryUsage())
        #expect(loaded.usedMemory == original.usedMemory)
    }

    @Test("keys installed from a snapshot start as new keys for LRU and LFU")
    func installedKeysAreStamped() throws {
        let (source, _) = makeEngine()
        source.run("SET", "k", "v")
        var bytes: [UInt8] = []
        RDBWriter.write(source.withDatabase { db, _ in db.keyspace }, now: startMilliseconds, to: &bytes)
        let loaded = try RDBReader.load(bytes: bytes, now: startMilliseconds).keyspace

        let (engine, clock) = makeEngine()
        clock.advance(milliseconds: 3_600_000)
        engine.run("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        engine.withDatabase { db, _ in db.install(loaded) }
        #expect(engine.run("OBJECT", "FREQ", "k").integerValue == 5)
        engine.run("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        engine.withDatabase { db, _ in db.install(loaded) }
        #expect(engine.run("OBJECT", "IDLETIME", "k").integerValue == 0)
    }
}
