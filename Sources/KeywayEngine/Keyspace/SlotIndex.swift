/// One shard of the keyspace's index: key hash -> slot, by open addressing
/// with linear probing over one flat array.
///
/// Why not `Dictionary<Bytes, Int32>`: a dictionary keeps its own copy of
/// every key reference plus per-bucket metadata, about 20 bytes a key at its
/// usual load, and rehashes by hashing every key again. Here a bucket is
/// one `UInt64` (the hash's high 32 bits and the slot), keys live only in
/// the keyspace's entries, and growth reuses the stored hash bits, so the
/// index costs 8 bytes a bucket (10-16 a key) and never touches a key to
/// grow. Lookups compare keys only on a 32-bit hash match.
///
/// Deletion shifts later members of the probe run back (no tombstones), so
/// probe runs stay as short as if the deleted key had never been there.
struct SlotIndex: Sendable {
    /// 0 = empty; else `hash32 << 32 | (slot + 1)`.
    private var buckets: [UInt64] = []
    private(set) var count = 0

    private static let minimumCapacity = 8

    @inline(__always) private var mask: Int { buckets.count - 1 }

    @inline(__always) private static func hash32(of bucket: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: bucket >> 32) }
    @inline(__always) private static func slot(of bucket: UInt64) -> Int { Int(truncatingIfNeeded: bucket & 0xFFFF_FFFF) - 1 }
    @inline(__always) private static func bucket(hash32: UInt32, slot: Int) -> UInt64 { UInt64(hash32) << 32 | UInt64(slot + 1) }

    /// The slot whose key hashed to `hash32` and for which `isKey` holds.
    @inline(__always)
    func find(hash32: UInt32, isKey: (Int) -> Bool) -> Int? {
        guard !buckets.isEmpty else { return nil }
        var position = Int(hash32) & mask
        while true {
            let bucket = buckets[position]
            if bucket == 0 { return nil }
            if Self.hash32(of: bucket) == hash32 {
                let slot = Self.slot(of: bucket)
                if isKey(slot) { return slot }
            }
            position = (position + 1) & mask
        }
    }

    /// Adds `slot` under `hash32`; the caller knows the key is absent.
    mutating func insert(hash32: UInt32, slot: Int) {
        if (count + 1) * 5 > buckets.count * 4 { grow(to: max(Self.minimumCapacity, buckets.count * 2)) }
        place(Self.bucket(hash32: hash32, slot: slot))
        count += 1
    }

    @inline(__always)
    private mutating func place(_ bucket: UInt64) {
        var position = Int(Self.hash32(of: bucket)) & mask
        while buckets[position] != 0 { position = (position + 1) & mask }
        buckets[position] = bucket
    }

    /// Removes the entry for `slot`, filed under `hash32`.
    mutating func remove(hash32: UInt32, slot: Int) {
        guard !buckets.isEmpty else { return }
        let wanted = Self.bucket(hash32: hash32, slot: slot)
        var hole = Int(hash32) & mask
        while buckets[hole] != wanted {
            if buckets[hole] == 0 { return }
            hole = (hole + 1) & mask
        }
        // Shift back every later member of the run that may live at the hole.
        var next = (hole + 1) & mask
        while buckets[next] != 0 {
            let home = Int(Self.hash32(of: buckets[next])) & mask
            if (next - home) & mask >= (next - hole) & mask {
                buckets[hole] = buckets[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        buckets[hole] = 0
        count -= 1
    }

    /// Sizes the table for `keys` without further growth.
    mutating func reserveCapacity(_ keys: Int) {
        var capacity = Self.minimumCapacity
        while keys * 5 > capacity * 4 { capacity *= 2 }
        if capacity > buckets.count { grow(to: capacity) }
    }

    private mutating func grow(to capacity: Int) {
        let old = buckets
        buckets = Array(repeating: 0, count: capacity)
        for bucket in old where bucket != 0 { place(bucket) }
    }

    /// Every slot in the shard, in table order.
    var slots: some Sequence<Int> { buckets.lazy.filter { $0 != 0 }.map(Self.slot(of:)) }
}
