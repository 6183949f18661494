import Testing
import KeywayEngine

/// Redis's number rules (util.c): string2ll, string2d/string2ld, ld2string.
@Suite struct ParseTests {
    // MARK: - string2ll

    @Test(arguments: [
        ("0", 0 as Int64), ("1", 1), ("-1", -1), ("10", 10), ("1234567890", 1_234_567_890),
        ("9223372036854775807", Int64.max), ("-9223372036854775808", Int64.min),
        ("-9223372036854775807", -Int64.max),
    ])
    func strictIntegersParse(_ text: String, _ value: Int64) {
        #expect(Parse.strictInt64(Bytes(text)) == value)
    }

    @Test(arguments: [
        "", "-", "+", "+1", "-0", "00", "01", "-01", " 1", "1 ", "1.0", "1.5", "1e3", "0x10",
        "--1", "1-", "a", "１", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "99999999999999999999", "100000000000000000000",
        "000000000000000000001",
    ])
    func nonStrictIntegersAreRejected(_ text: String) {
        #expect(Parse.strictInt64(Bytes(text)) == nil)
    }

    @Test func integersWithNulAreRejected() {
        #expect(Parse.strictInt64(Bytes([UInt8(ascii: "1"), 0])) == nil)
        #expect(Parse.strictInt64(Bytes([0, UInt8(ascii: "1")])) == nil)
    }

    @Test func integerThrowsRedisText() {
        #expect(throws: CommandError.notInteger) { try Parse.integer("1.5") }
        #expect((try? Parse.integer("42")) == 42)
    }

    // MARK: - string2d

    @Test(arguments: [
        ("1.5", 1.5), ("-2", -2), ("0", 0), ("1e3", 1000), ("+7", 7), (".5", 0.5), ("5.", 5),
        ("0x10", 16), ("inf", Double.infinity), ("-inf", -Double.infinity), ("+inf", Double.infinity),
        ("4e-320", 4e-320),
    ])
    func doublesParse(_ text: String, _ value: Double) {
        #expect(Parse.strictDouble(Bytes(text)) == value)
    }

    @Test(arguments: ["", " 1", "1 ", "nan", "NaN", "-nan", "abc", "1.5x", "1e400", "-1e400", "1e-400", "--1"])
    func nonDoublesAreRejected(_ text: String) {
        #expect(Parse.strictDouble(Bytes(text)) == nil)
    }

    @Test func doubleThrowsRedisText() {
        #expect(throws: CommandError.notFloat) { try Parse.double("x") }
    }

    // MARK: - string2ld and ld2string (INCRBYFLOAT)

    @Test func longDoublesParse() {
        #expect(Parse.strictLongDouble("1.25") == 1.25)
        #expect(Parse.strictLongDouble("-3") == -3)
        #expect(Parse.strictLongDouble("inf") == .infinity)
        for bad in ["", " 1", "1 ", "nan", "abc", "1e99999"] {
            #expect(Parse.strictLongDouble(Bytes(bad)) == nil, "\(bad)")
        }
        // string2ld refuses anything of 5120 bytes or more (MAX_LONG_DOUBLE_CHARS).
        #expect(Parse.strictLongDouble(Bytes("1." + String(repeating: "0", count: 5117))) == 1)
        #expect(Parse.strictLongDouble(Bytes("1." + String(repeating: "0", count: 5118))) == nil)
    }

    #if arch(x86_64) || arch(i386)
    @Test func longDoublesHaveTheLongDoubleRange() {
        #expect(Parse.strictLongDouble("1.1e4932") != nil)
        #expect(Parse.strictLongDouble("1.2e4932") == nil)
    }
    #endif

    @Test func humanFormatTrimsZeros() {
        #expect(Parse.formatLongDouble(3000) == "3000")
        #expect(Parse.formatLongDouble(1.25) == "1.25")
        #expect(Parse.formatLongDouble(-2.5) == "-2.5")
        #expect(Parse.formatLongDouble(0) == "0")
        #expect(Parse.formatLongDouble(-0.0) == "0")
        #expect(Parse.formatLongDouble(1e-20) == "0")
        #expect(Parse.formatLongDouble(-1e-20) == "0")
        #expect(Parse.formatLongDouble(Parse.strictLongDouble("10.6")!) == "10.6")
        #expect(Parse.formatLongDouble(Parse.strictLongDouble("0.1")!) == "0.1")
        #expect(Parse.formatLongDouble(17_179_869_185.5) == "17179869185.5")
    }
}
