import Testing
@testable import KeywayEngine

/// Sorted sets in their packed form (up to 128 members of up to 64 bytes)
/// and across the one-way conversion to the tree, against a model.
@Suite struct PackedSortedSetTests {
    typealias Pair = (member: Bytes, score: Double)

    static func ordered(_ a: Pair, _ b: Pair) -> Bool {
        a.score != b.score ? a.score < b.score : a.member < b.member
    }

    /// A readable, exact form of pairs: -0 and 0 are told apart.
    static func describe(_ pairs: [Pair]) -> [String] {
        pairs.map { "\($0.member.storage)=\($0.score.bitPattern)" }
    }

    @Test func scoresEncodeInTheFewestBytesAndDecodeExactly() {
        let cases: [(Double, Int)] = [
            (0, 0), (-0.0, 8), (1, 1), (-1, 1), (99, 1), (127, 1), (128, 2), (-128, 1), (-129, 2),
            (1_700_000_000_000, 6), (9_007_199_254_740_992, 7), (-9_007_199_254_740_992, 7),
            (9_007_199_254_740_994, 8), (0.5, 8), (-2.25, 8), (.infinity, 8), (-.infinity, 8),
            (.greatestFiniteMagnitude, 8), (.leastNonzeroMagnitude, 8),
        ]
        for (score, length) in cases {
            let encoded = PackedSortedSet.encode(score)
            #expect(encoded.count == length, "\(score)")
            let decoded = encoded.storage.withUnsafeBytes { PackedSortedSet.decode($0) }
            #expect(decoded.bitPattern == score.bitPattern, "\(score)")
        }
    }

    @Test func aSetIsPackedUpTo128MembersOf64Bytes() {
        var set = SortedSetValue()
        for i in 0..<128 { set.set(Bytes("m\(i)"), score: Double(i)) }
        #expect(set.isCompact && set.count == 128)
        // Updates and re-adds at the limit keep it packed.
        #expect(set.set("m5", score: 1000) == .updated)
        #expect(set.set("m6", score: 6) == .unchanged)
        #expect(set.isCompact)
        #expect(set.set("m128", score: 0) == .added)
        #expect(!set.isCompact)
        #expect(set.verifyInvariants())
        // One way: shrinking does not pack it again, as Redis keeps a skip list.
        for i in 0..<120 { set.remove(Bytes("m\(i)")) }
        #expect(!set.isCompact && set.count == 9)

        var long = SortedSetValue()
        long.set(Bytes([UInt8](repeating: 1, count: 64)), score: 1)
        #expect(long.isCompact)
        long.set(Bytes([UInt8](repeating: 2, count: 65)), score: 2)
        #expect(!long.isCompact)
        #expect(long.allElements.map(\.member.count) == [64, 65])
        #expect(long.verifyInvariants())
    }

    @Test func reservingRoomForMoreThan128GoesStraightToTheTree() {
        var small = SortedSetValue()
        small.reserveCapacity(128)
        #expect(small.isCompact)
        var large = SortedSetValue()
        large.reserveCapacity(129)
        #expect(!large.isCompact)
    }

    /// Random adds, score changes and removals over a pool that straddles
    /// the limits (128 members, 64 bytes), with empty and binary members,
    /// equal scores, infinities and -0, checked against a model after every
    /// step: order, ranks, selects, walks both ways, prefix counts, the
    /// form, and the memory figure against a recount.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func randomOperationsAcrossTheLimitsMatchAModel(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var pool: [Bytes] = (0..<135).map { Bytes("member:\($0)") }
        pool += [Bytes(), Bytes([0]), Bytes([0, 0]), Bytes([0xFF, 0x80]), Bytes([UInt8](repeating: 7, count: 64))]
        let longMember = Bytes([UInt8](repeating: 7, count: 65))
        let scores: [Double] = [0, -0.0, 1, 1, 1, 2.5, -3, .infinity, -.infinity, 1_700_000_000_000, 0.1, -1e300]
        var set = SortedSetValue()
        var model: [Bytes: Double] = [:]
        var converted = false
        for step in 0..<6_000 {
            if step % 1_500 == 0 {
                set = SortedSetValue()
                model = [:]
                converted = false
            }
            let roll = Int.random(in: 0..<100, using: &random)
            let member = roll == 0 ? longMember : pool.randomElement(using: &random)!
            let score = scores.randomElement(using: &random)!
            if roll < 25 {
                #expect(set.remove(member)?.bitPattern == model.removeValue(forKey: member)?.bitPattern)
            } else if roll < 28 {
                let sorted = model.map { (member: $0.key, score: $0.value) }.sorted(by: Self.ordered)
                let start = Int.random(in: 0...sorted.count, using: &random)
                let end = min(sorted.count, start + Int.random(in: 0...3, using: &random))
                #expect(Self.describe(set.removeRanks(start..<end)) == Self.describe(Array(sorted[start..<end])))
                for pair in sorted[start..<end] { model[pair.member] = nil }
            } else {
                let change = set.set(member, score: score)
                if let old = model[member] {
                    #expect(change == (old == score ? .unchanged : .updated))
                    if old != score { model[member] = score }
                } else {
                    #expect(change == .added)
                    if model.count + 1 > 128 || member.count > 64 { converted = true }
                    model[member] = score
                }
            }
            let sorted = model.map { (member: $0.key, score: $0.value) }.sorted(by: Self.ordered)
            #expect(set.isCompact == !converted, "step \(step)")
            #expect(set.count == sorted.count)
            #expect(set.memoryUsage == set.recountMemoryUsage())
            #expect(Self.describe(set.allElements) == Self.describe(sorted), "step \(step)")
            if step % 10 == 0 {
                #expect(set.verifyInvariants())
                #expect(Self.describe(set.elements(fromRank: 0, count: sorted.count, reversed: true)) == Self.describe(sorted.reversed()))
                for probe in stride(from: 0, to: sorted.count, by: 7) {
                    #expect(set.rank(of: sorted[probe].member) == probe)
                    #expect(set.score(of: sorted[probe].member)?.bitPattern == sorted[probe].score.bitPattern)
                    #expect(set.element(atRank: probe).member == sorted[probe].member)
                    let slice = sorted[probe..<min(probe + 3, sorted.count)]
                    #expect(Self.describe(set.elements(fromRank: probe, count: 3, reversed: false)) == Self.describe(Array(slice)))
                    let fromTop = sorted.reversed().dropFirst(probe).prefix(2)
                    #expect(Self.describe(set.elements(fromRank: probe, count: 2, reversed: true)) == Self.describe(Array(fromTop)))
                }
                #expect(set.countPrefix { score, _ in score < 1 } == sorted.filter { $0.score < 1 }.count)
                #expect(set.countPrefix { score, member in score < 1 || (score == 1 && member < "member:5") }
                        == sorted.filter { $0.score < 1 || ($0.score == 1 && $0.member < "member:5") }.count)
                #expect(set.rank(of: "absent") == nil && set.score(of: "absent") == nil)
                let ranks = (0..<5).compactMap { _ in sorted.isEmpty ? nil : Int.random(in: 0..<sorted.count, using: &random) }
                #expect(Self.describe(set.elements(atRanks: ranks)) == Self.describe(ranks.map { sorted[$0] }))
            }
        }
    }

    @Test func aPackedSetIsScannedWholeInOneCall() {
        var set = SortedSetValue()
        for i in 0..<100 { set.set(Bytes("m\(i)"), score: Double(i)) }
        var seen: [Bytes] = []
        #expect(set.scan(from: 0, count: 10) { member, _ in seen.append(member) } == 0)
        #expect(seen.count == 100)
    }

    @Test func aPackedSetCostsItsBufferAndSpareRoomIsGivenBack() {
        let (engine, _) = makeEngine()
        var command: [Bytes] = ["ZADD", "z"]
        for i in 0..<100 { command += [Bytes("\(i)"), Bytes("member:\(String(100_000 + i).dropFirst())")] }
        engine.run(command)
        let set = engine.withDatabase { db, _ in SortedSetValue.peek(db.keyspace[slot: db.keyspace.slot(of: "z")!].value)! }
        #expect(set.isCompact)
        // 100 members of 12 bytes plus a length byte, scores 0-99 in 0-1 bytes plus a length byte.
        #expect(set.memoryUsage <= MemoryCost.objectHeader + 1_499 + 1_499 / 8 + 16)
        #expect(set.memoryUsage == set.recountMemoryUsage())
        let figures = engine.memoryFigures()
        #expect(figures.running == figures.recount)
    }

    /// The commands answer the same from both forms: one key packed, one
    /// with the same members in the tree (made so by a long member added
    /// and removed).
    @Test func commandsAnswerAlikeFromBothForms() {
        let (engine, _) = makeEngine()
        var random = SplitMix64(seed: 99)
        var pairs: [Bytes] = []
        for i in 0..<60 {
            let score = [0, 1, 1, 2, -0.0, .infinity, -.infinity, 3.5][Int.random(in: 0..<8, using: &random)]
            pairs += [Bytes(ScoreFormatting.string(score)), Bytes("m\(i % 10)\(i)")]
        }
        pairs += ["1", "", "1", Bytes([0xFF])]
        engine.run(["ZADD", "packed"] + pairs)
        engine.run(["ZADD", "tree"] + pairs)
        let long = Bytes([UInt8](repeating: 120, count: 65))
        engine.run("ZADD", "tree", "1", long)
        engine.run("ZREM", "tree", long)
        #expect(engine.run("OBJECT", "ENCODING", "packed") == .bulk("listpack"))
        #expect(engine.run("OBJECT", "ENCODING", "tree") == .bulk("skiplist"))
        let queries: [[Bytes]] = [
            ["ZRANGE", "$", "0", "-1", "WITHSCORES"], ["ZRANGE", "$", "5", "17"], ["ZRANGE", "$", "-3", "-1", "REV", "WITHSCORES"],
            ["ZRANGE", "$", "(0", "2", "BYSCORE", "LIMIT", "2", "5", "WITHSCORES"], ["ZRANGE", "$", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "4"],
            ["ZRANGEBYSCORE", "$", "-inf", "(1"], ["ZREVRANGEBYSCORE", "$", "2", "0", "WITHSCORES", "LIMIT", "0", "3"],
            ["ZCOUNT", "$", "0", "1"], ["ZCOUNT", "$", "-inf", "+inf"],
            ["ZRANK", "$", "m33"], ["ZREVRANK", "$", "m33"], ["ZRANK", "$", ""], ["ZRANK", "$", "absent"],
            ["ZSCORE", "$", "m55"], ["ZMSCORE", "$", "m11", "absent", ""], ["ZCARD", "$"],
            ["ZRANDMEMBER", "$", "1000", "WITHSCORES"],
            ["ZPOPMIN", "$", "3"], ["ZPOPMAX", "$", "2"], ["ZPOPMIN", "$"],
            ["ZREMRANGEBYSCORE", "$", "(1", "3.5"], ["ZREMRANGEBYRANK", "$", "2", "4"],
            ["ZADD", "$", "GT", "CH", "2", "m00", "-5", "m11"], ["ZINCRBY", "$", "0.5", "m22"],
            ["ZRANGE", "$", "0", "-1", "WITHSCORES"],
        ]
        for query in queries {
            let onPacked = engine.run(query.map { $0 == "$" ? "packed" : $0 })
            let onTree = engine.run(query.map { $0 == "$" ? "tree" : $0 })
            #expect(onPacked == onTree, "\(query.map(\.text))")
        }
        let scanned = { (key: Bytes) -> Set<Bytes> in
            var members: Set<Bytes> = []
            var cursor: Bytes = "0"
            repeat {
                guard case .array(let parts) = engine.run("ZSCAN", key, cursor, "COUNT", "5"),
                      case .bulk(let next) = parts[0], case .array(let found) = parts[1] else { return [] }
                for index in stride(from: 0, to: found.count, by: 2) { members.insert(found[index].bytesValue!) }
                cursor = next
            } while cursor != "0"
            return members
        }
        #expect(scanned("packed") == scanned("tree"))
        #expect(engine.run("OBJECT", "ENCODING", "packed") == .bulk("listpack"))

        // Lex ranges are defined when all scores are equal (with unequal
        // ones Redis leaves the answer unspecified, and its listpack and skip
        // list differ too).
        var lexMembers: [Bytes] = []
        for i in 0..<70 { lexMembers += ["0", Bytes("m\(i % 10)\(i)")] }
        lexMembers += ["0", "", "0", Bytes([0xFF])]
        engine.run(["ZADD", "lexpacked"] + lexMembers)
        engine.run(["ZADD", "lextree"] + lexMembers + ["0", long])
        engine.run("ZREM", "lextree", long)
        let lexQueries: [[Bytes]] = [
            ["ZRANGEBYLEX", "$", "[m3", "(m6"], ["ZRANGEBYLEX", "$", "-", "+", "LIMIT", "3", "4"], ["ZREVRANGEBYLEX", "$", "+", "[m5"],
            ["ZRANGE", "$", "[m1", "[m2", "BYLEX", "REV", "LIMIT", "1", "3"], ["ZRANGEBYLEX", "$", "(", "[m0"], ["ZLEXCOUNT", "$", "-", "[m4"],
            ["ZLEXCOUNT", "$", "(m2", "+"], ["ZREMRANGEBYLEX", "$", "[m2", "[m3"], ["ZRANGE", "$", "0", "-1"],
        ]
        for query in lexQueries {
            let onPacked = engine.run(query.map { $0 == "$" ? "lexpacked" : $0 })
            let onTree = engine.run(query.map { $0 == "$" ? "lextree" : $0 })
            #expect(onPacked == onTree, "\(query.map(\.text))")
        }
        #expect(engine.run("OBJECT", "ENCODING", "lextree") == .bulk("skiplist"))
        let figures = engine.memoryFigures()
        #expect(figures.running == figures.recount)
    }

    /// ZRANDMEMBER with a negative count picks members of a packed set uniformly.
    @Test func randomPicksFromAPackedSetAreUniform() {
        let (engine, _) = makeEngine()
        engine.run("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
        guard case .array(let picks) = engine.run("ZRANDMEMBER", "z", "-10000") else {
            Issue.record("no array")
            return
        }
        var counts: [Bytes: Int] = [:]
        for pick in picks { counts[pick.bytesValue!, default: 0] += 1 }
        #expect(counts.count == 5)
        // Each expected 2,000 times (standard deviation 40): 1,700-2,300 is
        // more than 7 deviations either side.
        for (_, count) in counts { #expect((1_700...2_300).contains(count)) }
        guard case .array(let distinct) = engine.run("ZRANDMEMBER", "z", "3") else { return }
        #expect(Set(distinct.compactMap(\.bytesValue)).count == 3)
    }

    /// Snapshots and rewrites keep both forms, their members (empty, binary,
    /// 64 and 65 bytes) and their scores (-0, infinities) exactly, and a
    /// loaded set takes the form its size calls for.
    @Test func persistenceKeepsBothFormsExactly() throws {
        let (engine, clock) = makeEngine()
        engine.run("ZADD", "small", "-0", "negzero", "+inf", "top", "-inf", "bottom", "1.5", "", "1.5", Bytes([0, 0xFF]),
                   "1700000000000", Bytes([UInt8](repeating: 97, count: 64)))
        var command: [Bytes] = ["ZADD", "large"]
        for i in 0..<300 { command += [Bytes("\(Double(i) / 3)"), Bytes("member\(i)")] }
        engine.run(command)
        engine.run("ZADD", "longmember", "1", Bytes([UInt8](repeating: 98, count: 65)), "2", "short")

        var bytes: [UInt8] = []
        RDBWriter.write(engine.withDatabase { db, _ in db.keyspace }, now: clock.nowMilliseconds(), to: &bytes)
        let loaded = try RDBReader.load(bytes: bytes, now: clock.nowMilliseconds()).keyspace
        let original = engine.withDatabase { db, _ in db.keyspace }
        for (key, packed) in [("small", true), ("large", false), ("longmember", false)] {
            let before = SortedSetValue.peek(original[slot: original.slot(of: Bytes(key))!].value)!
            let after = SortedSetValue.peek(loaded[slot: loaded.slot(of: Bytes(key))!].value)!
            #expect(Self.describe(after.allElements) == Self.describe(before.allElements), "\(key)")
            #expect(after.isCompact == packed, "\(key)")
            #expect(after.memoryUsage == after.recountMemoryUsage())
        }
        #expect(loaded.recountMemoryUsage() == loaded.usedMemory)

        let directory = makeTemporaryDirectory()
        try AOFRewriter.writeFile(original, now: clock.nowMilliseconds(), to: directory + "/rewritten.aof")
        let (replayed, _) = makeEngine(milliseconds: clock.nowMilliseconds())
        _ = try AOFLoader.load(path: directory + "/rewritten.aof", into: replayed)
        #expect(keyspaceDifferences(dumpKeyspace(replayed), dumpKeyspace(engine)) == [])
        #expect(replayed.run("OBJECT", "ENCODING", "small") == .bulk("listpack"))
        #expect(replayed.run("ZSCORE", "small", "negzero") == engine.run("ZSCORE", "small", "negzero"))
    }

    /// Random sorted-set writes through the engine, on keys that cross the
    /// limits, keep the running memory figure equal to a recount.
    @Test func memoryFigureFollowsWritesAcrossTheLimits() {
        let (engine, _) = makeEngine()
        var random = SplitMix64(seed: 5)
        func member() -> Bytes {
            Int.random(in: 0..<200, using: &random) == 0 ? Bytes([UInt8](repeating: 65, count: 70)) : Bytes("m\(Int.random(in: 0..<160, using: &random))")
        }
        func score() -> Bytes { Bytes("\(Int.random(in: -5...5, using: &random))") }
        for step in 0..<3_000 {
            let key = Bytes("z\(Int.random(in: 0..<3, using: &random))")
            switch Int.random(in: 0..<8, using: &random) {
            case 0, 1, 2: engine.run("ZADD", key, score(), member(), score(), member())
            case 3: engine.run("ZREM", key, member())
            case 4: engine.run("ZINCRBY", key, score(), member())
            case 5: engine.run("ZPOPMIN", key, "3")
            case 6: engine.run("ZREMRANGEBYSCORE", key, "-1", "1")
            default: engine.run("ZUNIONSTORE", key, "2", key, Bytes("z\(Int.random(in: 0..<3, using: &random))"))
            }
            let figures = engine.memoryFigures()
            #expect(figures.running == figures.recount, "step \(step)")
            if figures.running != figures.recount { return }
        }
    }
}
