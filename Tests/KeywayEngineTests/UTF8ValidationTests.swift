import KeywayEngine
import Testing

/// The word-at-a-time ASCII test in front of UTF-8 validation must not
/// change any answer: a byte with its high bit set anywhere in a buffer,
/// in any lane of a word or in the tail, sends it to the full decoder.
@Suite struct UTF8ValidationTests {
    static func decoderSays(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }

    @Test func aHighByteAnywhereIsNoticed() {
        for length in [1, 7, 8, 9, 15, 16, 17, 40] {
            for position in 0..<length {
                for byte: UInt8 in [0x7F, 0x80, 0xC3, 0xE2, 0xFF] {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = byte
                    #expect(UTF8Validation.isValid(bytes) == Self.decoderSays(bytes), "\(byte) at \(position) of \(length)")
                    #expect(UTF8Validation.isValid(bytes[...]) == Self.decoderSays(bytes))
                }
            }
        }
    }

    @Test func randomBuffersAgreeWithTheStandardDecoder() {
        var generator = SystemRandomNumberGenerator()
        let samples: [[UInt8]] = [Array("naïve café ☕️".utf8), Array("plain ascii, long enough for words".utf8), [0xE2, 0x82], [0xED, 0xA0, 0x80]]
        for bytes in samples { #expect(UTF8Validation.isValid(bytes) == Self.decoderSays(bytes)) }
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...48, using: &generator)
            let bytes = (0..<length).map { _ in
                Int.random(in: 0..<10, using: &generator) == 0 ? UInt8.random(in: 0x80...0xFF, using: &generator)
                    : UInt8.random(in: 0...0x7F, using: &generator)
            }
            #expect(UTF8Validation.isValid(bytes) == Self.decoderSays(bytes))
        }
    }
}
