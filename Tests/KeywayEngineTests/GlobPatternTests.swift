import Testing
import KeywayEngine

/// Redis's glob (util.c stringmatchlen), used by KEYS, SCAN MATCH and PSUBSCRIBE.
@Suite struct GlobPatternTests {
    private func matches(_ pattern: Bytes, _ subject: Bytes, ignoreCase: Bool = false) -> Bool {
        GlobPattern.matches(pattern, subject, ignoreCase: ignoreCase)
    }

    @Test func literals() {
        #expect(matches("hello", "hello"))
        #expect(!matches("hello", "hell"))
        #expect(!matches("hello", "hello!"))
        #expect(!matches("hello", "Hello"))
        #expect(matches("", ""))
        #expect(!matches("", "a"))
    }

    @Test func star() {
        #expect(matches("*", "anything"))
        #expect(matches("a*", "a"))
        #expect(matches("a*", "abc"))
        #expect(!matches("a*", "ba"))
        #expect(matches("*a", "ba"))
        #expect(!matches("*a", "ab"))
        #expect(matches("a*b*c", "abc"))
        #expect(matches("a*b*c", "aXXbYYc"))
        #expect(!matches("a*b*c", "acb"))
        #expect(matches("h*llo", "heeeello"))
        #expect(matches("h*llo", "hllo"))
        // Runs of stars act as one; trailing stars match the empty rest.
        #expect(matches("a**b", "ab"))
        #expect(matches("a**b", "axxb"))
        #expect(matches("abc*", "abc"))
        #expect(matches("abc***", "abc"))
        #expect(!matches("abc*?", "abc"))
    }

    @Test func questionMark() {
        #expect(matches("h?llo", "hello"))
        #expect(matches("h?llo", "hallo"))
        #expect(!matches("h?llo", "hllo"))
        #expect(!matches("h?llo", "heello"))
        #expect(matches("?", "x"))
        #expect(!matches("?", ""))
        #expect(!matches("?", "xy"))
        #expect(matches("?*", "x"))
        #expect(matches("???", "abc"))
    }

    @Test func characterClasses() {
        #expect(matches("h[ae]llo", "hello"))
        #expect(matches("h[ae]llo", "hallo"))
        #expect(!matches("h[ae]llo", "hillo"))
        #expect(matches("[abc]", "b"))
        #expect(!matches("[abc]", "d"))
        #expect(!matches("[abc]", "ab"))
    }

    @Test func negatedClasses() {
        #expect(matches("h[^e]llo", "hallo"))
        #expect(!matches("h[^e]llo", "hello"))
        #expect(matches("[^a]", "b"))
        #expect(!matches("[^a]", "a"))
        #expect(matches("[^a-c]", "d"))
        #expect(!matches("[^a-c]", "b"))
    }

    @Test func ranges() {
        #expect(matches("h[a-b]llo", "hallo"))
        #expect(matches("h[a-b]llo", "hbllo"))
        #expect(!matches("h[a-b]llo", "hcllo"))
        #expect(matches("[a-z]", "m"))
        #expect(!matches("[a-z]", "M"))
        #expect(matches("[0-9][0-9]", "42"))
        // A reversed range is swapped, as Redis does.
        #expect(matches("[z-a]", "m"))
        #expect(matches("[a-cx-z]", "y"))
        #expect(!matches("[a-cx-z]", "m"))
    }

    @Test func unusualClasses() {
        // An empty class matches nothing; "[^]" matches any one byte.
        #expect(!matches("[]", "a"))
        #expect(!matches("[]", "]"))
        #expect(matches("[^]", "a"))
        // An escaped bracket or dash inside a class is literal.
        #expect(matches("[\\]]", "]"))
        #expect(matches("[a\\-z]", "-"))
        #expect(matches("[a\\-z]", "z"))
        #expect(!matches("[a\\-z]", "b"))
        // An unterminated class ends the pattern.
        #expect(matches("[abc", "a"))
        #expect(!matches("[abc", "ab"))
        #expect(!matches("[abc", "d"))
    }

    @Test func escapes() {
        #expect(matches("\\*", "*"))
        #expect(!matches("\\*", "a"))
        #expect(matches("\\?", "?"))
        #expect(!matches("\\?", "a"))
        #expect(matches("a\\[b", "a[b"))
        #expect(matches("\\\\", "\\"))
        #expect(matches("\\a", "a"))
        #expect(matches("star\\*\\*", "star**"))
        #expect(!matches("star\\*", "starx"))
        // A lone trailing backslash matches itself.
        #expect(matches("a\\", "a\\"))
    }

    @Test func binaryBytes() {
        let nulStar = Bytes([0, UInt8(ascii: "*")])
        #expect(matches(nulStar, Bytes([0, 1, 2])))
        #expect(!matches(nulStar, Bytes([1, 0])))
        #expect(matches("?", Bytes([0xFF])))
        #expect(matches("?", Bytes([0])))
        #expect(matches(Bytes([0xFF, 0x00]), Bytes([0xFF, 0x00])))
        #expect(!matches(Bytes([0xFF, 0x00]), Bytes([0xFF])))
        #expect(matches(Bytes([UInt8(ascii: "["), 0xFE, 0xFF, UInt8(ascii: "]")]), Bytes([0xFF])))
        #expect(matches(Bytes([UInt8(ascii: "*"), 0]), Bytes([UInt8(ascii: "a"), 0])))
        #expect(matches("a*z", Bytes([UInt8(ascii: "a"), 0, 0xFF, UInt8(ascii: "z")])))
    }

    @Test func ignoreCase() {
        #expect(matches("HELLO", "hello", ignoreCase: true))
        #expect(matches("h*O", "HellO", ignoreCase: true))
        #expect(matches("[A-Z]", "q", ignoreCase: true))
        #expect(matches("[abc]", "B", ignoreCase: true))
        #expect(!matches("HELLO", "hello"))
    }

    @Test func pathologicalPatternsFailFast() {
        // Without Redis's skipLongerMatches guard this match takes ~16M
        // recursive calls (about 12 s in a debug build); with it, 30.
        let pattern = Bytes(String(repeating: "a*", count: 9) + "b")
        let subject = Bytes(String(repeating: "a", count: 30))
        var result = true
        let elapsed = ContinuousClock().measure { result = matches(pattern, subject) }
        #expect(!result)
        #expect(elapsed < .seconds(2))
        #expect(matches(pattern, Bytes(String(repeating: "a", count: 30) + "b")))
    }
}
