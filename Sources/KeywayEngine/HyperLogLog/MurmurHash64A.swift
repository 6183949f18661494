/// MurmurHash64A (Austin Appleby's public-domain 64-bit hash), the hash
/// Redis's HyperLogLog puts every member through. Keyway must use the same
/// hash with the same seed, or an HLL moved between the two servers in an
/// RDB file would count different registers.
enum MurmurHash64A {
    /// The seed Redis's HyperLogLog uses.
    static let hyperLogLogSeed: UInt64 = 0xadc8_3b19

    static func hash(_ bytes: [UInt8], seed: UInt64 = hyperLogLogSeed) -> UInt64 {
        let m: UInt64 = 0xc6a4_a793_5bd1_e995
        let r: UInt64 = 47
        let length = bytes.count
        var h = seed ^ (UInt64(length) &* m)
        return bytes.withUnsafeBytes { raw -> UInt64 in
            var offset = 0
            while offset + 8 <= length {
                var k = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                k = k &* m
                k ^= k >> r
                k = k &* m
                h ^= k
                h = h &* m
                offset += 8
            }
            let tail = length & 7
            if tail > 0 {
                for index in stride(from: tail - 1, through: 0, by: -1) {
                    h ^= UInt64(raw[offset + index]) << (8 * UInt64(index))
                }
                h = h &* m
            }
            h ^= h >> r
            h = h &* m
            h ^= h >> r
            return h
        }
    }
}
