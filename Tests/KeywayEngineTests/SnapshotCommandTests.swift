import Foundation
import KeywayEngine
import Testing

/// SAVE, BGSAVE, LASTSAVE, save rules, loading, and the persistence INFO.
@Suite struct SnapshotCommandTests {
    func engineInTemporaryDirectory() throws -> (Engine, ManualClock, String) {
        let directory = NSTemporaryDirectory() + "keyway-snap-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (engine, clock) = makeEngine()
        // dir is protected at run time: set as the config file or a flag would.
        engine.withDatabase { _, server in server.snapshots.directory = directory }
        return (engine, clock, directory)
    }

    func waitUntil(_ condition: () -> Bool) -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    @Test func saveWritesALoadableSnapshotAndResetsTheChangeCount() throws {
        let (engine, clock, directory) = try engineInTemporaryDirectory()
        engine.run("SET", "a", "1")
        engine.run("RPUSH", "list", "x", "y")
        engine.run("SET", "ttl", "v", "PX", "5000")
        #expect(engine.infoFields("persistence")["rdb_changes_since_last_save"] == "4")
        clock.advance(milliseconds: 2000)
        #expect(engine.run("SAVE") == .ok)
        #expect(engine.run("LASTSAVE").integerValue == clock.nowMilliseconds() / 1000)
        #expect(engine.infoFields("persistence")["rdb_changes_since_last_save"] == "0")
        #expect(engine.infoFields("persistence")["rdb_last_bgsave_status"] == "ok")

        let restored = Engine(clock: clock)
        let snapshot = try restored.loadSnapshot(path: directory + "/dump.rdb")
        #expect(snapshot.keyspace.count == 3)
        #expect(restored.run("LRANGE", "list", "0", "-1") == .array([.bulk("x"), .bulk("y")]))
        #expect(restored.run("PTTL", "ttl").integerValue == 3000)
    }

    @Test func bgsaveWritesInTheBackgroundWhileWritesGoOn() throws {
        let (engine, _, directory) = try engineInTemporaryDirectory()
        for i in 0..<10_000 { engine.run("SET", Bytes("key:\(i)"), "value") }
        #expect(engine.run("BGSAVE") == .status("Background saving started"))
        // Writes after the copy don't reach this snapshot and stay unsaved.
        engine.run("SET", "late", "x")
        #expect(waitUntil { engine.infoFields("persistence")["rdb_bgsave_in_progress"] == "0" })
        #expect(engine.infoFields("persistence")["rdb_changes_since_last_save"] == "1")
        let restored = Engine()
        let snapshot = try restored.loadSnapshot(path: directory + "/dump.rdb")
        #expect(snapshot.keyspace.count == 10_000)
        #expect(restored.run("EXISTS", "late").integerValue == 0)
    }

    @Test func bgsaveScheduleAndErrors() throws {
        let (engine, _, _) = try engineInTemporaryDirectory()
        #expect(engine.run("BGSAVE", "NOW").errorMessage == RedisError.syntax)
        #expect(engine.run("BGSAVE", "SCHEDULE") == .status("Background saving started"))
        #expect(waitUntil { engine.infoFields("persistence")["rdb_bgsave_in_progress"] == "0" })
    }

    @Test func aFailedSaveIsReportedAndTheOldFileKept() throws {
        let (engine, _, directory) = try engineInTemporaryDirectory()
        engine.run("SET", "a", "1")
        #expect(engine.run("SAVE") == .ok)
        let before = try Data(contentsOf: URL(fileURLWithPath: directory + "/dump.rdb"))
        engine.run("SET", "b", "2")
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: directory)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory) }
        if getuid() != 0 {  // root writes anyway
            #expect(engine.run("SAVE").errorMessage?.hasPrefix("ERR") == true)
            #expect(engine.infoFields("persistence")["rdb_last_bgsave_status"] == "err")
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/dump.rdb")) == before)
        }
    }

    @Test func saveRulesRunOnTheBackgroundTick() throws {
        let (engine, clock, directory) = try engineInTemporaryDirectory()
        #expect(engine.run("CONFIG", "SET", "save", "10 2") == .ok)
        #expect(engine.run("CONFIG", "GET", "save") == .map([.bulk("save"), .bulk("10 2")]))
        engine.run("SET", "a", "1")
        clock.advance(milliseconds: 11_000)
        for _ in 0..<20 { engine.runActiveExpiryCycle() }  // one change: not enough
        #expect(!FileManager.default.fileExists(atPath: directory + "/dump.rdb"))
        engine.run("SET", "b", "2")
        for _ in 0..<20 { engine.runActiveExpiryCycle() }
        #expect(waitUntil { FileManager.default.fileExists(atPath: directory + "/dump.rdb") })
        #expect(engine.run("CONFIG", "SET", "save", "10") .errorMessage?.contains("Invalid save parameters") == true)
        #expect(engine.run("CONFIG", "SET", "save", "") == .ok)
        #expect(engine.run("CONFIG", "GET", "save") == .map([.bulk("save"), .bulk("")]))
    }

    @Test func configRefusesToChangePaths() {
        let (engine, _) = makeEngine()
        #expect(engine.run("CONFIG", "SET", "dir", "/tmp").errorMessage == "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config")
        #expect(engine.run("CONFIG", "SET", "dbfilename", "snap.rdb").errorMessage?.contains("can't set protected config") == true)
        #expect(engine.run("CONFIG", "GET", "dbfilename") == .map([.bulk("dbfilename"), .bulk("dump.rdb")]))
    }

    @Test func aCorruptSnapshotIsRefusedAndNothingIsLoaded() throws {
        let (engine, _, directory) = try engineInTemporaryDirectory()
        engine.run("SET", "a", "1")
        #expect(engine.run("SAVE") == .ok)
        let path = directory + "/dump.rdb"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        let restored = Engine()
        #expect(throws: RDBError.self) { try restored.loadSnapshot(path: path) }
        #expect(restored.run("DBSIZE").integerValue == 0)
        #expect(restored.run("PING") == .status("PONG"), "not stuck in LOADING after a failure")
    }
}

/// The keyspace copy a snapshot takes stays cheap to write after: a write
/// copies one chunk and one index shard, not the table.
@Suite struct KeyspaceCopyOnWriteTests {
    @Test func aCopyIsIndependentOfLaterWrites() {
        var keyspace = Keyspace()
        for i in 0..<20_000 { keyspace.insert(Bytes("key:\(i)"), .string(Bytes("v\(i)"))) }
        let snapshot = keyspace
        keyspace.setValue(.string("changed"), atSlot: keyspace.slot(of: "key:5")!)
        keyspace.remove(atSlot: keyspace.slot(of: "key:19999")!)
        keyspace.insert("new", .string("n"), expiresAt: 1000)
        #expect(snapshot.count == 20_000)
        #expect(keyspace.count == 20_000)
        guard case .string(let old) = snapshot[slot: snapshot.slot(of: "key:5")!].value,
              case .string(let new) = keyspace[slot: keyspace.slot(of: "key:5")!].value else {
            Issue.record("strings expected")
            return
        }
        #expect(old == "v5")
        #expect(new == "changed")
        #expect(snapshot.slot(of: "new") == nil)
        #expect(snapshot.volatileCount == 0 && keyspace.volatileCount == 1)
        #expect(Set(snapshot.entries.map(\.key)).count == 20_000)
    }

    @Test func slotsSpanChunksAndScanSeesEveryKeyOnce() {
        var keyspace = Keyspace()
        for i in 0..<10_000 { keyspace.insert(Bytes("k\(i)"), .string("v")) }
        for i in stride(from: 0, to: 10_000, by: 3) { keyspace.remove(atSlot: keyspace.slot(of: Bytes("k\(i)"))!) }
        var seen: [Bytes] = []
        var cursor = 0
        repeat {
            cursor = keyspace.scan(from: cursor, count: 500) { seen.append($0.key) }
        } while cursor != 0
        #expect(seen.count == keyspace.count)
        #expect(Set(seen).count == seen.count)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<100 { #expect(keyspace.randomSlot(using: &generator).map { keyspace.entry(at: $0) != nil } == true) }
    }
}
