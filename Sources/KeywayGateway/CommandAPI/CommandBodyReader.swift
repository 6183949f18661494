import KeywayEngine

/// Reads command API bodies, `["SET","k","v"]` and
/// `[["SET","k","v"],["GET","k"]]`, straight into `Command`s.
///
/// Why not through `JSONParser`: a `/pipeline` of 100 SETs spent about 40%
/// of its instructions building a `JSONValue` tree of `String`s (each
/// validated as UTF-8), converting every string to `Bytes`, then freeing
/// the tree. Here each argument's bytes are copied once, into its `Bytes`.
///
/// It reads the shapes clients send: arrays of strings (without escapes)
/// and numbers. Anything else, an escape, a control byte, invalid UTF-8,
/// an object, an empty array, malformed JSON, answers nil, and the caller
/// parses the body with `JSONParser`, whose results and error messages are
/// the API's; so this changes no reply, only the cost of the common one.
struct CommandBodyReader {
    private let body: UnsafeBufferPointer<UInt8>
    private var position = 0

    private init(_ body: UnsafeBufferPointer<UInt8>) { self.body = body }

    /// One command (`POST /`), or nil to parse the general way.
    static func command(_ body: [UInt8]) -> Command? {
        body.withUnsafeBufferPointer { buffer in
            var reader = CommandBodyReader(buffer)
            guard let command = reader.readCommand(), reader.atEnd() else { return nil }
            return command
        }
    }

    /// A batch (`/pipeline`, `/multi-exec`), or nil to parse the general way.
    static func commands(_ body: [UInt8]) -> [Command]? {
        body.withUnsafeBufferPointer { buffer -> [Command]? in
            var reader = CommandBodyReader(buffer)
            reader.skipWhitespace()
            guard reader.consume(UInt8(ascii: "[")) else { return nil }
            var commands: [Command] = []
            repeat {
                guard let command = reader.readCommand() else { return nil }
                commands.append(command)
            } while reader.consumeSeparator()
            guard reader.consume(UInt8(ascii: "]")), reader.atEnd() else { return nil }
            return commands
        }
    }

    // MARK: - Grammar

    /// `[arg, ...]` with at least one argument.
    private mutating func readCommand() -> Command? {
        skipWhitespace()
        guard consume(UInt8(ascii: "[")) else { return nil }
        var arguments: [Bytes] = []
        arguments.reserveCapacity(4)
        repeat {
            skipWhitespace()
            guard let argument = readArgument() else { return nil }
            arguments.append(argument)
        } while consumeSeparator()
        guard consume(UInt8(ascii: "]")) else { return nil }
        return Command(arguments)
    }

    private mutating func readArgument() -> Bytes? {
        guard position < body.count else { return nil }
        return body[position] == UInt8(ascii: "\"") ? readString() : readNumber()
    }

    /// A string without escapes or control bytes, valid UTF-8.
    private mutating func readString() -> Bytes? {
        let start = position + 1
        guard let base = body.baseAddress,
              let quote = memchr(base + start, Int32(UInt8(ascii: "\"")), body.count - start) else { return nil }
        let end = UnsafeRawPointer(quote) - UnsafeRawPointer(base)
        let content = UnsafeBufferPointer(rebasing: body[start..<end])
        // One test per byte finds both control bytes (below 0x20, which
        // wrap to 0xE0 and up) and non-ASCII bytes (0x80 and up).
        var plain = true
        for byte in content where byte &- 0x20 >= 0x60 || byte == UInt8(ascii: "\\") {
            if byte < 0x20 || byte == UInt8(ascii: "\\") { return nil }
            plain = false
        }
        let bytes = Bytes(content)
        if !plain && !bytes.isValidUTF8 { return nil }
        position = end + 1
        return bytes
    }

    /// A number as JSON writes it, kept as its exact text.
    private mutating func readNumber() -> Bytes? {
        let start = position
        if peek(UInt8(ascii: "-")) { position += 1 }
        if peek(UInt8(ascii: "0")) {
            position += 1
        } else {
            guard skipDigits() else { return nil }
        }
        if peek(UInt8(ascii: ".")) {
            position += 1
            guard skipDigits() else { return nil }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            position += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { position += 1 }
            guard skipDigits() else { return nil }
        }
        return Bytes(UnsafeBufferPointer(rebasing: body[start..<position]))
    }

    /// Skips one or more digits; false when there is none.
    private mutating func skipDigits() -> Bool {
        let start = position
        while position < body.count && body[position] >= UInt8(ascii: "0") && body[position] <= UInt8(ascii: "9") { position += 1 }
        return position > start
    }

    // MARK: - Tokens

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

    /// A `,` between elements, after optional whitespace.
    private mutating func consumeSeparator() -> Bool { consume(UInt8(ascii: ",")) }

    /// Only whitespace remains.
    private mutating func atEnd() -> Bool {
        skipWhitespace()
        return position == body.count
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
