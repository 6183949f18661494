#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The large form of a sorted set (`SortedSetValue` holds small ones
/// packed): unique members, each with a score, kept in (score, member
/// bytes) order, as Redis orders a zset.
///
/// Two structures share the members:
/// - a **member → node map** answers "is it there, and with what score" in
///   O(1) (ZSCORE, ZADD's existence checks, ZMSCORE);
/// - a **weight-balanced binary search tree** (Nievergelt and Reingold's
///   BB[α] trees as Adams refined them, rebalancing parameters 3 and 2)
///   orders the members and answers rank questions in O(log n): insert,
///   delete, rank of a member, member at a rank, and the rank where a score
///   or lex range starts.
///
/// Why this tree rather than Redis's skip list with spans:
/// - every node has the same fixed size (a member reference, the score, two
///   Int32 links and two Int32 counts: 32 bytes), so all nodes live in one
///   array; a skip-list node carries a variable number of (forward, span)
///   levels, which means either a heap allocation per node or a level array
///   sized for the tallest tower;
/// - the subtree size that turns rank and select into O(log n) walks is the
///   very number that keeps the tree balanced, so balance costs no extra field
///   and no random numbers;
/// - a node never moves once placed (removing a node with two children
///   relinks its neighbour instead of copying it over), so a node's array
///   position is a stable ZSCAN cursor and the member map can point at it.
///
/// The member bytes are shared (copy-on-write) between the map key and the
/// node, not duplicated. Freed nodes are reused; trailing ones are trimmed.
/// Counts are Int32, so a set holds at most 2^31 - 1 members.
struct SortedSetTree {
    /// One member in the tree. `size` is the number of nodes in the subtree
    /// rooted here (0 marks a free node) and `leftSize` the number in its
    /// left subtree. Keeping both (they fill what would be padding) means a
    /// walk down the tree, and the balance check on the way back up, never
    /// load a sibling node just to learn its size: in a large set each node
    /// loaded is likely a cache miss.
    struct Node {
        var member: Bytes
        var score: Double
        var left: Int32
        var right: Int32
        var size: Int32
        var leftSize: Int32

        init(member: Bytes, score: Double) {
            self.member = member
            self.score = score
            left = SortedSetTree.none
            right = SortedSetTree.none
            size = 1
            leftSize = 0
        }

        var rightSize: Int32 { size - leftSize - 1 }
    }

    fileprivate static let none: Int32 = -1

    private var nodes: [Node] = []
    private var freeNodes: [Int32] = []
    private var root: Int32 = SortedSetTree.none
    private var nodeOf: [Bytes: Int32] = [:]
    /// Estimated bytes of the members (MemoryAccounting.swift).
    private(set) var memoryUsage = 0

    /// The members' bytes computed from scratch.
    func recountMemoryUsage() -> Int {
        nodeOf.keys.reduce(0) { $0 + MemoryCost.sortedSetMember($1) }
    }

    init() {}

    var count: Int { nodeOf.count }
    var isEmpty: Bool { nodeOf.isEmpty }

    func score(of member: Bytes) -> Double? {
        nodeOf[member].map { nodes[Int($0)].score }
    }

    func contains(_ member: Bytes) -> Bool { nodeOf[member] != nil }

    // MARK: - Changing members

    /// Adds `member` or moves it to `score`.
    @discardableResult
    mutating func set(_ member: Bytes, score: Double) -> SortedSetValue.Change {
        if let node = nodeOf[member] {
            let old = nodes[Int(node)].score
            // As in Redis, -0 and 0 are the same score: no update.
            if old == score { return .unchanged }
            root = detach(score: old, member: member, from: root)
            nodes[Int(node)] = Node(member: nodes[Int(node)].member, score: score)
            root = attach(node, score: score, member: member, to: root)
            return .updated
        }
        let node = allocate(Node(member: member, score: score))
        nodeOf[member] = node
        memoryUsage += MemoryCost.sortedSetMember(member)
        root = attach(node, score: score, member: member, to: root)
        return .added
    }

    /// Removes `member`; returns its score, nil when it was absent.
    @discardableResult
    mutating func remove(_ member: Bytes) -> Double? {
        guard let node = nodeOf.removeValue(forKey: member) else { return nil }
        memoryUsage -= MemoryCost.sortedSetMember(member)
        let score = nodes[Int(node)].score
        root = detach(score: score, member: member, from: root)
        release(node)
        return score
    }

    /// Removes and returns the members at ranks `ranks` (ascending order).
    @discardableResult
    mutating func removeRanks(_ ranks: Range<Int>) -> [(member: Bytes, score: Double)] {
        let doomed = elements(fromRank: ranks.lowerBound, count: ranks.count, reversed: false)
        for element in doomed { remove(element.member) }
        return doomed
    }

    mutating func reserveCapacity(_ capacity: Int) {
        nodes.reserveCapacity(capacity)
        nodeOf.reserveCapacity(capacity)
    }

    // MARK: - Rank questions

    /// The 0-based ascending rank of `member`, nil when absent.
    ///
    /// One walk from the root that loads only the nodes on the path (each
    /// node knows its left subtree's size); member bytes are read only on
    /// equal scores.
    func rank(of member: Bytes) -> Int? {
        guard let node = nodeOf[member] else { return nil }
        return nodes.withUnsafeBufferPointer { nodes -> Int? in
            let score = nodes[Int(node)].score
            var t = root
            var rank = 0
            while t >= 0 {
                let leftSize = Int(nodes[Int(t)].leftSize)
                if t == node { return rank + leftSize }
                if Self.order(score, member, nodes[Int(t)].score, t, nodes) < 0 {
                    t = nodes[Int(t)].left
                } else {
                    rank += leftSize + 1
                    t = nodes[Int(t)].right
                }
            }
            return nil
        }
    }

    /// The member at ascending rank `rank` (0 ..< count).
    func element(atRank rank: Int) -> (member: Bytes, score: Double) {
        precondition(rank >= 0 && rank < count, "rank out of range")
        var t = root
        var r = rank
        while true {
            let leftSize = Int(nodes[Int(t)].leftSize)
            if r < leftSize {
                t = nodes[Int(t)].left
            } else if r == leftSize {
                return (nodes[Int(t)].member, nodes[Int(t)].score)
            } else {
                r -= leftSize + 1
                t = nodes[Int(t)].right
            }
        }
    }

    /// How many members, from the lowest, satisfy `isBefore`, which must hold
    /// for a prefix of the order (e.g. "score < 10"). That count is the rank
    /// where a range starts or ends: O(log n).
    func countPrefix(_ isBefore: (_ score: Double, _ member: Bytes) -> Bool) -> Int {
        var t = root
        var count = 0
        while t >= 0 {
            if isBefore(nodes[Int(t)].score, nodes[Int(t)].member) {
                count += Int(nodes[Int(t)].leftSize) + 1
                t = nodes[Int(t)].right
            } else {
                t = nodes[Int(t)].left
            }
        }
        return count
    }

    /// Up to `count` members starting at rank `start`, ascending, or
    /// descending from the top when `reversed` (rank 0 is then the highest).
    /// O(log n + count).
    func elements(fromRank start: Int, count wanted: Int, reversed: Bool) -> [(member: Bytes, score: Double)] {
        var result: [(member: Bytes, score: Double)] = []
        forEach(fromRank: start, count: wanted, reversed: reversed) { result.append(($0, $1)) }
        return result
    }

    /// Visits up to `count` members from rank `start` in order (see `elements`).
    func forEach(fromRank start: Int, count wanted: Int, reversed: Bool, _ body: (Bytes, Double) -> Void) {
        guard start >= 0, start < count, wanted > 0 else { return }
        // `near` is the side that comes first in the walk's direction.
        func near(_ n: Node) -> Int32 { reversed ? n.right : n.left }
        func far(_ n: Node) -> Int32 { reversed ? n.left : n.right }
        var pending: [Int32] = []
        var t = root
        var r = start
        while t >= 0 {
            let n = nodes[Int(t)]
            let nearSize = Int(reversed ? n.rightSize : n.leftSize)
            if r < nearSize {
                pending.append(t)
                t = near(n)
            } else if r == nearSize {
                pending.append(t)
                break
            } else {
                r -= nearSize + 1
                t = far(n)
            }
        }
        var remaining = wanted
        while remaining > 0, let t = pending.popLast() {
            let n = nodes[Int(t)]
            body(n.member, n.score)
            remaining -= 1
            var next = far(n)
            while next >= 0 {
                pending.append(next)
                next = near(nodes[Int(next)])
            }
        }
    }

    /// Every member in ascending order.
    var allElements: [(member: Bytes, score: Double)] {
        elements(fromRank: 0, count: count, reversed: false)
    }

    // MARK: - Iteration for ZSCAN and random picks

    /// Bound of a scan cursor.
    var cursorCapacity: Int { nodes.count }

    /// Visits members from node position `cursor` on, stopping after `count`
    /// members or `count * 10` positions. Returns the next cursor, 0 when done.
    /// Members present for the whole scan are visited exactly once, because
    /// nodes never move.
    func scan(from cursor: Int, count: Int, _ visit: (Bytes, Double) -> Void) -> Int {
        var position = cursor
        var found = 0
        var examined = 0
        let budget = max(count, 1) * 10
        while position < nodes.count && found < count && examined < budget {
            let n = nodes[position]
            if n.size > 0 {
                visit(n.member, n.score)
                found += 1
            }
            position += 1
            examined += 1
        }
        return position >= nodes.count ? 0 : position
    }

    /// A uniformly random member, nil when empty.
    func randomElement<G: RandomNumberGenerator>(using generator: inout G) -> (member: Bytes, score: Double)? {
        guard !isEmpty else { return nil }
        return element(atRank: Int.random(in: 0..<count, using: &generator))
    }

    // MARK: - Tree internals

    /// Three-way order of (score, member) against a node: scores first, then
    /// member bytes in memcmp order.
    @inline(__always)
    static func order(_ score: Double, _ member: Bytes, _ node: Node) -> Int {
        if score < node.score { return -1 }
        if score > node.score { return 1 }
        return member.threeWayCompare(node.member)
    }

    /// The same order against node `t` whose score is already loaded; the
    /// member is read only on a tie.
    @inline(__always)
    static func order(_ score: Double, _ member: Bytes, _ nodeScore: Double, _ t: Int32, _ nodes: UnsafeBufferPointer<Node>) -> Int {
        if score < nodeScore { return -1 }
        if score > nodeScore { return 1 }
        return member.threeWayCompare(nodes[Int(t)].member)
    }

    /// The order against node `t` in the stored array, reading the member
    /// only on a tie.
    @inline(__always)
    private func order(_ score: Double, _ member: Bytes, at t: Int32) -> Int {
        let nodeScore = nodes[Int(t)].score
        if score < nodeScore { return -1 }
        if score > nodeScore { return 1 }
        return member.threeWayCompare(nodes[Int(t)].member)
    }

    @inline(__always)
    private func size(_ t: Int32) -> Int { t >= 0 ? Int(nodes[Int(t)].size) : 0 }

    private mutating func allocate(_ node: Node) -> Int32 {
        while let free = freeNodes.popLast() {
            // Entries left stale by trimming are skipped.
            if Int(free) < nodes.count && nodes[Int(free)].size == 0 {
                nodes[Int(free)] = node
                return free
            }
        }
        nodes.append(node)
        return Int32(nodes.count - 1)
    }

    private mutating func release(_ node: Int32) {
        nodes[Int(node)] = Node(member: Bytes(), score: 0)
        nodes[Int(node)].size = 0
        if Int(node) == nodes.count - 1 {
            nodes.removeLast()
            while let last = nodes.last, last.size == 0 { nodes.removeLast() }
            if nodes.isEmpty { freeNodes.removeAll() }
        } else {
            freeNodes.append(node)
        }
    }

    /// Inserts the detached node `node` into the subtree `t`; returns the
    /// subtree's new root.
    private mutating func attach(_ node: Int32, score: Double, member: Bytes, to t: Int32) -> Int32 {
        guard t >= 0 else { return node }
        if order(score, member, at: t) < 0 {
            let left = attach(node, score: score, member: member, to: nodes[Int(t)].left)
            nodes[Int(t)].left = left
            nodes[Int(t)].leftSize += 1
        } else {
            let right = attach(node, score: score, member: member, to: nodes[Int(t)].right)
            nodes[Int(t)].right = right
        }
        nodes[Int(t)].size += 1
        return rebalance(t)
    }

    /// Unlinks the node holding (score, member) from the subtree `t`, leaving
    /// its slot untouched; returns the subtree's new root.
    private mutating func detach(score: Double, member: Bytes, from t: Int32) -> Int32 {
        precondition(t >= 0, "sorted set tree out of step with its member map")
        let direction = order(score, member, at: t)
        if direction < 0 {
            let left = detach(score: score, member: member, from: nodes[Int(t)].left)
            nodes[Int(t)].left = left
            nodes[Int(t)].leftSize -= 1
        } else if direction > 0 {
            let right = detach(score: score, member: member, from: nodes[Int(t)].right)
            nodes[Int(t)].right = right
        } else {
            return join(nodes[Int(t)].left, nodes[Int(t)].right)
        }
        nodes[Int(t)].size -= 1
        return rebalance(t)
    }

    /// Joins two subtrees whose keys are all ordered (left before right),
    /// lifting the nearest neighbour from the larger side into the middle.
    private mutating func join(_ left: Int32, _ right: Int32) -> Int32 {
        if left < 0 { return right }
        if right < 0 { return left }
        let middle: Int32
        if size(left) > size(right) {
            let (last, rest) = detachLast(left)
            middle = last
            nodes[Int(middle)].left = rest
            nodes[Int(middle)].right = right
        } else {
            let (first, rest) = detachFirst(right)
            middle = first
            nodes[Int(middle)].left = left
            nodes[Int(middle)].right = rest
        }
        updateSize(middle)
        return rebalance(middle)
    }

    private mutating func detachFirst(_ t: Int32) -> (node: Int32, rest: Int32) {
        let left = nodes[Int(t)].left
        if left < 0 { return (t, nodes[Int(t)].right) }
        let (first, rest) = detachFirst(left)
        nodes[Int(t)].left = rest
        nodes[Int(t)].leftSize -= 1
        nodes[Int(t)].size -= 1
        return (first, rebalance(t))
    }

    private mutating func detachLast(_ t: Int32) -> (node: Int32, rest: Int32) {
        let right = nodes[Int(t)].right
        if right < 0 { return (t, nodes[Int(t)].left) }
        let (last, rest) = detachLast(right)
        nodes[Int(t)].right = rest
        nodes[Int(t)].size -= 1
        return (last, rebalance(t))
    }

    @inline(__always)
    private mutating func updateSize(_ t: Int32) {
        let leftSize = Int32(size(nodes[Int(t)].left))
        nodes[Int(t)].leftSize = leftSize
        nodes[Int(t)].size = leftSize + Int32(size(nodes[Int(t)].right)) + 1
    }

    /// Weight-balance rule: neither side may hold more than three times the
    /// other (`delta` 3); a rotation is single unless the inner grandchild is
    /// at least twice the outer one (`ratio` 2), then double. One call per
    /// level restores balance after a single insert or delete.
    private mutating func rebalance(_ t: Int32) -> Int32 {
        let leftSize = nodes[Int(t)].leftSize, rightSize = nodes[Int(t)].rightSize
        if leftSize + rightSize <= 1 { return t }
        if rightSize > 3 * leftSize {
            let right = nodes[Int(t)].right
            if nodes[Int(right)].leftSize >= 2 * nodes[Int(right)].rightSize {
                nodes[Int(t)].right = rotateRight(right)
            }
            return rotateLeft(t)
        }
        if leftSize > 3 * rightSize {
            let left = nodes[Int(t)].left
            if nodes[Int(left)].rightSize >= 2 * nodes[Int(left)].leftSize {
                nodes[Int(t)].left = rotateLeft(left)
            }
            return rotateRight(t)
        }
        return t
    }

    /// The right child becomes the subtree root.
    private mutating func rotateLeft(_ t: Int32) -> Int32 {
        let r = nodes[Int(t)].right
        nodes[Int(t)].right = nodes[Int(r)].left
        nodes[Int(r)].left = t
        updateSize(t)
        updateSize(r)
        return r
    }

    /// The left child becomes the subtree root.
    private mutating func rotateRight(_ t: Int32) -> Int32 {
        let l = nodes[Int(t)].left
        nodes[Int(t)].left = nodes[Int(l)].right
        nodes[Int(l)].right = t
        updateSize(t)
        updateSize(l)
        return l
    }

    /// How many nodes a rank walk for `member` visits (its depth + 1), nil
    /// when absent: the operation count behind ZRANK, for tests and the
    /// engine benchmark.
    func pathLength(to member: Bytes) -> Int? {
        guard let node = nodeOf[member] else { return nil }
        let score = nodes[Int(node)].score
        var t = root
        var visited = 0
        while t >= 0 {
            visited += 1
            if t == node { return visited }
            t = order(score, member, at: t) < 0 ? nodes[Int(t)].left : nodes[Int(t)].right
        }
        return nil
    }

    /// Checks the tree's invariants (order, sizes, balance, map agreement).
    /// For tests; O(n).
    func verifyInvariants() -> Bool {
        var ok = true
        func check(_ t: Int32) -> Int {
            guard t >= 0 else { return 0 }
            let n = nodes[Int(t)]
            let l = check(n.left), r = check(n.right)
            if Int(n.size) != l + r + 1 || Int(n.leftSize) != l { ok = false }
            if l + r > 1 && (l > 3 * r || r > 3 * l) { ok = false }
            if n.left >= 0 && Self.order(nodes[Int(n.left)].score, nodes[Int(n.left)].member, n) >= 0 { ok = false }
            if n.right >= 0 && Self.order(nodes[Int(n.right)].score, nodes[Int(n.right)].member, n) <= 0 { ok = false }
            if nodeOf[n.member] != t { ok = false }
            return l + r + 1
        }
        if check(root) != count { ok = false }
        return ok
    }
}

extension Bytes {
    /// memcmp order as -1, 0 or 1 (shorter first on a common prefix).
    func threeWayCompare(_ other: Bytes) -> Int {
        storage.withUnsafeBufferPointer { a in
            other.storage.withUnsafeBufferPointer { b in
                let common = min(a.count, b.count)
                if common > 0, let pa = a.baseAddress, let pb = b.baseAddress {
                    let order = memcmp(pa, pb, common)
                    if order != 0 { return order < 0 ? -1 : 1 }
                }
                return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
            }
        }
    }
}
