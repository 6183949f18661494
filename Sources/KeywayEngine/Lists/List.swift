import DequeModule

/// A Redis list of byte strings, held in one of two forms as Redis 7.2 holds
/// a list as one listpack or a quicklist:
/// - **packed** (`PackedStrings`) while the packed bytes stay within 8 KiB,
///   the size of a Redis list node (`list-max-listpack-size -2`): an element
///   costs its bytes plus a length byte or two. Ends, index and edits are a
///   scan or a move of at most those 8 KiB, a bounded cost.
/// - a **deque** of separate elements beyond: O(1) at both ends and O(1) by
///   index (LINDEX, LSET), O(n) only for LINSERT/LREM/LPOS as in Redis, for
///   about 40 bytes per element more.
/// Why a byte budget rather than a count and an element-size limit: it is
/// the rule Redis applies to lists, it bounds every scan and move of the
/// packed form alike, and it packs lists of many tiny elements too. A write
/// past the budget moves the list to the deque; a deque that shrinks to half
/// the budget is packed again (Redis 7.2 does the same), the gap between the
/// two keeping a list at the limit from converting back and forth.
public struct ListValue: CollectionValue {
    /// The packed form's largest size in bytes.
    public static let packedMaxBytes = 8 * 1024

    private enum Storage {
        case packed(PackedStrings)
        case deque(Deque<Bytes>)
    }

    private var storage: Storage = .packed(PackedStrings())
    /// The deque form's running memory estimate (unused when packed).
    private var dequeMemoryUsage = 0

    public init() {}

    public init(_ elements: [Bytes]) {
        var packed = PackedStrings()
        var packedBytes = 0
        for element in elements {
            packedBytes += Self.packedSize(element)
            if packedBytes > Self.packedMaxBytes {
                storage = .deque(Deque(elements))
                dequeMemoryUsage = recountMemoryUsage()
                return
            }
            packed.append(element)
        }
        packed.shrinkToFit()
        storage = .packed(packed)
    }

    /// Bytes `element` takes packed: its LEB128 length and its bytes.
    private static func packedSize(_ element: Bytes) -> Int {
        var headerBytes = 1
        var rest = element.count >> 7
        while rest > 0 { headerBytes += 1; rest >>= 7 }
        return headerBytes + element.count
    }

    /// Whether the list is in its packed form (OBJECT ENCODING's `listpack`).
    public var isCompact: Bool {
        if case .packed = storage { return true }
        return false
    }

    public var count: Int {
        switch storage {
        case .packed(let packed): return packed.count
        case .deque(let deque): return deque.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// Estimated bytes of the elements (MemoryAccounting.swift): the packed
    /// buffer with its heap header, or the deque's running figure. O(1).
    public var memoryUsage: Int {
        switch storage {
        case .packed(let packed): return packed.byteCount == 0 ? 0 : MemoryCost.objectHeader + packed.byteCount
        case .deque: return dequeMemoryUsage
        }
    }

    /// The same figure computed from scratch.
    public func recountMemoryUsage() -> Int {
        switch storage {
        case .packed: return memoryUsage
        case .deque(let deque): return deque.reduce(0) { $0 + MemoryCost.listElement($1) }
        }
    }

    // MARK: - Reading

    /// The element at a valid position: O(1) in the deque, a scan of at most
    /// 8 KiB packed.
    public func element(at position: Int) -> Bytes {
        switch storage {
        case .packed(let packed): return packed.element(at: packed.offset(ofIndex: position))
        case .deque(let deque): return deque[position]
        }
    }

    /// The elements at `range` (valid positions), in order.
    public func elements(in range: ClosedRange<Int>) -> [Bytes] {
        switch storage {
        case .packed(let packed):
            var result: [Bytes] = []
            result.reserveCapacity(range.count)
            var offset = packed.offset(ofIndex: range.lowerBound)
            for _ in range {
                result.append(packed.element(at: offset))
                offset = packed.offset(after: offset)
            }
            return result
        case .deque(let deque):
            return Array(deque[range])
        }
    }

    /// Every element, in order (for persistence and tools).
    public var elements: [Bytes] {
        switch storage {
        case .packed(let packed): return packed.elements
        case .deque(let deque): return Array(deque)
        }
    }

    /// Visits every element in order without copying the list.
    public func forEach(_ body: (Bytes) -> Void) {
        switch storage {
        case .packed(let packed): for offset in packed.offsets { body(packed.element(at: offset)) }
        case .deque(let deque): deque.forEach(body)
        }
    }

    /// Visits the positions of the elements equal to `target`, from the head
    /// or from the tail when `fromTail`, looking at no more than
    /// `maxScanned` elements (0: all), until `body` returns false. Packed
    /// elements are compared in place.
    public func visitMatches(of target: Bytes, fromTail: Bool, maxScanned: Int = 0, _ body: (Int) -> Bool) {
        let limit = maxScanned == 0 ? count : min(maxScanned, count)
        switch storage {
        case .packed(let packed):
            if !fromTail {
                for (position, offset) in packed.offsets.prefix(limit).enumerated() where packed.element(at: offset, equals: target) {
                    if !body(position) { return }
                }
            } else {
                // No backward links: collect the offsets, then walk them back.
                let offsets = Array(packed.offsets)
                for step in 0..<limit {
                    let position = offsets.count - 1 - step
                    if packed.element(at: offsets[position], equals: target) && !body(position) { return }
                }
            }
        case .deque(let deque):
            for step in 0..<limit {
                let position = fromTail ? deque.count - 1 - step : step
                if deque[position] == target && !body(position) { return }
            }
        }
    }

    /// The position of the first element equal to `target`, nil when none.
    public func firstPosition(of target: Bytes) -> Int? {
        var found: Int? = nil
        visitMatches(of: target, fromTail: false) { position in
            found = position
            return false
        }
        return found
    }

    // MARK: - Changing

    /// The end of a list commands push to or pop from.
    public enum End: Sendable {
        case left, right

        init?(_ word: Bytes) {
            if word.equalsIgnoringCase("left") { self = .left }
            else if word.equalsIgnoringCase("right") { self = .right }
            else { return nil }
        }
    }

    /// Runs `body` on the packed form in place (moved out of `storage`, so no
    /// copy-on-write copy), when the list is packed and will still fit
    /// after growing by `growth` bytes; else nil.
    private mutating func withPacked<R>(growingBy growth: Int = 0, _ body: (inout PackedStrings) -> R) -> R? {
        guard case .packed(var packed) = storage, packed.endOffset + growth <= Self.packedMaxBytes else { return nil }
        storage = .packed(PackedStrings())
        defer { storage = .packed(packed) }
        return body(&packed)
    }

    /// Runs `body` on the deque form in place, moving a packed list to it
    /// first; packs the list again if it has shrunk to half the budget.
    /// `body` keeps the deque's memory figure, its second argument.
    private mutating func withDeque<R>(_ body: (inout Deque<Bytes>, inout Int) -> R) -> R {
        var deque: Deque<Bytes>
        switch storage {
        case .deque(let existing): deque = existing
        case .packed(let packed):
            deque = Deque(packed.elements)
            dequeMemoryUsage = deque.reduce(0) { $0 + MemoryCost.listElement($1) }
        }
        storage = .packed(PackedStrings())
        let result = body(&deque, &dequeMemoryUsage)
        // Every element's packed size is at most its bytes plus 3 (lengths
        // below 2 MiB), so this bound errs on the side of staying a deque.
        let packedBound = dequeMemoryUsage - deque.count * (MemoryCost.listElement - 3)
        if packedBound <= Self.packedMaxBytes / 2 {
            var packed = PackedStrings()
            for element in deque { packed.append(element) }
            packed.shrinkToFit()
            storage = .packed(packed)
            dequeMemoryUsage = 0
        } else {
            storage = .deque(deque)
        }
        return result
    }

    public mutating func push(_ element: Bytes, to end: End) {
        let done: Void? = withPacked(growingBy: Self.packedSize(element)) { packed in
            switch end {
            case .left: packed.insert(element, at: 0)
            case .right: packed.append(element)
            }
        }
        guard done == nil else { return }
        withDeque { deque, memory in
            memory += MemoryCost.listElement(element)
            switch end {
            case .left: deque.prepend(element)
            case .right: deque.append(element)
            }
        }
    }

    public mutating func pop(from end: End) -> Bytes? {
        if isEmpty { return nil }
        return withPacked { packed -> Bytes in
            let offset = end == .left ? 0 : packed.offset(ofIndex: packed.count - 1)
            let element = packed.element(at: offset)
            packed.remove(at: offset)
            return element
        } ?? withDeque { deque, memory -> Bytes? in
            let popped = end == .left ? deque.popFirst() : deque.popLast()
            if let popped { memory -= MemoryCost.listElement(popped) }
            return popped
        }
    }

    /// LSET: replaces the element at a valid position.
    public mutating func replace(at position: Int, with element: Bytes) {
        let growth = isCompact ? Self.packedSize(element) - Self.packedSize(self.element(at: position)) : 0
        let done: Void? = withPacked(growingBy: growth) { packed in
            packed.replace(at: packed.offset(ofIndex: position), with: element)
        }
        guard done == nil else { return }
        withDeque { deque, memory in
            memory += element.count - deque[position].count
            deque[position] = element
        }
    }

    /// LINSERT: inserts before the element at `position` (or at the end).
    public mutating func insert(_ element: Bytes, at position: Int) {
        let done: Void? = withPacked(growingBy: Self.packedSize(element)) { packed in
            packed.insert(element, at: packed.offset(ofIndex: position))
        }
        guard done == nil else { return }
        withDeque { deque, memory in
            memory += MemoryCost.listElement(element)
            deque.insert(element, at: position)
        }
    }

    /// LREM: removes up to `limit` elements equal to `target`, from the head
    /// or from the tail when `fromTail`; returns how many.
    public mutating func removeMatches(of target: Bytes, limit: Int, fromTail: Bool) -> Int {
        var doomed: [Int] = []
        visitMatches(of: target, fromTail: fromTail) { position in
            doomed.append(position)
            return doomed.count < limit
        }
        if doomed.isEmpty { return 0 }
        if fromTail { doomed.reverse() }
        let removed = withPacked { packed -> Int in
            // From the last to the first, so earlier offsets stay valid.
            let offsets = Array(packed.offsets)
            for position in doomed.reversed() { packed.remove(at: offsets[position]) }
            return doomed.count
        }
        if let removed { return removed }
        return withDeque { deque, memory -> Int in
            var kept = Deque<Bytes>()
            kept.reserveCapacity(deque.count - doomed.count)
            var next = 0
            for (position, element) in deque.enumerated() {
                if next < doomed.count && doomed[next] == position {
                    next += 1
                    memory -= MemoryCost.listElement(element)
                } else {
                    kept.append(element)
                }
            }
            deque = kept
            return doomed.count
        }
    }

    /// LTRIM: keeps only `range` (nil keeps nothing), in O(removed) for the
    /// deque.
    public mutating func keep(_ range: ClosedRange<Int>?) {
        guard let range else {
            storage = .packed(PackedStrings())
            dequeMemoryUsage = 0
            return
        }
        let done: Void? = withPacked { packed in
            let tail = packed.count - 1 - range.upperBound
            if tail > 0 { packed.remove(tail, from: packed.offset(ofIndex: range.upperBound + 1)) }
            if range.lowerBound > 0 { packed.remove(range.lowerBound, from: 0) }
        }
        guard done == nil else { return }
        withDeque { deque, memory in
            for element in deque[(range.upperBound + 1)...] { memory -= MemoryCost.listElement(element) }
            for element in deque[..<range.lowerBound] { memory -= MemoryCost.listElement(element) }
            deque.removeLast(deque.count - 1 - range.upperBound)
            deque.removeFirst(range.lowerBound)
        }
    }

    // MARK: - Index arithmetic

    /// Redis's index rule: negative counts from the end. Nil when outside.
    public func position(of index: Int64) -> Int? {
        let resolved = index < 0 ? Int64(count) + index : index
        guard resolved >= 0 && resolved < Int64(count) else { return nil }
        return Int(resolved)
    }

    /// LRANGE/LTRIM's clamping of a start/stop pair; nil when the range is empty.
    public func clampedRange(_ start: Int64, _ stop: Int64) -> ClosedRange<Int>? {
        let length = Int64(count)
        var start = start < 0 ? length + start : start
        var stop = stop < 0 ? length + stop : stop
        if start < 0 { start = 0 }
        if start > stop || start >= length { return nil }
        if stop >= length { stop = length - 1 }
        return Int(start)...Int(stop)
    }

    // MARK: - CollectionValue

    public static func peek(_ value: Value) -> ListValue? {
        if case .list(let list) = value { return list }
        return nil
    }

    public static func take(_ value: inout Value) -> ListValue? {
        guard case .list(let list) = value else { return nil }
        value = .placeholder
        return list
    }

    /// The list wrapped for the keyspace, which is where a write ends: a
    /// packed buffer gives back the spare room its growth reserved.
    public var wrapped: Value {
        var stored = self
        _ = stored.withPacked { $0.shrinkToFit() }
        return .list(stored)
    }
}
