import KeywayEngine

/// Reads the body most value writes send, `{"value":"..."}` (one member, a
/// string without escapes), straight to the value's bytes.
///
/// Why not through `JSONParser`: a `PUT /v1/keys/{key}` spent some 7,000
/// instructions building a `JSONValue` tree (an array of members, a
/// `String` per name and value) and reading it back through `Fields`.
/// Anything else, another member, an escape, a control byte, invalid
/// UTF-8, malformed JSON, answers nil and the caller parses the body with
/// `JSONParser`, whose results and error messages are the API's; so this
/// changes no reply, only the cost of the common one (as `CommandBodyReader`
/// does for the command API).
struct ValueBodyReader {
    private let body: UnsafeBufferPointer<UInt8>
    private var position = 0

    private init(_ body: UnsafeBufferPointer<UInt8>) { self.body = body }

    /// The bytes of `{"<member>":"<text>"}`, or nil to parse the general way.
    static func value(named member: String, in body: [UInt8]) -> [UInt8]? {
        body.withUnsafeBufferPointer { buffer -> [UInt8]? in
            var reader = ValueBodyReader(buffer)
            guard reader.consume(UInt8(ascii: "{")), reader.consumeName(member), reader.consume(UInt8(ascii: ":")),
                  reader.consume(UInt8(ascii: "\"")), let value = reader.readStringContent(),
                  reader.consume(UInt8(ascii: "}")), reader.atEnd() else { return nil }
            return value
        }
    }

    /// `"<member>"` after optional whitespace, spelled exactly.
    private mutating func consumeName(_ member: String) -> Bool {
        guard consume(UInt8(ascii: "\"")) else { return false }
        for byte in member.utf8 {
            guard peek(byte) else { return false }
            position += 1
        }
        guard peek(UInt8(ascii: "\"")) else { return false }
        position += 1
        return true
    }

    /// The rest of a string whose opening quote is read: no escapes, no
    /// control bytes, valid UTF-8.
    private mutating func readStringContent() -> [UInt8]? {
        let start = position
        var plain = true
        while position < body.count {
            let byte = body[position]
            if byte == UInt8(ascii: "\"") {
                let content = UnsafeBufferPointer(rebasing: body[start..<position])
                if !plain && !UTF8Validation.isValid(content) { return nil }
                position += 1
                return Array(content)
            }
            // One test finds both control bytes (below 0x20, which wrap to
            // 0xE0 and up) and non-ASCII bytes (0x80 and up).
            if byte &- 0x20 >= 0x60 || byte == UInt8(ascii: "\\") {
                if byte < 0x20 || byte == UInt8(ascii: "\\") { return nil }
                plain = false
            }
            position += 1
        }
        return nil
    }

    private func peek(_ byte: UInt8) -> Bool { position < body.count && body[position] == byte }

    private mutating func skipWhitespace() {
        while position < body.count {
            switch body[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// `byte` after optional whitespace.
    private mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard peek(byte) else { return false }
        position += 1
        return true
    }

    /// Only whitespace remains.
    private mutating func atEnd() -> Bool {
        skipWhitespace()
        return position == body.count
    }
}
