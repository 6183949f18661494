/// One selector of a JSONPath step: what it picks among a value's children.
enum JSONPathSelector: Sendable {
    /// `.name`, `['name']`: the member of an object.
    case member(String)
    /// `.*`, `[*]`: every member of an object, every element of an array.
    case wildcard
    /// `[n]`: an array element; negative counts from the end.
    case index(Int)
    /// `[0,2,-1]`, `['a','b']`: several names and indexes, in the order given.
    case union([JSONPathUnionItem])
    /// `[start:end:step]`: elements as Python slices them; step is positive.
    case slice(start: Int?, end: Int?, step: Int)
    /// `[?(...)]`: the children (elements or member values) the expression holds for.
    case filter(JSONPathFilterExpression)
}

enum JSONPathUnionItem: Sendable {
    case member(String)
    case index(Int)
}

/// A step: the selector applied to the current values' children (`.x`,
/// `[...]`), or to every value in the subtree of each, in pre-order (`..x`).
enum JSONPathSegment: Sendable {
    case child(JSONPathSelector)
    case descendant(JSONPathSelector)
}

/// A syntax error and the byte offset where it was found.
struct JSONPathSyntaxError: Error {
    let reason: String
    let position: Int
}

/// Reads JSONPath text (starting at `$`) into segments.
///
/// Path steps are read in a loop; only filter expressions recurse, and they
/// count their nesting (parentheses, `!`, filters inside filter paths)
/// against `maximumFilterDepth`, so hostile input cannot overflow the stack.
struct JSONPathParser {
    static let maximumFilterDepth = 64

    let bytes: [UInt8]
    var position = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    /// Parses a whole path; returns its segments and the byte offset where
    /// each begins.
    static func parse(_ text: String) throws(JSONPathSyntaxError) -> (segments: [JSONPathSegment], starts: [Int]) {
        var parser = JSONPathParser(text)
        guard parser.peek == UInt8(ascii: "$") else { throw parser.failure("a JSONPath starts with $") }
        parser.position += 1
        var starts: [Int] = []
        let segments = try parser.segments(depth: 0, starts: &starts)
        if let byte = parser.peek {
            throw parser.failure("unexpected \(describe(byte))")
        }
        return (segments, starts)
    }

    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    func peek(at offset: Int) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    func failure(_ reason: String) -> JSONPathSyntaxError {
        JSONPathSyntaxError(reason: reason, position: position)
    }

    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "character 0x\(String(byte, radix: 16))"
    }

    mutating func skipWhitespace() {
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }

    /// Steps until something that is not `.` or `[` (the end, or in a
    /// filter the operator or `)` after a path).
    mutating func segments(depth: Int, starts: inout [Int]) throws(JSONPathSyntaxError) -> [JSONPathSegment] {
        var segments: [JSONPathSegment] = []
        while let byte = peek {
            let start = position
            if byte == UInt8(ascii: ".") {
                if peek(at: 1) == UInt8(ascii: ".") {
                    position += 2
                    switch peek {
                    case UInt8(ascii: "*"):
                        position += 1
                        segments.append(.descendant(.wildcard))
                    case UInt8(ascii: "["):
                        segments.append(.descendant(try bracket(depth: depth)))
                    default:
                        guard let name = dotName() else { throw failure("expected a name, * or [ after ..") }
                        segments.append(.descendant(.member(name)))
                    }
                } else {
                    position += 1
                    if peek == UInt8(ascii: "*") {
                        position += 1
                        segments.append(.child(.wildcard))
                    } else {
                        guard let name = dotName() else { throw failure("expected a member name or * after .") }
                        segments.append(.child(.member(name)))
                    }
                }
            } else if byte == UInt8(ascii: "[") {
                segments.append(.child(try bracket(depth: depth)))
            } else {
                break
            }
            starts.append(start)
        }
        return segments
    }

    /// Bytes that end a dot name: path punctuation, quotes, whitespace and
    /// the characters filter operators are made of.
    static func endsName(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: ","), UInt8(ascii: "?"), UInt8(ascii: "@"),
             UInt8(ascii: "="), UInt8(ascii: "!"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"),
             UInt8(ascii: "|"), UInt8(ascii: "~"), UInt8(ascii: "*"):
            return true
        default:
            return byte <= 0x20 || byte == 0x7F
        }
    }

    /// A non-empty run of name bytes, or nil (nothing consumed).
    mutating func dotName() -> String? {
        let start = position
        while let byte = peek, !Self.endsName(byte) { position += 1 }
        guard position > start else { return nil }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// `[...]`: a wildcard, a filter, a slice, or names and indexes.
    mutating func bracket(depth: Int) throws(JSONPathSyntaxError) -> JSONPathSelector {
        position += 1
        skipWhitespace()
        switch peek {
        case UInt8(ascii: "*"):
            position += 1
            try closeBracket()
            return .wildcard
        case UInt8(ascii: "?"):
            position += 1
            skipWhitespace()
            guard depth + 1 <= Self.maximumFilterDepth else { throw failure("filters nested too deeply") }
            let expression = try filterExpression(depth: depth + 1)
            try closeBracket()
            return .filter(expression)
        default:
            break
        }
        var items: [JSONPathUnionItem] = []
        while true {
            skipWhitespace()
            switch peek {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                items.append(.member(try quoted()))
            case UInt8(ascii: "-")?, UInt8(ascii: ":")?, (UInt8(ascii: "0")...UInt8(ascii: "9"))?:
                let start = try optionalInteger()
                skipWhitespace()
                if peek == UInt8(ascii: ":") {
                    guard items.isEmpty else { throw failure("a slice cannot be part of a union") }
                    let selector = try slice(start: start)
                    try closeBracket()
                    return selector
                }
                guard let index = start else { throw failure("expected an index") }
                items.append(.index(index))
            case nil:
                throw failure("unterminated [")
            case let byte?:
                throw failure("unexpected \(Self.describe(byte)) in []")
            }
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","):
                position += 1
            case UInt8(ascii: "]"):
                position += 1
                if items.count == 1 {
                    switch items[0] {
                    case .member(let name): return .member(name)
                    case .index(let index): return .index(index)
                    }
                }
                return .union(items)
            case nil:
                throw failure("unterminated [")
            case let byte?:
                throw failure("expected , or ] but found \(Self.describe(byte))")
            }
        }
    }

    /// The rest of `[start:end:step]` after `start`, at the first `:`.
    mutating func slice(start: Int?) throws(JSONPathSyntaxError) -> JSONPathSelector {
        position += 1
        skipWhitespace()
        let end = try optionalInteger()
        skipWhitespace()
        var step = 1
        if peek == UInt8(ascii: ":") {
            position += 1
            skipWhitespace()
            if let given = try optionalInteger() {
                guard given > 0 else { throw failure("slice step must be positive") }
                step = given
            }
        }
        return .slice(start: start, end: end, step: step)
    }

    mutating func closeBracket() throws(JSONPathSyntaxError) {
        skipWhitespace()
        guard peek == UInt8(ascii: "]") else {
            throw failure(peek.map { "expected ] but found \(Self.describe($0))" } ?? "unterminated [")
        }
        position += 1
    }

    /// An integer (optionally negative) if one is here; nil if none starts here.
    mutating func optionalInteger() throws(JSONPathSyntaxError) -> Int? {
        let start = position
        var negative = false
        if peek == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        var value = 0
        var digits = 0
        while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let digit = Int(byte - UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { position = start; throw failure("index out of range") }
            value = next
            digits += 1
            position += 1
        }
        if digits == 0 {
            if negative { throw failure("expected digits after -") }
            return nil
        }
        return value
    }

    /// A string in single or double quotes. `\'`, `\"`, `\\`, `\/`, `\n`, `\r`,
    /// `\t` and `\uXXXX` are decoded; other escapes are kept as written.
    mutating func quoted() throws(JSONPathSyntaxError) -> String {
        let quote = bytes[position]
        position += 1
        var utf8: [UInt8] = []
        while true {
            guard let byte = peek else { throw failure("unterminated string") }
            position += 1
            if byte == quote { break }
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                continue
            }
            guard let escaped = peek else { throw failure("unterminated string") }
            position += 1
            switch escaped {
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard peek == UInt8(ascii: "\\"), peek(at: 1) == UInt8(ascii: "u") else {
                        throw failure("lone surrogate in \\u escape")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw failure("lone surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let value = Unicode.Scalar(scalar) else { throw failure("lone surrogate in \\u escape") }
                utf8.append(contentsOf: Array(String(Character(value)).utf8))
            case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
                utf8.append(escaped)
            default:
                // Any other escape keeps its backslash, so a regex's `\d`,
                // `\.` or `\b` reaches `=~` as written.
                utf8.append(UInt8(ascii: "\\"))
                utf8.append(escaped)
            }
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    mutating func hex4() throws(JSONPathSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek, let digit = Character(Unicode.Scalar(byte)).hexDigitValue else {
                throw failure("expected 4 hex digits in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }
}
