import Testing
@testable import KeywayEngine

@Suite("RDB primitives")
struct RDBFormatTests {
    @Test func crc64MatchesRedisTestVector() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xe9c6_d914_c4b8_d9ca)
        // Incremental updates equal one-shot, across the 8-byte fast path.
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var crc = CRC64()
        crc.update(data[0..<3]); crc.update(data[3..<517]); crc.update(data[517...])
        #expect(crc.value == CRC64.checksum(data))
    }

    @Test func lengthEncodings() throws {
        let cases: [(UInt64, [UInt8])] = [
            (0, [0x00]), (63, [0x3F]), (64, [0x40, 0x40]), (16383, [0x7F, 0xFF]),
            (16384, [0x80, 0x00, 0x00, 0x40, 0x00]), (UInt64(UInt32.max), [0x80, 0xFF, 0xFF, 0xFF, 0xFF]),
            (UInt64(UInt32.max) + 1, [0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ]
        for (value, bytes) in cases {
            var encoder = RDBEncoder()
            encoder.length(value)
            #expect(encoder.bytes == bytes, "length \(value)")
            var decoder = RDBDecoder(bytes)
            #expect(try decoder.length() == value)
        }
    }

    @Test func stringEncodings() throws {
        let cases: [(String, [UInt8])] = [
            ("12", [0xC0, 12]), ("-128", [0xC0, 0x80]), ("300", [0xC1, 0x2C, 0x01]),
            ("70000", [0xC2, 0x70, 0x11, 0x01, 0x00]), ("007", [0x03, 0x30, 0x30, 0x37]),
            ("-0", [0x02, 0x2D, 0x30]), ("abc", [0x03, 0x61, 0x62, 0x63]),
        ]
        for (text, bytes) in cases {
            var encoder = RDBEncoder()
            encoder.string(text)
            #expect(encoder.bytes == bytes, "\(text)")
            var decoder = RDBDecoder(bytes)
            #expect(try decoder.string() == Array(text.utf8))
        }
    }

    @Test func lzfDecodesKnownBuffer() throws {
        // "abcabcabcabc": a literal run "abc", then a back reference of
        // length 9 at distance 3 (ctrl 0b111_00000, extra length 0, offset 2).
        let packed: [UInt8] = [0x02, 0x61, 0x62, 0x63, 0xE0, 0x00, 0x02]
        #expect(LZF.decompress(packed, expectedLength: 12) == Array("abcabcabcabc".utf8))
        #expect(LZF.decompress(packed, expectedLength: 11) == nil)
        // A reference before the start of the output is rejected.
        #expect(LZF.decompress([0x20, 0x05], expectedLength: 3) == nil)
        // LZF string encoding in an RDB string.
        var decoder = RDBDecoder([0xC3, 0x07, 0x0C] + packed)
        #expect(try decoder.string() == Array("abcabcabcabc".utf8))
    }

    @Test func lzfRoundTrip() {
        let text = Array(String(repeating: "keyway snapshot ", count: 200).utf8) + (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let packed = LZF.compress(text, limit: text.count)!
        #expect(packed.count < text.count / 3)
        #expect(LZF.decompress(packed, expectedLength: text.count) == text)
    }

    @Test("LZF round-trips every size, its table sized to the input")
    func lzfRoundTripsEverySize() {
        var random = SplitMix64(seed: 40)
        for count in [21, 40, 64, 127, 128, 255, 256, 1_000, 4_096, 20_000, 70_000] {
            let repetitive = (0..<count).map { UInt8(truncatingIfNeeded: $0 % 7 + 97) }
            let packed = LZF.compress(repetitive, limit: count)
            #expect(packed != nil && packed!.count < count * 3 / 4, "\(count) bytes")
            #expect(packed.flatMap { LZF.decompress($0, expectedLength: count) } == repetitive)
            let noise = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if let packed = LZF.compress(noise, limit: count) {
                #expect(LZF.decompress(packed, expectedLength: count) == noise)
            }
        }
    }

    @Test("A compressor kept for many strings writes what a fresh one writes, its stale slots read as empty")
    func lzfCompressorReusedAcrossStrings() {
        var random = SplitMix64(seed: 7)
        var kept = LZF.Compressor()
        // Short and long, similar and unrelated inputs, in an order where
        // earlier inputs leave slots behind that later ones hash into.
        var inputs: [[UInt8]] = []
        for index in 0..<300 {
            let count = [21, 40, 41, 200, 1_000, 5_000][index % 6]
            if index % 3 == 0 {
                inputs.append((0..<count).map { _ in UInt8(truncatingIfNeeded: random.next() % 4 + 97) })
            } else {
                inputs.append(Array("value:\(index):".utf8) + [UInt8](repeating: UInt8(index % 251), count: count))
            }
        }
        for input in inputs {
            let fits = input.withUnsafeBytes { kept.compress($0, limit: input.count - 4) }
            var fresh = LZF.Compressor()
            let freshFits = input.withUnsafeBytes { fresh.compress($0, limit: input.count - 4) }
            #expect(fits == freshFits)
            #expect(kept.output == fresh.output, "\(input.count) bytes")
            if fits { #expect(LZF.decompress(kept.output, expectedLength: input.count) == input) }
        }
    }

    @Test func listpackDecodesHandBuiltBuffer() throws {
        // Elements: 5 (7-bit uint), "hi" (6-bit string), -100 (13-bit int),
        // 1000000 (24-bit int), then the terminator.
        var body: [UInt8] = []
        body += [0x05, 0x01]
        body += [0x82, 0x68, 0x69, 0x03]
        let minus100 = (1 << 13) - 100
        body += [0xC0 | UInt8(minus100 >> 8), UInt8(minus100 & 0xFF), 0x02]
        body += [0xF2, 0x40, 0x42, 0x0F, 0x04]
        let total = 6 + body.count + 1
        let bytes: [UInt8] = [UInt8(total), 0, 0, 0, 4, 0] + body + [0xFF]
        let elements = try Listpack.decode(bytes)
        #expect(elements == [.integer(5), .string(Array("hi".utf8)), .integer(-100), .integer(1_000_000)])

        var builder = ListpackBuilder()
        for element in ["5", "hi", "-100", "1000000"] { builder.append(Bytes(element)) }
        #expect(builder.bytes() == bytes)

        var corrupt = bytes
        corrupt[7] = 0x09 // backlen of the first element
        #expect(throws: RDBError.self) { try Listpack.decode(corrupt) }
    }

    @Test func listpackRoundTripsEveryWidth() throws {
        let values: [String] = ["0", "127", "128", "-1", "-4096", "4095", "4096", "-32768", "32767", "40000",
                                "-8388608", "8388607", "8388608", "2147483647", "-2147483648", "2147483648",
                                "9223372036854775807", "-9223372036854775808", "", String(repeating: "x", count: 63),
                                String(repeating: "y", count: 64), String(repeating: "z", count: 4095), String(repeating: "w", count: 5000), "01", "+1"]
        var builder = ListpackBuilder()
        for value in values { builder.append(Bytes(value)) }
        let decoded = try Listpack.decode(builder.bytes())
        #expect(decoded.map(\.bytes) == values.map { Bytes($0) })
    }

    @Test func intsetDecodesHandBuiltBuffer() throws {
        // width 2, three elements: -2, 7, 300
        let bytes: [UInt8] = [2, 0, 0, 0, 3, 0, 0, 0, 0xFE, 0xFF, 0x07, 0x00, 0x2C, 0x01]
        #expect(try Intset.decode(bytes) == [-2, 7, 300])
        #expect(Intset.encode([300, -2, 7]) == bytes)
        #expect(try Intset.decode(Intset.encode([1, 1 << 40, -5])) == [-5, 1, 1 << 40])
        var unsorted = bytes
        unsorted.swapAt(8, 10); unsorted.swapAt(9, 11)
        #expect(throws: RDBError.self) { try Intset.decode(unsorted) }
    }

    @Test func ziplistDecodesHandBuiltBuffer() throws {
        // entries: "ab" (6-bit string), 12 (4-bit immediate), -2 (int8)
        let body: [UInt8] = [0x00, 0x02, 0x61, 0x62, 0x04, 0xFD, 0x02, 0xFE, 0xFE]
        let total = 10 + body.count + 1
        let bytes: [UInt8] = [UInt8(total), 0, 0, 0, 0, 0, 0, 0, 3, 0] + body + [0xFF]
        #expect(try Ziplist.decode(bytes) == [.string(Array("ab".utf8)), .integer(12), .integer(-2)])
    }
}
