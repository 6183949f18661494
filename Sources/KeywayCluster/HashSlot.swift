import KeywayEngine

/// Redis Cluster's key-to-slot function: CRC16 (XMODEM: polynomial 0x1021,
/// no reflection, initial value 0) of the key, or of its hash tag (the part
/// between the first `{` and the next `}`, when not empty), modulo 16384.
public enum HashSlot {
    public static let count = 16384

    public static func of(_ key: Bytes) -> Int {
        of(key.storage[...])
    }

    public static func of(_ key: ArraySlice<UInt8>) -> Int {
        if let open = key.firstIndex(of: UInt8(ascii: "{")),
           let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")),
           close > open + 1 {
            return Int(crc16(key[(open + 1)..<close])) & (count - 1)
        }
        return Int(crc16(key)) & (count - 1)
    }

    static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int((crc >> 8) ^ UInt16(byte))]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index -> UInt16 in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
