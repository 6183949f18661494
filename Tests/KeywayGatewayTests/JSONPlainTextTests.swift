import Testing
@testable import KeywayGateway

/// The eight-bytes-at-a-time test must agree with the byte-by-byte rule,
/// whatever the byte and wherever it sits in the word, and strings written
/// through its fast path must read back as they were.
@Suite struct JSONPlainTextTests {
    static func isPlainByByte(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy { $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C }
    }

    @Test func everyByteAtEveryPositionIsJudgedAsByteByByte() {
        for length in [1, 7, 8, 9, 16, 17, 24] {
            for position in 0..<length {
                for byte in UInt8.min...UInt8.max {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = byte
                    let plain = bytes.withUnsafeBufferPointer { JSONPlainText.isPlain($0) }
                    #expect(plain == Self.isPlainByByte(bytes), "byte \(byte) at \(position) of \(length)")
                }
            }
        }
    }

    @Test func neighbouringBytesDoNotHideOrInventAnEscape() {
        // Borrows between bytes are where word-wide tests go wrong: pairs of
        // bytes around the thresholds, side by side, in all eight lanes.
        let edges: [UInt8] = [0x00, 0x01, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7E, 0x7F, 0x80, 0xFF]
        for lane in 0..<7 {
            for first in edges {
                for second in edges {
                    var bytes = [UInt8](repeating: UInt8(ascii: "x"), count: 8)
                    bytes[lane] = first
                    bytes[lane + 1] = second
                    let plain = bytes.withUnsafeBufferPointer { JSONPlainText.isPlain($0) }
                    #expect(plain == Self.isPlainByByte(bytes))
                }
            }
        }
    }

    @Test func randomBuffersAgree() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...40, using: &generator)
            // Mostly printable, so that long plain runs are common.
            let bytes = (0..<length).map { _ in
                Bool.random(using: &generator) || Bool.random(using: &generator)
                    ? UInt8.random(in: 0x20...0x7E, using: &generator) : UInt8.random(in: 0...255, using: &generator)
            }
            let plain = bytes.withUnsafeBufferPointer { JSONPlainText.isPlain($0) }
            #expect(plain == Self.isPlainByByte(bytes))
        }
    }

    @Test func stringsReadBackAsWritten() throws {
        let texts = ["", "user:session:00000001", String(repeating: "v", count: 40), "a\"b", "tab\there", "back\\slash",
                     "line\nbreak", "\u{1}control", "naïve café ☕️", "exactly8", "sixteen bytes!!!", "x\u{7F}y"]
        for text in texts {
            var json = JSONWriter()
            json.string(text)
            #expect(try JSONParser.parse(json.bytes) == .string(text), "\(text)")
        }
    }
}
