import KeywayEngine
import Testing

/// Scores print as Redis 7.2 prints doubles.
@Suite struct SortedSetScoreFormattingTests {
    @Test(arguments: [
        (1.5, "1.5"), (3.0, "3"), (-3.0, "-3"), (0.0, "0"), (-0.0, "-0"),
        (1e20, "1e+20"), (-1e20, "-1e+20"), (1e21, "1e+21"), (1.5e300, "1.5e+300"),
        (Double.infinity, "inf"), (-Double.infinity, "-inf"),
        (0.1, "0.1"), (0.3, "0.3"), (0.1 + 0.2, "0.30000000000000004"), (2.5, "2.5"), (-0.5, "-0.5"),
        (1500.0, "1500"), (100_000_000.0, "100000000"), (1e15, "1000000000000000"),
        (4_611_686_018_427_387_904.0, "4611686018427387904"),
        (9_223_372_036_854_775_808.0, "9223372036854776000"),
        (1.2345678901234567e20, "123456789012345670000"),
        (0.000001, "0.000001"), (0.0000001, "1e-7"), (1.5e-7, "1.5e-7"), (1.25e-10, "1.25e-10"),
        (0.0012345678, "0.0012345678"), (0.00012345678, "1.2345678e-4"),
        (12345.678, "12345.678"), (1234567.5, "1234567.5"),
        (Double.leastNonzeroMagnitude, "5e-324"), (Double.greatestFiniteMagnitude, "1.7976931348623157e+308"),
        (1e100, "1e+100"), (1e-100, "1e-100"), (3.14159, "3.14159"),
    ])
    func formatsLikeRedis(value: Double, expected: String) {
        #expect(ScoreFormatting.string(value) == expected)
    }

    @Test func nanPrintsAsNan() {
        #expect(ScoreFormatting.string(.nan) == "nan")
    }

    /// Every formatted finite score reads back as the same double.
    @Test func roundTripsThroughText() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let value = Double(bitPattern: generator.next())
            guard value.isFinite else { continue }
            let text = ScoreFormatting.string(value)
            #expect(Double(text) == value, "\(value) printed as \(text)")
        }
    }
}
