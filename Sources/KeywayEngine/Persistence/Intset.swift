/// Redis's intset (`intset.c`): a sorted array of distinct integers, all
/// 2, 4 or 8 bytes wide. Header: encoding width (u32 LE), count (u32 LE);
/// then the integers, little-endian.
enum Intset {
    static func encode(_ values: [Int64]) -> [UInt8] {
        let sorted = values.sorted()
        let width: Int
        if sorted.allSatisfy({ $0 >= Int64(Int16.min) && $0 <= Int64(Int16.max) }) { width = 2 }
        else if sorted.allSatisfy({ $0 >= Int64(Int32.min) && $0 <= Int64(Int32.max) }) { width = 4 }
        else { width = 8 }
        var out = [UInt8]()
        out.reserveCapacity(8 + width * sorted.count)
        for shift in stride(from: 0, through: 24, by: 8) { out.append(UInt8((width >> shift) & 0xFF)) }
        for shift in stride(from: 0, through: 24, by: 8) { out.append(UInt8((sorted.count >> shift) & 0xFF)) }
        for value in sorted {
            let bits = UInt64(bitPattern: value)
            for i in 0..<width { out.append(UInt8((bits >> UInt64(8 * i)) & 0xFF)) }
        }
        return out
    }

    static func decode<C: Collection>(_ input: C, offset: Int = 0) throws(RDBError) -> [Int64] where C.Element == UInt8 {
        let data = Array(input)
        guard data.count >= 8 else { throw RDBError("intset: shorter than its header", offset: offset) }
        let width = Int(data[0]) | Int(data[1]) << 8 | Int(data[2]) << 16 | Int(data[3]) << 24
        let count = Int(data[4]) | Int(data[5]) << 8 | Int(data[6]) << 16 | Int(data[7]) << 24
        guard width == 2 || width == 4 || width == 8 else {
            throw RDBError("intset: invalid encoding width \(width)", offset: offset)
        }
        guard 8 + width * count == data.count else {
            throw RDBError("intset: \(count) elements of \(width) bytes don't fill \(data.count) bytes", offset: offset)
        }
        var values: [Int64] = []
        values.reserveCapacity(count)
        for index in 0..<count {
            var bits: UInt64 = 0
            let base = 8 + index * width
            for i in 0..<width { bits |= UInt64(data[base + i]) << UInt64(8 * i) }
            let shift = UInt64(64 - 8 * width)
            let value = Int64(bitPattern: bits << shift) >> Int64(shift)
            if let last = values.last, value <= last {
                throw RDBError("intset: elements not strictly ascending", offset: offset + base)
            }
            values.append(value)
        }
        return values
    }
}
