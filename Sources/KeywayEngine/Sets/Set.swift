/// A Redis set: unordered distinct members (byte strings).
///
/// Two structures share the members:
/// - `positions`, a `SlotMap` from member to its index in `packed`. Its slots
///   never move, so its slot positions are SSCAN cursors that stay valid while
///   members come and go, and it gives O(1) add, remove and membership tests.
/// - `packed`, every member once with no holes, so a uniform random pick is
///   one array index whatever the history of removals. (A `SlotMap` alone
///   degrades to a linear walk once removals leave it mostly holes, which
///   would make a long run of SPOPs quadratic.)
///
/// Removal swaps the last packed member into the hole and updates its index,
/// so every operation that touches one member stays O(1).
public struct SetValue: CollectionValue {
    private var positions = SlotMap<Bytes, Int32>()
    private var packed: [Bytes] = []
    /// Estimated bytes of the members (MemoryAccounting.swift).
    public private(set) var memoryUsage = 0

    public init() {}

    /// The members' bytes computed from scratch.
    public func recountMemoryUsage() -> Int {
        packed.reduce(0) { $0 + MemoryCost.setMember($1) }
    }

    public init<S: Sequence>(_ members: S) where S.Element == Bytes {
        for member in members { insert(member) }
    }

    public var count: Int { packed.count }
    public var isEmpty: Bool { packed.isEmpty }

    /// Every member, in no particular order (as Redis promises none).
    public var members: [Bytes] { packed }

    public func contains(_ member: Bytes) -> Bool { positions.contains(member) }

    /// Adds `member`; false when it was already there.
    @discardableResult
    public mutating func insert(_ member: Bytes) -> Bool {
        guard !positions.contains(member) else { return false }
        positions.updateValue(Int32(packed.count), forKey: member)
        packed.append(member)
        memoryUsage += MemoryCost.setMember(member)
        return true
    }

    /// Removes `member`; false when it was not there.
    @discardableResult
    public mutating func remove(_ member: Bytes) -> Bool {
        guard let position = positions.removeValue(forKey: member) else { return false }
        memoryUsage -= MemoryCost.setMember(member)
        let last = packed.removeLast()
        if Int(position) < packed.count {
            packed[Int(position)] = last
            positions.updateValue(position, forKey: last)
        }
        return true
    }

    public mutating func reserveCapacity(_ capacity: Int) {
        positions.reserveCapacity(capacity)
        packed.reserveCapacity(capacity)
    }

    // MARK: - Random members

    /// One uniformly random member in O(1); nil when empty.
    public func randomMember<G: RandomNumberGenerator>(using generator: inout G) -> Bytes? {
        packed.randomElement(using: &generator)
    }

    /// Removes and returns one uniformly random member in O(1).
    public mutating func popRandom<G: RandomNumberGenerator>(using generator: inout G) -> Bytes? {
        guard let member = randomMember(using: &generator) else { return nil }
        remove(member)
        return member
    }

    /// `wanted` distinct members chosen uniformly, in O(wanted) time and
    /// memory: a Fisher-Yates shuffle of only the first `wanted` positions,
    /// with the swaps it makes kept in a small dictionary instead of a copy
    /// of the whole set. All members when `wanted` reaches the size.
    public func distinctRandomMembers<G: RandomNumberGenerator>(_ wanted: Int, using generator: inout G) -> [Bytes] {
        let size = packed.count
        if wanted >= size { return packed }
        var displaced: [Int: Int] = [:]
        displaced.reserveCapacity(wanted * 2)
        var chosen: [Bytes] = []
        chosen.reserveCapacity(wanted)
        for position in 0..<wanted {
            let pick = Int.random(in: position..<size, using: &generator)
            let picked = displaced[pick] ?? pick
            displaced[pick] = displaced[position] ?? position
            chosen.append(packed[picked])
        }
        return chosen
    }

    // MARK: - Iteration

    /// One SSCAN step from `cursor`; returns the next cursor (0 when done).
    public func scan(from cursor: Int, count: Int, _ visit: (Bytes) -> Void) -> Int {
        positions.scan(from: cursor, count: count) { member, _ in visit(member) }
    }

    /// Bound of a scan cursor.
    public var cursorCapacity: Int { positions.slotCapacity }

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
