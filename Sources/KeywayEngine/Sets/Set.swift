/// A Redis set: unordered distinct members (byte strings).
///
/// A set is held in one of two forms, as Redis holds a listpack or a dict:
/// - compact: the members in one `PackedStrings` buffer, in insertion order,
///   while the set has at most `compactMemberLimit` members, none longer than
///   `compactBytesLimit`. A member costs its bytes and a length byte, where
///   the table spends a heap array per member plus a slot, an index bucket
///   and a dense-array slot. Lookups are a scan of at most 128 members, the
///   same bound Redis accepts for its listpacks.
/// - table: a `SetTable`, with O(1) add, remove, membership and random
///   picks, and SSCAN cursors that stay valid while members come and go.
/// A write that would break a compact limit converts the set to a table
/// first, for good (Redis never converts back either).
public struct SetValue: CollectionValue {
    /// Most members a compact set holds (Redis's `set-max-listpack-entries`).
    static let compactMemberLimit = 128
    /// Longest member a compact set holds (`set-max-listpack-value`).
    static let compactBytesLimit = 64

    private enum Storage: Sendable {
        case compact(PackedStrings)
        case table(SetTable)
    }

    private var storage = Storage.compact(PackedStrings())

    public init() {}

    public init<S: Sequence>(_ members: S) where S.Element == Bytes {
        for member in members { insert(member) }
        shrinkToFit()
    }

    /// Whether the set is in its compact form (OBJECT ENCODING, tests).
    var isCompact: Bool {
        if case .compact = storage { return true }
        return false
    }

    /// Estimated bytes of the members (MemoryAccounting.swift), in O(1).
    public var memoryUsage: Int {
        switch storage {
        case .compact(let packed): return MemoryCost.packedStrings(packed)
        case .table(let table): return table.memoryUsage
        }
    }

    /// The members' bytes computed from scratch.
    public func recountMemoryUsage() -> Int {
        switch storage {
        case .compact(let packed): return MemoryCost.packedStrings(packed)
        case .table(let table): return table.dense.reduce(0) { $0 + MemoryCost.setMember($1) }
        }
    }

    public var count: Int {
        switch storage {
        case .compact(let packed): return packed.count
        case .table(let table): return table.dense.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// Every member, in no particular order (as Redis promises none):
    /// insertion order when compact.
    public var members: [Bytes] {
        switch storage {
        case .compact(let packed): return packed.elements
        case .table(let table): return table.dense
        }
    }

    public func contains(_ member: Bytes) -> Bool {
        switch storage {
        case .compact(let packed): return packed.firstOffset(of: member) != nil
        case .table(let table): return table.positions.contains(member)
        }
    }

    /// Adds `member`; false when it was already there.
    @discardableResult
    public mutating func insert(_ member: Bytes) -> Bool {
        if isCompact {
            if let added = withCompact({ Self.insertCompact(member, in: &$0) }) { return added }
            convertToTable()
        }
        return withTable { $0.insert(member) }
    }

    /// Removes `member`; false when it was not there.
    @discardableResult
    public mutating func remove(_ member: Bytes) -> Bool {
        if isCompact {
            return withCompact { packed in
                guard let offset = packed.firstOffset(of: member) else { return false }
                packed.remove(at: offset)
                return true
            }
        }
        return withTable { $0.remove(member) }
    }

    /// Prepares for `capacity` members: a set that will outgrow the compact
    /// form becomes a table at once.
    public mutating func reserveCapacity(_ capacity: Int) {
        guard capacity > Self.compactMemberLimit else { return }
        convertToTable()
        withTable { $0.reserveCapacity(capacity) }
    }

    /// Gives back the compact buffer's spare room once a command's writes
    /// are done (appends grow it by doubling).
    public mutating func shrinkToFit() {
        if isCompact { withCompact { $0.shrinkToFit() } }
    }

    // MARK: - Random members

    /// One uniformly random member; nil when empty. O(1) as a table, a walk
    /// of at most 128 members when compact.
    public func randomMember<G: RandomNumberGenerator>(using generator: inout G) -> Bytes? {
        switch storage {
        case .compact(let packed):
            guard !packed.isEmpty else { return nil }
            return packed.element(at: packed.offset(ofIndex: Int.random(in: 0..<packed.count, using: &generator)))
        case .table(let table):
            return table.dense.randomElement(using: &generator)
        }
    }

    /// `wanted` members picked independently (repeats possible), each
    /// uniformly: SRANDMEMBER with a negative count. O(wanted) either way (a
    /// compact set is unpacked once rather than walked per pick).
    public func randomMembers<G: RandomNumberGenerator>(_ wanted: Int, using generator: inout G) -> [Bytes] {
        let all = members
        guard !all.isEmpty else { return [] }
        var picked: [Bytes] = []
        picked.reserveCapacity(min(wanted, 1 << 20))
        for _ in 0..<wanted { picked.append(all[Int.random(in: 0..<all.count, using: &generator)]) }
        return picked
    }

    /// Removes and returns one uniformly random member: O(1) as a table.
    public mutating func popRandom<G: RandomNumberGenerator>(using generator: inout G) -> Bytes? {
        guard !isEmpty else { return nil }
        if isCompact {
            return withCompact { packed in
                let offset = packed.offset(ofIndex: Int.random(in: 0..<packed.count, using: &generator))
                let member = packed.element(at: offset)
                packed.remove(at: offset)
                return member
            }
        }
        guard let member = randomMember(using: &generator) else { return nil }
        remove(member)
        return member
    }

    /// `wanted` distinct members chosen uniformly, in O(wanted) time and
    /// memory: a Fisher-Yates shuffle of only the first `wanted` positions,
    /// with the swaps it makes kept in a small dictionary instead of a copy
    /// of the whole set. All members when `wanted` reaches the size.
    public func distinctRandomMembers<G: RandomNumberGenerator>(_ wanted: Int, using generator: inout G) -> [Bytes] {
        let all = members
        let size = all.count
        if wanted >= size { return all }
        var displaced: [Int: Int] = [:]
        displaced.reserveCapacity(wanted * 2)
        var chosen: [Bytes] = []
        chosen.reserveCapacity(wanted)
        for position in 0..<wanted {
            let pick = Int.random(in: position..<size, using: &generator)
            let picked = displaced[pick] ?? pick
            displaced[pick] = displaced[position] ?? position
            chosen.append(all[picked])
        }
        return chosen
    }

    // MARK: - Iteration

    /// One SSCAN step from `cursor`; returns the next cursor (0 when done).
    /// A compact set is visited whole in one step whatever the cursor, as
    /// Redis does for a listpack.
    public func scan(from cursor: Int, count: Int, _ visit: (Bytes) -> Void) -> Int {
        switch storage {
        case .compact(let packed):
            for offset in packed.offsets { visit(packed.element(at: offset)) }
            return 0
        case .table(let table):
            return table.positions.scan(from: cursor, count: count) { member, _ in visit(member) }
        }
    }

    /// Bound of a scan cursor.
    public var cursorCapacity: Int {
        if case .table(let table) = storage { return table.positions.slotCapacity }
        return 0
    }

    // MARK: - The two forms

    /// SADD on a compact buffer: whether the member was added, or nil
    /// (nothing changed) when the result would break a compact limit.
    private static func insertCompact(_ member: Bytes, in packed: inout PackedStrings) -> Bool? {
        if packed.firstOffset(of: member) != nil { return false }
        guard member.count <= compactBytesLimit, packed.count < compactMemberLimit else { return nil }
        packed.append(member)
        return true
    }

    /// Moves a compact set into a table; nothing when it is one already.
    private mutating func convertToTable() {
        guard case .compact(let packed) = storage else { return }
        var table = SetTable()
        table.reserveCapacity(packed.count + 1)
        for offset in packed.offsets { table.insert(packed.element(at: offset)) }
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
    private mutating func withTable<R>(_ body: (inout SetTable) -> R) -> R {
        guard case .table(var table) = storage else { preconditionFailure("not a table") }
        storage = .compact(PackedStrings())
        defer { storage = .table(table) }
        return body(&table)
    }

    // MARK: - CollectionValue

    public static func peek(_ value: Value) -> SetValue? {
        if case .set(let collection) = value { return collection }
        return nil
    }

    public static func take(_ value: inout Value) -> SetValue? {
        guard case .set(let collection) = value else { return nil }
        value = .placeholder
        return collection
    }

    public var wrapped: Value { .set(self) }
}

/// The table form of a set (see `SetValue`). Two structures share the members:
/// - `positions`, a `SlotMap` from member to its index in `dense`. Its slots
///   never move, so its slot positions are SSCAN cursors that stay valid while
///   members come and go, and it gives O(1) add, remove and membership tests.
/// - `dense`, every member once with no holes, so a uniform random pick is
///   one array index whatever the history of removals. (A `SlotMap` alone
///   degrades to a linear walk once removals leave it mostly holes, which
///   would make a long run of SPOPs quadratic.)
///
/// Removal swaps the last dense member into the hole and updates its index,
/// so every operation that touches one member stays O(1).
struct SetTable: Sendable {
    private(set) var positions = SlotMap<Bytes, Int32>()
    private(set) var dense: [Bytes] = []
    /// Estimated bytes of the members, kept in step with every change.
    private(set) var memoryUsage = 0

    @discardableResult
    mutating func insert(_ member: Bytes) -> Bool {
        guard !positions.contains(member) else { return false }
        positions.updateValue(Int32(dense.count), forKey: member)
        dense.append(member)
        memoryUsage += MemoryCost.setMember(member)
        return true
    }

    @discardableResult
    mutating func remove(_ member: Bytes) -> Bool {
        guard let position = positions.removeValue(forKey: member) else { return false }
        memoryUsage -= MemoryCost.setMember(member)
        let last = dense.removeLast()
        if Int(position) < dense.count {
            dense[Int(position)] = last
            positions.updateValue(position, forKey: last)
        }
        return true
    }

    mutating func reserveCapacity(_ capacity: Int) {
        positions.reserveCapacity(capacity)
        dense.reserveCapacity(capacity)
    }
}
