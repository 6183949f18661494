/// CRC-64 as Redis computes it over an RDB file (`crc64.c`): the Jones
/// polynomial 0xad93d23594c935a9, reflected input and output, initial value
/// 0, no final xor. crc64("123456789") = 0xe9c6d914c4b8d9ca.
///
/// Table-driven, eight bytes per step ("slicing by 8"), so checksumming a
/// large snapshot costs little next to writing it.
public struct CRC64: Sendable {
    public private(set) var value: UInt64

    public init(_ value: UInt64 = 0) { self.value = value }

    /// The polynomial with its bits reversed, for the reflected algorithm.
    static let reflectedPolynomial: UInt64 = 0x95AC_9329_AC4B_C9B5

    static let tables: [[UInt64]] = {
        var first = [UInt64](repeating: 0, count: 256)
        for index in 0..<256 {
            var crc = UInt64(index)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1
            }
            first[index] = crc
        }
        var tables = [first]
        for level in 1..<8 {
            let previous = tables[level - 1]
            tables.append((0..<256).map { index in
                let crc = previous[index]
                return first[Int(crc & 0xFF)] ^ (crc >> 8)
            })
        }
        return tables
    }()

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let done = bytes.withContiguousStorageIfAvailable { buffer in
            update(buffer: UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBytes { update(buffer: $0) }
        }
    }

    public mutating func update(buffer: UnsafeRawBufferPointer) {
        var crc = value
        Self.tables.withUnsafeBufferPointer { tables in
            let t0 = tables[0], t1 = tables[1], t2 = tables[2], t3 = tables[3]
            let t4 = tables[4], t5 = tables[5], t6 = tables[6], t7 = tables[7]
            var index = 0
            let count = buffer.count
            while index + 8 <= count {
                var word: UInt64 = 0
                for i in 0..<8 { word |= UInt64(buffer[index + i]) << UInt64(8 * i) }
                crc ^= word
                crc = t7[Int(crc & 0xFF)] ^ t6[Int((crc >> 8) & 0xFF)] ^ t5[Int((crc >> 16) & 0xFF)]
                    ^ t4[Int((crc >> 24) & 0xFF)] ^ t3[Int((crc >> 32) & 0xFF)] ^ t2[Int((crc >> 40) & 0xFF)]
                    ^ t1[Int((crc >> 48) & 0xFF)] ^ t0[Int(crc >> 56)]
                index += 8
            }
            while index < count {
                crc = t0[Int((crc ^ UInt64(buffer[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        value = crc
    }

    /// The checksum of `bytes` in one call.
    public static func checksum<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var crc = CRC64()
        crc.update(bytes)
        return crc.value
    }
}
