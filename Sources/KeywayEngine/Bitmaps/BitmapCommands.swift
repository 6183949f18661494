/// Bitmaps: SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP on string values.
///
/// A bitmap is a string, as in Redis: bit 0 is the most significant bit of
/// the first byte, GET sees the bytes, and any string can be read as bits.
/// Offsets are capped at Redis's 2^32 bits (512 MiB), and a write that
/// grows the string is charged to `maxmemory` before the bytes exist.
/// BITFIELD lives in `BitfieldCommand.swift`, the bit arithmetic in
/// `BitScan.swift`.
enum BitmapCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("setbit", arity: 4, flags: [.write, .denyOOM], handler: setbit),
        CommandSpec("getbit", arity: 3, flags: [.readonly, .fast], handler: getbit),
        CommandSpec("bitcount", arity: -2, flags: [.readonly], handler: bitcount),
        CommandSpec("bitpos", arity: -3, flags: [.readonly], handler: bitpos),
        CommandSpec("bitop", arity: -4, flags: [.write, .denyOOM], keys: (2, -1, 1), handler: bitop),
        CommandSpec("bitfield", arity: -2, flags: [.write, .denyOOM], handler: { c throws(CommandError) in try BitfieldCommand.run(c, readOnly: false) }),
        CommandSpec("bitfield_ro", arity: -2, flags: [.readonly, .fast], handler: { c throws(CommandError) in try BitfieldCommand.run(c, readOnly: true) }),
    ]

    static let offsetError = CommandError(.generic, "ERR bit offset is not an integer or out of range")

    /// A bit offset as Redis's getBitOffsetFromArgument: a strict integer in
    /// 0..<2^32 (its byte below proto-max-bulk-len). With `hashMultiplier`,
    /// `#N` means N times that many bits (BITFIELD's `#` offsets).
    static func bitOffset(_ argument: Bytes, hashMultiplier: Int64? = nil) throws(CommandError) -> Int64 {
        var text = argument
        var multiplier: Int64 = 1
        if let hashMultiplier, text.storage.first == UInt8(ascii: "#") {
            text = Bytes(text.storage.dropFirst())
            multiplier = hashMultiplier
        }
        guard let number = Parse.strictInt64(text) else { throw offsetError }
        let (offset, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow, offset >= 0, offset >> 3 < Int64(StringCommands.maxStringLength) else { throw offsetError }
        return offset
    }

    // MARK: - SETBIT / GETBIT

    static func setbit(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        let offset = try bitOffset(c[2])
        guard let bit = Parse.strictInt64(c[3]), bit == 0 || bit == 1 else {
            throw CommandError(.generic, "ERR bit is not an integer or out of range")
        }
        let byteIndex = Int(offset >> 3)
        let mask = UInt8(0x80) >> UInt8(offset & 7)
        let wasSet = try c.db.withGrowableString(key, minimumCount: byteIndex + 1) { bytes in
            let old = bytes[byteIndex] & mask != 0
            if bit == 1 { bytes[byteIndex] |= mask } else { bytes[byteIndex] &= ~mask }
            return old
        }.result
        c.db.didWrite(key, .setbit)
        return .integer(wasSet ? 1 : 0)
    }

    static func getbit(_ c: CommandContext) throws(CommandError) -> Reply {
        let offset = try bitOffset(c[2])
        guard let bytes = try c.db.readString(c[1]) else { return .integer(0) }
        let byteIndex = Int(offset >> 3)
        guard byteIndex < bytes.count else { return .integer(0) }
        return .integer(bytes.storage[byteIndex] & (UInt8(0x80) >> UInt8(offset & 7)) != 0 ? 1 : 0)
    }

    // MARK: - BITCOUNT / BITPOS

    /// The `BYTE|BIT` unit of BITCOUNT and BITPOS ranges.
    static func rangeUnitIsBit(_ argument: Bytes) throws(CommandError) -> Bool {
        if argument.equalsIgnoringCase("bit") { return true }
        if argument.equalsIgnoringCase("byte") { return false }
        throw .syntax
    }

    /// BITCOUNT key [start end [BYTE|BIT]]. Arguments are checked before the
    /// key is read, so a bad range is an error even on a missing key (as in
    /// Redis 7.2 and later).
    static func bitcount(_ c: CommandContext) throws(CommandError) -> Reply {
        var range: (start: Int64, end: Int64, inBits: Bool)?
        switch c.argumentCount {
        case 2: range = nil
        case 4, 5:
            let start = try c.integer(at: 2), end = try c.integer(at: 3)
            range = (start, end, c.argumentCount == 5 ? try rangeUnitIsBit(c[4]) : false)
        default: throw .syntax
        }
        guard let bytes = try c.db.readString(c[1]) else { return .integer(0) }
        let bitCount = Int64(bytes.count) * 8
        guard let range else { return .integer(Int64(BitScan.popcount(bytes.storage, bits: 0..<Int(bitCount)))) }
        if range.start < 0 && range.end < 0 && range.start > range.end { return .integer(0) }
        guard let bits = BitScan.bitRange(start: range.start, end: range.end, inBits: range.inBits, byteCount: bytes.count) else {
            return .integer(0)
        }
        return .integer(Int64(BitScan.popcount(bytes.storage, bits: bits)))
    }

    /// BITPOS key bit [start [end [BYTE|BIT]]]: the first bit equal to `bit`.
    /// A missing key is all zeros. Looking for a 0 without an explicit end
    /// finds the first bit past the string when every bit in it is set, as
    /// Redis does (the string is zero-padded to the right); with an
    /// explicit end, such a search answers -1.
    static func bitpos(_ c: CommandContext) throws(CommandError) -> Reply {
        guard let bit = Parse.strictInt64(c[2]) else { throw .notInteger }
        guard bit == 0 || bit == 1 else { throw CommandError(.generic, "ERR The bit argument must be 1 or 0.") }
        guard c.argumentCount <= 6 else { throw .syntax }
        let start = c.argumentCount >= 4 ? try c.integer(at: 3) : nil
        let end = c.argumentCount >= 5 ? try c.integer(at: 4) : nil
        let inBits = c.argumentCount == 6 ? try rangeUnitIsBit(c[5]) : false
        guard let bytes = try c.db.readString(c[1]) else { return .integer(bit == 1 ? -1 : 0) }
        let lastInUnit = inBits ? Int64(bytes.count) * 8 - 1 : Int64(bytes.count) - 1
        guard let bits = BitScan.bitRange(start: start ?? 0, end: end ?? lastInUnit, inBits: inBits, byteCount: bytes.count) else {
            return .integer(-1)
        }
        if let found = BitScan.firstBit(bit == 1, in: bytes.storage, bits: bits) { return .integer(Int64(found)) }
        if bit == 1 || end != nil { return .integer(-1) }
        // Past the last whole byte of the range: the zero padding.
        return .integer(Int64((bits.upperBound + 7) / 8 * 8))
    }

    // MARK: - BITOP

    /// BITOP AND|OR|XOR|NOT, and Redis 8's DIFF|DIFF1|ANDOR|ONE, of source
    /// strings into `destkey`. Missing sources are empty; shorter ones are
    /// zero-padded to the longest. An empty result deletes `destkey`.
    static func bitop(_ c: CommandContext) throws(CommandError) -> Reply {
        guard let operation = BitScan.Operation(c[1]) else { throw .syntax }
        let sourceCount = c.argumentCount - 3
        if operation == .not && sourceCount != 1 {
            throw CommandError(.generic, "ERR BITOP NOT must be called with a single source key.")
        }
        if operation.needsTwoSources && sourceCount < 2 {
            throw CommandError(.generic, "ERR BITOP \(c[1].text.uppercased()) must be called with at least two source keys.")
        }
        var sources: [[UInt8]] = []
        sources.reserveCapacity(sourceCount)
        for position in 3..<c.argumentCount { sources.append(try c.db.readString(c[position])?.storage ?? []) }
        let result = BitScan.combine(operation, sources)
        let destination = c[2]
        if result.isEmpty {
            if c.db.deleteKey(destination) { c.db.didWrite(destination, .del) }
            return .integer(0)
        }
        try c.db.admitGrowth(result.count)
        c.db.setKey(destination, .string(Bytes(result)))
        c.db.didWrite(destination, .set)
        return .integer(Int64(result.count))
    }
}

extension KeyspaceEvent {
    static let setbit = KeyspaceEvent("setbit", .string)
}

extension Database {
    /// Runs `body` on the bytes of the string at `key`, grown with zeros to
    /// at least `minimumCount` bytes and created when missing (as Redis's
    /// bit commands do), changed in place when the value is held only here.
    /// The growth is admitted against `maxmemory` first; another type is
    /// WRONGTYPE before anything changes. `grew` tells whether the string
    /// was created or lengthened, which is a write even if `body` changes
    /// no bit.
    func withGrowableString<R>(_ key: Bytes, minimumCount: Int,
                               _ body: (inout [UInt8]) throws(CommandError) -> R) throws(CommandError) -> (result: R, grew: Bool) {
        guard let slot = liveSlot(key) else {
            try admitGrowth(minimumCount)
            var bytes = [UInt8](repeating: 0, count: minimumCount)
            let result = try body(&bytes)
            setKey(key, .string(Bytes(bytes)))
            return (result, true)
        }
        guard case .string(let current) = keyspace[slot: slot].value else { throw .wrongType }
        try admitGrowth(minimumCount - current.count)
        return try keyspace.modifyValue(atSlot: slot) { value throws(CommandError) -> (result: R, grew: Bool) in
            guard case .string(var bytes) = value else { throw .wrongType }
            value = .string(Bytes())  // drop the reference so the change is in place
            defer { value = .string(bytes) }
            let grew = bytes.count < minimumCount
            if grew { bytes.storage.append(contentsOf: repeatElement(0, count: minimumCount - bytes.count)) }
            return (try body(&bytes.storage), grew)
        }
    }
}
