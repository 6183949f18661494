import KeywayEngine
/// A small JSON reader and writer over bytes.
///
/// Hand-written because the hot path (`POST /` with `["GET","k"]`) must not
/// pay for Foundation's bridging, and because numbers must keep their exact
/// text: `["INCRBYFLOAT","k",0.1]` has to reach the engine as `0.1`.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's text exactly as written.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public subscript(_ key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }
}

public struct JSONError: Error, CustomStringConvertible {
    public let message: String
    public let offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}

/// Parses one JSON document (RFC 8259), rejecting trailing garbage.
public struct JSONParser {
    private let bytes: [UInt8]
    private var position = 0
    private var depth = 0
    private static let maxDepth = 512

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected data after the JSON value") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func error(_ message: String) -> JSONError { JSONError(message: message, offset: position) }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONError) -> JSONValue {
        guard position < bytes.count else { throw error("unexpected end of JSON") }
        switch bytes[position] {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("invalid literal") }
        let matches = literal.withUTF8Buffer { buffer in
            (0..<count).allSatisfy { bytes[position + $0] == buffer[$0] }
        }
        guard matches else { throw error("invalid literal") }
        position += count
    }

    private mutating func enter() throws(JSONError) {
        depth += 1
        if depth > JSONParser.maxDepth { throw error("JSON nested too deeply") }
    }

    private mutating func parseArray() throws(JSONError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
            throw error("expected ',' or ']'")
        }
    }

    private mutating func parseObject() throws(JSONError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var members: [(String, JSONValue)] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            members.append((key, try parseValue()))
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
            throw error("expected ',' or '}'")
        }
    }

    private mutating func parseNumber() throws(JSONError) -> String {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { throw error("invalid number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else if isDigit(bytes[position]) {
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        } else {
            throw error("invalid number")
        }
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count && isDigit(bytes[position]) else { throw error("invalid number") }
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
            position += 1
            if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) { position += 1 }
            guard position < bytes.count && isDigit(bytes[position]) else { throw error("invalid number") }
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func parseString() throws(JSONError) -> String {
        position += 1
        var out: [UInt8] = []
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let raw = bytes[start..<position]
                position += 1
                guard let text = String(validating: raw, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                return text
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            position += 1
        }
        out.append(contentsOf: bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard let text = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                return text
            case UInt8(ascii: "\\"):
                position += 1
                guard position < bytes.count else { throw error("unterminated escape") }
                let escaped = bytes[position]
                position += 1
                switch escaped {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate")
                        }
                        position += 2
                        let low = try parseHex4()
                        guard low >= 0xDC00 && low < 0xE000 else { throw error("invalid surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00 && scalar < 0xE000 {
                        throw error("unpaired surrogate")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid unicode escape") }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw error("invalid escape")
                }
            default:
                if byte < 0x20 { throw error("control character in string") }
                out.append(byte)
                position += 1
            }
        }
        throw error("unterminated string")
    }

    private mutating func parseHex4() throws(JSONError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("invalid unicode escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid unicode escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }
}

/// Appends JSON to a byte buffer.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// One punctuation byte. A literal such as `raw(",")` picks the
    /// `String` overload (string literals default to `String`), which lends
    /// its bytes through a closure: several times the cost of this append.
    mutating func punctuation(_ byte: Unicode.Scalar) {
        bytes.append(UInt8(ascii: byte))
    }

    public mutating func raw(_ text: String) {
        // The string's own bytes, lent without a copy; appending the UTF-8
        // view element by element costs several times more.
        if text.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: text.utf8)
        }
    }

    public mutating func null() { raw("null" as StaticString) }
    public mutating func bool(_ value: Bool) { value ? raw("true" as StaticString) : raw("false" as StaticString) }
    public mutating func integer(_ value: Int64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: DecimalText.maxBytes) { digits in
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[..<DecimalText.write(value, into: digits)]))
        }
    }

    public mutating func double(_ value: Double) {
        if value.isFinite {
            if value == value.rounded(.towardZero) && abs(value) < 1e15 {
                raw(String(Int64(value)))
            } else {
                raw(String(value))
            }
        } else {
            string(value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf"))
        }
    }

    public mutating func string(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ escapeUTF8($0) }) == nil {
            var copy = text
            copy.withUTF8 { escapeUTF8($0) }
        }
    }

    /// Writes bytes already known to be valid UTF-8 as a JSON string.
    public mutating func string(validUTF8 value: [UInt8]) {
        value.withUnsafeBufferPointer { escapeUTF8($0) }
    }

    /// Writes bytes that `JSONPlainText.isPlain` accepted, as they are:
    /// for a caller that had to test them anyway.
    mutating func string(plain value: [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: value)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes bytes as a JSON string; invalid UTF-8 is replaced by U+FFFD.
    public mutating func string(bytes value: [UInt8]) {
        if UTF8Validation.isValid(value) {
            value.withUnsafeBufferPointer { escapeUTF8($0) }
        } else {
            string(String(decoding: value, as: UTF8.self))
        }
    }

    private mutating func escapeUTF8(_ buffer: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        if JSONPlainText.isPlain(buffer) {
            bytes.append(contentsOf: buffer)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        var runStart = 0
        for i in 0..<buffer.count {
            let byte = buffer[i]
            if byte >= 0x20 && byte != 0x22 && byte != 0x5C { continue }
            if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<i])) }
            switch byte {
            case 0x22: raw("\\\"" as StaticString)
            case 0x5C: raw("\\\\" as StaticString)
            case 0x0A: raw("\\n" as StaticString)
            case 0x0D: raw("\\r" as StaticString)
            case 0x09: raw("\\t" as StaticString)
            default:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
            runStart = i + 1
        }
        if runStart < buffer.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart...])) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes `{"k": v, ...}` with the body closure writing each member via `member`.
    /// The buffer moves into the object's writer and back by swapping, never
    /// copied: with a copy left behind, each object in an array copied all
    /// that came before it (a 100,000-command pipeline took 30 s to encode).
    public mutating func object(_ body: (inout ObjectWriter) -> Void) {
        punctuation("{")
        var writer = ObjectWriter(json: JSONWriter(capacity: 0))
        swap(&self, &writer.json)
        body(&writer)
        swap(&self, &writer.json)
        punctuation("}")
    }

    public mutating func array<S: Sequence>(_ elements: S, _ write: (inout JSONWriter, S.Element) -> Void) {
        punctuation("[")
        var first = true
        for element in elements {
            if !first { punctuation(",") }
            first = false
            write(&self, element)
        }
        punctuation("]")
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let text): raw(text)
        case .string(let s): string(s)
        case .array(let elements): array(elements) { $0.value($1) }
        case .object(let members):
            object { object in
                for (key, member) in members { object.member(key) { $0.value(member) } }
            }
        }
    }
}

public struct ObjectWriter {
    fileprivate var json: JSONWriter
    private var first = true

    fileprivate init(json: JSONWriter) { self.json = json }

    public mutating func member(_ key: String, _ write: (inout JSONWriter) -> Void) {
        if !first { json.punctuation(",") }
        first = false
        json.string(key)
        json.punctuation(":")
        write(&json)
    }
}

/// Integers as decimal text, written straight into bytes: `String(value)`
/// goes through `description` and costs several times more.
enum DecimalText {
    /// `Int64.min` takes 20 bytes, its sign included.
    static let maxBytes = 20

    /// `String(value)`, without the detour.
    static func string(_ value: Int64) -> String {
        String(unsafeUninitializedCapacity: maxBytes) { write(value, into: $0) }
    }

    /// Writes `value` at the start of `buffer` (room for `maxBytes`) and
    /// returns how many bytes it took.
    static func write(_ value: Int64, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var magnitude = value.magnitude
        var count = 0
        repeat {
            buffer[count] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 0x30
            magnitude /= 10
            count += 1
        } while magnitude > 0
        if value < 0 {
            buffer[count] = UInt8(ascii: "-")
            count += 1
        }
        var low = 0, high = count - 1
        while low < high {
            buffer.swapAt(low, high)
            low += 1
            high -= 1
        }
        return count
    }
}
