/// Byte estimates for what the keyspace holds, the figure INFO reports as
/// `used_memory` and `maxmemory` is compared with.
///
/// Why an estimate and not the allocator's count: Swift gives no cheap
/// per-value allocation size, and eviction needs a figure that moves with
/// each write, deterministically (tests compare it with a full recount).
/// The costs below approximate this process's layout on 64-bit Linux:
/// payload bytes plus the fixed overhead of the containers an item lives in
/// (array slot, dictionary bucket, heap header). They are the one formula
/// used both by the running totals (each collection adjusts its own figure
/// in O(1) as it changes, the keyspace adjusts its total at its mutation
/// functions) and by `recountMemoryUsage()`, which walks everything.
public enum MemoryCost {
    /// A keyspace slot: the 32-byte `Entry` (a key and string value of at
    /// most 15 bytes together inline, expiry, access clock) plus its index
    /// bucket.
    public static let keyEntry = 48
    /// A key's expiry: its place among the volatile keys (the deadline is
    /// in the entry).
    public static let expiryEntry = 8
    /// The heap object a key shares with its string value: its header and
    /// malloc's own.
    public static let packedHeader = 24
    /// The heap object holding a key beside any other value: its header,
    /// the value's reference, and malloc's own.
    public static let keyedHeader = 32
    /// The heap header of a string's or a collection's storage.
    public static let objectHeader = 32
    /// One list element: its deque slot and its storage header.
    public static let listElement = 40
    /// One hash field: slot, index bucket, and two storage headers.
    public static let hashField = 80
    /// A hash field's TTL: its deadline entry and its heap entry.
    public static let hashFieldExpiry = 48
    /// One set member: slot, index bucket, dense-array slot, storage header.
    public static let setMember = 72
    /// One sorted-set member: tree node, index bucket, storage header.
    public static let sortedSetMember = 88
    /// One stream entry: its ID, tombstone flag and field array header.
    public static let streamEntry = 56
    /// One field or value inside a stream entry.
    public static let streamField = 24
    /// One stream chunk (up to 100 entries).
    public static let streamChunk = 96
    /// A consumer group, a consumer, a pending entry.
    public static let streamGroup = 96
    public static let streamConsumer = 80
    public static let streamPendingEntry = 64

    /// A string value in its own array: its header and bytes (the empty
    /// array is shared and costs nothing).
    @inline(__always)
    public static func string(length: Int) -> Int { length == 0 ? 0 : objectHeader + length }
    @inline(__always)
    static func listElement(_ element: Bytes) -> Int { listElement + element.count }
    @inline(__always)
    static func hashField(_ field: Bytes, _ value: Bytes) -> Int { hashField + field.count + value.count }
    @inline(__always)
    static func setMember(_ member: Bytes) -> Int { setMember + member.count }
    @inline(__always)
    static func sortedSetMember(_ member: Bytes) -> Int { sortedSetMember + member.count }
    static func streamEntry(_ fields: [Bytes]) -> Int {
        var total = streamEntry
        for field in fields { total += streamField + field.count }
        return total
    }
}

// MARK: - Compact collections

extension MemoryCost {
    /// A small hash or set held packed (`PackedStrings`): the buffer's heap
    /// header and the bytes it reserves (none while it has never grown).
    static func packedStrings(_ packed: PackedStrings) -> Int {
        packed.byteCount == 0 ? 0 : objectHeader + packed.byteCount
    }
}

extension Value {
    /// Estimated bytes of this value, in O(1) for every type (collections
    /// keep their own running figure; a stream adds its groups, bounded by
    /// their number and their consumers', never by entries or PEL size).
    public var memoryUsage: Int {
        switch self {
        case .string(let bytes): return MemoryCost.string(length: bytes.count)
        case .hash(let hash): return MemoryCost.objectHeader + hash.memoryUsage
        case .list(let list): return MemoryCost.objectHeader + list.memoryUsage
        case .set(let set): return MemoryCost.objectHeader + set.memoryUsage
        case .zset(let zset): return MemoryCost.objectHeader + zset.memoryUsage
        case .stream(let stream): return MemoryCost.objectHeader + stream.memoryUsage
        case .json(let document): return MemoryCost.objectHeader + document.memoryUsage
        }
    }

    /// The same figure computed from scratch by walking every item: what
    /// the running figures are checked against.
    public func recountMemoryUsage() -> Int {
        switch self {
        case .string(let bytes): return MemoryCost.string(length: bytes.count)
        case .hash(let hash): return MemoryCost.objectHeader + hash.recountMemoryUsage()
        case .list(let list): return MemoryCost.objectHeader + list.recountMemoryUsage()
        case .set(let set): return MemoryCost.objectHeader + set.recountMemoryUsage()
        case .zset(let zset): return MemoryCost.objectHeader + zset.recountMemoryUsage()
        case .stream(let stream): return MemoryCost.objectHeader + stream.recountMemoryUsage()
        case .json(let document): return MemoryCost.objectHeader + document.recountMemoryUsage()
        }
    }
}

extension Keyspace {
    /// Bytes one key costs: its slot, its name, its value and its expiry.
    /// Bytes one key costs as it is laid out now, in O(1).
    static func cost(of entry: Entry) -> Int {
        cost(of: entry, valueBytes: entry.valueMemoryUsage)
    }

    static func cost(of entry: Entry, valueBytes: Int) -> Int {
        MemoryCost.keyEntry + entry.storageOverhead + valueBytes + (entry.hasExpiry ? MemoryCost.expiryEntry : 0)
    }

    /// Total bytes recomputed by walking every key and every item: O(n),
    /// for tests and MEMORY DOCTOR-style checks, never on the write path.
    public func recountMemoryUsage() -> Int {
        var total = 0
        for entry in entries {
            total += Self.cost(of: entry, valueBytes: entry.recountValueMemoryUsage())
        }
        return total
    }

    /// Bytes one key costs now (MEMORY USAGE), in O(1).
    public func memoryUsage(atSlot slot: Int) -> Int {
        Self.cost(of: self[slot: slot])
    }
}
