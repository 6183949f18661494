/// The bit arithmetic behind the bitmap commands, on plain byte arrays:
/// ranges as Redis resolves them, population counts and searches a word
/// at a time, and BITOP's combinations. Bit 0 is the most significant bit
/// of byte 0.
enum BitScan {
    /// A BITCOUNT/BITPOS range resolved to bit positions, or nil when it
    /// is empty. `start` and `end` are inclusive, in bytes or in bits,
    /// negative from the end, clamped to the string as Redis clamps them.
    static func bitRange(start: Int64, end: Int64, inBits: Bool, byteCount: Int) -> Range<Int>? {
        let length = Int64(byteCount) * (inBits ? 8 : 1)
        var first = start < 0 ? length + start : start
        var last = end < 0 ? length + end : end
        first = max(first, 0)
        last = min(max(last, 0), length - 1)
        guard first <= last else { return nil }
        return inBits ? Int(first)..<Int(last) + 1 : Int(first) * 8..<(Int(last) + 1) * 8
    }

    /// Set bits among `bits` of `bytes`.
    static func popcount(_ bytes: [UInt8], bits: Range<Int>) -> Int {
        guard !bits.isEmpty else { return 0 }
        let firstByte = bits.lowerBound >> 3, lastByte = (bits.upperBound - 1) >> 3
        return bytes.withUnsafeBytes { raw -> Int in
            var count = 0
            var index = firstByte
            while index + 8 <= lastByte + 1 {
                count += raw.loadUnaligned(fromByteOffset: index, as: UInt64.self).nonzeroBitCount
                index += 8
            }
            while index <= lastByte {
                count += raw[index].nonzeroBitCount
                index += 1
            }
            // Take back the bits of the edge bytes that lie outside the range.
            let leading = bits.lowerBound & 7, trailing = 7 - ((bits.upperBound - 1) & 7)
            if leading > 0 { count -= (raw[firstByte] >> UInt8(8 - leading)).nonzeroBitCount }
            if trailing > 0 { count -= (raw[lastByte] & UInt8((1 << trailing) - 1)).nonzeroBitCount }
            return count
        }
    }

    /// The first bit among `bits` of `bytes` equal to `value`, or nil.
    static func firstBit(_ value: Bool, in bytes: [UInt8], bits: Range<Int>) -> Int? {
        guard !bits.isEmpty else { return nil }
        // Bytes that cannot hold the bit sought: all zeros when seeking a 1,
        // all ones when seeking a 0.
        let skip: UInt8 = value ? 0x00 : 0xFF
        let skipWord: UInt64 = value ? 0 : .max
        return bytes.withUnsafeBytes { raw -> Int? in
            func matches(_ position: Int) -> Bool {
                (raw[position >> 3] & (UInt8(0x80) >> UInt8(position & 7)) != 0) == value
            }
            var position = bits.lowerBound
            while position < bits.upperBound && position & 7 != 0 {
                if matches(position) { return position }
                position += 1
            }
            // Whole bytes inside the range, a word at a time while they cannot match.
            let wholeBytesEnd = bits.upperBound >> 3
            var byte = position >> 3
            while byte + 8 <= wholeBytesEnd && raw.loadUnaligned(fromByteOffset: byte, as: UInt64.self) == skipWord { byte += 8 }
            while byte < wholeBytesEnd && raw[byte] == skip { byte += 1 }
            // The byte that matches, or the range's last partial byte.
            position = max(position, byte * 8)
            while position < bits.upperBound {
                if matches(position) { return position }
                position += 1
            }
            return nil
        }
    }

    // MARK: - BITOP

    enum Operation {
        case and, or, xor, not
        /// Redis 8: the first source's bits set in none of the others.
        case diff
        /// Redis 8: bits set in one of the others but not in the first.
        case diff1
        /// Redis 8: the first source's bits also set in one of the others.
        case andOr
        /// Redis 8: bits set in exactly one source.
        case one

        init?(_ name: Bytes) {
            if name.equalsIgnoringCase("and") { self = .and }
            else if name.equalsIgnoringCase("or") { self = .or }
            else if name.equalsIgnoringCase("xor") { self = .xor }
            else if name.equalsIgnoringCase("not") { self = .not }
            else if name.equalsIgnoringCase("diff") { self = .diff }
            else if name.equalsIgnoringCase("diff1") { self = .diff1 }
            else if name.equalsIgnoringCase("andor") { self = .andOr }
            else if name.equalsIgnoringCase("one") { self = .one }
            else { return nil }
        }

        /// DIFF, DIFF1 and ANDOR compare the first source with the others.
        var needsTwoSources: Bool { self == .diff || self == .diff1 || self == .andOr }
    }

    /// The result of `operation` over `sources`, as long as the longest.
    static func combine(_ operation: Operation, _ sources: [[UInt8]]) -> [UInt8] {
        let length = sources.map(\.count).max() ?? 0
        guard length > 0 else { return [] }
        func byte(_ source: Int, _ index: Int) -> UInt8 {
            index < sources[source].count ? sources[source][index] : 0
        }
        var result = [UInt8](repeating: 0, count: length)
        switch operation {
        case .not:
            for index in 0..<length { result[index] = ~byte(0, index) }
        case .and, .or, .xor:
            result.replaceSubrange(0..<sources[0].count, with: sources[0])
            for source in 1..<sources.count {
                for index in 0..<length {
                    let other = byte(source, index)
                    switch operation {
                    case .and: result[index] &= other
                    case .or: result[index] |= other
                    default: result[index] ^= other
                    }
                }
            }
        case .diff, .diff1, .andOr:
            var others = [UInt8](repeating: 0, count: length)
            for source in 1..<sources.count {
                for index in 0..<sources[source].count { others[index] |= sources[source][index] }
            }
            for index in 0..<length {
                let first = byte(0, index)
                switch operation {
                case .diff: result[index] = first & ~others[index]
                case .diff1: result[index] = ~first & others[index]
                default: result[index] = first & others[index]
                }
            }
        case .one:
            var seenTwice = [UInt8](repeating: 0, count: length)
            for source in sources {
                for index in 0..<source.count {
                    seenTwice[index] |= result[index] & source[index]
                    result[index] |= source[index]
                }
            }
            for index in 0..<length { result[index] &= ~seenTwice[index] }
        }
        return result
    }
}
