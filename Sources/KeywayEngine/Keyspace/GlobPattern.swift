/// Redis's glob matching (KEYS, SCAN MATCH, PSUBSCRIBE): `*`, `?`, `[abc]`,
/// `[^a-z]`, and `\` to escape, over raw bytes.
public enum GlobPattern {
    /// `text` as a pattern that matches only itself: `*?[]\` escaped.
    public static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            if "*?[]\\".contains(character) { result.append("\\") }
            result.append(character)
        }
        return result
    }

    public static func matches(_ pattern: Bytes, _ subject: Bytes, ignoreCase: Bool = false) -> Bool {
        pattern.storage.withUnsafeBufferPointer { p in
            subject.storage.withUnsafeBufferPointer { s in
                var skipLongerMatches = false
                return match(p[...], s[...], ignoreCase: ignoreCase, nesting: 0, skipLongerMatches: &skipLongerMatches)
            }
        }
    }

    private static func fold(_ byte: UInt8, _ ignoreCase: Bool) -> UInt8 {
        ignoreCase && byte >= 65 && byte <= 90 ? byte + 32 : byte
    }

    /// Recursive matcher with Redis's guard against exponential backtracking:
    /// once a `*` failed to match at any later position, longer tries fail too.
    private static func match(
        _ pattern: Slice<UnsafeBufferPointer<UInt8>>, _ string: Slice<UnsafeBufferPointer<UInt8>>,
        ignoreCase: Bool, nesting: Int, skipLongerMatches: inout Bool
    ) -> Bool {
        if nesting > 1000 { return false }
        var p = pattern
        var s = string
        while let c = p.first {
            switch c {
            case UInt8(ascii: "*"):
                while p.count > 1 && p[p.startIndex + 1] == UInt8(ascii: "*") { p = p.dropFirst() }
                if p.count == 1 { return true }
                while !s.isEmpty {
                    if match(p.dropFirst(), s, ignoreCase: ignoreCase, nesting: nesting + 1, skipLongerMatches: &skipLongerMatches) {
                        return true
                    }
                    if skipLongerMatches { return false }
                    s = s.dropFirst()
                }
                skipLongerMatches = true
                return false
            case UInt8(ascii: "?"):
                if s.isEmpty { return false }
                s = s.dropFirst()
            case UInt8(ascii: "["):
                guard let subject = s.first else { return false }
                p = p.dropFirst()
                let negate = p.first == UInt8(ascii: "^")
                if negate { p = p.dropFirst() }
                var matched = false
                while let pc = p.first {
                    if pc == UInt8(ascii: "\\") && p.count >= 2 {
                        p = p.dropFirst()
                        if fold(p.first!, ignoreCase) == fold(subject, ignoreCase) { matched = true }
                    } else if pc == UInt8(ascii: "]") {
                        break
                    } else if p.count >= 3 && p[p.startIndex + 1] == UInt8(ascii: "-") {
                        var low = fold(pc, ignoreCase)
                        var high = fold(p[p.startIndex + 2], ignoreCase)
                        if low > high { swap(&low, &high) }
                        let folded = fold(subject, ignoreCase)
                        if folded >= low && folded <= high { matched = true }
                        p = p.dropFirst(2)
                    } else if fold(pc, ignoreCase) == fold(subject, ignoreCase) {
                        matched = true
                    }
                    p = p.dropFirst()
                }
                // `p` now starts at `]`, or is empty when the class is unterminated.
                if negate { matched.toggle() }
                if !matched { return false }
                s = s.dropFirst()
                if p.isEmpty { return s.isEmpty }
            case UInt8(ascii: "\\") where p.count >= 2:
                p = p.dropFirst()
                guard let subject = s.first, fold(p.first!, ignoreCase) == fold(subject, ignoreCase) else { return false }
                s = s.dropFirst()
            default:
                guard let subject = s.first, fold(c, ignoreCase) == fold(subject, ignoreCase) else { return false }
                s = s.dropFirst()
            }
            p = p.dropFirst()
            if s.isEmpty {
                while p.first == UInt8(ascii: "*") { p = p.dropFirst() }
                break
            }
        }
        return p.isEmpty && s.isEmpty
    }
}
