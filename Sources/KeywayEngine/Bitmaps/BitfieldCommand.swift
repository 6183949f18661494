/// BITFIELD and BITFIELD_RO: integers of 1 to 64 bits at any bit offset of
/// a string, read, written and incremented with Redis's overflow rules.
///
/// Every operation is parsed before any runs, so a bad one changes
/// nothing. With a SET or INCRBY among them the string is created or grown
/// (to the furthest bit written) first, as Redis does; GETs alone only
/// read, and read a missing key as zeros.
enum BitfieldCommand {
    /// An integer type: `i1`...`i64` or `u1`...`u63`.
    struct FieldType {
        let signed: Bool
        let bits: Int

        static let error = CommandError(.generic,
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")

        init(_ argument: Bytes) throws(CommandError) {
            guard let letter = argument.storage.first, letter == UInt8(ascii: "i") || letter == UInt8(ascii: "u"),
                  let bits = Parse.strictInt64(Bytes(argument.storage.dropFirst())) else { throw Self.error }
            signed = letter == UInt8(ascii: "i")
            guard bits >= 1 && bits <= (signed ? 64 : 63) else { throw Self.error }
            self.bits = Int(bits)
        }

        var minimum: Int128 { signed ? -(Int128(1) << (bits - 1)) : 0 }
        var maximum: Int128 { signed ? (Int128(1) << (bits - 1)) - 1 : (Int128(1) << bits) - 1 }

        /// `value` brought into range by two's-complement wrapping.
        func wrapped(_ value: Int128) -> Int64 {
            let low = UInt64(truncatingIfNeeded: value) & (bits == 64 ? .max : (UInt64(1) << bits) - 1)
            guard signed, bits < 64, low & (UInt64(1) << (bits - 1)) != 0 else { return Int64(bitPattern: low) }
            return Int64(bitPattern: low | ~((UInt64(1) << bits) - 1))  // sign-extend
        }
    }

    /// OVERFLOW WRAP|SAT|FAIL, applying to the SETs and INCRBYs after it.
    enum Overflow {
        case wrap, saturate, fail

        init(_ argument: Bytes) throws(CommandError) {
            if argument.equalsIgnoringCase("wrap") { self = .wrap }
            else if argument.equalsIgnoringCase("sat") { self = .saturate }
            else if argument.equalsIgnoringCase("fail") { self = .fail }
            else { throw CommandError(.generic, "ERR Invalid OVERFLOW type specified") }
        }
    }

    enum Action { case get, set(Int64), incrementBy(Int64) }

    struct Operation {
        let action: Action
        let type: FieldType
        let offset: Int64
        let overflow: Overflow
    }

    static func parse(_ c: CommandContext) throws(CommandError) -> [Operation] {
        var operations: [Operation] = []
        var overflow = Overflow.wrap
        var position = 2
        while position < c.argumentCount {
            let subcommand = c[position]
            let remaining = c.argumentCount - position - 1
            if subcommand.equalsIgnoringCase("overflow") && remaining >= 1 {
                overflow = try Overflow(c[position + 1])
                position += 2
                continue
            }
            let isGet = subcommand.equalsIgnoringCase("get") && remaining >= 2
            let isSet = subcommand.equalsIgnoringCase("set") && remaining >= 3
            let isIncrement = subcommand.equalsIgnoringCase("incrby") && remaining >= 3
            guard isGet || isSet || isIncrement else { throw .syntax }
            let type = try FieldType(c[position + 1])
            let offset = try BitmapCommands.bitOffset(c[position + 2], hashMultiplier: Int64(type.bits))
            let action: Action
            if isGet {
                action = .get
                position += 3
            } else {
                let value = try c.integer(at: position + 3)
                action = isSet ? .set(value) : .incrementBy(value)
                position += 4
            }
            operations.append(Operation(action: action, type: type, offset: offset, overflow: overflow))
        }
        return operations
    }

    static func run(_ c: CommandContext, readOnly: Bool) throws(CommandError) -> Reply {
        let operations = try parse(c)
        let furthestWrite = operations.lazy.filter { if case .get = $0.action { false } else { true } }
            .map { $0.offset + Int64($0.type.bits) }.max()
        guard let furthestWrite else {
            let bytes = try c.db.readString(c[1])?.storage ?? []
            return .array(operations.map { .integer(read($0.type, at: $0.offset, from: bytes)) })
        }
        if readOnly { throw CommandError(.generic, "ERR BITFIELD_RO only supports the GET subcommand") }
        let key = c[1]
        var changes = 0
        let (replies, grew) = try c.db.withGrowableString(key, minimumCount: Int((furthestWrite + 7) / 8)) { bytes in
            operations.map { operation -> Reply in
                let type = operation.type
                let old = read(type, at: operation.offset, from: bytes)
                let wanted: Int128
                switch operation.action {
                case .get: return .integer(old)
                case .set(let value):
                    // An unsigned field takes the argument's bits, as Redis's does: -1 is all ones.
                    wanted = type.signed ? Int128(value) : Int128(UInt64(bitPattern: value))
                case .incrementBy(let increment): wanted = Int128(old) + Int128(increment)
                }
                var stored: Int64
                if wanted >= type.minimum && wanted <= type.maximum {
                    stored = Int64(wanted)
                } else {
                    switch operation.overflow {
                    case .fail: return .null
                    case .wrap: stored = type.wrapped(wanted)
                    case .saturate: stored = Int64(wanted < type.minimum ? type.minimum : type.maximum)
                    }
                }
                write(stored, type, at: operation.offset, into: &bytes)
                changes += 1
                if case .set = operation.action { return .integer(old) }
                return .integer(stored)
            }
        }
        if changes > 0 || grew { c.db.didWrite(key, .setbit) }
        return .array(replies)
    }

    /// The field's value, bits past the end of the string read as zeros.
    static func read(_ type: FieldType, at offset: Int64, from bytes: [UInt8]) -> Int64 {
        var raw: UInt64 = 0
        for index in 0..<type.bits {
            let bit = Int(offset) + index
            let byte = bit >> 3
            let isSet = byte < bytes.count && bytes[byte] & (UInt8(0x80) >> UInt8(bit & 7)) != 0
            raw = raw << 1 | (isSet ? 1 : 0)
        }
        return type.wrapped(Int128(raw))
    }

    /// Stores the low `type.bits` bits of `value`; the string is already
    /// long enough.
    static func write(_ value: Int64, _ type: FieldType, at offset: Int64, into bytes: inout [UInt8]) {
        let raw = UInt64(bitPattern: value)
        for index in 0..<type.bits {
            let bit = Int(offset) + index
            let mask = UInt8(0x80) >> UInt8(bit & 7)
            if raw >> UInt64(type.bits - 1 - index) & 1 == 1 { bytes[bit >> 3] |= mask } else { bytes[bit >> 3] &= ~mask }
        }
    }
}
