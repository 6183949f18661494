/// A redis.conf-style configuration file: one directive per line, arguments
/// split as Redis splits them (double quotes with `\n`, `\t`, `\xHH`...
/// escapes, single quotes with only `\'`), `#` comments, blank lines.
public struct ConfigFile: Sendable, Equatable {
    public struct Directive: Sendable, Equatable {
        /// Lowercased, as Redis matches directive names.
        public let name: String
        public let arguments: [String]
        /// 1-based line number, for error messages.
        public let line: Int
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }
        public var description: String { "line \(line): \(message)" }
    }

    public let directives: [Directive]

    public init(parsing text: String) throws(ParseError) {
        var directives: [Directive] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let words = ConfigFile.splitArguments(String(trimmed)) else {
                throw ParseError(line: index + 1, message: "unbalanced quotes in configuration line")
            }
            guard let name = words.first else { continue }
            directives.append(Directive(name: name.lowercased(), arguments: Array(words.dropFirst()), line: index + 1))
        }
        self.directives = directives
    }

    /// The last value given for a single-argument directive.
    public func value(_ name: String) -> String? {
        directives.last { $0.name == name }?.arguments.first
    }

    /// Redis's argument splitting (sdssplitargs): nil on unbalanced quotes
    /// or a closing quote not followed by a space.
    public static func splitArguments(_ line: String) -> [String]? {
        var words: [String] = []
        var bytes = Array(line.utf8)[...]
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C }
        while true {
            while let first = bytes.first, isSpace(first) { bytes = bytes.dropFirst() }
            guard !bytes.isEmpty else { return words }
            var current: [UInt8] = []
            var inDouble = false, inSingle = false
            loop: while true {
                guard let byte = bytes.first else {
                    if inDouble || inSingle { return nil }
                    break loop
                }
                if inDouble {
                    if byte == UInt8(ascii: "\\"), bytes.count >= 4, bytes[bytes.startIndex + 1] == UInt8(ascii: "x"),
                       let high = hex(bytes[bytes.startIndex + 2]), let low = hex(bytes[bytes.startIndex + 3]) {
                        current.append(high << 4 | low)
                        bytes = bytes.dropFirst(4)
                        continue
                    }
                    if byte == UInt8(ascii: "\\"), bytes.count >= 2 {
                        let escaped = bytes[bytes.startIndex + 1]
                        switch escaped {
                        case UInt8(ascii: "n"): current.append(0x0A)
                        case UInt8(ascii: "r"): current.append(0x0D)
                        case UInt8(ascii: "t"): current.append(0x09)
                        case UInt8(ascii: "b"): current.append(0x08)
                        case UInt8(ascii: "a"): current.append(0x07)
                        default: current.append(escaped)
                        }
                        bytes = bytes.dropFirst(2)
                        continue
                    }
                    if byte == UInt8(ascii: "\"") {
                        bytes = bytes.dropFirst()
                        // A closing quote must be followed by a space or the end.
                        if let next = bytes.first, !isSpace(next) { return nil }
                        inDouble = false
                        break loop
                    }
                    current.append(byte)
                } else if inSingle {
                    if byte == UInt8(ascii: "\\"), bytes.count >= 2, bytes[bytes.startIndex + 1] == UInt8(ascii: "'") {
                        current.append(UInt8(ascii: "'"))
                        bytes = bytes.dropFirst(2)
                        continue
                    }
                    if byte == UInt8(ascii: "'") {
                        bytes = bytes.dropFirst()
                        if let next = bytes.first, !isSpace(next) { return nil }
                        inSingle = false
                        break loop
                    }
                    current.append(byte)
                } else {
                    if isSpace(byte) { break loop }
                    if byte == UInt8(ascii: "\"") { inDouble = true }
                    else if byte == UInt8(ascii: "'") { inSingle = true }
                    else { current.append(byte) }
                }
                bytes = bytes.dropFirst()
            }
            words.append(String(decoding: current, as: UTF8.self))
        }
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
