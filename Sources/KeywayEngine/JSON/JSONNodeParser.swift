import OrderedCollections

/// Reads JSON text (RFC 8259, any value at the top) into a `JSONNode`.
///
/// Nesting is bounded (`maximumDepth`): a document nested deeper is refused
/// with an error rather than recursing without limit, so a hostile
/// 100,000-level document cannot overflow the stack. Errors name the line
/// and column, as RedisJSON's do.
public struct JSONNodeParser {
    /// RedisJSON's limit on nested arrays and objects.
    public static let maximumDepth = 128

    private let bytes: [UInt8]
    private var position = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses a whole document; anything but whitespace after it is an error.
    public static func parse(_ bytes: [UInt8]) throws(CommandError) -> JSONNode {
        var parser = JSONNodeParser(bytes)
        parser.skipWhitespace()
        let node = try parser.value(depth: 0)
        parser.skipWhitespace()
        if parser.position < bytes.count { throw parser.failure("trailing characters") }
        return node
    }

    public static func parse(_ text: String) throws(CommandError) -> JSONNode {
        try parse(Array(text.utf8))
    }

    private mutating func value(depth: Int) throws(CommandError) -> JSONNode {
        guard position < bytes.count else { throw failure("EOF while parsing a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure("expected value")
        }
    }

    private mutating func object(depth: Int) throws(CommandError) -> JSONNode {
        if depth > Self.maximumDepth { throw failure("recursion limit exceeded") }
        position += 1
        var members = OrderedDictionary<String, JSONNode>()
        skipWhitespace()
        if peek == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            guard position < bytes.count else { throw failure("EOF while parsing an object") }
            guard bytes[position] == UInt8(ascii: "\"") else { throw failure("key must be a string") }
            let name = try string()
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else {
                throw failure(position < bytes.count ? "expected `:`" : "EOF while parsing an object")
            }
            position += 1
            skipWhitespace()
            members[name] = try value(depth: depth)
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): position += 1; skipWhitespace()
            case UInt8(ascii: "}"): position += 1; return .object(members)
            case nil: throw failure("EOF while parsing an object")
            default: throw failure("expected `,` or `}`")
            }
        }
    }

    private mutating func array(depth: Int) throws(CommandError) -> JSONNode {
        if depth > Self.maximumDepth { throw failure("recursion limit exceeded") }
        position += 1
        var elements: [JSONNode] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            guard position < bytes.count else { throw failure("EOF while parsing a list") }
            elements.append(try value(depth: depth))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): position += 1; skipWhitespace()
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            case nil: throw failure("EOF while parsing a list")
            default: throw failure("expected `,` or `]`")
            }
        }
    }

    private mutating func string() throws(CommandError) -> String {
        position += 1  // the opening quote
        var utf8: [UInt8] = []
        while true {
            guard position < bytes.count else { throw failure("EOF while parsing a string") }
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard UTF8Validation.isValid(utf8) else { throw failure("invalid unicode in string") }
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                position += 1
                try escape(into: &utf8)
            case 0..<0x20:
                throw failure("control character (\\u0000-\\u001F) found while parsing a string")
            default:
                utf8.append(byte)
                position += 1
            }
        }
    }

    private mutating func escape(into utf8: inout [UInt8]) throws(CommandError) {
        guard position < bytes.count else { throw failure("EOF while parsing a string") }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hexQuad()
            if (0xD800..<0xDC00).contains(scalar) {
                guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                    throw failure("lone leading surrogate in hex escape")
                }
                position += 2
                let low = try hexQuad()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("lone leading surrogate in hex escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw failure("lone trailing surrogate in hex escape")
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid unicode code point") }
            utf8.append(contentsOf: String(Character(unicode)).utf8)
        default:
            throw failure("invalid escape")
        }
    }

    private mutating func hexQuad() throws(CommandError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw failure("EOF while parsing a string") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// An integer when the text has no fraction or exponent and fits in 64
    /// bits; otherwise a double, which must be finite.
    private mutating func number() throws(CommandError) -> JSONNode {
        let start = position
        if peek == UInt8(ascii: "-") { position += 1 }
        guard let first = peek, isDigit(first) else { throw failure("invalid number") }
        position += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        var isInteger = true
        if peek == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard let digit = peek, isDigit(digit) else { throw failure("invalid number") }
            skipDigits()
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard let digit = peek, isDigit(digit) else { throw failure("invalid number") }
            skipDigits()
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .integer(integer) }
        guard let double = Double(text), double.isFinite else { throw failure("number out of range") }
        return .number(double)
    }

    private mutating func literal(_ word: StaticString) throws(CommandError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count else { throw failure("EOF while parsing a value") }
        let matches = word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[position + $0] == expected[$0] }
        }
        guard matches else { throw failure("expected ident") }
        position += count
    }

    private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while let byte = peek, isDigit(byte) { position += 1 }
    }

    private mutating func skipWhitespace() {
        while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    /// `ERR <what> at line L column C`, the column counted in bytes from 1.
    private func failure(_ what: String) -> CommandError {
        var line = 1
        var lineStart = 0
        let end = min(position, bytes.count)
        for index in 0..<end where bytes[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        return CommandError(.invalidJSON, "ERR \(what) at line \(line) column \(end - lineStart + 1)")
    }
}
