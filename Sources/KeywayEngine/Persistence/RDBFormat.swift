/// Constants and primitive encodings of Redis's RDB snapshot format
/// (`rdb.h`/`rdb.c`): opcodes, value type numbers, the variable-length
/// "length" encoding and the string encodings (raw, integer, LZF).
///
/// Multi-byte fields follow Redis: 32/64-bit lengths are big-endian, while
/// millisecond times, binary doubles, integer-encoded strings and the
/// trailing CRC64 are little-endian.
public enum RDBFormat {
    /// The version written when nothing needs a newer one: Redis 7.0 loads it.
    public static let version7_0: Int = 10
    /// Redis 7.2 (set listpacks, stream consumer active-time).
    public static let version7_2: Int = 11
    /// Redis 7.4: hash field expiries (`HASH_METADATA`, `HASH_LISTPACK_EX`).
    public static let version7_4: Int = 12
    /// The newest version this reader accepts.
    public static let maxSupportedVersion: Int = 12

    public enum Opcode {
        public static let slotInfo: UInt8 = 244
        public static let function2: UInt8 = 245
        public static let functionPreGA: UInt8 = 246
        public static let moduleAux: UInt8 = 247
        public static let idle: UInt8 = 248
        public static let freq: UInt8 = 249
        public static let aux: UInt8 = 250
        public static let resizeDB: UInt8 = 251
        public static let expireTimeMS: UInt8 = 252
        public static let expireTime: UInt8 = 253
        public static let selectDB: UInt8 = 254
        public static let eof: UInt8 = 255
    }

    public enum ValueType {
        public static let string: UInt8 = 0
        public static let list: UInt8 = 1
        public static let set: UInt8 = 2
        public static let zset: UInt8 = 3
        public static let hash: UInt8 = 4
        public static let zset2: UInt8 = 5
        public static let modulePreGA: UInt8 = 6
        public static let module2: UInt8 = 7
        public static let hashZipmap: UInt8 = 9
        public static let listZiplist: UInt8 = 10
        public static let setIntset: UInt8 = 11
        public static let zsetZiplist: UInt8 = 12
        public static let hashZiplist: UInt8 = 13
        public static let listQuicklist: UInt8 = 14
        public static let streamListpacks: UInt8 = 15
        public static let hashListpack: UInt8 = 16
        public static let zsetListpack: UInt8 = 17
        public static let listQuicklist2: UInt8 = 18
        public static let streamListpacks2: UInt8 = 19
        public static let setListpack: UInt8 = 20
        public static let streamListpacks3: UInt8 = 21
        public static let hashMetadataPreGA: UInt8 = 22
        public static let hashListpackExPreGA: UInt8 = 23
        public static let hashMetadata: UInt8 = 24
        public static let hashListpackEx: UInt8 = 25
    }

    /// Special string encodings (a length byte starting with bits `11`).
    enum StringEncoding {
        static let int8: UInt8 = 0
        static let int16: UInt8 = 1
        static let int32: UInt8 = 2
        static let lzf: UInt8 = 3
    }

    /// Quicklist node containers in `LIST_QUICKLIST_2`.
    enum QuicklistContainer {
        static let plain: UInt64 = 1
        static let packed: UInt64 = 2
    }

    /// Stream listpack entry flags.
    enum StreamFlag {
        static let deleted: Int64 = 1
        static let sameFields: Int64 = 2
    }
}

/// A malformed, truncated or unsupported snapshot. `offset` is the byte
/// position in the file where the problem was found.
public struct RDBError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public let offset: Int?

    public init(_ message: String, offset: Int? = nil) {
        self.message = message
        self.offset = offset
    }

    public var description: String {
        if let offset { return "RDB: \(message) at offset \(offset)" }
        return "RDB: \(message)"
    }
}

// MARK: - Writing primitives

/// Appends RDB primitives to a byte buffer.
struct RDBEncoder {
    var bytes: [UInt8] = []
    /// One compressor for every string this encoder writes.
    private var lzf = LZF.Compressor()

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func raw<C: Collection>(_ data: C) where C.Element == UInt8 { bytes.append(contentsOf: data) }

    /// Redis's length encoding: 6 bits, 14 bits, or a 0x80/0x81 marker
    /// followed by a big-endian 32/64-bit number.
    mutating func length(_ value: UInt64) {
        if value < 1 << 6 {
            bytes.append(UInt8(value))
        } else if value < 1 << 14 {
            bytes.append(UInt8(value >> 8) | 0x40)
            bytes.append(UInt8(value & 0xFF))
        } else if value <= UInt64(UInt32.max) {
            bytes.append(0x80)
            for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xFF)) }
        } else {
            bytes.append(0x81)
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xFF)) }
        }
    }

    mutating func length(_ value: Int) { length(UInt64(value)) }

    mutating func littleEndian64(_ value: UInt64) {
        for shift in stride(from: 0, through: 56, by: 8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xFF)) }
    }

    /// An absolute time in Unix milliseconds (`rdbSaveMillisecondTime`).
    mutating func milliseconds(_ value: Int64) { littleEndian64(UInt64(bitPattern: value)) }

    /// `rdbSaveBinaryDoubleValue`: the IEEE 754 bits, little-endian.
    mutating func binaryDouble(_ value: Double) { littleEndian64(value.bitPattern) }

    /// A 128-bit stream ID, big-endian, as stream radix-tree keys and PELs store it.
    mutating func streamID(_ id: StreamID) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((id.ms >> UInt64(shift)) & 0xFF)) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((id.seq >> UInt64(shift)) & 0xFF)) }
    }

    /// A string as `rdbSaveRawString` writes it: integer-encoded when it is
    /// the canonical decimal form of a 32-bit number, LZF-compressed when
    /// `compress` and that saves space, else length-prefixed raw bytes.
    mutating func string<C: Collection>(_ data: C, compress: Bool = false) where C.Element == UInt8, C.Index == Int {
        if data.count <= 11, let integer = RDBInteger.canonical(data) {
            if integer >= Int64(Int8.min) && integer <= Int64(Int8.max) {
                bytes.append(0xC0 | RDBFormat.StringEncoding.int8)
                bytes.append(UInt8(bitPattern: Int8(integer)))
                return
            }
            if integer >= Int64(Int16.min) && integer <= Int64(Int16.max) {
                bytes.append(0xC0 | RDBFormat.StringEncoding.int16)
                let v = UInt16(bitPattern: Int16(integer))
                bytes.append(UInt8(v & 0xFF)); bytes.append(UInt8(v >> 8))
                return
            }
            if integer >= Int64(Int32.min) && integer <= Int64(Int32.max) {
                bytes.append(0xC0 | RDBFormat.StringEncoding.int32)
                let v = UInt32(bitPattern: Int32(integer))
                for shift in stride(from: 0, through: 24, by: 8) { bytes.append(UInt8((v >> UInt32(shift)) & 0xFF)) }
                return
            }
        }
        if compress && data.count > 20 {
            let packed = data.withContiguousStorageIfAvailable { lzf.compress(UnsafeRawBufferPointer($0), limit: data.count - 4) }
                ?? Array(data).withUnsafeBytes { lzf.compress($0, limit: data.count - 4) }
            if packed {
                bytes.append(0xC0 | RDBFormat.StringEncoding.lzf)
                length(lzf.output.count)
                length(data.count)
                bytes.append(contentsOf: lzf.output)
                return
            }
        }
        length(data.count)
        bytes.append(contentsOf: data)
    }

    /// `string(_:compress:)` of bytes lent by the keyspace, without copying
    /// them into an array first.
    mutating func string(_ data: UnsafeRawBufferPointer, compress: Bool = false) {
        string(UnsafeBufferPointer(start: data.baseAddress?.assumingMemoryBound(to: UInt8.self), count: data.count), compress: compress)
    }

    mutating func string(_ value: Bytes, compress: Bool = false) { string(value.storage, compress: compress) }

    mutating func string(_ text: String) { string(Array(text.utf8)) }
}

/// Integers written as decimal strings, with Redis's `string2ll` rules.
enum RDBInteger {
    /// The value when `data` is the canonical decimal form of an Int64
    /// (no sign but `-`, no leading zeros, no `-0`), else nil.
    static func canonical<C: Collection>(_ data: C) -> Int64? where C.Element == UInt8 {
        let count = data.count
        guard count >= 1 && count <= 20 else { return nil }
        var iterator = data.makeIterator()
        var first = iterator.next()!
        let negative = first == UInt8(ascii: "-")
        if negative {
            guard count >= 2 else { return nil }
            first = iterator.next()!
        }
        guard first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") else { return nil }
        if first == UInt8(ascii: "0") {
            // "0" alone is canonical; "-0" and "01" are not.
            return (count == 1) ? 0 : nil
        }
        var magnitude = UInt64(first - UInt8(ascii: "0"))
        while let byte = iterator.next() {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            magnitude = sum
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    static func bytes(_ value: Int64) -> Bytes { Bytes(String(value)) }
}

// MARK: - Reading primitives

/// A cursor over a snapshot's bytes; every read checks bounds and reports
/// the offset of what went wrong.
struct RDBDecoder {
    let bytes: [UInt8]
    var position: Int

    init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    func error(_ message: String, at offset: Int? = nil) -> RDBError {
        RDBError(message, offset: offset ?? position)
    }

    mutating func byte() throws(RDBError) -> UInt8 {
        guard position < bytes.count else { throw error("unexpected end of file") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func take(_ count: Int) throws(RDBError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw error("unexpected end of file (needed \(count) bytes, \(remaining) left)")
        }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func littleEndian(_ width: Int) throws(RDBError) -> UInt64 {
        let data = try take(width)
        var value: UInt64 = 0
        for (i, byte) in data.enumerated() { value |= UInt64(byte) << UInt64(8 * i) }
        return value
    }

    mutating func bigEndian(_ width: Int) throws(RDBError) -> UInt64 {
        let data = try take(width)
        var value: UInt64 = 0
        for byte in data { value = value << 8 | UInt64(byte) }
        return value
    }

    mutating func milliseconds() throws(RDBError) -> Int64 { Int64(bitPattern: try littleEndian(8)) }

    mutating func binaryDouble() throws(RDBError) -> Double { Double(bitPattern: try littleEndian(8)) }

    mutating func streamID() throws(RDBError) -> StreamID {
        let ms = try bigEndian(8)
        return StreamID(ms: ms, seq: try bigEndian(8))
    }

    /// A length, or the special-encoding marker of a string (`encoded`).
    mutating func lengthOrEncoding() throws(RDBError) -> (value: UInt64, encoded: Bool) {
        let start = position
        let first = try byte()
        switch first >> 6 {
        case 0: return (UInt64(first & 0x3F), false)
        case 1: return (UInt64(first & 0x3F) << 8 | UInt64(try byte()), false)
        case 2:
            if first == 0x80 { return (try bigEndian(4), false) }
            if first == 0x81 { return (try bigEndian(8), false) }
            throw error("invalid length encoding 0x\(String(first, radix: 16))", at: start)
        default: return (UInt64(first & 0x3F), true)
        }
    }

    mutating func length() throws(RDBError) -> UInt64 {
        let start = position
        let (value, encoded) = try lengthOrEncoding()
        if encoded { throw error("expected a length, found a string encoding", at: start) }
        return value
    }

    /// A length used as a count or size: bounded by what is left in the file
    /// (each item takes at least `minimumBytesEach`), so a corrupt length
    /// can't make the reader allocate wildly.
    mutating func count(minimumBytesEach: Int = 1) throws(RDBError) -> Int {
        let start = position
        let value = try length()
        guard value <= UInt64(remaining / max(minimumBytesEach, 1)) else {
            throw error("length \(value) exceeds the rest of the file", at: start)
        }
        return Int(value)
    }

    /// A string in any of its encodings, as bytes.
    mutating func string() throws(RDBError) -> [UInt8] {
        let start = position
        let (value, encoded) = try lengthOrEncoding()
        if !encoded {
            guard value <= UInt64(remaining) else {
                throw error("string length \(value) exceeds the rest of the file", at: start)
            }
            return Array(try take(Int(value)))
        }
        switch UInt8(value) {
        case RDBFormat.StringEncoding.int8:
            return Array(String(Int8(bitPattern: try byte())).utf8)
        case RDBFormat.StringEncoding.int16:
            return Array(String(Int16(bitPattern: UInt16(try littleEndian(2)))).utf8)
        case RDBFormat.StringEncoding.int32:
            return Array(String(Int32(bitPattern: UInt32(try littleEndian(4)))).utf8)
        case RDBFormat.StringEncoding.lzf:
            let compressedLength = try count()
            let lengthOffset = position
            let plainLength = try length()
            guard plainLength <= 1 << 36 else { throw error("LZF string length \(plainLength) is implausible", at: lengthOffset) }
            let dataOffset = position
            let packed = try take(compressedLength)
            guard let plain = LZF.decompress(packed, expectedLength: Int(plainLength)) else {
                throw error("corrupt LZF-compressed string", at: dataOffset)
            }
            return plain
        default:
            throw error("unknown string encoding \(value)", at: start)
        }
    }

    mutating func bytesValue() throws(RDBError) -> Bytes { Bytes(try string()) }

    /// A string without an array of its own: its range in the file when it
    /// is stored raw, else nil with its decoded bytes in `scratch` (reused
    /// from string to string). With `withString`, string keys are built
    /// straight from the file's bytes.
    mutating func stringInPlace(_ scratch: inout [UInt8]) throws(RDBError) -> Range<Int>? {
        let start = position
        let (value, encoded) = try lengthOrEncoding()
        if !encoded {
            guard value <= UInt64(remaining) else {
                throw error("string length \(value) exceeds the rest of the file", at: start)
            }
            position += Int(value)
            return (position - Int(value))..<position
        }
        guard UInt8(value) == RDBFormat.StringEncoding.lzf else {
            position = start
            scratch = try string()
            return nil
        }
        let compressedLength = try count()
        let lengthOffset = position
        let plainLength = try length()
        guard plainLength <= 1 << 36 else { throw error("LZF string length \(plainLength) is implausible", at: lengthOffset) }
        let dataOffset = position
        _ = try take(compressedLength)
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: repeatElement(0, count: Int(plainLength)))
        let complete = bytes.withUnsafeBytes { file in
            scratch.withUnsafeMutableBytes { LZF.decompress(UnsafeRawBufferPointer(rebasing: file[dataOffset..<(dataOffset + compressedLength)]), into: $0) }
        }
        guard complete else { throw error("corrupt LZF-compressed string", at: dataOffset) }
        return nil
    }

    /// The bytes of a string read by `stringInPlace`, valid during `body`.
    func withString<R>(_ range: Range<Int>?, _ scratch: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard let range else { return scratch.withUnsafeBytes(body) }
        return bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }
}
