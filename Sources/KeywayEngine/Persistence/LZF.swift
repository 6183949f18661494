/// LZF, the compression Redis applies to long strings in RDB files
/// (`lzf_c.c`/`lzf_d.c`). The stream is a sequence of:
/// - a literal run: control byte `000LLLLL`, then L+1 bytes;
/// - a back reference: `LLLOOOOO OOOOOOOO` (length L+2, offset O+1 back),
///   or when L is 7, `111OOOOO` + one more length byte + the offset low byte.
public enum LZF {
    /// Decompresses `input`; nil unless it decodes to exactly `expectedLength` bytes.
    public static func decompress<C: Collection>(_ input: C, expectedLength: Int) -> [UInt8]? where C.Element == UInt8 {
        guard expectedLength >= 0 else { return nil }
        let data = Array(input)
        var complete = false
        let output = [UInt8](unsafeUninitializedCapacity: expectedLength) { buffer, count in
            complete = data.withUnsafeBytes { decompress($0, into: UnsafeMutableRawBufferPointer(buffer)) }
            count = complete ? expectedLength : 0
        }
        return complete ? output : nil
    }

    /// Decompresses `input` into `output`, which must be exactly as long as
    /// the plain data: false when the data is corrupt or does not fill it.
    /// Lets the RDB reader decode into a buffer it reuses for every string.
    public static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        let inputCount = input.count, outputCount = output.count
        var ip = 0, op = 0
        while ip < inputCount {
            let control = Int(input[ip])
            ip += 1
            if control < 32 {
                let run = control + 1
                guard ip + run <= inputCount, op + run <= outputCount else { return false }
                (output.baseAddress! + op).copyMemory(from: input.baseAddress! + ip, byteCount: run)
                ip += run
                op += run
            } else {
                var length = control >> 5
                if length == 7 {
                    guard ip < inputCount else { return false }
                    length += Int(input[ip])
                    ip += 1
                }
                length += 2
                guard ip < inputCount else { return false }
                let distance = ((control & 0x1F) << 8) + Int(input[ip]) + 1
                ip += 1
                guard distance <= op, op + length <= outputCount else { return false }
                // Byte by byte: a back reference may overlap what it writes.
                var from = op - distance
                for _ in 0..<length {
                    output[op] = output[from]
                    op += 1
                    from += 1
                }
            }
        }
        return op == outputCount
    }

    /// Compresses `input`; nil when the result would exceed `limit` bytes
    /// (Redis then stores the string uncompressed).
    public static func compress<C: Collection>(_ input: C, limit: Int) -> [UInt8]? where C.Element == UInt8 {
        var compressor = Compressor()
        let data = Array(input)
        let fits = data.withUnsafeBytes { compressor.compress($0, limit: limit) }
        return fits ? compressor.output : nil
    }

    /// A compressor kept for many strings (an RDB file's): its table and its
    /// output buffer are allocated once, and the table is never cleared.
    ///
    /// Each slot holds a position counted from the first byte this
    /// compressor ever saw (`base` is where the current input starts), so a
    /// slot written for an earlier string reads as below `base`: empty. A
    /// table cleared, or allocated, per string cost more than compressing a
    /// 40-byte value (a million of them in one SAVE).
    public struct Compressor {
        /// The compressed bytes of the last `compress` that returned true.
        public private(set) var output: [UInt8] = []
        /// Grown to the largest input's needs, never shrunk or cleared.
        private var table: [Int] = []
        private var base = 0
        private static let maxHashBits = 14

        public init() {}

        /// Compresses `data` into `output`; false when the result would
        /// exceed `limit` bytes (Redis then stores the string uncompressed).
        public mutating func compress(_ data: UnsafeRawBufferPointer, limit: Int) -> Bool {
            let count = data.count
            output.removeAll(keepingCapacity: true)
            guard count > 0, limit > 0 else { return false }
            let base = self.base
            // Past every position this input writes, so the next input's
            // slots start out empty.
            self.base = base + count
            output.reserveCapacity(min(limit, count))
            // The hash's width grows with the input, as short strings find
            // their matches in a small table.
            let hashBits = min(Self.maxHashBits, max(8, (Int.bitWidth - count.leadingZeroBitCount) + 1))
            let hashMask = (1 << hashBits) - 1
            if table.count <= hashMask { table.append(contentsOf: repeatElement(-1, count: hashMask + 1 - table.count)) }
            var literalStart = 0
            // The table leaves `self` while it is written, so appending to
            // `output` is not an overlapping access.
            var table: [Int] = []
            swap(&table, &self.table)
            defer { swap(&table, &self.table) }
            return table.withUnsafeMutableBufferPointer { table in
                var ip = 0
                while ip + 2 < count {
                    let triple = Int(data[ip]) << 16 | Int(data[ip + 1]) << 8 | Int(data[ip + 2])
                    let hash = ((triple &* 2_654_435_761) >> 18) & hashMask
                    let candidate = table[hash] - base
                    table[hash] = base + ip
                    if candidate >= 0, ip - candidate - 1 < 8192,
                       data[candidate] == data[ip], data[candidate + 1] == data[ip + 1], data[candidate + 2] == data[ip + 2] {
                        var length = 3
                        let maxLength = min(264, count - ip)
                        while length < maxLength && data[candidate + length] == data[ip + length] { length += 1 }
                        appendLiterals(data, from: literalStart, upTo: ip)
                        let offset = ip - candidate - 1
                        let code = length - 2
                        if code < 7 {
                            output.append(UInt8(code << 5 | offset >> 8))
                        } else {
                            output.append(UInt8(7 << 5 | offset >> 8))
                            output.append(UInt8(code - 7))
                        }
                        output.append(UInt8(offset & 0xFF))
                        ip += length
                        literalStart = ip
                        if output.count > limit { return false }
                        continue
                    }
                    ip += 1
                }
                appendLiterals(data, from: literalStart, upTo: count)
                return output.count <= limit
            }
        }

        /// Literal runs of at most 32 bytes, each after its control byte.
        private mutating func appendLiterals(_ data: UnsafeRawBufferPointer, from start: Int, upTo end: Int) {
            var start = start
            while start < end {
                let run = min(32, end - start)
                output.append(UInt8(run - 1))
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[start..<(start + run)]))
                start += run
            }
        }
    }
}
