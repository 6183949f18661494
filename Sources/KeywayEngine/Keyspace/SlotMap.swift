/// A hash map whose entries sit in stable slots, giving what Redis's dict
/// gives its users: O(1) insert, lookup and delete, O(1) random picks
/// (SPOP, SRANDMEMBER, HRANDFIELD, eviction sampling) and a SCAN cursor that
/// stays valid while entries come and go.
///
/// An entry never moves once placed, so walking slot positions returns every
/// entry present for the whole walk exactly once. Freed slots are reused by
/// later inserts, and trailing free slots are trimmed.
public struct SlotMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private var slots: [(key: Key, value: Value)?] = []
    private var index: [Key: Int32] = [:]
    private var freeSlots: [Int32] = []

    public init() {}

    public var count: Int { index.count }
    public var isEmpty: Bool { index.isEmpty }
    /// Bound of a scan cursor.
    public var slotCapacity: Int { slots.count }

    public subscript(_ key: Key) -> Value? {
        get { index[key].map { slots[Int($0)]!.value } }
        set {
            if let newValue { updateValue(newValue, forKey: key) } else { removeValue(forKey: key) }
        }
    }

    public func contains(_ key: Key) -> Bool { index[key] != nil }

    /// Inserts or replaces; returns the old value.
    @discardableResult
    public mutating func updateValue(_ value: Value, forKey key: Key) -> Value? {
        if let slot = index[key] {
            let old = slots[Int(slot)]!.value
            slots[Int(slot)]!.value = value
            return old
        }
        if let free = popFreeSlot() {
            slots[Int(free)] = (key, value)
            index[key] = free
        } else {
            index[key] = Int32(slots.count)
            slots.append((key, value))
        }
        return nil
    }

    /// Mutates a present value in place.
    public mutating func modify<R>(_ key: Key, _ body: (inout Value) throws(CommandError) -> R) throws(CommandError) -> R? {
        guard let slot = index[key] else { return nil }
        return try body(&slots[Int(slot)]!.value)
    }

    @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        guard let slot = index.removeValue(forKey: key) else { return nil }
        let value = slots[Int(slot)]!.value
        slots[Int(slot)] = nil
        if Int(slot) == slots.count - 1 {
            slots.removeLast()
            // Trim trailing holes so random picks stay cheap after shrinking.
            while let last = slots.last, last == nil { slots.removeLast() }
        } else {
            freeSlots.append(slot)
        }
        return value
    }

    /// A reusable hole. Entries left stale by trimming are skipped here,
    /// which keeps removal O(1) amortised.
    private mutating func popFreeSlot() -> Int32? {
        while let candidate = freeSlots.popLast() {
            if Int(candidate) < slots.count && slots[Int(candidate)] == nil { return candidate }
        }
        return nil
    }

    /// A uniformly random entry, in O(1) expected time while the map is not
    /// mostly holes (trailing holes are trimmed, inner ones reused).
    public func randomElement<G: RandomNumberGenerator>(using generator: inout G) -> (key: Key, value: Value)? {
        guard !index.isEmpty else { return nil }
        if index.count * 4 >= slots.count {
            while true {
                if let entry = slots[Int.random(in: 0..<slots.count, using: &generator)] { return entry }
            }
        }
        // Sparse: a random position among the live entries.
        var skip = Int.random(in: 0..<index.count, using: &generator)
        for entry in slots {
            guard let entry else { continue }
            if skip == 0 { return entry }
            skip -= 1
        }
        return nil
    }

    /// Visits entries from `cursor` on, stopping after `count` entries or
    /// `count * 10` slots. Returns the next cursor, 0 when the walk is done.
    public func scan(from cursor: Int, count: Int, _ visit: (Key, Value) -> Void) -> Int {
        var position = cursor
        var found = 0
        var examined = 0
        let budget = max(count, 1) * 10
        while position < slots.count && found < count && examined < budget {
            if let entry = slots[position] {
                visit(entry.key, entry.value)
                found += 1
            }
            position += 1
            examined += 1
        }
        return position >= slots.count ? 0 : position
    }

    /// All entries in slot order.
    public var entries: [(key: Key, value: Value)] { slots.compactMap { $0 } }
    public var keys: [Key] { slots.compactMap { $0?.key } }

    public mutating func removeAll() { self = SlotMap() }

    public mutating func reserveCapacity(_ capacity: Int) {
        slots.reserveCapacity(capacity)
        index.reserveCapacity(capacity)
    }
}
