/// A sorted set: unique members, each with a score, kept in (score, member
/// bytes) order, as Redis orders a zset.
///
/// Held in one of two forms, as Redis holds a zset as a listpack or a skip
/// list:
/// - **packed** (`PackedSortedSet`) while it has at most 128 members of at
///   most 64 bytes each (Redis's `zset-max-listpack-entries` and `-value`):
///   every pair in one buffer, about the member's bytes plus 2-9 per member.
///   Every question is a scan of at most 128 pairs, as in a listpack.
/// - **tree** (`SortedSetTree`) beyond: O(1) score lookups and O(log n)
///   ranks, for about 90 bytes per member.
/// A write that would break either limit converts the set to the tree once;
/// it stays a tree if it later shrinks (as Redis keeps a skip list), so a
/// set hovering at the limit does not convert back and forth.
public struct SortedSetValue: CollectionValue {
    /// Largest member count kept packed.
    public static let packedMaxMembers = 128
    /// Longest member, in bytes, kept packed.
    public static let packedMaxMemberBytes = 64

    private enum Storage {
        case packed(PackedSortedSet)
        case tree(SortedSetTree)
    }

    private var storage: Storage = .packed(PackedSortedSet())

    public init() {}

    /// Whether the set is in its packed form (OBJECT ENCODING's `listpack`).
    public var isCompact: Bool {
        if case .packed = storage { return true }
        return false
    }

    public var count: Int {
        switch storage {
        case .packed(let packed): return packed.count
        case .tree(let tree): return tree.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// Estimated bytes of the members (MemoryAccounting.swift): the packed
    /// buffer with its heap header, or the tree's running figure. O(1).
    public var memoryUsage: Int {
        switch storage {
        case .packed(let packed): return packed.byteCount == 0 ? 0 : MemoryCost.objectHeader + packed.byteCount
        case .tree(let tree): return tree.memoryUsage
        }
    }

    /// The same figure computed from scratch.
    public func recountMemoryUsage() -> Int {
        switch storage {
        case .packed: return memoryUsage
        case .tree(let tree): return tree.recountMemoryUsage()
        }
    }

    public func score(of member: Bytes) -> Double? {
        switch storage {
        case .packed(let packed): return packed.score(of: member)
        case .tree(let tree): return tree.score(of: member)
        }
    }

    public func contains(_ member: Bytes) -> Bool { score(of: member) != nil }

    // MARK: - Changing members

    /// What `set(_:score:)` did.
    public enum Change: Equatable { case added, updated, unchanged }

    /// Mutates the packed form in place (no copy-on-write copy: the buffer
    /// is moved out of `storage` while `body` runs).
    private mutating func withPacked<R>(_ body: (inout PackedSortedSet) -> R) -> R? {
        guard case .packed(var packed) = storage else { return nil }
        storage = .packed(PackedSortedSet())
        defer { storage = .packed(packed) }
        return body(&packed)
    }

    /// Mutates the tree form in place, converting to it first if needed.
    private mutating func withTree<R>(_ body: (inout SortedSetTree) -> R) -> R {
        var tree: SortedSetTree
        switch storage {
        case .tree(let existing): tree = existing
        case .packed(let packed):
            tree = SortedSetTree()
            tree.reserveCapacity(packed.count + 1)
            packed.forEach(fromRank: 0, count: packed.count, reversed: false) { tree.set($0, score: $1) }
        }
        storage = .packed(PackedSortedSet())
        defer { storage = .tree(tree) }
        return body(&tree)
    }

    /// Adds `member` or moves it to `score`. Adding a 129th member, or one
    /// longer than 64 bytes, converts a packed set to the tree.
    @discardableResult
    public mutating func set(_ member: Bytes, score: Double) -> Change {
        if case .packed(let packed) = storage,
           member.count > Self.packedMaxMemberBytes || (packed.count >= Self.packedMaxMembers && packed.score(of: member) == nil) {
            return withTree { $0.set(member, score: score) }
        }
        return withPacked { $0.set(member, score: score) } ?? withTree { $0.set(member, score: score) }
    }

    /// Removes `member`; returns its score, nil when it was absent.
    @discardableResult
    public mutating func remove(_ member: Bytes) -> Double? {
        withPacked { $0.remove(member) } ?? withTree { $0.remove(member) }
    }

    /// Removes and returns the members at ranks `ranks` (ascending order).
    @discardableResult
    public mutating func removeRanks(_ ranks: Range<Int>) -> [(member: Bytes, score: Double)] {
        withPacked { $0.removeRanks(ranks) } ?? withTree { $0.removeRanks(ranks) }
    }

    /// Prepares for `capacity` members: a set that will be too large to
    /// pack (an RDB load, a STORE) goes straight to the tree.
    public mutating func reserveCapacity(_ capacity: Int) {
        if isCompact && capacity <= Self.packedMaxMembers { return }
        withTree { $0.reserveCapacity(capacity) }
    }

    // MARK: - Rank questions

    /// The 0-based ascending rank of `member`, nil when absent. O(log n) in
    /// the tree, a scan of at most 128 pairs when packed.
    public func rank(of member: Bytes) -> Int? {
        switch storage {
        case .packed(let packed): return packed.rank(of: member)
        case .tree(let tree): return tree.rank(of: member)
        }
    }

    /// The member at ascending rank `rank` (0 ..< count).
    public func element(atRank rank: Int) -> (member: Bytes, score: Double) {
        precondition(rank >= 0 && rank < count, "rank out of range")
        switch storage {
        case .packed(let packed): return packed.element(atRank: rank)
        case .tree(let tree): return tree.element(atRank: rank)
        }
    }

    /// The members at each of `ranks`, in that order (repeats allowed): a
    /// packed set is decoded once rather than scanned for each rank.
    public func elements(atRanks ranks: [Int]) -> [(member: Bytes, score: Double)] {
        switch storage {
        case .packed:
            let all = allElements
            return ranks.map { all[$0] }
        case .tree(let tree):
            return ranks.map { tree.element(atRank: $0) }
        }
    }

    /// How many members, from the lowest, satisfy `isBefore`, which must hold
    /// for a prefix of the order (e.g. "score < 10"). That count is the rank
    /// where a range starts or ends: O(log n).
    public func countPrefix(_ isBefore: (_ score: Double, _ member: Bytes) -> Bool) -> Int {
        switch storage {
        case .packed(let packed): return packed.countPrefix(isBefore)
        case .tree(let tree): return tree.countPrefix(isBefore)
        }
    }

    /// Up to `count` members starting at rank `start`, ascending, or
    /// descending from the top when `reversed` (rank 0 is then the highest).
    /// O(log n + count).
    public func elements(fromRank start: Int, count wanted: Int, reversed: Bool) -> [(member: Bytes, score: Double)] {
        var result: [(member: Bytes, score: Double)] = []
        forEach(fromRank: start, count: wanted, reversed: reversed) { result.append(($0, $1)) }
        return result
    }

    /// Visits up to `count` members from rank `start` in order (see `elements`).
    public func forEach(fromRank start: Int, count wanted: Int, reversed: Bool, _ body: (Bytes, Double) -> Void) {
        switch storage {
        case .packed(let packed): packed.forEach(fromRank: start, count: wanted, reversed: reversed, body)
        case .tree(let tree): tree.forEach(fromRank: start, count: wanted, reversed: reversed, body)
        }
    }

    /// Every member in ascending order.
    public var allElements: [(member: Bytes, score: Double)] {
        elements(fromRank: 0, count: count, reversed: false)
    }

    // MARK: - Iteration for ZSCAN and random picks

    /// Bound of a scan cursor.
    public var cursorCapacity: Int {
        switch storage {
        case .packed: return 0
        case .tree(let tree): return tree.cursorCapacity
        }
    }

    /// Visits members from `cursor` on, stopping after `count` members or
    /// `count * 10` positions. Returns the next cursor, 0 when done. Members
    /// present for the whole scan are visited exactly once. A packed set is
    /// visited whole in one call, whatever the cursor, as Redis scans a
    /// listpack.
    public func scan(from cursor: Int, count: Int, _ visit: (Bytes, Double) -> Void) -> Int {
        switch storage {
        case .packed(let packed):
            packed.forEach(fromRank: 0, count: packed.count, reversed: false, visit)
            return 0
        case .tree(let tree):
            return tree.scan(from: cursor, count: count, visit)
        }
    }

    /// A uniformly random member, nil when empty.
    public func randomElement<G: RandomNumberGenerator>(using generator: inout G) -> (member: Bytes, score: Double)? {
        guard !isEmpty else { return nil }
        return element(atRank: Int.random(in: 0..<count, using: &generator))
    }

    // MARK: - For tests

    /// How many nodes (or packed pairs) a rank walk for `member` visits, nil
    /// when absent: the operation count behind ZRANK, for tests and the
    /// engine benchmark.
    public func pathLength(to member: Bytes) -> Int? {
        switch storage {
        case .packed(let packed): return packed.rank(of: member).map { $0 + 1 }
        case .tree(let tree): return tree.pathLength(to: member)
        }
    }

    /// Checks the form's invariants (order, sizes, balance, map agreement,
    /// packed limits). For tests; O(n).
    public func verifyInvariants() -> Bool {
        switch storage {
        case .packed(let packed):
            return packed.isOrdered() && packed.count <= Self.packedMaxMembers
                && packed.allMembersFit(Self.packedMaxMemberBytes)
        case .tree(let tree):
            return tree.verifyInvariants()
        }
    }

    // MARK: - CollectionValue

    public static func peek(_ value: Value) -> SortedSetValue? {
        if case .zset(let collection) = value { return collection }
        return nil
    }

    public static func take(_ value: inout Value) -> SortedSetValue? {
        guard case .zset(let collection) = value else { return nil }
        value = .placeholder
        return collection
    }

    /// The set wrapped for the keyspace, which is where a write ends: a
    /// packed buffer gives back the spare room its appends reserved.
    public var wrapped: Value {
        var stored = self
        _ = stored.withPacked { $0.shrinkToFit() }
        return .zset(stored)
    }
}
