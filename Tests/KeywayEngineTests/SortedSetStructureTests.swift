import KeywayEngine
import Testing

/// The tree behind sorted sets, against a plain sorted-array model.
@Suite struct SortedSetStructureTests {

    static func ordered(_ a: (member: Bytes, score: Double), _ b: (member: Bytes, score: Double)) -> Bool {
        a.score != b.score ? a.score < b.score : a.member < b.member
    }

    @Test func emptySet() {
        let set = SortedSetValue()
        #expect(set.isEmpty)
        #expect(set.count == 0)
        #expect(set.rank(of: "a") == nil)
        #expect(set.score(of: "a") == nil)
        #expect(set.allElements.isEmpty)
        #expect(set.verifyInvariants())
    }

    @Test func orderIsScoreThenMemberBytes() {
        var set = SortedSetValue()
        set.set("b", score: 1)
        set.set("a", score: 1)
        set.set("c", score: 0)
        set.set(Bytes([0xFF]), score: 1)
        set.set(Bytes([0x00]), score: 1)
        set.set("-inf", score: -.infinity)
        set.set("+inf", score: .infinity)
        let members = set.allElements.map(\.member)
        #expect(members == ["-inf", "c", Bytes([0x00]), "a", "b", Bytes([0xFF]), "+inf"])
        #expect(set.rank(of: "a") == 3)
        #expect(set.element(atRank: 5).member == Bytes([0xFF]))
        #expect(set.verifyInvariants())
    }

    @Test func updatesReportWhatChanged() {
        var set = SortedSetValue()
        #expect(set.set("a", score: 1) == .added)
        #expect(set.set("a", score: 1) == .unchanged)
        #expect(set.set("a", score: 2) == .updated)
        #expect(set.score(of: "a") == 2)
        #expect(set.remove("a") == 2)
        #expect(set.remove("a") == nil)
        #expect(set.isEmpty)
    }

    /// 10,000 random adds, score changes and removals checked against a
    /// sorted array after every batch: ranks, selects, walks both ways,
    /// range counts and the balance invariants.
    @Test func randomOperationsMatchAModel() {
        var generator = SplitMix64(seed: 42)
        var set = SortedSetValue()
        var model: [Bytes: Double] = [:]
        for step in 1...10_000 {
            let member = Bytes("m\(Int.random(in: 0..<3_000, using: &generator))")
            let score = Double(Int.random(in: -50...50, using: &generator)) / 2
            if Int.random(in: 0..<4, using: &generator) == 0 {
                #expect(set.remove(member) == model.removeValue(forKey: member))
            } else {
                set.set(member, score: score)
                model[member] = score
            }
            if step % 1_000 == 0 {
                let sorted = model.map { (member: $0.key, score: $0.value) }.sorted(by: Self.ordered)
                #expect(set.verifyInvariants())
                #expect(set.count == sorted.count)
                #expect(set.allElements.map(\.member) == sorted.map(\.member))
                #expect(set.elements(fromRank: 0, count: sorted.count, reversed: true).map(\.member) == sorted.reversed().map(\.member))
                for probe in stride(from: 0, to: sorted.count, by: 97) {
                    #expect(set.rank(of: sorted[probe].member) == probe)
                    #expect(set.element(atRank: probe).member == sorted[probe].member)
                    #expect(set.elements(fromRank: probe, count: 3, reversed: false).map(\.member) == sorted[probe..<min(probe + 3, sorted.count)].map(\.member))
                }
                let below = set.countPrefix { score, _ in score < 3 }
                #expect(below == sorted.filter { $0.score < 3 }.count)
            }
        }
    }

    /// Sequential inserts (the worst case for a naive tree) stay balanced
    /// and shallow enough that rank is cheap.
    @Test func ascendingInsertsStayBalanced() {
        var set = SortedSetValue()
        for i in 0..<100_000 { set.set(Bytes("k\(i)"), score: Double(i)) }
        #expect(set.verifyInvariants())
        #expect(set.rank(of: "k99999") == 99_999)
        #expect(set.rank(of: "k0") == 0)
        // Balanced: the average rank walk stays near log2(n) ≈ 16.6 nodes.
        var totalPath = 0
        for i in stride(from: 0, to: 100_000, by: 7) { totalPath += set.pathLength(to: Bytes("k\(i)")) ?? 1_000 }
        let averagePath = Double(totalPath) / Double((100_000 + 6) / 7)
        #expect(averagePath < 1.25 * 16.61 + 1)
        #expect(set.pathLength(to: "absent") == nil)
        for i in stride(from: 0, to: 100_000, by: 2) { set.remove(Bytes("k\(i)")) }
        #expect(set.verifyInvariants())
        #expect(set.count == 50_000)
        #expect(set.rank(of: "k99999") == 49_999)
    }

    /// A member present for the whole scan is seen exactly once, however
    /// others come and go between steps.
    @Test func scanCursorSurvivesChurn() {
        var set = SortedSetValue()
        for i in 0..<1_000 { set.set(Bytes("stay\(i)"), score: Double(i)) }
        var seen: [Bytes: Int] = [:]
        var cursor = 0
        var round = 0
        repeat {
            cursor = set.scan(from: cursor, count: 50) { member, _ in seen[member, default: 0] += 1 }
            round += 1
            for j in 0..<20 { set.set(Bytes("churn\(round)-\(j)"), score: Double(j)) }
            for j in 0..<20 where round > 1 { set.remove(Bytes("churn\(round - 1)-\(j)")) }
        } while cursor != 0
        for i in 0..<1_000 { #expect(seen[Bytes("stay\(i)")] == 1) }
    }

    @Test func removeRanksTakesAContiguousSlice() {
        var set = SortedSetValue()
        for i in 0..<10 { set.set(Bytes("m\(i)"), score: Double(i)) }
        let removed = set.removeRanks(2..<5)
        #expect(removed.map(\.member) == ["m2", "m3", "m4"])
        #expect(set.allElements.map(\.member) == ["m0", "m1", "m5", "m6", "m7", "m8", "m9"])
        #expect(set.verifyInvariants())
    }
}
