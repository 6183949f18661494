/// A Redis hash: fields mapped to values, where any field may carry its own
/// expiry (Redis 7.4's HEXPIRE family).
///
/// A hash is held in one of two forms, as Redis holds a listpack or a dict:
/// - compact: field, value, field, value, ... in one `PackedStrings` buffer,
///   in insertion order, while the hash has at most `compactFieldLimit`
///   fields, none of its fields or values is longer than
///   `compactBytesLimit`, and no field has a TTL. A field costs its bytes and
///   a length byte, where the table spends a heap array per string plus a
///   slot and an index bucket. Lookups are a scan of at most 128 pairs, the
///   same bound Redis accepts for its listpacks.
/// - table: a `HashTable`, with O(1) HSET/HGET/HDEL, O(1) random picks and
///   SCAN cursors that stay valid while fields come and go.
/// A write that would break a compact limit converts the hash to a table
/// first, for good (Redis never converts back either).
public struct HashValue: CollectionValue {
    /// Most fields a compact hash holds (Redis's `hash-max-listpack-entries`).
    static let compactFieldLimit = 128
    /// Longest field or value a compact hash holds (`hash-max-listpack-value`).
    static let compactBytesLimit = 64

    private enum Storage: Sendable {
        case compact(PackedStrings)
        case table(HashTable)
    }

    private var storage = Storage.compact(PackedStrings())

    public init() {}

    /// Whether the hash is in its compact form (OBJECT ENCODING, tests).
    var isCompact: Bool {
        if case .compact = storage { return true }
        return false
    }

    /// Estimated bytes of fields, values and field TTLs (MemoryAccounting.swift), in O(1).
    public var memoryUsage: Int {
        switch storage {
        case .compact(let packed): return MemoryCost.packedStrings(packed)
        case .table(let table): return table.memoryUsage
        }
    }

    /// The same bytes computed from scratch.
    public func recountMemoryUsage() -> Int {
        switch storage {
        case .compact(let packed): return MemoryCost.packedStrings(packed)
        case .table(let table): return table.recountMemoryUsage()
        }
    }

    public var count: Int {
        switch storage {
        case .compact(let packed): return packed.count / 2
        case .table(let table): return table.fields.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// Whether any field has a TTL: the key then belongs in the database's
    /// set of hashes sampled by active expiry.
    public var hasVolatileFields: Bool {
        if case .table(let table) = storage { return !table.fieldExpiries.isEmpty }
        return false
    }

    /// Absolute expiry (Unix milliseconds) of each field that has one.
    public var fieldExpiries: [Bytes: Int64] {
        if case .table(let table) = storage { return table.fieldExpiries }
        return [:]
    }

    public subscript(_ field: Bytes) -> Bytes? {
        switch storage {
        case .compact(let packed):
            return Self.valueOffset(of: field, in: packed).map { packed.element(at: $0) }
        case .table(let table):
            return table.fields[field]
        }
    }

    public func contains(_ field: Bytes) -> Bool {
        switch storage {
        case .compact(let packed): return packed.firstOffset(of: field, stride: 2) != nil
        case .table(let table): return table.fields.contains(field)
        }
    }

    public func expiry(of field: Bytes) -> Int64? {
        if case .table(let table) = storage { return table.fieldExpiries[field] }
        return nil
    }

    /// True when some field's deadline has passed (or a stale heap entry
    /// claims so, which a purge then discards). O(1).
    public func hasDueFields(at now: Int64) -> Bool {
        if case .table(let table) = storage { return table.hasDueFields(at: now) }
        return false
    }

    // MARK: - Reading every field

    /// Visits every field and value: insertion order when compact, slot
    /// order as a table (Redis promises no order).
    public func forEach(_ body: (_ field: Bytes, _ value: Bytes) -> Void) {
        switch storage {
        case .compact(let packed):
            var offset = 0
            while offset < packed.endOffset {
                let valueOffset = packed.offset(after: offset)
                body(packed.element(at: offset), packed.element(at: valueOffset))
                offset = packed.offset(after: valueOffset)
            }
        case .table(let table):
            for (field, value) in table.fields.entries { body(field, value) }
        }
    }

    /// Every field with its value, in `forEach` order.
    public var entries: [(field: Bytes, value: Bytes)] {
        var all: [(field: Bytes, value: Bytes)] = []
        all.reserveCapacity(count)
        forEach { all.append(($0, $1)) }
        return all
    }

    /// Every field, in `forEach` order.
    public var fieldNames: [Bytes] {
        var all: [Bytes] = []
        all.reserveCapacity(count)
        forEach { field, _ in all.append(field) }
        return all
    }

    /// Every value, in `forEach` order.
    public var values: [Bytes] {
        var all: [Bytes] = []
        all.reserveCapacity(count)
        forEach { _, value in all.append(value) }
        return all
    }

    // MARK: - Writes

    /// Sets a field; returns true when it was created. A new value discards
    /// the field's TTL, as HSET does, unless `keepTTL` (HINCRBY, HSETEX KEEPTTL).
    @discardableResult
    public mutating func set(_ field: Bytes, _ value: Bytes, keepTTL: Bool = false) -> Bool {
        if isCompact {
            if let created = withCompact({ Self.setCompact(field, value, in: &$0) }) { return created }
            convertToTable()
        }
        return withTable { $0.set(field, value, keepTTL: keepTTL) }
    }

    /// Deletes a field and its TTL; returns the old value.
    @discardableResult
    public mutating func remove(_ field: Bytes) -> Bytes? {
        if isCompact {
            return withCompact { packed -> Bytes? in
                guard let fieldOffset = packed.firstOffset(of: field, stride: 2) else { return nil }
                let value = packed.element(at: packed.offset(after: fieldOffset))
                packed.remove(2, from: fieldOffset)
                return value
            }
        }
        return withTable { $0.remove(field) }
    }

    /// Gives an existing field an absolute expiry (Unix ms). A compact hash
    /// becomes a table first: only the table keeps TTLs.
    public mutating func setExpiry(_ field: Bytes, at deadline: Int64) {
        precondition(contains(field), "expiry for a missing field")
        convertToTable()
        withTable { $0.setExpiry(field, at: deadline) }
    }

    /// Removes a field's TTL; returns whether it had one.
    @discardableResult
    public mutating func persist(_ field: Bytes) -> Bool {
        guard hasVolatileFields else { return false }
        return withTable { $0.persist(field) }
    }

    /// Deletes up to `limit` fields whose deadline is at or before `now`,
    /// soonest first. Returns how many were deleted.
    @discardableResult
    public mutating func removeExpiredFields(now: Int64, limit: Int = .max) -> Int {
        guard hasVolatileFields else { return 0 }
        return withTable { $0.removeExpiredFields(now: now, limit: limit) }
    }

    /// Gives back the compact buffer's spare room once a command's writes
    /// are done (appends grow it by doubling).
    public mutating func shrinkToFit() {
        if isCompact { withCompact { $0.shrinkToFit() } }
    }

    // MARK: - Random fields

    /// One uniformly random field with its value; nil when empty. O(1) as a
    /// table, a walk of at most 128 pairs when compact.
    public func randomEntry<G: RandomNumberGenerator>(using generator: inout G) -> (field: Bytes, value: Bytes)? {
        switch storage {
        case .compact(let packed):
            guard !packed.isEmpty else { return nil }
            let fieldOffset = packed.offset(ofIndex: 2 * Int.random(in: 0..<packed.count / 2, using: &generator))
            return (packed.element(at: fieldOffset), packed.element(at: packed.offset(after: fieldOffset)))
        case .table(let table):
            return table.fields.randomElement(using: &generator).map { ($0.key, $0.value) }
        }
    }

    /// `wanted` fields picked independently (repeats possible), each
    /// uniformly: HRANDFIELD with a negative count. O(wanted) either way (a
    /// compact hash is unpacked once rather than walked per pick).
    public func randomEntries<G: RandomNumberGenerator>(_ wanted: Int, using generator: inout G) -> [(field: Bytes, value: Bytes)] {
        guard !isEmpty else { return [] }
        var picked: [(field: Bytes, value: Bytes)] = []
        picked.reserveCapacity(min(wanted, 1 << 20))
        if isCompact {
            let all = entries
            for _ in 0..<wanted { picked.append(all.randomElement(using: &generator)!) }
        } else {
            for _ in 0..<wanted { picked.append(randomEntry(using: &generator)!) }
        }
        return picked
    }

    /// `wanted` distinct fields chosen uniformly (all of them when `wanted`
    /// reaches the size): HRANDFIELD with a positive count.
    public func distinctRandomEntries<G: RandomNumberGenerator>(_ wanted: Int, using generator: inout G) -> [(field: Bytes, value: Bytes)] {
        if wanted >= count { return entries }
        if isCompact || wanted * 3 > count {
            // Close to the whole hash (or small): shuffle the front of a copy.
            var all = entries
            for i in 0..<wanted { all.swapAt(i, Int.random(in: i..<all.count, using: &generator)) }
            return Array(all.prefix(wanted))
        }
        // Far fewer than a large hash holds: draw until enough distinct fields.
        var seen = Set<Bytes>()
        var picked: [(field: Bytes, value: Bytes)] = []
        picked.reserveCapacity(wanted)
        while picked.count < wanted {
            let entry = randomEntry(using: &generator)!
            if seen.insert(entry.field).inserted { picked.append(entry) }
        }
        return picked
    }

    // MARK: - Iteration

    /// One HSCAN step from `cursor`; returns the next cursor (0 when done).
    /// A compact hash is visited whole in one step whatever the cursor, as
    /// Redis does for a listpack.
    public func scan(from cursor: Int, count: Int, _ visit: (_ field: Bytes, _ value: Bytes) -> Void) -> Int {
        switch storage {
        case .compact:
            forEach(visit)
            return 0
        case .table(let table):
            return table.fields.scan(from: cursor, count: count, visit)
        }
    }

    /// Bound of a scan cursor.
    public var cursorCapacity: Int {
        if case .table(let table) = storage { return table.fields.slotCapacity }
        return 0
    }

    // MARK: - The two forms

    /// The offset of `field`'s value in a compact buffer, or nil.
    private static func valueOffset(of field: Bytes, in packed: PackedStrings) -> Int? {
        packed.firstOffset(of: field, stride: 2).map { packed.offset(after: $0) }
    }

    /// HSET on a compact buffer: whether the field was created, or nil
    /// (nothing changed) when the result would break a compact limit.
    private static func setCompact(_ field: Bytes, _ value: Bytes, in packed: inout PackedStrings) -> Bool? {
        guard value.count <= compactBytesLimit else { return nil }
        if let valueOffset = valueOffset(of: field, in: packed) {
            packed.replace(at: valueOffset, with: value)
            return false
        }
        guard field.count <= compactBytesLimit, packed.count / 2 < compactFieldLimit else { return nil }
        packed.append(field)
        packed.append(value)
        return true
    }

    /// Moves a compact hash into a table; nothing when it is one already.
    private mutating func convertToTable() {
        guard case .compact(let packed) = storage else { return }
        var table = HashTable()
        table.fields.reserveCapacity(packed.count / 2 + 1)
        forEach { field, value in table.set(field, value) }
        storage = .table(table)
    }

    /// Runs `body` on the compact buffer, held outside `storage` meanwhile so
    /// it is uniquely referenced and changes in place.
    private mutating func withCompact<R>(_ body: (inout PackedStrings) -> R) -> R {
        guard case .compact(var packed) = storage else { preconditionFailure("not compact") }
        storage = .compact(PackedStrings())
        defer { storage = .compact(packed) }
        return body(&packed)
    }

    /// Runs `body` on the table, held outside `storage` meanwhile so it is
    /// uniquely referenced and changes in place.
    private mutating func withTable<R>(_ body: (inout HashTable) -> R) -> R {
        guard case .table(var table) = storage else { preconditionFailure("not a table") }
        storage = .compact(PackedStrings())
        defer { storage = .table(table) }
        return body(&table)
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

/// The table form of a hash (see `HashValue`): fields in a `SlotMap`, and
/// field expiries kept twice, for two questions: `fieldExpiries` answers
/// "when does this field expire?" in O(1), and `deadlines`, a min-heap,
/// answers "which fields are due now?" without scanning, so expired fields
/// can be dropped on every access at O(log n) each. The heap is lazy: a field
/// that is deleted, persisted or given a new deadline leaves its old heap
/// entry behind, recognised as stale because it no longer matches
/// `fieldExpiries`, and skipped when it surfaces. Stale entries are bounded by
/// rebuilding the heap once they outnumber the live ones. A table that never
/// used field TTLs pays nothing more than two empty containers.
struct HashTable: Sendable {
    var fields = SlotMap<Bytes, Bytes>()
    /// Absolute expiry (Unix milliseconds) of each field that has one.
    private(set) var fieldExpiries: [Bytes: Int64] = [:]
    private var deadlines = FieldDeadlines()
    /// Estimated bytes of fields, values and field TTLs, kept in step with every change.
    private(set) var memoryUsage = 0

    func recountMemoryUsage() -> Int {
        var total = fieldExpiries.count * MemoryCost.hashFieldExpiry
        for (field, value) in fields.entries { total += MemoryCost.hashField(field, value) }
        return total
    }

    func hasDueFields(at now: Int64) -> Bool {
        guard let next = deadlines.earliest else { return false }
        return next <= now
    }

    @discardableResult
    mutating func set(_ field: Bytes, _ value: Bytes, keepTTL: Bool = false) -> Bool {
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

    @discardableResult
    mutating func remove(_ field: Bytes) -> Bytes? {
        guard let value = fields.removeValue(forKey: field) else { return nil }
        memoryUsage -= MemoryCost.hashField(field, value)
        if fieldExpiries.removeValue(forKey: field) != nil {
            memoryUsage -= MemoryCost.hashFieldExpiry
            if fieldExpiries.isEmpty { deadlines.removeAll() }
        }
        return value
    }

    mutating func setExpiry(_ field: Bytes, at deadline: Int64) {
        precondition(fields.contains(field), "expiry for a missing field")
        if fieldExpiries.updateValue(deadline, forKey: field) == nil { memoryUsage += MemoryCost.hashFieldExpiry }
        deadlines.push(deadline, field)
        if deadlines.count > 2 * fieldExpiries.count + 32 {
            deadlines.rebuild(from: fieldExpiries)
        }
    }

    @discardableResult
    mutating func persist(_ field: Bytes) -> Bool {
        guard fieldExpiries.removeValue(forKey: field) != nil else { return false }
        memoryUsage -= MemoryCost.hashFieldExpiry
        if fieldExpiries.isEmpty { deadlines.removeAll() }
        return true
    }

    @discardableResult
    mutating func removeExpiredFields(now: Int64, limit: Int) -> Int {
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
