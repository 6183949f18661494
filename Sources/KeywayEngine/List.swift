import DequeModule

/// A Redis list: a double-ended queue of byte strings, O(1) at both ends and
/// O(1) by index (LINDEX, LSET), O(n) only for LINSERT/LREM/LPOS as in Redis.
public struct ListValue: CollectionValue {
    public var elements: Deque<Bytes>

    public init() { elements = [] }
    public init(_ elements: [Bytes]) { self.elements = Deque(elements) }

    public var isEmpty: Bool { elements.isEmpty }
    public var count: Int { elements.count }

    /// The end of a list commands push to or pop from.
    public enum End: Sendable {
        case left, right

        init?(_ word: Bytes) {
            if word.equalsIgnoringCase("left") { self = .left }
            else if word.equalsIgnoringCase("right") { self = .right }
            else { return nil }
        }
    }

    public mutating func push(_ element: Bytes, to end: End) {
        switch end {
        case .left: elements.prepend(element)
        case .right: elements.append(element)
        }
    }

    public mutating func pop(from end: End) -> Bytes? {
        switch end {
        case .left: return elements.popFirst()
        case .right: return elements.popLast()
        }
    }

    /// Redis's index rule: negative counts from the end. Nil when outside.
    public func position(of index: Int64) -> Int? {
        let resolved = index < 0 ? Int64(elements.count) + index : index
        guard resolved >= 0 && resolved < Int64(elements.count) else { return nil }
        return Int(resolved)
    }

    /// LRANGE/LTRIM's clamping of a start/stop pair; nil when the range is empty.
    public func clampedRange(_ start: Int64, _ stop: Int64) -> ClosedRange<Int>? {
        let length = Int64(elements.count)
        var start = start < 0 ? length + start : start
        var stop = stop < 0 ? length + stop : stop
        if start < 0 { start = 0 }
        if start > stop || start >= length { return nil }
        if stop >= length { stop = length - 1 }
        return Int(start)...Int(stop)
    }

    public static func peek(_ value: Value) -> ListValue? {
        if case .list(let list) = value { return list }
        return nil
    }

    public static func take(_ value: inout Value) -> ListValue? {
        guard case .list(let list) = value else { return nil }
        value = .placeholder
        return list
    }

    public var wrapped: Value { .list(self) }
}
