import Testing
@testable import KeywayEngine
#if canImport(Glibc)
import Glibc
#endif

@Suite("RDB round trips")
struct RDBRoundTripTests {
    func keyspace(of engine: Engine) -> Keyspace { engine.withDatabase { db, _ in db.keyspace } }

    func snapshot(_ engine: Engine, now: Int64 = startMilliseconds) throws -> (bytes: [UInt8], loaded: RDBSnapshot) {
        var bytes: [UInt8] = []
        RDBWriter.write(keyspace(of: engine), now: now, to: &bytes)
        return (bytes, try RDBReader.load(bytes: bytes, now: now))
    }

    /// A comparable description of a value.
    func describe(_ value: Value) -> String {
        switch value {
        case .string(let b): return "string:\(b.storage)"
        case .list(let l): return "list:\(l.elements.map(\.storage))"
        case .json(let d): return "json:\(JSONNodeWriter.compact.text(d.root))"
        case .set(let s): return "set:\(s.members.sorted().map(\.storage))"
        case .zset(let z): return "zset:\(z.allElements.map { "\($0.member.storage)=\($0.score)" })"
        case .hash(let h):
            return "hash:\(h.entries.sorted { $0.field < $1.field }.map { "\($0.field.storage)=\($0.value.storage)@\(h.expiry(of: $0.field) ?? -1)" })"
        case .stream(let s):
            var text = "stream:\(s.entries.range(.zero, .max).map { "\($0.id)\($0.fields.map(\.storage))" }) last=\(s.lastID) added=\(s.entriesAdded) maxdel=\(s.maxDeletedID) first=\(s.firstID)"
            for name in s.groups.keys.sorted() {
                let g = s.groups[name]!
                text += " group \(name.text) last=\(g.lastID) read=\(String(describing: g.entriesRead))"
                for id in g.pending.ids() {
                    let p = g.pending[id]!
                    text += " pel \(id) \(p.consumer.text) \(p.deliveryTime) \(p.deliveryCount)"
                }
                for c in g.consumerNames {
                    text += " consumer \(c.text) seen=\(g.consumers[c]!.seenTime) owns=\(g.consumers[c]!.pending.ids())"
                }
            }
            return text
        }
    }

    func expectSameData(_ original: Keyspace, _ loaded: Keyspace, now: Int64 = startMilliseconds) {
        let live = original.entries.filter { !$0.hasExpiry || $0.expiresAt > now }
        #expect(loaded.count == live.count)
        for entry in live {
            guard let slot = loaded.slot(of: entry.key) else {
                Issue.record("missing key \(entry.key.text)")
                continue
            }
            let other = loaded[slot: slot]
            #expect(other.expiresAt == entry.expiresAt, "TTL of \(entry.key.text)")
            #expect(describe(other.value) == describe(entry.value), "value of \(entry.key.text)")
        }
    }

    func populateEveryType(_ engine: Engine, size: Int) {
        engine.run("SET", "str", "hello world")
        engine.run("SET", "int", "-123456")
        engine.run("SET", "bin", Bytes([0, 1, 2, 255, 0x80]))
        engine.run("SET", "long", Bytes(String(repeating: "compress me ", count: 100)))
        engine.run("SET", "ttl", "soon", "PX", "5000")
        var list: [Bytes] = ["RPUSH", "list"], set: [Bytes] = ["SADD", "set"], intset: [Bytes] = ["SADD", "intset"]
        var zset: [Bytes] = ["ZADD", "zset"], hash: [Bytes] = ["HSET", "hash"]
        for i in 0..<size {
            list.append(Bytes(i % 3 == 0 ? "\(i)" : "item-\(i)"))
            set.append(Bytes("member-\(i)"))
            intset.append(Bytes("\(i * 7 - 50)"))
            zset.append(Bytes("\(Double(i) / 4 - 3)")); zset.append(Bytes("z\(i)"))
            hash.append(Bytes("field\(i)")); hash.append(Bytes(i % 2 == 0 ? "\(i)" : "value \(i)"))
        }
        engine.run(list); engine.run(set); engine.run(intset); engine.run(zset); engine.run(hash)
        engine.run("ZADD", "zset", "inf", "top", "-inf", "bottom")
        engine.run("EXPIRE", "hash", "100")
        engine.run("JSON.SET", "json", "$", Bytes(#"{"a":[1,2.5,"x\u0000y",true,null],"o":{"é":{}},"big":\#(String(repeating: "[1,", count: size % 50 + 1))0\#(String(repeating: "]", count: size % 50 + 1))}"#))
    }

    func populateStream(_ engine: Engine, entries: Int) {
        for i in 1...entries {
            if i % 10 == 0 {
                engine.run("XADD", "stream", Bytes("\(1000 + i)-\(i % 3)"), "other", Bytes("\(i)"))
            } else {
                engine.run("XADD", "stream", Bytes("\(1000 + i)-\(i % 3)"), "name", Bytes("n\(i)"), "count", Bytes("\(i)"))
            }
        }
        engine.run("XDEL", "stream", "1005-2")
        engine.run("XGROUP", "CREATE", "stream", "readers", "0")
        engine.run("XGROUP", "CREATE", "stream", "late", "$")
        engine.run("XREADGROUP", "GROUP", "readers", "alice", "COUNT", Bytes("\(entries / 4)"), "STREAMS", "stream", ">")
        engine.run("XREADGROUP", "GROUP", "readers", "bob", "COUNT", Bytes("\(entries / 5)"), "STREAMS", "stream", ">")
        engine.run("XACK", "stream", "readers", "1001-1", "1002-2")
        engine.run("XGROUP", "CREATECONSUMER", "stream", "readers", "idle")
    }

    @Test func everyTypeSmall() throws {
        let (engine, _) = makeEngine()
        populateEveryType(engine, size: 10)
        populateStream(engine, entries: 30)
        let (bytes, loaded) = try snapshot(engine)
        #expect(Array(bytes[0..<9]) == Array("REDIS0010".utf8))
        #expect(loaded.version == 10)
        expectSameData(keyspace(of: engine), loaded.keyspace)
    }

    @Test func everyTypeLarge() throws {
        let (engine, _) = makeEngine()
        populateEveryType(engine, size: 10_000)
        populateStream(engine, entries: 1_000)
        let (_, loaded) = try snapshot(engine)
        expectSameData(keyspace(of: engine), loaded.keyspace)
        guard case .stream(let stream) = loaded.keyspace[slot: loaded.keyspace.slot(of: "stream")!].value else {
            Issue.record("stream missing"); return
        }
        #expect(stream.length == 999)
        #expect(stream.groups["readers"]!.pending.count == 250 + 200 - 2)
    }

    /// String keys are built from the file's bytes directly: every layout
    /// (inline, packed, over 4 KiB), compressed and integer-encoded values,
    /// keys with TTLs, and the accounting all come out as the original's.
    @Test func stringKeysLoadInEveryLayout() throws {
        let (engine, _) = makeEngine()
        engine.run("SET", "k", "v")
        engine.run("SET", "user:session:00000001", Bytes(String(String(repeating: "token:1:", count: 5).prefix(40))))
        engine.run("SET", "packed-max", Bytes(String(repeating: "y", count: 4096)))
        engine.run("SET", "over-packed", Bytes(String(repeating: "abc", count: 2000)))
        engine.run("SET", "int8", "-100")
        engine.run("SET", "int16", "30000")
        engine.run("SET", "int32", "-2000000000")
        engine.run("SET", "empty", "")
        engine.run("SET", Bytes([0, 255, 10]), Bytes([0x80, 0, 1]))
        engine.run("SET", "expiring", Bytes(String(repeating: "z", count: 30)), "PX", "100000")
        for i in 0..<500 { engine.run("SET", Bytes("many:\(i)"), Bytes(String(repeating: "\(i % 7)", count: i % 90))) }
        let (bytes, loaded) = try snapshot(engine)
        expectSameData(keyspace(of: engine), loaded.keyspace)
        #expect(loaded.keyspace.usedMemory == keyspace(of: engine).usedMemory)
        #expect(loaded.keyspace.usedMemory == loaded.keyspace.recountMemoryUsage())
        // The same key twice is refused, naming it.
        var doubled = Array(bytes[..<(bytes.count - 9)])  // without EOF and checksum
        doubled += [RDBFormat.ValueType.string, 1, UInt8(ascii: "k"), 1, UInt8(ascii: "w"), RDBFormat.Opcode.eof] + [UInt8](repeating: 0, count: 8)
        #expect(throws: RDBError.self) { try RDBReader.load(bytes: doubled, now: startMilliseconds) }
    }

    @Test func expiredKeysAreDroppedAndTTLsKept() throws {
        let (engine, clock) = makeEngine()
        engine.run("SET", "gone", "x", "PX", "10")
        engine.run("SET", "kept", "y", "PX", "10000")
        engine.run("SET", "forever", "z")
        clock.advance(milliseconds: 10)
        let now = clock.nowMilliseconds()
        var bytes: [UInt8] = []
        RDBWriter.write(keyspace(of: engine), now: now, to: &bytes)
        let loaded = try RDBReader.load(bytes: bytes, now: now)
        #expect(loaded.keyspace.count == 2)
        #expect(loaded.keyspace.slot(of: "gone") == nil)
        #expect(loaded.keyspace[slot: loaded.keyspace.slot(of: "kept")!].expiresAt == startMilliseconds + 10_000)
        #expect(!loaded.keyspace[slot: loaded.keyspace.slot(of: "forever")!].hasExpiry)
        // Loading later drops what expired while on disk.
        let later = try RDBReader.load(bytes: bytes, now: startMilliseconds + 10_000)
        #expect(later.keyspace.count == 1)
        #expect(later.expiredKeysSkipped == 1)
    }

    @Test func hashFieldTTLsRoundTrip() throws {
        let (engine, _) = makeEngine()
        engine.run("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4")
        engine.run("HPEXPIRE", "h", "1000", "FIELDS", "1", "a")
        engine.run("HPEXPIRE", "h", "50000", "FIELDS", "2", "b", "c")
        let (bytes, loaded) = try snapshot(engine)
        #expect(Array(bytes[0..<9]) == Array("REDIS0012".utf8))
        #expect(bytes.contains(RDBFormat.ValueType.hashMetadata))
        expectSameData(keyspace(of: engine), loaded.keyspace)
        #expect(loaded.keysWithVolatileFields == ["h"])
        // Fields that expire while on disk are dropped on load; the rest keep their TTLs.
        let later = try RDBReader.load(bytes: bytes, now: startMilliseconds + 1000)
        guard case .hash(let hash) = later.keyspace[slot: later.keyspace.slot(of: "h")!].value else { Issue.record("no hash"); return }
        #expect(hash.count == 3 && hash["a"] == nil)
        #expect(hash.expiry(of: "b") == startMilliseconds + 50_000)
        // Expired fields are not written; a hash with only expired fields is left out.
        let afterAll = startMilliseconds + 1000
        var again: [UInt8] = []
        RDBWriter.write(keyspace(of: engine), now: afterAll, to: &again)
        let reloaded = try RDBReader.load(bytes: again, now: afterAll)
        guard case .hash(let trimmed) = reloaded.keyspace[slot: reloaded.keyspace.slot(of: "h")!].value else { Issue.record("no hash"); return }
        #expect(trimmed.count == 3)
        let (only, _) = makeEngine()
        only.run("HSET", "h", "a", "1")
        only.run("HPEXPIRE", "h", "10", "FIELDS", "1", "a")
        var none: [UInt8] = []
        RDBWriter.write(keyspace(of: only), now: startMilliseconds + 10, to: &none)
        #expect(Array(none[0..<9]) == Array("REDIS0010".utf8))
        #expect(try RDBReader.load(bytes: none, now: startMilliseconds + 10).keyspace.count == 0)
    }

    @Test func flippedByteIsRejectedWithOffset() throws {
        let (engine, _) = makeEngine()
        populateEveryType(engine, size: 50)
        let (bytes, _) = try snapshot(engine)
        for position in [20, bytes.count / 2, bytes.count - 12, bytes.count - 3] {
            var corrupt = bytes
            corrupt[position] ^= 0x40
            do {
                _ = try RDBReader.load(bytes: corrupt, now: startMilliseconds)
                Issue.record("flipped byte at \(position) accepted")
            } catch {
                #expect(error.offset != nil)
                #expect(error.description.contains("offset"))
                #expect(error.description.contains("checksum"), "\(error)")
            }
        }
    }

    @Test func truncatedFileIsRejected() throws {
        let (engine, _) = makeEngine()
        populateEveryType(engine, size: 50)
        let (bytes, _) = try snapshot(engine)
        for length in [0, 5, 9, 40, bytes.count / 2, bytes.count - 9, bytes.count - 1] {
            #expect(throws: RDBError.self, "truncated to \(length)") {
                try RDBReader.load(bytes: Array(bytes[0..<length]), now: startMilliseconds)
            }
        }
    }

    @Test func unknownTypeAndBadMagicAreNamed() throws {
        var bytes = Array("REDIS0010".utf8) + [0xFE, 0x00, 0x63, 0x01, 0x6B, 0x00, 0xFF]
        var withChecksum = bytes
        withChecksum += withUnsafeBytes(of: CRC64.checksum(bytes).littleEndian) { Array($0) }
        #expect(throws: RDBError("unknown value type 99", offset: 11)) {
            try RDBReader.load(bytes: withChecksum, now: 0)
        }
        bytes[0] = UInt8(ascii: "X")
        #expect(throws: RDBError.self) { try RDBReader.load(bytes: bytes, now: 0) }
        #expect(throws: RDBError("unsupported RDB version 99 (this reader handles 1 to 12)", offset: 5)) {
            try RDBReader.load(bytes: Array("REDIS0099".utf8) + [0xFF], now: 0)
        }
    }

    @Test func streamingWriterMatchesInMemory() throws {
        let (engine, _) = makeEngine()
        populateEveryType(engine, size: 2000)
        var whole: [UInt8] = []
        RDBWriter.write(keyspace(of: engine), now: startMilliseconds, to: &whole)
        var chunks: [[UInt8]] = []
        RDBWriter.write(keyspace(of: engine), now: startMilliseconds, chunkSize: 1024) { chunks.append($0) }
        #expect(chunks.count > 3)
        #expect(chunks.flatMap { $0 } == whole)
    }
}

@Suite("RDB files")
struct RDBFileTests {
    func temporaryDirectory() -> String {
        var template = Array("/tmp/keyway-rdb-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        return path
    }

    func files(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    @Test func saveAndLoad() throws {
        let directory = temporaryDirectory()
        let (engine, _) = makeEngine()
        engine.run("SET", "a", "1")
        engine.run("RPUSH", "l", "x", "y")
        let path = directory + "/dump.rdb"
        try RDBFile.save(keyspace: engine.withDatabase { db, _ in db.keyspace }, now: startMilliseconds, path: path)
        let loaded = try RDBFile.load(path: path, now: startMilliseconds)
        #expect(loaded.keyspace.count == 2)
        #expect(files(in: directory) == ["dump.rdb"])
    }

    @Test func failedSaveLeavesPreviousFileIntact() throws {
        let directory = temporaryDirectory()
        let path = directory + "/dump.rdb"
        let (engine, _) = makeEngine()
        engine.run("SET", "old", "value")
        try RDBFile.save(keyspace: engine.withDatabase { db, _ in db.keyspace }, now: startMilliseconds, path: path)
        let before = try RDBFile.readAll(path)

        for i in 0..<3000 { engine.run("SET", Bytes("key\(i)"), Bytes(String(repeating: "v", count: 500 + i))) }
        let big = engine.withDatabase { db, _ in db.keyspace }
        #expect(throws: RDBError("injected failure")) {
            try RDBFile.save(keyspace: big, now: startMilliseconds, path: path, options: .init(compressStrings: false)) { written throws(RDBError) in
                if written > 0 { throw RDBError("injected failure") }
            }
        }
        #expect(try RDBFile.readAll(path) == before)
        #expect(files(in: directory) == ["dump.rdb"], "the temporary file is removed")
        #expect(try RDBFile.load(path: path, now: startMilliseconds).keyspace.count == 1)

        // A directory that does not exist: nothing is created, the error says why.
        #expect(throws: RDBError.self) {
            try RDBFile.save(keyspace: big, now: startMilliseconds, path: directory + "/missing/dump.rdb")
        }
    }
}
