/// RESP, as the append-only file stores commands: each command is an array
/// of bulk strings, `*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per argument,
/// binary safe. Redis 7 may also write annotation lines starting with `#`
/// between commands (`#TS:...`); the parser skips them.
public enum RESPCommandEncoding {
    /// Appends `arguments` encoded as one RESP command to `buffer`.
    public static func encode(_ arguments: [Bytes], into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        appendDecimal(arguments.count, to: &buffer)
        buffer.append(13); buffer.append(10)
        for argument in arguments {
            buffer.append(UInt8(ascii: "$"))
            appendDecimal(argument.count, to: &buffer)
            buffer.append(13); buffer.append(10)
            buffer.append(contentsOf: argument.storage)
            buffer.append(13); buffer.append(10)
        }
    }

    public static func encode(_ arguments: [Bytes]) -> [UInt8] {
        var buffer: [UInt8] = []
        encode(arguments, into: &buffer)
        return buffer
    }

    public static func encode(_ commands: [[Bytes]]) -> [UInt8] {
        var buffer: [UInt8] = []
        for command in commands { encode(command, into: &buffer) }
        return buffer
    }

    static func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        if value < 10 {
            buffer.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: [UInt8] = []
        var rest = value
        while rest > 0 {
            digits.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        }
        buffer.append(contentsOf: digits.reversed())
    }
}

/// Why a RESP stream could not be read.
public enum RESPParseError: Error, Equatable, CustomStringConvertible {
    /// The input ended inside a command that began at `offset` (the last
    /// good offset): a truncated tail, as after a crash mid-write.
    case truncated(offset: Int)
    /// Bytes at `offset` are not valid RESP for a command.
    case corrupt(offset: Int, reason: String)

    public var offset: Int {
        switch self {
        case .truncated(let offset), .corrupt(let offset, _): return offset
        }
    }

    public var description: String {
        switch self {
        case .truncated(let offset): return "unexpected end of file in a command starting at offset \(offset)"
        case .corrupt(let offset, let reason): return "bad file format at offset \(offset): \(reason)"
        }
    }
}

/// One step of parsing at a position of a buffer.
public enum RESPParseStep: Equatable {
    /// A command, and the offset just after it.
    case command([Bytes], end: Int)
    /// An annotation line (`#...\n`), skipped; the offset after it.
    case annotation(end: Int)
    /// The buffer ends inside the item that starts here.
    case needMore
    /// Corrupt input at an offset (relative to the buffer).
    case corrupt(offset: Int, reason: String)
}

/// Parses RESP commands from bytes that arrive in pieces (a file read in
/// chunks): feed bytes, take commands, and at the end ask whether a partial
/// command was left over. Offsets reported are absolute in the stream.
public struct RESPCommandParser {
    /// Largest argument accepted (Redis's proto-max-bulk-len default).
    public static let maxBulkLength = 512 * 1024 * 1024
    /// Largest argument count accepted.
    public static let maxArguments = 1 << 24

    private var buffer: [UInt8] = []
    private var position = 0
    /// Stream offset of `buffer[0]`.
    private var base = 0

    public init() {}

    /// Stream offset just after the last complete command (or annotation).
    public var offset: Int { base + position }

    /// Whether bytes of an incomplete command are waiting for more input.
    public var hasPartialCommand: Bool { position < buffer.count }

    public mutating func feed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if position > 0 && position >= buffer.count / 2 {
            buffer.removeFirst(position)
            base += position
            position = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete command, nil when more input is needed.
    public mutating func next() throws(RESPParseError) -> [Bytes]? {
        while true {
            switch Self.parse(buffer, at: position) {
            case .command(let arguments, let end):
                position = end
                return arguments
            case .annotation(let end):
                position = end
            case .needMore:
                return nil
            case .corrupt(let at, let reason):
                throw .corrupt(offset: base + at, reason: reason)
            }
        }
    }

    /// Call at end of input: throws `.truncated` if a command was left
    /// incomplete.
    public func finish() throws(RESPParseError) {
        if hasPartialCommand { throw .truncated(offset: offset) }
    }

    /// Parses every command of a complete input.
    public static func parseAll<C: Collection>(_ bytes: C) throws(RESPParseError) -> [[Bytes]] where C.Element == UInt8 {
        var parser = RESPCommandParser()
        parser.feed(bytes)
        var commands: [[Bytes]] = []
        while let command = try parser.next() { commands.append(command) }
        try parser.finish()
        return commands
    }

    /// Parses the item starting at `start` of `buffer`.
    public static func parse(_ buffer: [UInt8], at start: Int) -> RESPParseStep {
        buffer.withUnsafeBufferPointer { parse($0, at: start) }
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> RESPParseStep {
        let end = bytes.count
        guard start < end else { return .needMore }
        if bytes[start] == UInt8(ascii: "#") {
            var i = start
            while i < end && bytes[i] != 10 { i += 1 }
            return i < end ? .annotation(end: i + 1) : .needMore
        }
        guard bytes[start] == UInt8(ascii: "*") else {
            return .corrupt(offset: start, reason: "expected '*' at the start of a command")
        }
        var i = start + 1
        // A decimal line ending in \r\n.
        enum Number { case value(Int), incomplete, bad(RESPParseStep) }
        func number(_ label: String) -> Number {
            let first = i
            var value = 0
            while i < end && bytes[i] >= 48 && bytes[i] <= 57 {
                value = value &* 10 &+ Int(bytes[i] - 48)
                if i - first > 12 { return .bad(.corrupt(offset: first, reason: "\(label) too large")) }
                i += 1
            }
            if i == end { return .incomplete }
            if i == first { return .bad(.corrupt(offset: first, reason: "invalid \(label)")) }
            guard bytes[i] == 13 else { return .bad(.corrupt(offset: i, reason: "expected CRLF after \(label)")) }
            if i + 1 == end { return .incomplete }
            guard bytes[i + 1] == 10 else { return .bad(.corrupt(offset: i + 1, reason: "expected CRLF after \(label)")) }
            i += 2
            return .value(value)
        }
        let count: Int
        switch number("argument count") {
        case .incomplete: return .needMore
        case .bad(let step): return step
        case .value(let n):
            guard n >= 1 && n <= maxArguments else { return .corrupt(offset: start + 1, reason: "invalid argument count \(n)") }
            count = n
        }
        var arguments: [Bytes] = []
        arguments.reserveCapacity(count)
        for _ in 0..<count {
            guard i < end else { return .needMore }
            guard bytes[i] == UInt8(ascii: "$") else { return .corrupt(offset: i, reason: "expected '$' before an argument") }
            let lengthAt = i + 1
            i += 1
            let length: Int
            switch number("bulk length") {
            case .incomplete: return .needMore
            case .bad(let step): return step
            case .value(let n):
                guard n <= maxBulkLength else { return .corrupt(offset: lengthAt, reason: "invalid bulk length \(n)") }
                length = n
            }
            guard end - i >= length + 2 else {
                // Data and CRLF incomplete; but a wrong byte already present is corruption.
                if end - i == length + 1 && bytes[i + length] != 13 {
                    return .corrupt(offset: i + length, reason: "expected CRLF after an argument")
                }
                return .needMore
            }
            guard bytes[i + length] == 13 && bytes[i + length + 1] == 10 else {
                return .corrupt(offset: i + length, reason: "expected CRLF after an argument")
            }
            arguments.append(Bytes(UnsafeBufferPointer(rebasing: bytes[i..<(i + length)])))
            i += length + 2
        }
        return .command(arguments, end: i)
    }
}
