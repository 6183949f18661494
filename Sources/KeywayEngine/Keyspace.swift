/// The table of keys: a slot array indexed by a hash map, plus the set of
/// keys that carry an expiry.
///
/// Why slots: SCAN needs a cursor that stays valid while keys come and go,
/// and active expiry (later eviction too) needs to pick random keys in O(1).
/// An entry never moves once placed, so a SCAN that walks slot positions
/// returns every key present for the whole scan exactly once; deleted slots
/// are reused by later inserts. Expiring keys are also kept in a dense array
/// so sampling them costs O(1), as Redis samples its `expires` dict.
///
/// This is a plain data structure: it knows nothing of time, stats or events.
/// `Database` applies those policies on top.
public struct Keyspace: Sendable {
    public struct Entry: Sendable {
        public var key: Bytes
        public var value: Value
        /// Absolute expiry in Unix milliseconds, or `Entry.persistent`.
        public var expiresAt: Int64
        /// Position in `volatileSlots` while `expiresAt` is set.
        var volatilePosition: Int32

        public static let persistent: Int64 = -1
        public var hasExpiry: Bool { expiresAt != Entry.persistent }
    }

    private var slots: [Entry?] = []
    private var index: [Bytes: Int32] = [:]
    private var freeSlots: [Int32] = []
    private var volatileSlots: [Int32] = []

    public init() {}

    public var count: Int { index.count }
    public var volatileCount: Int { volatileSlots.count }
    /// Number of slot positions, live or free: the bound of a SCAN cursor.
    public var slotCapacity: Int { slots.count }

    public func slot(of key: Bytes) -> Int? {
        index[key].map(Int.init)
    }

    public subscript(slot slot: Int) -> Entry {
        get { slots[slot]! }
    }

    public func entry(at slot: Int) -> Entry? {
        slot < slots.count ? slots[slot] : nil
    }

    /// Replaces the value in place, keeping the expiry.
    public mutating func setValue(_ value: Value, atSlot slot: Int) {
        slots[slot]!.value = value
    }

    /// Mutates a value in place (no copy of a uniquely referenced collection).
    public mutating func modifyValue<R>(atSlot slot: Int, _ body: (inout Value) throws(CommandError) -> R) throws(CommandError) -> R {
        try body(&slots[slot]!.value)
    }

    /// Inserts a new key; the caller ensures it is absent.
    @discardableResult
    public mutating func insert(_ key: Bytes, _ value: Value, expiresAt: Int64 = Entry.persistent) -> Int {
        let entry = Entry(key: key, value: value, expiresAt: Entry.persistent, volatilePosition: -1)
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = Int(free)
            slots[slot] = entry
        } else {
            slot = slots.count
            slots.append(entry)
        }
        index[key] = Int32(slot)
        if expiresAt != Entry.persistent { setExpiry(expiresAt, atSlot: slot) }
        return slot
    }

    /// Removes the key in `slot` and returns its entry.
    @discardableResult
    public mutating func remove(atSlot slot: Int) -> Entry {
        let entry = slots[slot]!
        if entry.hasExpiry { removeFromVolatile(entry.volatilePosition) }
        index.removeValue(forKey: entry.key)
        slots[slot] = nil
        if slot == slots.count - 1 {
            slots.removeLast()
        } else {
            freeSlots.append(Int32(slot))
        }
        return entry
    }

    public mutating func setExpiry(_ expiresAt: Int64, atSlot slot: Int) {
        precondition(expiresAt != Entry.persistent)
        if !slots[slot]!.hasExpiry {
            slots[slot]!.volatilePosition = Int32(volatileSlots.count)
            volatileSlots.append(Int32(slot))
        }
        slots[slot]!.expiresAt = expiresAt
    }

    /// Makes the key persistent; returns whether it had an expiry.
    @discardableResult
    public mutating func removeExpiry(atSlot slot: Int) -> Bool {
        guard slots[slot]!.hasExpiry else { return false }
        removeFromVolatile(slots[slot]!.volatilePosition)
        slots[slot]!.expiresAt = Entry.persistent
        slots[slot]!.volatilePosition = -1
        return true
    }

    private mutating func removeFromVolatile(_ position: Int32) {
        let last = volatileSlots.removeLast()
        if Int(position) < volatileSlots.count {
            volatileSlots[Int(position)] = last
            slots[Int(last)]!.volatilePosition = position
        }
    }

    /// A uniformly random key with an expiry, in O(1).
    public func randomVolatileSlot<G: RandomNumberGenerator>(using generator: inout G) -> Int? {
        guard !volatileSlots.isEmpty else { return nil }
        return Int(volatileSlots[Int.random(in: 0..<volatileSlots.count, using: &generator)])
    }

    /// A random live key. Slots freed by deletes are skipped by retrying.
    public func randomSlot<G: RandomNumberGenerator>(using generator: inout G) -> Int? {
        guard !index.isEmpty else { return nil }
        for _ in 0..<64 {
            let slot = Int.random(in: 0..<slots.count, using: &generator)
            if slots[slot] != nil { return slot }
        }
        // Very sparse table: fall back to the hash map, still correct.
        return index.randomElement(using: &generator).map { Int($0.value) }
    }

    /// Visits live entries from `cursor` on, stopping after `count` live
    /// entries or `count * 10` slots. Returns the next cursor, 0 when done.
    public func scan(from cursor: Int, count: Int, _ visit: (Entry) -> Void) -> Int {
        var position = cursor
        var found = 0
        var examined = 0
        let budget = max(count, 1) * 10
        while position < slots.count && found < count && examined < budget {
            if let entry = slots[position] {
                visit(entry)
                found += 1
            }
            position += 1
            examined += 1
        }
        return position >= slots.count ? 0 : position
    }

    /// Every live entry, in slot order.
    public var entries: some Sequence<Entry> { slots.lazy.compactMap { $0 } }

    public mutating func removeAll() {
        self = Keyspace()
    }
}
