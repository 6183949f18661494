import Testing
@testable import KeywayEngine

/// The keyspace's own structure: the compact index and the entry layouts
/// (inline pair, packed, keyed), checked against a plain dictionary model.
@Suite struct KeyspaceStructureTests {
    /// Keys around the inline limit (14 bytes), binary and empty.
    static func key(_ n: Int) -> Bytes {
        switch n % 5 {
        case 0: return Bytes("k\(n)")
        case 1:                                                                          // 14 bytes, NULs
            let digits = Array("n\(n)".utf8)
            return Bytes(digits + Array(repeating: 0, count: 14 - digits.count))
        case 2: return Bytes(Array("fifteen-bytes!!".utf8) + Array("\(n)".utf8))         // past inline
        case 3: return Bytes([0xFF, 0xFE, UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF)])      // invalid UTF-8
        default: return Bytes(String(repeating: "long", count: 20) + "\(n)")
        }
    }

    @Test func randomInsertsAndRemovesMatchADictionary() {
        var keyspace = Keyspace()
        var model: [Bytes: Bytes] = [:]
        var generator = SystemRandomNumberGenerator()
        for step in 0..<30_000 {
            let key = Self.key(Int.random(in: 0..<3_000, using: &generator))
            if Bool.random(using: &generator), let slot = keyspace.slot(of: key) {
                #expect(model.removeValue(forKey: key) != nil)
                let removed = keyspace.remove(atSlot: slot)
                #expect(removed.key == key)
            } else if keyspace.slot(of: key) == nil {
                let value = Bytes("v\(step)" + String(repeating: "x", count: step % 20))
                #expect(keyspace.insertNew(key, .string(value)) != nil)
                model[key] = value
            } else {
                #expect(keyspace.insertNew(key, .string("dup")) == nil)
            }
        }
        #expect(keyspace.count == model.count)
        for (key, value) in model {
            let slot = keyspace.slot(of: key)
            #expect(slot != nil)
            guard let slot, case .string(let stored) = keyspace[slot: slot].value else { continue }
            #expect(stored == value)
        }
        for n in 3_000..<3_100 { #expect(keyspace.slot(of: Self.key(n)) == nil) }
        #expect(Set(keyspace.entries.map(\.key)) == Set(model.keys))
    }

    @Test func emptyAndBoundaryLengthKeysAndValuesRoundTrip() {
        var keyspace = Keyspace()
        // Around the inline pair (15 bytes together) and the packed limit.
        let lengths = [0, 1, 7, 8, 13, 14, 15, 16, 100, 2_048, 4_096, 4_097]
        for length in lengths {
            let key = Bytes(Array(repeating: UInt8(65 + length % 26), count: length))
            let value = Bytes(Array(repeating: 0, count: length))
            keyspace.insert(key, .string(value))
        }
        for length in lengths {
            let key = Bytes(Array(repeating: UInt8(65 + length % 26), count: length))
            let slot = keyspace.slot(of: key)
            #expect(slot != nil)
            guard let slot else { continue }
            #expect(keyspace[slot: slot].key == key)
            guard case .string(let value) = keyspace[slot: slot].value else {
                Issue.record("not a string")
                continue
            }
            #expect(value == Bytes(Array(repeating: 0, count: length)))
        }
    }

    @Test func collectionMutatedInPlaceKeepsItsContents() throws {
        var keyspace = Keyspace()
        let slot = keyspace.insert("list", ListValue().wrapped)
        for n in 0..<100 {
            try keyspace.modifyValue(atSlot: slot) { (value: inout Value) throws(CommandError) in
                guard var list = ListValue.take(&value) else { return }
                list.push(Bytes("e\(n)"), to: .right)
                value = list.wrapped
            }
        }
        guard case .list(let list) = keyspace[slot: slot].value else {
            Issue.record("not a list")
            return
        }
        #expect(list.count == 100)
        #expect(list.elements.last == Bytes("e99"))
    }

    @Test func snapshotIsUnchangedByLaterWrites() {
        var keyspace = Keyspace()
        for n in 0..<5_000 { keyspace.insert(Self.key(n), .string(Bytes("v\(n)"))) }
        let snapshot = keyspace
        for n in 0..<2_500 {
            if let slot = keyspace.slot(of: Self.key(n)) { keyspace.remove(atSlot: slot) }
        }
        keyspace.insert("new", .string("x"))
        #expect(snapshot.count == 5_000)
        #expect(snapshot.slot(of: "new") == nil)
        for n in stride(from: 0, to: 5_000, by: 97) { #expect(snapshot.slot(of: Self.key(n)) != nil) }
    }

    @Test func entriesStayCompact() {
        // A key's entry: its storage (inline pair or one reference), expiry,
        // access clock and lengths: a regression here costs every key.
        #expect(MemoryLayout<Value>.size <= 9)
        #expect(MemoryLayout<Keyspace.Entry?>.stride == 32)
    }

    @Test("each layout is chosen by size: inline up to 15 bytes together, packed up to 4 KiB values, else keyed")
    func layoutsFollowTheSizes() {
        var keyspace = Keyspace()
        func layout(_ key: Bytes, _ value: Bytes) -> String {
            let slot = keyspace.insert(key, .string(value))
            defer { keyspace.remove(atSlot: slot) }
            #expect(keyspace[slot: slot].key == key)
            if case .string(let stored) = keyspace[slot: slot].value { #expect(stored == value) } else { Issue.record("not a string") }
            switch keyspace[slot: slot].storage {
            case .inlinePair: return "inline"
            case .packed: return "packed"
            case .keyed: return "keyed"
            }
        }
        #expect(layout("k000001", "00000001") == "inline")                       // 7 + 8
        #expect(layout("", Bytes(Array(repeating: 0, count: 15))) == "inline")
        #expect(layout("k0000001", "00000001") == "packed")                      // 8 + 8
        #expect(layout("user:session:00000001", Bytes(String(repeating: "t", count: 40))) == "packed")
        #expect(layout("k", Bytes(Array(repeating: 0xFF, count: 4_096))) == "packed")
        #expect(layout("k", Bytes(Array(repeating: 0xFF, count: 4_097))) == "keyed")
        let hash = keyspace.insert("h", HashValue().wrapped)
        if case .keyed = keyspace[slot: hash].storage {} else { Issue.record("a collection is not keyed") }
    }

    @Test("a string changed in place moves to its own array, and a snapshot holding it is unchanged")
    func stringChangedInPlaceLeavesSnapshotsAlone() throws {
        var keyspace = Keyspace()
        let slot = keyspace.insert("user:session:00000001", .string("started"))
        let beforeAppend = keyspace
        for n in 0..<3 {
            try keyspace.modifyValue(atSlot: slot) { (value: inout Value) throws(CommandError) in
                guard case .string(var bytes) = value else { return }
                value = .string(Bytes())
                bytes.storage.append(contentsOf: Array("+\(n)".utf8))
                value = .string(bytes)
            }
            if case .keyed = keyspace[slot: slot].storage {} else { Issue.record("an appended string is not keyed") }
        }
        let afterAppends = keyspace
        try keyspace.modifyValue(atSlot: slot) { (value: inout Value) throws(CommandError) in
            value = .string("replaced in place")
        }
        #expect(keyspace[slot: slot].value.stringBytes == "replaced in place")
        #expect(afterAppends[slot: slot].value.stringBytes == "started+0+1+2")
        #expect(beforeAppend[slot: slot].value.stringBytes == "started")
        #expect(keyspace.recountMemoryUsage() == keyspace.usedMemory)
    }

    @Test("a failed change of a packed or inline string leaves its layout as it was")
    func unchangedStringKeepsItsLayout() throws {
        var keyspace = Keyspace()
        let packed = keyspace.insert("user:session:00000001", .string("a forty-byte session token, or near it"))
        let inline = keyspace.insert("k", .string("1"))
        for slot in [packed, inline] {
            let before = keyspace.usedMemory
            #expect(throws: CommandError.self) {
                try keyspace.modifyValue(atSlot: slot) { (value: inout Value) throws(CommandError) in
                    guard HashValue.take(&value) != nil else { throw .wrongType }
                }
            }
            #expect(keyspace.usedMemory == before)
            if case .keyed = keyspace[slot: slot].storage { Issue.record("moved to a keyed object") }
        }
    }

    @Test("the volatile set adds, removes and picks every member, against a model")
    func volatileSlotsMatchASet() {
        var slots = VolatileSlots()
        var model = Set<Int>()
        var random = SplitMix64(seed: 20_261_204)
        for _ in 0..<50_000 {
            let slot = Int(random.next() % 4_000)
            if model.contains(slot) {
                slots.remove(slot)
                model.remove(slot)
            } else {
                slots.insert(slot)
                model.insert(slot)
            }
            #expect(slots.count == model.count)
        }
        var picked = Set<Int>()
        for _ in 0..<(model.count * 30) {
            guard let slot = slots.randomElement(using: &random) else { break }
            #expect(model.contains(slot))
            picked.insert(slot)
        }
        #expect(picked == model)
        for slot in model { slots.remove(slot) }
        #expect(slots.isEmpty)
        #expect(slots.randomElement(using: &random) == nil)
    }
}

private extension Value {
    /// The bytes of a string value, nil for other types.
    var stringBytes: Bytes? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }
}
