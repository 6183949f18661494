#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A score interval as ZRANGEBYSCORE, ZCOUNT and friends take it:
/// `1.5`, `(1.5` (exclusive), `-inf`, `+inf`.
struct ScoreRange {
    var min: Double
    var max: Double
    var minExclusive: Bool
    var maxExclusive: Bool

    static let notFloat = CommandError(.notFloat, "ERR min or max is not a float")

    init(min: Bytes, max: Bytes) throws(CommandError) {
        (self.min, minExclusive) = try Self.bound(min)
        (self.max, maxExclusive) = try Self.bound(max)
    }

    /// One bound, read as Redis reads it: strtod over the text after an
    /// optional `(`, which must consume everything and not be NaN.
    private static func bound(_ bytes: Bytes) throws(CommandError) -> (Double, Bool) {
        let exclusive = bytes.storage.first == UInt8(ascii: "(")
        var text = exclusive ? Array(bytes.storage.dropFirst()) : bytes.storage
        if text.contains(0) { throw notFloat }
        text.append(0)
        let value = text.withUnsafeBufferPointer { buffer -> Double? in
            let start = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var end: UnsafeMutablePointer<CChar>? = nil
            let value = strtod(start, &end)
            guard let end, end.pointee == 0 else { return nil }
            return value
        }
        guard let value, !value.isNaN else { throw notFloat }
        return (value, exclusive)
    }

    /// No score can satisfy it.
    var isEmpty: Bool { min > max || (min == max && (minExclusive || maxExclusive)) }

    func isBelowMin(_ score: Double) -> Bool { minExclusive ? score <= min : score < min }
    func isAtMostMax(_ score: Double) -> Bool { maxExclusive ? score < max : score <= max }

    /// The ascending ranks of the members inside the range.
    func ranks(in set: SortedSetValue) -> Range<Int> {
        if isEmpty { return 0..<0 }
        let start = set.countPrefix { score, _ in isBelowMin(score) }
        let end = set.countPrefix { score, _ in isAtMostMax(score) }
        return start..<Swift.max(start, end)
    }
}

/// A member interval for the BYLEX commands, meaningful when all scores are
/// equal: `[a` (inclusive), `(a` (exclusive), `-` (before everything), `+`
/// (after everything).
struct LexRange {
    enum Bound {
        case negativeInfinity, positiveInfinity
        case inclusive(Bytes), exclusive(Bytes)
    }

    var min: Bound
    var max: Bound

    static let invalid = CommandError(.generic, "ERR min or max not valid string range item")

    init(min: Bytes, max: Bytes) throws(CommandError) {
        self.min = try Self.bound(min)
        self.max = try Self.bound(max)
    }

    private static func bound(_ bytes: Bytes) throws(CommandError) -> Bound {
        guard let first = bytes.storage.first else { throw invalid }
        switch first {
        case UInt8(ascii: "+") where bytes.count == 1: return .positiveInfinity
        case UInt8(ascii: "-") where bytes.count == 1: return .negativeInfinity
        case UInt8(ascii: "["): return .inclusive(Bytes(bytes.storage.dropFirst()))
        case UInt8(ascii: "("): return .exclusive(Bytes(bytes.storage.dropFirst()))
        default: throw invalid
        }
    }

    /// No member can satisfy it.
    var isEmpty: Bool {
        switch (min, max) {
        case (.positiveInfinity, _), (_, .negativeInfinity): return true
        case (.negativeInfinity, _), (_, .positiveInfinity): return false
        case (.inclusive(let a), .inclusive(let b)): return a.threeWayCompare(b) > 0
        case (.inclusive(let a), .exclusive(let b)), (.exclusive(let a), .inclusive(let b)), (.exclusive(let a), .exclusive(let b)):
            return a.threeWayCompare(b) >= 0
        }
    }

    func isBelowMin(_ member: Bytes) -> Bool {
        switch min {
        case .negativeInfinity: return false
        case .positiveInfinity: return true
        case .inclusive(let bound): return member.threeWayCompare(bound) < 0
        case .exclusive(let bound): return member.threeWayCompare(bound) <= 0
        }
    }

    func isAtMostMax(_ member: Bytes) -> Bool {
        switch max {
        case .negativeInfinity: return false
        case .positiveInfinity: return true
        case .inclusive(let bound): return member.threeWayCompare(bound) <= 0
        case .exclusive(let bound): return member.threeWayCompare(bound) < 0
        }
    }

    /// The ascending ranks of the members inside the range. Members are
    /// compared by bytes only, as Redis does; with unequal scores the result
    /// follows the (score, member) order and is as unspecified as in Redis.
    func ranks(in set: SortedSetValue) -> Range<Int> {
        if isEmpty { return 0..<0 }
        let start = set.countPrefix { _, member in isBelowMin(member) }
        let end = set.countPrefix { _, member in isAtMostMax(member) }
        return start..<Swift.max(start, end)
    }
}

/// Redis's rank arithmetic for ZRANGE / ZREMRANGEBYRANK: negative indexes
/// count from the end; out-of-range ends are clamped; an empty range is nil.
func normalizedRankRange(start: Int64, stop: Int64, count: Int) -> Range<Int>? {
    let length = Int64(count)
    var start = start, stop = stop
    if start < 0 { start += length }
    if stop < 0 { stop += length }
    if start < 0 { start = 0 }
    if start > stop || start >= length { return nil }
    if stop >= length { stop = length - 1 }
    return Int(start)..<Int(stop + 1)
}
