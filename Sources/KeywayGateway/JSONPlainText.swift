/// Whether bytes can be written inside a JSON string as they are: printable
/// ASCII with no `"` or `\`. Most keys, field names and values are, so
/// `JSONWriter` checks this first and appends such a run in one copy,
/// eight bytes tested per step instead of one.
enum JSONPlainText {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    static func isPlain(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = buffer.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        let count = buffer.count
        var offset = 0
        while offset + 8 <= count {
            if !isPlainWord(raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) { return false }
            offset += 8
        }
        while offset < count {
            let byte = base[offset]
            if byte < 0x20 || byte >= 0x80 || byte == 0x22 || byte == 0x5C { return false }
            offset += 1
        }
        return true
    }

    /// No byte of `word` is below 0x20, at or above 0x80, `"` or `\`.
    /// A byte `b` below `n` (n <= 0x80) sets its high bit in
    /// `(b - n) & ~b & 0x80`; a byte equal to `c` is a zero byte of `word ^ c`.
    @inline(__always)
    private static func isPlainWord(_ word: UInt64) -> Bool {
        let control = (word &- ones &* 0x20) & ~word
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let quoteZero = (quote &- ones) & ~quote
        let backslashZero = (backslash &- ones) & ~backslash
        return (word | control | quoteZero | backslashZero) & highBits == 0
    }
}
