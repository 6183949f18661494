#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The small form of a sorted set: member, score, member, score, ... in one
/// `PackedStrings` buffer, in (score, member bytes) order, as Redis keeps a
/// small zset in a listpack. Every question is a scan, O(n); `SortedSetValue`
/// keeps this form only while n <= 128 and members are at most 64 bytes.
///
/// A score is stored as the shortest of:
/// - nothing (0 bytes) for 0;
/// - 1 to 7 bytes, a little-endian two's complement integer, for a whole
///   number within ±2^53 (every such number is an exact Double);
/// - 8 bytes, the Double's bit pattern, for anything else (fractions,
///   huge values, ±inf, and -0, whose sign Redis keeps).
/// Why not a decimal string as Redis does: decoding is a few shifts, where a
/// decimal needs strtod on every comparison of a scan; and the scores
/// applications use most (counters, ranks, millisecond timestamps) are whole
/// numbers that take 1-6 bytes this way, as few as Redis's integer forms.
struct PackedSortedSet {
    private(set) var pairs = PackedStrings()

    var count: Int { pairs.count / 2 }
    var isEmpty: Bool { pairs.isEmpty }
    /// Bytes the buffer reserves.
    var byteCount: Int { pairs.byteCount }

    // MARK: - Score encoding

    private static let largestExactInteger = 9_007_199_254_740_992.0 // 2^53

    /// The bytes that stand for `score` (see the type's comment).
    static func encode(_ score: Double) -> Bytes {
        if score == 0 && score.sign == .plus { return Bytes() }
        guard score == score.rounded(.towardZero), abs(score) <= largestExactInteger, score != 0 else {
            return Bytes(withUnsafeBytes(of: score.bitPattern.littleEndian) { Array($0) })
        }
        let value = Int64(score)
        var length = 1
        while length < 7 && !(value >= -(1 << (8 * length - 1)) && value < (1 << (8 * length - 1))) { length += 1 }
        return Bytes((0..<length).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
    }

    /// The score stored in `bytes`.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Double {
        switch bytes.count {
        case 0:
            return 0
        case 8:
            var bits: UInt64 = 0
            for index in 0..<8 { bits |= UInt64(bytes[index]) << (8 * index) }
            return Double(bitPattern: bits)
        default:
            var value: Int64 = 0
            for index in 0..<bytes.count { value |= Int64(bytes[index]) << (8 * index) }
            // Sign-extend from the top stored byte.
            let unused = 64 - 8 * bytes.count
            return Double((value << unused) >> unused)
        }
    }

    // MARK: - Reading

    /// One member's place: where its member and its score start.
    struct Place {
        var member: Int
        var score: Int
        /// Where the next pair starts.
        var next: Int
    }

    private func place(at offset: Int) -> Place {
        let scoreOffset = pairs.offset(after: offset)
        return Place(member: offset, score: scoreOffset, next: pairs.offset(after: scoreOffset))
    }

    /// Every pair's place, in order.
    private var places: some Sequence<Place> {
        sequence(state: 0) { (offset: inout Int) -> Place? in
            guard offset < pairs.endOffset else { return nil }
            let place = self.place(at: offset)
            offset = place.next
            return place
        }
    }

    private func score(at place: Place) -> Double {
        pairs.withElement(at: place.score) { Self.decode($0) }
    }

    private func member(at place: Place) -> Bytes { pairs.element(at: place.member) }

    /// memcmp order of the stored member against `member`, as -1, 0 or 1.
    private func compareMember(at place: Place, with member: Bytes) -> Int {
        pairs.withElement(at: place.member) { stored in
            member.storage.withUnsafeBytes { other in
                let common = min(stored.count, other.count)
                if common > 0 {
                    let order = memcmp(stored.baseAddress!, other.baseAddress!, common)
                    if order != 0 { return order < 0 ? -1 : 1 }
                }
                return stored.count == other.count ? 0 : (stored.count < other.count ? -1 : 1)
            }
        }
    }

    /// The place and rank of `member`, nil when absent.
    private func find(_ member: Bytes) -> (place: Place, rank: Int)? {
        for (rank, place) in places.enumerated() where pairs.element(at: place.member, equals: member) {
            return (place, rank)
        }
        return nil
    }

    func score(of member: Bytes) -> Double? {
        find(member).map { score(at: $0.place) }
    }

    func rank(of member: Bytes) -> Int? { find(member)?.rank }

    func element(atRank rank: Int) -> (member: Bytes, score: Double) {
        let place = place(at: pairs.offset(ofIndex: 2 * rank))
        return (member(at: place), score(at: place))
    }

    /// How many pairs, from the lowest, satisfy `isBefore` (which holds for a
    /// prefix of the order).
    func countPrefix(_ isBefore: (_ score: Double, _ member: Bytes) -> Bool) -> Int {
        var count = 0
        for place in places {
            guard isBefore(score(at: place), member(at: place)) else { break }
            count += 1
        }
        return count
    }

    /// Visits up to `wanted` pairs from rank `start` (counted from the top
    /// when `reversed`), in that direction.
    func forEach(fromRank start: Int, count wanted: Int, reversed: Bool, _ body: (Bytes, Double) -> Void) {
        guard start >= 0, start < count, wanted > 0 else { return }
        let taken = min(wanted, count - start)
        if !reversed {
            for place in places.dropFirst(start).prefix(taken) { body(member(at: place), score(at: place)) }
            return
        }
        // No backward links: collect the places of the slice, then walk them back.
        let first = count - start - taken
        for place in Array(places.dropFirst(first).prefix(taken)).reversed() { body(member(at: place), score(at: place)) }
    }

    // MARK: - Writing

    /// Inserts a member known to be absent at its place in the order.
    mutating func insert(_ member: Bytes, score: Double) {
        var offset = pairs.endOffset
        for place in places {
            let stored = self.score(at: place)
            if score < stored || (score == stored && compareMember(at: place, with: member) > 0) {
                offset = place.member
                break
            }
        }
        if offset == pairs.endOffset {
            pairs.append(member)
            pairs.append(Self.encode(score))
        } else {
            // Score first, then member before it: the member ends up first.
            pairs.insert(Self.encode(score), at: offset)
            pairs.insert(member, at: offset)
        }
    }

    /// Adds `member` or moves it to `score`.
    mutating func set(_ member: Bytes, score: Double) -> SortedSetValue.Change {
        if let (place, _) = find(member) {
            // As in Redis, -0 and 0 are the same score: no update.
            if self.score(at: place) == score { return .unchanged }
            pairs.remove(2, from: place.member)
            insert(member, score: score)
            return .updated
        }
        insert(member, score: score)
        return .added
    }

    /// Removes `member`; returns its score, nil when it was absent.
    mutating func remove(_ member: Bytes) -> Double? {
        guard let (place, _) = find(member) else { return nil }
        let score = score(at: place)
        pairs.remove(2, from: place.member)
        return score
    }

    /// Removes and returns the pairs at ascending ranks `ranks`.
    mutating func removeRanks(_ ranks: Range<Int>) -> [(member: Bytes, score: Double)] {
        guard !ranks.isEmpty else { return [] }
        var removed: [(member: Bytes, score: Double)] = []
        removed.reserveCapacity(ranks.count)
        forEach(fromRank: ranks.lowerBound, count: ranks.count, reversed: false) { removed.append(($0, $1)) }
        pairs.remove(2 * ranks.count, from: pairs.offset(ofIndex: 2 * ranks.lowerBound))
        return removed
    }

    /// Gives back the buffer's spare room (see `PackedStrings.shrinkToFit`).
    mutating func shrinkToFit() { pairs.shrinkToFit() }

    /// Whether no member is longer than `limit` bytes: for tests.
    func allMembersFit(_ limit: Int) -> Bool {
        places.allSatisfy { member(at: $0).count <= limit }
    }

    /// Whether the pairs are in strict (score, member) order: for tests.
    func isOrdered() -> Bool {
        var previous: (member: Bytes, score: Double)? = nil
        for place in places {
            let current = (member: member(at: place), score: score(at: place))
            if let previous {
                if previous.score > current.score { return false }
                if previous.score == current.score && previous.member.threeWayCompare(current.member) >= 0 { return false }
            }
            previous = current
        }
        return pairs.count % 2 == 0
    }
}
