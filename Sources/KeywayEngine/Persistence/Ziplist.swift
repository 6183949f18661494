/// Redis's ziplist (`ziplist.c`), the pre-7.0 compact encoding, still found
/// in older dumps (`LIST_QUICKLIST`, `*_ZIPLIST` types). Read-only here.
///
/// Layout: zlbytes (u32 LE), zltail (u32 LE), zllen (u16 LE), entries, 0xFF.
/// Entry: prevlen (1 byte, or 0xFE + u32 LE), encoding (+ data).
enum Ziplist {
    static func decode<C: Collection>(_ input: C, offset: Int = 0) throws(RDBError) -> [ListpackElement] where C.Element == UInt8 {
        let data = Array(input)
        func fail(_ message: String, _ at: Int) -> RDBError { RDBError("ziplist: \(message)", offset: offset + at) }
        guard data.count >= 11 else { throw fail("shorter than its header", 0) }
        let total = Int(data[0]) | Int(data[1]) << 8 | Int(data[2]) << 16 | Int(data[3]) << 24
        guard total == data.count else { throw fail("header says \(total) bytes, have \(data.count)", 0) }
        var p = 10
        var elements: [ListpackElement] = []
        func need(_ n: Int) throws(RDBError) {
            guard p + n <= data.count - 1 else { throw fail("entry runs past the end", p) }
        }
        func littleEndian(_ from: Int, _ width: Int) -> Int64 { signedLittleEndian(data, from, width) }
        while true {
            guard p < data.count else { throw fail("missing terminator", p) }
            if data[p] == 0xFF { break }
            // prevlen
            if data[p] == 0xFE { try need(5); p += 5 } else { p += 1 }
            try need(1)
            let encoding = data[p]
            switch encoding >> 6 {
            case 0:
                let length = Int(encoding & 0x3F)
                try need(1 + length)
                elements.append(.string(Array(data[(p + 1)..<(p + 1 + length)]))); p += 1 + length
            case 1:
                try need(2)
                let length = Int(encoding & 0x3F) << 8 | Int(data[p + 1])
                try need(2 + length)
                elements.append(.string(Array(data[(p + 2)..<(p + 2 + length)]))); p += 2 + length
            case 2:
                try need(5)
                let length = Int(data[p + 1]) << 24 | Int(data[p + 2]) << 16 | Int(data[p + 3]) << 8 | Int(data[p + 4])
                try need(5 + length)
                elements.append(.string(Array(data[(p + 5)..<(p + 5 + length)]))); p += 5 + length
            default:
                switch encoding {
                case 0xC0: try need(3); elements.append(.integer(littleEndian(p + 1, 2))); p += 3
                case 0xD0: try need(5); elements.append(.integer(littleEndian(p + 1, 4))); p += 5
                case 0xE0: try need(9); elements.append(.integer(littleEndian(p + 1, 8))); p += 9
                case 0xF0: try need(4); elements.append(.integer(littleEndian(p + 1, 3))); p += 4
                case 0xFE: try need(2); elements.append(.integer(littleEndian(p + 1, 1))); p += 2
                case 0xF1...0xFD: elements.append(.integer(Int64(encoding & 0x0F) - 1)); p += 1
                default: throw fail("invalid encoding byte 0x\(String(encoding, radix: 16))", p)
                }
            }
        }
        guard p == data.count - 1 else { throw fail("terminator before the end", p) }
        return elements
    }
}
