/// Writes a `JSONNode` as JSON text: compact by default, or laid out with
/// `JSON.GET`'s INDENT, NEWLINE and SPACE strings.
///
/// Strings escape only what JSON requires (quote, backslash, control
/// characters); numbers print as RedisJSON prints them (`3.0` keeps its
/// fraction, exponents as `1e21`, `1.5e-7`).
public struct JSONNodeWriter: Sendable {
    public var indent: String
    public var newline: String
    public var space: String

    public init(indent: String = "", newline: String = "", space: String = "") {
        self.indent = indent
        self.newline = newline
        self.space = space
    }

    public static let compact = JSONNodeWriter()

    public func bytes(_ node: JSONNode) -> [UInt8] {
        var out: [UInt8] = []
        write(node, into: &out, level: 0)
        return out
    }

    public func text(_ node: JSONNode) -> String {
        String(decoding: bytes(node), as: UTF8.self)
    }

    public func write(_ node: JSONNode, into out: inout [UInt8], level: Int) {
        switch node {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .integer(let value): out.append(contentsOf: String(value).utf8)
        case .number(let value): out.append(contentsOf: JSONNodeWriter.format(value).utf8)
        case .string(let value): JSONNodeWriter.writeString(value, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            guard !elements.isEmpty else { out.append(UInt8(ascii: "]")); return }
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                breakLine(into: &out, level: level + 1)
                write(element, into: &out, level: level + 1)
            }
            breakLine(into: &out, level: level)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            guard !members.isEmpty else { out.append(UInt8(ascii: "}")); return }
            var first = true
            for (name, value) in members {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                breakLine(into: &out, level: level + 1)
                JSONNodeWriter.writeString(name, into: &out)
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: space.utf8)
                write(value, into: &out, level: level + 1)
            }
            breakLine(into: &out, level: level)
            out.append(UInt8(ascii: "}"))
        }
    }

    private func breakLine(into out: inout [UInt8], level: Int) {
        out.append(contentsOf: newline.utf8)
        guard !indent.isEmpty else { return }
        for _ in 0..<level { out.append(contentsOf: indent.utf8) }
    }

    static func writeString(_ text: String, into out: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The shortest text that reads back as `value`: plain decimals with a
    /// `.0` for whole numbers while the decimal exponent is within [-5, 16],
    /// scientific (`1e21`, `1.5e-7`) outside it.
    public static func format(_ value: Double) -> String {
        // Swift's description is the shortest round-tripping digit string;
        // take its digits and exponent and lay them out again.
        let (negative, digits, exponent) = decompose(value)
        let sign = negative ? "-" : ""
        let pointPosition = digits.count + exponent  // digits before the decimal point
        if exponent >= 0 && pointPosition <= 16 {
            return sign + digits + String(repeating: "0", count: exponent) + ".0"
        }
        if pointPosition > 0 && pointPosition <= 16 {
            let split = digits.index(digits.startIndex, offsetBy: pointPosition)
            return sign + digits[..<split] + "." + digits[split...]
        }
        if pointPosition > -5 && pointPosition <= 0 {
            return sign + "0." + String(repeating: "0", count: -pointPosition) + digits
        }
        let scientificExponent = pointPosition - 1
        let mantissa = digits.count == 1 ? digits : String(digits.first!) + "." + digits.dropFirst()
        return sign + mantissa + "e" + String(scientificExponent)
    }

    /// `value` as its significant digits (no leading or trailing zeros) and
    /// the power of ten of the last one.
    private static func decompose(_ value: Double) -> (negative: Bool, digits: String, exponent: Int) {
        if value == 0 { return (value.sign == .minus, "0", 0) }
        var text = Substring(value.description)
        let negative = text.hasPrefix("-")
        if negative { text = text.dropFirst() }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        var digits = ""
        if let point = text.firstIndex(of: ".") {
            let fraction = text[text.index(after: point)...]
            digits = String(text[..<point]) + fraction
            exponent -= fraction.count
        } else {
            digits = String(text)
        }
        while digits.count > 1 && digits.hasPrefix("0") { digits.removeFirst() }
        while digits.count > 1 && digits.hasSuffix("0") { digits.removeLast(); exponent += 1 }
        return (negative, digits, exponent)
    }
}
