import Testing
@testable import KeywayEngine

/// The keyspace's own structure: the compact index and inline keys and
/// values, checked against a plain dictionary model.
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
        let lengths = [0, 1, 13, 14, 15, 16, 100]
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
                list.elements.append(Bytes("e\(n)"))
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
        // A string key's entry: inline key and value, expiry, volatile
        // position and spare room: a regression here costs every key.
        #expect(MemoryLayout<Value>.size <= 9)
        #expect(MemoryLayout<Keyspace.Entry?>.stride <= 48)
    }
}
