/// Scores in replies, written as Redis 7.2 writes doubles (ZSCORE, ZINCRBY,
/// WITHSCORES), so clients that compare text see the same thing:
///
/// - `nan`, `inf`, `-inf`, and `-0` for negative zero;
/// - a whole number within ±2^62 as plain integer digits (`3`, `1500`,
///   `100000000`);
/// - anything else as the shortest digit string that reads back to the same
///   double, laid out by three rules: a whole number whose exponent is less
///   than (digits + 7) in full (`123456789012345680000`); a fraction with
///   fewer than 7 digits after the significant ones (or an exponent below 4)
///   in decimal form (`1.5`, `0.000001`); otherwise scientific notation with
///   a signed, unpadded exponent (`1e+20`, `1.5e-7`, `2.5e+300`).
public enum ScoreFormatting {
    /// 2^62: Redis prints integers up to LLONG_MAX/2 with its integer printer.
    private static let integerLimit = 4_611_686_018_427_387_904.0

    public static func string(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        if value >= -integerLimit && value <= integerLimit && value == value.rounded(.towardZero) {
            return String(Int64(value))
        }
        let (digits, exponent) = shortestDigits(abs(value))
        return (value < 0 ? "-" : "") + layout(digits: digits, exponent: exponent)
    }

    public static func bytes(_ value: Double) -> Bytes { Bytes(string(value)) }

    /// The shortest round-trip decimal digits of a positive finite double
    /// and the power of ten of the last one: value = digits × 10^exponent.
    /// Swift's own description is already shortest round-trip; only its
    /// layout differs, so it is taken apart here.
    static func shortestDigits(_ value: Double) -> (digits: [UInt8], exponent: Int) {
        let text = Array(value.description.utf8)
        var digits: [UInt8] = []
        var fractionDigits = 0
        var inFraction = false
        var exponent = 0
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: ".") {
                inFraction = true
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                exponent = Int(String(decoding: text[(index + 1)...], as: UTF8.self)) ?? 0
                break
            } else {
                digits.append(byte)
                if inFraction { fractionDigits += 1 }
            }
            index += 1
        }
        exponent -= fractionDigits
        while digits.count > 1 && digits.first == UInt8(ascii: "0") { digits.removeFirst() }
        while digits.count > 1 && digits.last == UInt8(ascii: "0") {
            digits.removeLast()
            exponent += 1
        }
        return (digits, exponent)
    }

    /// Places the decimal point or exponent for digits × 10^exponent.
    static func layout(digits: [UInt8], exponent k: Int) -> String {
        let count = digits.count
        let decimalExponent = k + count - 1
        let magnitude = abs(decimalExponent)
        var out: [UInt8] = []
        if k >= 0 && magnitude < count + 7 {
            out = digits + Array(repeating: UInt8(ascii: "0"), count: k)
        } else if k < 0 && (k > -7 || magnitude < 4) {
            let integerDigits = count + k
            if integerDigits <= 0 {
                out = Array("0.".utf8) + Array(repeating: UInt8(ascii: "0"), count: -integerDigits) + digits
            } else {
                out = Array(digits[..<integerDigits]) + [UInt8(ascii: ".")] + Array(digits[integerDigits...])
            }
        } else {
            out = [digits[0]]
            if count > 1 { out += [UInt8(ascii: ".")] + Array(digits[1...]) }
            out += Array((decimalExponent < 0 ? "e-" : "e+").utf8)
            out += Array(String(magnitude).utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
