/// Redis's listpack (`listpack.c`): the compact encoding of small hashes,
/// sets, sorted sets, list nodes and stream nodes inside RDB files.
///
/// Layout: total bytes (u32 LE), element count (u16 LE, 65535 when it does
/// not fit), the elements, then 0xFF. Each element is an encoding byte (and
/// data), followed by its "backlen": the element's size written backwards
/// in 7-bit groups so the list can be walked from the tail.
enum ListpackElement: Equatable {
    case integer(Int64)
    case string([UInt8])

    /// The element as the string Redis hands back (integers in decimal).
    var bytes: Bytes {
        switch self {
        case .integer(let value): return RDBInteger.bytes(value)
        case .string(let data): return Bytes(data)
        }
    }

    var integerValue: Int64? {
        switch self {
        case .integer(let value): return value
        case .string(let data): return RDBInteger.canonical(data)
        }
    }
}

/// Builds a listpack the way `lpAppend` does: strings that are canonical
/// integers are stored as integers.
struct ListpackBuilder {
    private(set) var body: [UInt8] = []
    private(set) var count = 0

    var byteSize: Int { body.count + 7 }

    mutating func append(_ data: [UInt8]) {
        if let integer = RDBInteger.canonical(data) {
            append(integer: integer)
        } else {
            append(string: data)
        }
    }

    mutating func append(_ value: Bytes) { append(value.storage) }

    mutating func append(string data: [UInt8]) {
        let start = body.count
        let length = data.count
        if length < 64 {
            body.append(0x80 | UInt8(length))
        } else if length < 4096 {
            body.append(0xE0 | UInt8(length >> 8))
            body.append(UInt8(length & 0xFF))
        } else {
            body.append(0xF0)
            for shift in stride(from: 0, through: 24, by: 8) { body.append(UInt8((length >> shift) & 0xFF)) }
        }
        body.append(contentsOf: data)
        finishElement(from: start)
    }

    mutating func append(integer value: Int64) {
        let start = body.count
        func littleEndian(_ v: Int64, _ width: Int) {
            let bits = UInt64(bitPattern: v)
            for i in 0..<width { body.append(UInt8((bits >> UInt64(8 * i)) & 0xFF)) }
        }
        if value >= 0 && value <= 127 {
            body.append(UInt8(value))
        } else if value >= -4096 && value <= 4095 {
            let bits = value < 0 ? (1 << 13) + value : value
            body.append(0xC0 | UInt8(bits >> 8))
            body.append(UInt8(bits & 0xFF))
        } else if value >= Int64(Int16.min) && value <= Int64(Int16.max) {
            body.append(0xF1); littleEndian(value, 2)
        } else if value >= -(1 << 23) && value <= (1 << 23) - 1 {
            body.append(0xF2); littleEndian(value, 3)
        } else if value >= Int64(Int32.min) && value <= Int64(Int32.max) {
            body.append(0xF3); littleEndian(value, 4)
        } else {
            body.append(0xF4); littleEndian(value, 8)
        }
        finishElement(from: start)
    }

    private mutating func finishElement(from start: Int) {
        let length = body.count - start
        body.append(contentsOf: Self.backlen(length))
        count += 1
    }

    /// `lpEncodeBacklen`.
    static func backlen(_ length: Int) -> [UInt8] {
        if length <= 127 { return [UInt8(length)] }
        if length < 16383 { return [UInt8(length >> 7), UInt8(length & 127) | 128] }
        if length < 2_097_151 {
            return [UInt8(length >> 14), UInt8((length >> 7) & 127) | 128, UInt8(length & 127) | 128]
        }
        if length < 268_435_455 {
            return [UInt8(length >> 21), UInt8((length >> 14) & 127) | 128, UInt8((length >> 7) & 127) | 128,
                    UInt8(length & 127) | 128]
        }
        return [UInt8(length >> 28), UInt8((length >> 21) & 127) | 128, UInt8((length >> 14) & 127) | 128,
                UInt8((length >> 7) & 127) | 128, UInt8(length & 127) | 128]
    }

    /// The finished listpack: header, elements, terminator.
    func bytes() -> [UInt8] {
        let total = byteSize
        var out = [UInt8]()
        out.reserveCapacity(total)
        for shift in stride(from: 0, through: 24, by: 8) { out.append(UInt8((total >> shift) & 0xFF)) }
        let stored = count < 65535 ? count : 65535
        out.append(UInt8(stored & 0xFF))
        out.append(UInt8(stored >> 8))
        out.append(contentsOf: body)
        out.append(0xFF)
        return out
    }
}

enum Listpack {
    /// Decodes every element, validating the header, each encoding, each
    /// backlen and the terminator. `offset` locates errors in the file.
    static func decode<C: Collection>(_ input: C, offset: Int = 0) throws(RDBError) -> [ListpackElement] where C.Element == UInt8 {
        let data = Array(input)
        func fail(_ message: String, _ at: Int) -> RDBError { RDBError("listpack: \(message)", offset: offset + at) }
        guard data.count >= 7 else { throw fail("shorter than its header", 0) }
        let total = Int(data[0]) | Int(data[1]) << 8 | Int(data[2]) << 16 | Int(data[3]) << 24
        guard total == data.count else { throw fail("header says \(total) bytes, have \(data.count)", 0) }
        let declared = Int(data[4]) | Int(data[5]) << 8
        var elements: [ListpackElement] = []
        var p = 6
        func need(_ n: Int) throws(RDBError) {
            guard p + n <= data.count - 1 else { throw fail("element runs past the end", p) }
        }
        func littleEndian(_ from: Int, _ width: Int) -> Int64 { signedLittleEndian(data, from, width) }
        while true {
            guard p < data.count else { throw fail("missing terminator", p) }
            let start = p
            let encoding = data[p]
            if encoding == 0xFF {
                guard p == data.count - 1 else { throw fail("terminator before the end", p) }
                break
            }
            let element: ListpackElement
            if encoding & 0x80 == 0 {
                element = .integer(Int64(encoding)); p += 1
            } else if encoding & 0xC0 == 0x80 {
                let length = Int(encoding & 0x3F)
                try need(1 + length)
                element = .string(Array(data[(p + 1)..<(p + 1 + length)])); p += 1 + length
            } else if encoding & 0xE0 == 0xC0 {
                try need(2)
                var value = Int64(encoding & 0x1F) << 8 | Int64(data[p + 1])
                if value >= 1 << 12 { value -= 1 << 13 }
                element = .integer(value); p += 2
            } else if encoding & 0xF0 == 0xE0 {
                try need(2)
                let length = Int(encoding & 0x0F) << 8 | Int(data[p + 1])
                try need(2 + length)
                element = .string(Array(data[(p + 2)..<(p + 2 + length)])); p += 2 + length
            } else {
                switch encoding {
                case 0xF0:
                    try need(5)
                    let length = Int(data[p + 1]) | Int(data[p + 2]) << 8 | Int(data[p + 3]) << 16 | Int(data[p + 4]) << 24
                    try need(5 + length)
                    element = .string(Array(data[(p + 5)..<(p + 5 + length)])); p += 5 + length
                case 0xF1: try need(3); element = .integer(littleEndian(p + 1, 2)); p += 3
                case 0xF2: try need(4); element = .integer(littleEndian(p + 1, 3)); p += 4
                case 0xF3: try need(5); element = .integer(littleEndian(p + 1, 4)); p += 5
                case 0xF4: try need(9); element = .integer(littleEndian(p + 1, 8)); p += 9
                default: throw fail("invalid encoding byte 0x\(String(encoding, radix: 16))", p)
                }
            }
            let expected = ListpackBuilder.backlen(p - start)
            try need(expected.count)
            guard data[p..<(p + expected.count)].elementsEqual(expected) else { throw fail("bad backlen", p) }
            p += expected.count
            elements.append(element)
        }
        if declared != 65535 && declared != elements.count {
            throw fail("header says \(declared) elements, found \(elements.count)", 4)
        }
        return elements
    }
}

/// A `width`-byte little-endian signed integer at `from`, sign-extended:
/// how listpacks and ziplists store their integer entries.
func signedLittleEndian(_ data: [UInt8], _ from: Int, _ width: Int) -> Int64 {
    var bits: UInt64 = 0
    for i in 0..<width { bits |= UInt64(data[from + i]) << UInt64(8 * i) }
    let shift = UInt64(64 - 8 * width)
    return Int64(bitPattern: bits << shift) >> Int64(shift)
}
