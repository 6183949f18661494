/// A Redis hash: fields mapped to values, where any field may carry its own
/// expiry (Redis 7.4's HEXPIRE family).
///
/// Fields live in a `SlotMap`, which gives what the commands promise: O(1)
/// HSET/HGET/HDEL, O(1) random picks for HRANDFIELD and SCAN cursors that stay
/// valid while fields come and go. A hash that never used field TTLs pays
/// nothing more than two empty containers.
///
/// Field expiries are kept twice, for two questions: `fieldExpiries` answers
/// "when does this field expire?" in O(1), and `deadlines`, a min-heap,
/// answers "which fields are due now?" without scanning, so expired fields
/// can be dropped on every access at O(log n) each. The heap is lazy: a field
/// that is deleted, persisted or given a new deadline leaves its old heap
/// entry behind, recognised as stale because it no longer matches
/// `fieldExpiries`, and skipped when it surfaces. Stale entries are bounded by
/// rebuilding the heap once they outnumber the live ones.
public struct HashValue: CollectionValue {
    public private(set) var fields = SlotMap<Bytes, Bytes>()
    /// Absolute expiry (Unix milliseconds) of each field that has one.
    public private(set) var fieldExpiries: [Bytes: Int64] = [:]
    private var deadlines = FieldDeadlines()
    /// Estimated bytes of fields, values and field TTLs (MemoryAccounting.swift).
    public private(set) var memoryUsage = 0

    public init() {}

    /// The same bytes computed from scratch.
    public func recountMemoryUsage() -> Int {
        var total = fieldExpiries.count * MemoryCost.hashFieldExpiry
        for (field, value) in fields.entries { total += MemoryCost.hashField(field, value) }
        return total
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }
    /// Whether any field has a TTL: the key then belongs in the database's
    /// set of hashes sampled by active expiry.
    public var hasVolatileFields: Bool { !fieldExpiries.isEmpty }

    public subscript(_ field: Bytes) -> Bytes? { fields[field] }

    public func contains(_ field: Bytes) -> Bool { fields.contains(field) }

    public func expiry(of field: Bytes) -> Int64? { fieldExpiries[field] }

    /// True when some field's deadline has passed (or a stale heap entry
    /// claims so, which a purge then discards). O(1).
    public func hasDueFields(at now: Int64) -> Bool {
        guard let next = deadlines.earliest else { return false }
        return next <= now
    }

    // MARK: - Writes

    /// Sets a field; returns true when it was created. A new value discards
    /// the field's TTL, as HSET does, unless `keepTTL` (HINCRBY, HSETEX KEEPTTL).
    @discardableResult
    public mutating func set(_ field: Bytes, _ value: Bytes, keepTTL: Bool = false) -> Bool {
        let old = fields.updateValue(value, forKey: field)
        let created = old == nil
        if let old {
            memoryUsage += value.count - old.count
        } else {
            memoryUsage += MemoryCost.hashField(field, value)
        }
        if !created && !keepTTL { persist(field) }
        return created
    }

    /// Deletes a field and its TTL; returns the old value.
    @discardableResult
    public mutating func remove(_ field: Bytes) -> Bytes? {
        guard let value = fields.removeValue(forKey: field) else { return nil }
        memoryUsage -= MemoryCost.hashField(field, value)
        if fieldExpiries.removeValue(forKey: field) != nil {
            memoryUsage -= MemoryCost.hashFieldExpiry
            if fieldExpiries.isEmpty { deadlines.removeAll() }
        }
        return value
    }

    /// Gives an existing field an absolute expiry (Unix ms).
    public mutating func setExpiry(_ field: Bytes, at deadline: Int64) {
        precondition(fields.contains(field), "expiry for a missing field")
        if fieldExpiries.updateValue(deadline, forKey: field) == nil { memoryUsage += MemoryCost.hashFieldExpiry }
        deadlines.push(deadline, field)
        if deadlines.count > 2 * fieldExpiries.count + 32 {
            deadlines.rebuild(from: fieldExpiries)
        }
    }

    /// Removes a field's TTL; returns whether it had one.
    @discardableResult
    public mutating func persist(_ field: Bytes) -> Bool {
        guard fieldExpiries.removeValue(forKey: field) != nil else { return false }
        memoryUsage -= MemoryCost.hashFieldExpiry
        if fieldExpiries.isEmpty { deadlines.removeAll() }
        return true
    }

    /// Deletes up to `limit` fields whose deadline is at or before `now`,
    /// soonest first. Returns how many were deleted.
    @discardableResult
    public mutating func removeExpiredFields(now: Int64, limit: Int = .max) -> Int {
        var removed = 0
        while removed < limit, let (deadline, field) = deadlines.popIfDue(now) {
            // A stale entry: the field was deleted, persisted or re-timed since.
            guard fieldExpiries[field] == deadline else { continue }
            fieldExpiries.removeValue(forKey: field)
            memoryUsage -= MemoryCost.hashFieldExpiry
            if let value = fields.removeValue(forKey: field) { memoryUsage -= MemoryCost.hashField(field, value) }
            removed += 1
        }
        if fieldExpiries.isEmpty { deadlines.removeAll() }
        return removed
    }

    // MARK: - CollectionValue

    public static func peek(_ value: Value) -> HashValue? {
        if case .hash(let collection) = value { return collection }
        return nil
    }

    public static func take(_ value: inout Value) -> HashValue? {
        guard case .hash(let collection) = value else { return nil }
        value = .placeholder
        return collection
    }

    public var wrapped: Value { .hash(self) }
}

/// A binary min-heap of (deadline, field), soonest first, with lazy deletion
/// left to the owner (see `HashValue`).
struct FieldDeadlines: Sendable {
    private var items: [(deadline: Int64, field: Bytes)] = []

    var count: Int { items.count }
    var earliest: Int64? { items.first?.deadline }

    mutating func removeAll() { items = [] }

    mutating func push(_ deadline: Int64, _ field: Bytes) {
        items.append((deadline, field))
        siftUp(items.count - 1)
    }

    /// Pops the earliest entry when its deadline is at or before `now`.
    mutating func popIfDue(_ now: Int64) -> (Int64, Bytes)? {
        guard let first = items.first, first.deadline <= now else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            siftDown(0)
        }
        return (first.deadline, first.field)
    }

    /// Drops stale entries: one entry per live expiry, heapified in O(n).
    mutating func rebuild(from expiries: [Bytes: Int64]) {
        items = expiries.map { (deadline: $0.value, field: $0.key) }
        var index = items.count / 2 - 1
        while index >= 0 {
            siftDown(index)
            index -= 1
        }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].deadline < items[parent].deadline else { return }
            items.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && items[left].deadline < items[smallest].deadline { smallest = left }
            if right < items.count && items[right].deadline < items[smallest].deadline { smallest = right }
            if smallest == parent { return }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

// MARK: - Field expiry in the database

extension Database {
    /// Drops the expired fields of the hash under `key` (at most `limit`),
    /// emitting `hexpired`, and deletes the key (`del`) when no field is
    /// left, as Redis does when a hash's last field expires. Returns the
    /// number of fields removed; 0 at O(1) cost when none is due.
    @discardableResult
    public func expireHashFields(_ key: Bytes, limit: Int = .max) -> Int {
        guard !loading, let slot = liveSlot(key), hashHasDueFields(atSlot: slot) else { return 0 }
        let now = self.now
        var removed = 0, isEmpty = false, stillVolatile = true
        try? keyspace.modifyValue(atSlot: slot) { value throws(CommandError) in
            guard var hash = HashValue.take(&value) else { return }
            removed = hash.removeExpiredFields(now: now, limit: limit)
            isEmpty = hash.isEmpty
            stillVolatile = hash.hasVolatileFields
            value = hash.wrapped
        }
        if removed > 0 { didWrite(key, .hexpired) }
        if isEmpty {
            keyspace.remove(atSlot: slot)
            didWrite(key, .del)
        }
        if !stillVolatile || isEmpty { keysWithVolatileFields.removeValue(forKey: key) }
        return removed
    }

    /// Looks without copying the hash out (a copy alive during the purge
    /// would make the in-place mutation copy the whole hash).
    private func hashHasDueFields(atSlot slot: Int) -> Bool {
        guard case .hash(let hash) = keyspace[slot: slot].value else { return false }
        return hash.hasDueFields(at: now)
    }

    private enum VolatileHashState { case gone, notDue, due }

    /// What active expiry should do with a sampled key, decided without
    /// keeping a copy of the hash alive.
    private func volatileHashState(_ key: Bytes) -> VolatileHashState {
        guard let slot = liveSlot(key), case .hash(let hash) = keyspace[slot: slot].value, hash.hasVolatileFields else {
            return .gone
        }
        return hash.hasDueFields(at: now) ? .due : .notDue
    }

    /// Remembers that `key` holds a hash with field TTLs, for active expiry.
    public func trackVolatileFields(_ key: Bytes) {
        if !keysWithVolatileFields.contains(key) { keysWithVolatileFields[key] = true }
    }

    /// The field half of the active expiry cycle: samples hashes that have
    /// field TTLs, `sampleSize` at a time, and drops their due fields
    /// (a bounded number per hash per visit), repeating while more than a
    /// quarter of a sample had due fields and time is left. Keys that no
    /// longer hold such a hash (deleted, overwritten, all TTLs gone) are
    /// forgotten when sampled. Returns the number of fields removed.
    func activeExpireHashFields(startedAt start: Int64, budgetMicroseconds: Int64, sampleSize: Int) -> Int {
        var generator = SystemRandomNumberGenerator()
        let fieldsPerHash = 64
        var removed = 0
        while !keysWithVolatileFields.isEmpty {
            let samples = min(sampleSize, keysWithVolatileFields.count)
            var dueInSample = 0
            for _ in 0..<samples {
                guard let key = keysWithVolatileFields.randomElement(using: &generator)?.key else { break }
                switch volatileHashState(key) {
                case .gone:
                    keysWithVolatileFields.removeValue(forKey: key)
                case .notDue:
                    continue
                case .due:
                    dueInSample += 1
                    removed += expireHashFields(key, limit: fieldsPerHash)
                }
            }
            if dueInSample * 4 <= samples { break }
            if monotonicMicroseconds() - start >= budgetMicroseconds { break }
        }
        return removed
    }
}
