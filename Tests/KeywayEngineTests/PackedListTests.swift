import Testing
@testable import KeywayEngine

/// Lists in their packed form (up to 8 KiB of packed bytes) and across the
/// conversions to the deque (past 8 KiB) and back (at 4 KiB), against a model.
@Suite struct PackedListTests {
    /// Bytes an element takes packed: a LEB128 length and its bytes.
    static func packedSize(_ element: Bytes) -> Int {
        element.count + (element.count < 128 ? 1 : element.count < 16_384 ? 2 : 3)
    }

    @Test func aListIsPackedUpTo8KiBAndAgainAt4KiB() {
        var list = ListValue()
        let element = Bytes([UInt8](repeating: 120, count: 99)) // 100 bytes packed
        for _ in 0..<81 { list.push(element, to: .right) }
        #expect(list.isCompact) // 8,100 bytes
        list.push("ab", to: .left) // 8,103
        #expect(list.isCompact)
        list.push(element, to: .left) // 8,203: past the budget
        #expect(!list.isCompact)
        #expect(list.count == 83 && list.element(at: 1) == "ab")
        // Hysteresis: packed again only once it would take half the budget.
        while list.count > 42 { _ = list.pop(from: .right) }
        #expect(!list.isCompact)
        while list.count > 40 { _ = list.pop(from: .right) }
        #expect(list.isCompact)
        #expect(list.memoryUsage == list.recountMemoryUsage())

        // One element larger than the budget is never packed.
        var large = ListValue()
        large.push(Bytes([UInt8](repeating: 0, count: 9_000)), to: .left)
        #expect(!large.isCompact)
        #expect(!ListValue([Bytes([UInt8](repeating: 0, count: 9_000))]).isCompact)
        #expect(ListValue([Bytes(), "a", Bytes([0xFF])]).isCompact)
    }

    /// Random pushes, pops, edits, trims and removals with elements of 0 to
    /// 3,000 bytes, so that lists go back and forth between the forms,
    /// checked against an array after every step, with the memory figure
    /// against a recount.
    @Test(arguments: [11, 12, 13] as [UInt64])
    func randomOperationsMatchAModel(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        func element() -> Bytes {
            switch Int.random(in: 0..<20, using: &random) {
            case 0: return Bytes()
            case 1: return Bytes([UInt8](repeating: 0xAB, count: Int.random(in: 100...3_000, using: &random)))
            case 2: return Bytes([0, 0xFF, 10])
            default: return Bytes("e\(Int.random(in: 0..<12, using: &random))" + String(repeating: "x", count: Int.random(in: 0...150, using: &random)))
            }
        }
        var list = ListValue()
        var model: [Bytes] = []
        var conversions = 0
        var wasPacked = true
        for step in 0..<5_000 {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<30:
                let new = element()
                if Bool.random(using: &random) { list.push(new, to: .left); model.insert(new, at: 0) }
                else { list.push(new, to: .right); model.append(new) }
            case 30..<50:
                let left = Bool.random(using: &random)
                #expect(list.pop(from: left ? .left : .right) == (left ? model.first : model.last))
                if !model.isEmpty { if left { model.removeFirst() } else { model.removeLast() } }
            case 50..<58 where !model.isEmpty:
                let position = Int.random(in: 0..<model.count, using: &random)
                let new = element()
                list.replace(at: position, with: new)
                model[position] = new
            case 58..<66:
                let position = Int.random(in: 0...model.count, using: &random)
                let new = element()
                list.insert(new, at: position)
                model.insert(new, at: position)
            case 66..<72:
                let target = model.randomElement(using: &random) ?? "none"
                let limit = [1, 2, Int.max].randomElement(using: &random)!
                let fromTail = Bool.random(using: &random)
                var positions = Array(model.indices.filter { model[$0] == target })
                if fromTail { positions.reverse() }
                let doomed = Set(positions.prefix(limit))
                #expect(list.removeMatches(of: target, limit: limit, fromTail: fromTail) == doomed.count)
                model = model.indices.filter { !doomed.contains($0) }.map { model[$0] }
            case 72..<74:
                let start = Int64.random(in: -5...5, using: &random), stop = Int64.random(in: -5...200, using: &random)
                let range = list.clampedRange(start, stop)
                list.keep(range)
                model = range.map { Array(model[$0]) } ?? []
            default:
                break
            }
            #expect(list.count == model.count)
            #expect(list.elements == model, "step \(step)")
            #expect(list.memoryUsage == list.recountMemoryUsage(), "step \(step)")
            let packedBytes = model.reduce(0) { $0 + Self.packedSize($1) }
            if list.isCompact { #expect(packedBytes <= ListValue.packedMaxBytes) } else { #expect(packedBytes > ListValue.packedMaxBytes / 2) }
            if list.isCompact != wasPacked { conversions += 1; wasPacked = list.isCompact }
            if step % 5 == 0 && !model.isEmpty {
                let position = Int.random(in: 0..<model.count, using: &random)
                #expect(list.element(at: position) == model[position])
                let end = min(model.count - 1, position + 4)
                #expect(list.elements(in: position...end) == Array(model[position...end]))
                let target = model[Int.random(in: 0..<model.count, using: &random)]
                let maxScanned = Int.random(in: 0...10, using: &random)
                let fromTail = Bool.random(using: &random)
                var seen: [Int] = []
                list.visitMatches(of: target, fromTail: fromTail, maxScanned: maxScanned) { seen.append($0); return seen.count < 3 }
                let scanned = maxScanned == 0 ? model.count : min(maxScanned, model.count)
                let order = fromTail ? Array((model.count - scanned..<model.count).reversed()) : Array(0..<scanned)
                #expect(seen == Array(order.filter { model[$0] == target }.prefix(3)))
                #expect(list.firstPosition(of: target) == model.firstIndex(of: target))
            }
        }
        // The walk went through both forms many times.
        #expect(conversions >= 4)
    }

    /// The list commands built on scans (LPOS, LINSERT, LREM, LINDEX, LSET,
    /// LRANGE, LTRIM, LMOVE) answer the same on a packed list and on a
    /// deque holding the same elements.
    @Test func commandsAnswerAlikeFromBothForms() {
        let (engine, _) = makeEngine()
        var elements: [Bytes] = []
        for i in 0..<120 { elements.append(Bytes(["a", "b", "c", "", "d\(i)"][i % 5])) }
        // With a 5,000-byte element the list takes between 4 and 8 KiB packed,
        // where either form may hold it: built by pushes it is packed, and
        // pushed past 8 KiB then popped back it stays a deque.
        elements.append(Bytes([UInt8](repeating: 122, count: 5_000)))
        engine.run(["RPUSH", "packed"] + elements)
        engine.run(["RPUSH", "deque"] + elements)
        engine.run("LPUSH", "deque", Bytes([UInt8](repeating: 121, count: 4_000)))
        engine.run("LPOP", "deque")
        #expect(engine.run("OBJECT", "ENCODING", "packed") == .bulk("listpack"))
        #expect(engine.run("OBJECT", "ENCODING", "deque") == .bulk("quicklist"))
        let queries: [[Bytes]] = [
            ["LPOS", "$", "b"], ["LPOS", "$", "b", "RANK", "-2"], ["LPOS", "$", "", "COUNT", "0"], ["LPOS", "$", "c", "RANK", "3", "COUNT", "4"],
            ["LPOS", "$", "a", "RANK", "-1", "COUNT", "0", "MAXLEN", "30"], ["LPOS", "$", "absent"], ["LPOS", "$", "d7", "COUNT", "2"],
            ["LINDEX", "$", "0"], ["LINDEX", "$", "-1"], ["LINDEX", "$", "57"], ["LINDEX", "$", "500"],
            ["LRANGE", "$", "0", "10"], ["LRANGE", "$", "-7", "-2"], ["LRANGE", "$", "100", "1000"],
            ["LINSERT", "$", "BEFORE", "c", "new"], ["LINSERT", "$", "AFTER", "", "after-empty"], ["LINSERT", "$", "AFTER", "absent", "x"],
            ["LSET", "$", "-3", "changed"], ["LSET", "$", "4", ""],
            ["LREM", "$", "2", "a"], ["LREM", "$", "-3", "b"], ["LREM", "$", "0", ""],
            ["LRANGE", "$", "0", "-1"],
            ["LTRIM", "$", "2", "-3"], ["LRANGE", "$", "0", "-1"],
            ["LMOVE", "$", "$", "LEFT", "RIGHT"], ["RPOPLPUSH", "$", "$"], ["LRANGE", "$", "0", "-1"], ["LLEN", "$"],
        ]
        for query in queries {
            let onPacked = engine.run(query.map { $0 == "$" ? "packed" : $0 })
            let onDeque = engine.run(query.map { $0 == "$" ? "deque" : $0 })
            #expect(onPacked == onDeque, "\(query.map(\.text))")
        }
        let figures = engine.memoryFigures()
        #expect(figures.running == figures.recount)
    }

    @Test func aPackedListCostsItsBuffer() {
        let (engine, _) = makeEngine()
        engine.run(["RPUSH", "l"] + (0..<100).map { Bytes("item:\(String(1_000_000 + $0).dropFirst())") })
        let list = engine.withDatabase { db, _ in ListValue.peek(db.keyspace[slot: db.keyspace.slot(of: "l")!].value)! }
        #expect(list.isCompact)
        // 100 elements of 11 bytes, each with a length byte; spare room trimmed.
        #expect(list.memoryUsage <= MemoryCost.objectHeader + 1_200 + 1_200 / 8 + 16)
        #expect(list.memoryUsage == list.recountMemoryUsage())
    }

    /// Snapshots and rewrites keep both forms' elements exactly (empty,
    /// binary, long), and a loaded list takes the form its size calls for.
    @Test func persistenceKeepsBothForms() throws {
        let (engine, clock) = makeEngine()
        engine.run("RPUSH", "small", "", Bytes([0, 0xFF]), "12", "-5", Bytes([UInt8](repeating: 1, count: 300)))
        engine.run(["RPUSH", "large"] + (0..<3_000).map { Bytes("element \($0)") })
        engine.run("RPUSH", "huge", Bytes([UInt8](repeating: 2, count: 20_000)), "tail")

        var bytes: [UInt8] = []
        let original = engine.withDatabase { db, _ in db.keyspace }
        RDBWriter.write(original, now: clock.nowMilliseconds(), to: &bytes)
        let loaded = try RDBReader.load(bytes: bytes, now: clock.nowMilliseconds()).keyspace
        for (key, packed) in [("small", true), ("large", false), ("huge", false)] {
            let before = ListValue.peek(original[slot: original.slot(of: Bytes(key))!].value)!
            let after = ListValue.peek(loaded[slot: loaded.slot(of: Bytes(key))!].value)!
            #expect(after.elements == before.elements, "\(key)")
            #expect(after.isCompact == packed, "\(key)")
            #expect(after.memoryUsage == after.recountMemoryUsage())
        }
        #expect(loaded.recountMemoryUsage() == loaded.usedMemory)

        let directory = makeTemporaryDirectory()
        try AOFRewriter.writeFile(original, now: clock.nowMilliseconds(), to: directory + "/rewritten.aof")
        let (replayed, _) = makeEngine(milliseconds: clock.nowMilliseconds())
        _ = try AOFLoader.load(path: directory + "/rewritten.aof", into: replayed)
        #expect(keyspaceDifferences(dumpKeyspace(replayed), dumpKeyspace(engine)) == [])
    }

    /// Random list writes through the engine, on keys that cross the
    /// budget both ways, keep the running memory figure equal to a recount.
    @Test func memoryFigureFollowsWritesAcrossTheBudget() {
        let (engine, _) = makeEngine()
        var random = SplitMix64(seed: 8)
        func element() -> Bytes { Bytes([UInt8](repeating: 100, count: Int.random(in: 0...600, using: &random))) }
        func index() -> Bytes { Bytes("\(Int.random(in: -20...20, using: &random))") }
        for step in 0..<3_000 {
            let key = Bytes("l\(Int.random(in: 0..<2, using: &random))")
            switch Int.random(in: 0..<10, using: &random) {
            case 0, 1, 2: engine.run("RPUSH", key, element(), element())
            case 3: engine.run("LPUSH", key, element())
            case 4: engine.run("LPOP", key, "2")
            case 5: engine.run("RPOP", key)
            case 6: engine.run("LSET", key, index(), element())
            case 7: engine.run("LTRIM", key, index(), index())
            case 8: engine.run("LINSERT", key, "BEFORE", "", element())
            default: engine.run("LMOVE", key, Bytes("l\(Int.random(in: 0..<2, using: &random))"), "LEFT", "RIGHT")
            }
            let figures = engine.memoryFigures()
            #expect(figures.running == figures.recount, "step \(step)")
            if figures.running != figures.recount { return }
        }
    }
}
