/// The slots of the keys that carry an expiry: a set with O(1) insert,
/// remove and uniform random pick, as active expiry samples it.
///
/// Why a hash set and not a dense array: a dense array picks at random
/// trivially but removes in O(1) only if every entry remembers its position
/// in it, four bytes on every key (most keys have no TTL). Here the set is
/// an open-addressing table of 4-byte buckets holding `slot + 1`, kept at
/// least one-eighth full, so a random bucket holds a slot with probability
/// at least 1/8 and a pick retries a few times on average. Removal shifts
/// the probe run back (no tombstones), as `SlotIndex` does.
struct VolatileSlots: Sendable {
    private var buckets: [UInt32] = []
    private(set) var count = 0

    private static let minimumCapacity = 16

    @inline(__always) private var mask: Int { buckets.count - 1 }

    /// Fibonacci hashing of the slot number: consecutive slots spread out.
    @inline(__always)
    private func home(of bucket: UInt32) -> Int {
        Int(truncatingIfNeeded: (UInt64(bucket) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    var isEmpty: Bool { count == 0 }

    /// Adds `slot`; the caller knows it is absent.
    mutating func insert(_ slot: Int) {
        if (count + 1) * 4 > buckets.count * 3 { resize(to: max(Self.minimumCapacity, buckets.count * 2)) }
        place(UInt32(slot + 1))
        count += 1
    }

    @inline(__always)
    private mutating func place(_ bucket: UInt32) {
        var position = home(of: bucket)
        while buckets[position] != 0 { position = (position + 1) & mask }
        buckets[position] = bucket
    }

    /// Removes `slot`; the caller knows it is present.
    mutating func remove(_ slot: Int) {
        let wanted = UInt32(slot + 1)
        var hole = home(of: wanted)
        while buckets[hole] != wanted {
            precondition(buckets[hole] != 0, "slot \(slot) is not among the volatile keys")
            hole = (hole + 1) & mask
        }
        var next = (hole + 1) & mask
        while buckets[next] != 0 {
            let home = home(of: buckets[next])
            if (next - home) & mask >= (next - hole) & mask {
                buckets[hole] = buckets[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        buckets[hole] = 0
        count -= 1
        if buckets.count > Self.minimumCapacity && count * 8 < buckets.count { resize(to: buckets.count / 2) }
    }

    /// A uniformly random member, nil when empty. Expected O(1): the table
    /// is at least one-eighth full.
    func randomElement<G: RandomNumberGenerator>(using generator: inout G) -> Int? {
        guard count > 0 else { return nil }
        while true {
            let bucket = buckets[Int.random(in: 0..<buckets.count, using: &generator)]
            if bucket != 0 { return Int(bucket) - 1 }
        }
    }

    private mutating func resize(to capacity: Int) {
        let old = buckets
        buckets = Array(repeating: 0, count: capacity)
        for bucket in old where bucket != 0 { place(bucket) }
    }
}
