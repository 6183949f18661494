import Testing
@testable import KeywayGateway

/// Integers written as decimal text without `String(value)` must read
/// exactly as `String(value)` does.
@Suite struct DecimalTextTests {
    static let values: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, 12_345, -98_765, 1 << 32, Int64(Int32.max), Int64.max, Int64.min, Int64.min + 1]

    @Test func matchesStringOfTheValue() {
        for value in Self.values {
            #expect(DecimalText.string(value) == String(value))
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            let value = Int64.random(in: .min ... .max, using: &generator) >> Int64.random(in: 0...63, using: &generator)
            #expect(DecimalText.string(value) == String(value))
        }
    }

    @Test func jsonIntegersAreTheirDecimalText() {
        for value in Self.values {
            var json = JSONWriter()
            json.array([value, value]) { $0.integer($1) }
            #expect(String(decoding: json.bytes, as: UTF8.self) == "[\(value),\(value)]")
        }
    }
}
