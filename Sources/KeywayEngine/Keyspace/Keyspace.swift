/// The table of keys: slots indexed by a hash map, plus the set of keys that
/// carry an expiry.
///
/// Why slots: SCAN needs a cursor that stays valid while keys come and go,
/// and active expiry (later eviction too) needs to pick random keys in O(1).
/// An entry never moves once placed, so a SCAN that walks slot positions
/// returns every key present for the whole scan exactly once; deleted slots
/// are reused by later inserts. The slots of expiring keys are also kept in
/// a set that picks at random in O(1) (`VolatileSlots`), as Redis samples
/// its `expires` dict. How one key is laid out is `KeyspaceEntry.swift`.
///
/// Why chunks and shards: a snapshot (BGSAVE, AOF rewrite) copies the
/// keyspace in O(1) under the lock, copy-on-write. Were the slots one array
/// and the index one dictionary, the first write after a snapshot would copy
/// all of them (about 100 ms at a million keys) while holding the lock. Split
/// into chunks of 4,096 slots and 256 index shards, a write copies only the
/// chunk and the shard it touches.
///
/// This is a plain data structure: it knows nothing of time, stats or events.
/// `Database` applies those policies on top.
public struct Keyspace: Sendable {
    static let chunkShift = 12
    static let chunkSize = 1 << chunkShift
    static let shardCount = 256

    private var chunks: [[Entry?]] = []
    /// Slot positions in use or free: the bound of a SCAN cursor.
    private var slotCount = 0
    private var shards: [SlotIndex] = Array(repeating: SlotIndex(), count: Keyspace.shardCount)
    private var keyCount = 0
    private var freeSlots: [Int32] = []
    private var volatileSlots = VolatileSlots()
    /// Running estimate of the bytes held (MemoryAccounting.swift), adjusted
    /// by each mutation function below.
    public private(set) var usedMemory = 0
    /// The access field new keys start with (set by `Database` per command).
    var newEntryAccess: UInt32 = 0

    public init() {}

    public var count: Int { keyCount }
    public var volatileCount: Int { volatileSlots.count }
    /// Number of slot positions, live or free: the bound of a SCAN cursor.
    public var slotCapacity: Int { slotCount }

    /// Where a key is filed: its shard (low bits of the hash) and the
    /// 32 hash bits the shard's table uses (high bits).
    @inline(__always)
    private static func address(ofHash hash: Int) -> (shard: Int, hash32: UInt32) {
        let bits = UInt(bitPattern: hash)
        return (Int(bits % UInt(shardCount)), UInt32(truncatingIfNeeded: bits >> 32))
    }

    public func slot(of key: Bytes) -> Int? {
        slot(of: key, at: Self.address(ofHash: key.hashValue))
    }

    /// The key's slot, its address already computed.
    @inline(__always)
    private func slot(of key: Bytes, at address: (shard: Int, hash32: UInt32)) -> Int? {
        shards[address.shard].find(hash32: address.hash32) { slot in
            chunks[slot >> Self.chunkShift][slot & (Self.chunkSize - 1)]!.keyEquals(key)
        }
    }

    public subscript(slot slot: Int) -> Entry {
        get { chunks[slot >> Self.chunkShift][slot & (Self.chunkSize - 1)]! }
    }

    public func entry(at slot: Int) -> Entry? {
        slot < slotCount ? chunks[slot >> Self.chunkShift][slot & (Self.chunkSize - 1)] : nil
    }

    /// Replaces the value in place, keeping the expiry.
    public mutating func setValue(_ value: Value, atSlot slot: Int) {
        let before = Self.cost(of: self[slot: slot])
        modifyEntry(slot) { $0.value = value }
        usedMemory += Self.cost(of: self[slot: slot]) - before
    }

    /// Mutates a value in place (no copy of a uniquely referenced collection).
    public mutating func modifyValue<R>(atSlot slot: Int, _ body: (inout Value) throws(CommandError) -> R) throws(CommandError) -> R {
        let before = Self.cost(of: self[slot: slot])
        defer { usedMemory += Self.cost(of: self[slot: slot]) - before }
        return try body(&chunks[slot >> Self.chunkShift][slot & (Self.chunkSize - 1)]!.value)
    }

    /// The access field of the key in `slot`, read without copying the entry.
    public func access(atSlot slot: Int) -> UInt32 {
        chunks[slot >> Self.chunkShift][slot & (Self.chunkSize - 1)]!.access
    }

    /// Records an access for eviction (LRU clock or LFU counter).
    public mutating func setAccess(_ access: UInt32, atSlot slot: Int) {
        chunks[slot >> Self.chunkShift][slot & (Self.chunkSize - 1)]!.access = access
    }

    private mutating func setSlot(_ slot: Int, _ entry: Entry?) {
        chunks[slot >> Self.chunkShift][slot & (Self.chunkSize - 1)] = entry
    }

    private mutating func modifyEntry(_ slot: Int, _ body: (inout Entry) -> Void) {
        body(&chunks[slot >> Self.chunkShift][slot & (Self.chunkSize - 1)]!)
    }

    /// Makes room for `keys` keys up front (loading a snapshot), so the
    /// index does not rehash as it grows.
    public mutating func reserveCapacity(_ keys: Int) {
        let perShard = keys / Self.shardCount + keys / (Self.shardCount * 8) + 16
        for index in shards.indices { shards[index].reserveCapacity(perShard) }
        chunks.reserveCapacity(keys / Self.chunkSize + 1)
    }

    /// Inserts a key that must be new, hashing it once: nil (and no change)
    /// when it already exists.
    @discardableResult
    public mutating func insertNew(_ key: Bytes, _ value: Value, expiresAt: Int64 = Entry.persistent) -> Int? {
        let address = Self.address(ofHash: key.hashValue)
        guard slot(of: key, at: address) == nil else { return nil }
        let slot = nextSlot()
        place(Entry(key: key, value: value, access: newEntryAccess), at: slot)
        shards[address.shard].insert(hash32: address.hash32, slot: slot)
        if expiresAt != Entry.persistent { setExpiry(expiresAt, atSlot: slot) }
        return slot
    }

    /// `insertNew` for a string, from bytes it copies (a snapshot being
    /// loaded): no `Bytes` is built for the key or the value.
    @discardableResult
    mutating func insertNewString(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                                  expiresAt: Int64 = Entry.persistent) -> Int? {
        var hasher = Hasher()
        hasher.combine(bytes: key)
        let address = Self.address(ofHash: hasher.finalize())
        let existing = shards[address.shard].find(hash32: address.hash32) { slot in
            chunks[slot >> Self.chunkShift][slot & (Self.chunkSize - 1)]!.keyEquals(key)
        }
        guard existing == nil else { return nil }
        let slot = nextSlot()
        place(Entry(key: key, string: value, access: newEntryAccess), at: slot)
        shards[address.shard].insert(hash32: address.hash32, slot: slot)
        if expiresAt != Entry.persistent { setExpiry(expiresAt, atSlot: slot) }
        return slot
    }

    /// The slot the next insert uses: a reused hole, or one past the end.
    private mutating func nextSlot() -> Int {
        popFreeSlot().map(Int.init) ?? slotCount
    }

    /// Stores `entry` at `slot` (a hole or the end) and counts the key.
    private mutating func place(_ entry: Entry, at slot: Int) {
        if slot == slotCount {
            if slot & (Self.chunkSize - 1) == 0 {
                var chunk: [Entry?] = []
                chunk.reserveCapacity(Self.chunkSize)
                chunks.append(chunk)
            }
            chunks[chunks.count - 1].append(entry)
            slotCount += 1
        } else {
            setSlot(slot, entry)
        }
        keyCount += 1
        usedMemory += Self.cost(of: entry)
    }

    /// Inserts a new key; the caller ensures it is absent.
    @discardableResult
    public mutating func insert(_ key: Bytes, _ value: Value, expiresAt: Int64 = Entry.persistent) -> Int {
        let slot = nextSlot()
        place(Entry(key: key, value: value, access: newEntryAccess), at: slot)
        let address = Self.address(ofHash: key.hashValue)
        shards[address.shard].insert(hash32: address.hash32, slot: slot)
        if expiresAt != Entry.persistent { setExpiry(expiresAt, atSlot: slot) }
        return slot
    }

    /// A reusable hole; entries left stale by trimming the end are skipped.
    private mutating func popFreeSlot() -> Int32? {
        while let candidate = freeSlots.popLast() {
            if Int(candidate) < slotCount && entry(at: Int(candidate)) == nil { return candidate }
        }
        return nil
    }

    /// Removes the key in `slot` and returns its entry.
    @discardableResult
    public mutating func remove(atSlot slot: Int) -> Entry {
        let entry = self[slot: slot]
        usedMemory -= Self.cost(of: entry)
        if entry.hasExpiry { volatileSlots.remove(slot) }
        let address = Self.address(ofHash: entry.keyHashValue)
        shards[address.shard].remove(hash32: address.hash32, slot: slot)
        keyCount -= 1
        if slot == slotCount - 1 {
            chunks[chunks.count - 1].removeLast()
            slotCount -= 1
            if chunks[chunks.count - 1].isEmpty { chunks.removeLast() }
        } else {
            setSlot(slot, nil)
            freeSlots.append(Int32(slot))
        }
        return entry
    }

    public mutating func setExpiry(_ expiresAt: Int64, atSlot slot: Int) {
        precondition(expiresAt != Entry.persistent)
        if !self[slot: slot].hasExpiry {
            volatileSlots.insert(slot)
            usedMemory += MemoryCost.expiryEntry
        }
        modifyEntry(slot) { $0.expiresAt = expiresAt }
    }

    /// Makes the key persistent; returns whether it had an expiry.
    @discardableResult
    public mutating func removeExpiry(atSlot slot: Int) -> Bool {
        guard self[slot: slot].hasExpiry else { return false }
        volatileSlots.remove(slot)
        usedMemory -= MemoryCost.expiryEntry
        modifyEntry(slot) { $0.expiresAt = Entry.persistent }
        return true
    }

    /// A uniformly random key with an expiry, in O(1).
    public func randomVolatileSlot<G: RandomNumberGenerator>(using generator: inout G) -> Int? {
        volatileSlots.randomElement(using: &generator)
    }

    /// A random live key. Slots freed by deletes are skipped by retrying.
    public func randomSlot<G: RandomNumberGenerator>(using generator: inout G) -> Int? {
        guard keyCount > 0 else { return nil }
        for _ in 0..<64 {
            let slot = Int.random(in: 0..<slotCount, using: &generator)
            if entry(at: slot) != nil { return slot }
        }
        // Very sparse table: pick among the live keys, still correct.
        var skip = Int.random(in: 0..<keyCount, using: &generator)
        for shard in shards {
            if skip < shard.count {
                for slot in shard.slots.dropFirst(skip) { return slot }
            }
            skip -= shard.count
        }
        return nil
    }

    /// Visits live entries from `cursor` on, stopping after `count` live
    /// entries or `count * 10` slots. Returns the next cursor, 0 when done.
    public func scan(from cursor: Int, count: Int, _ visit: (Entry) -> Void) -> Int {
        var position = cursor
        var found = 0
        var examined = 0
        let budget = max(count, 1) * 10
        while position < slotCount && found < count && examined < budget {
            if let entry = entry(at: position) {
                visit(entry)
                found += 1
            }
            position += 1
            examined += 1
        }
        return position >= slotCount ? 0 : position
    }

    /// Every live entry, in slot order.
    public var entries: some Sequence<Entry> { chunks.lazy.joined().compactMap { $0 } }

    public mutating func removeAll() {
        let access = newEntryAccess
        self = Keyspace()
        newEntryAccess = access
    }
}
