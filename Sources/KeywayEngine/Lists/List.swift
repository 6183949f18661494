import DequeModule

/// A Redis list: a double-ended queue of byte strings, O(1) at both ends and
/// O(1) by index (LINDEX, LSET), O(n) only for LINSERT/LREM/LPOS as in Redis.
public struct ListValue: CollectionValue {
    /// Changed only through the methods below, which keep `memoryUsage`.
    public private(set) var elements: Deque<Bytes>
    /// Estimated bytes of the elements (MemoryAccounting.swift).
    public private(set) var memoryUsage = 0

    public init() { elements = [] }
    public init(_ elements: [Bytes]) {
        self.elements = Deque(elements)
        memoryUsage = recountMemoryUsage()
    }

    /// The elements' bytes computed from scratch.
    public func recountMemoryUsage() -> Int {
        elements.reduce(0) { $0 + MemoryCost.listElement($1) }
    }

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
        memoryUsage += MemoryCost.listElement(element)
        switch end {
        case .left: elements.prepend(element)
        case .right: elements.append(element)
        }
    }

    public mutating func pop(from end: End) -> Bytes? {
        let popped: Bytes?
        switch end {
        case .left: popped = elements.popFirst()
        case .right: popped = elements.popLast()
        }
        if let popped { memoryUsage -= MemoryCost.listElement(popped) }
        return popped
    }

    /// LSET: replaces the element at a valid position.
    public mutating func replace(at position: Int, with element: Bytes) {
        memoryUsage += element.count - elements[position].count
        elements[position] = element
    }

    /// LINSERT: inserts before the element at `position` (or at the end).
    public mutating func insert(_ element: Bytes, at position: Int) {
        memoryUsage += MemoryCost.listElement(element)
        elements.insert(element, at: position)
    }

    /// LREM: replaces all elements with a filtered sequence of them.
    public mutating func replaceAll(with kept: [Bytes]) {
        elements = Deque(kept)
        memoryUsage = recountMemoryUsage()
    }

    /// LTRIM: keeps only `range` (nil keeps nothing), in O(removed).
    public mutating func keep(_ range: ClosedRange<Int>?) {
        guard let range else {
            elements.removeAll()
            memoryUsage = 0
            return
        }
        for element in elements[(range.upperBound + 1)...] { memoryUsage -= MemoryCost.listElement(element) }
        for element in elements[..<range.lowerBound] { memoryUsage -= MemoryCost.listElement(element) }
        elements.removeLast(elements.count - 1 - range.upperBound)
        elements.removeFirst(range.lowerBound)
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
