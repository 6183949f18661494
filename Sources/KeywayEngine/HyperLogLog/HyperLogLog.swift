/// A HyperLogLog in Redis's own string layout, so that one written here
/// loads in redis-server from an RDB file and counts the same, and back.
///
/// The string is a 16-byte header (`HYLL`, the encoding, three unused
/// bytes, the cached cardinality in 8 little-endian bytes whose top bit
/// marks it stale) and 16,384 six-bit registers, either:
/// - **dense**: the registers packed least significant bit first, 12,288
///   bytes; or
/// - **sparse**: run-length opcodes: `00xxxxxx` is 1-64 zero registers,
///   `01xxxxxx yyyyyyyy` 1-16,384 zero registers, `1vvvvvxx` 1-4
///   registers of value 1-32. A new HLL is sparse (18 bytes); it turns
///   dense for good when a register needs more than 32 or the string
///   would pass `hll-sparse-max-bytes`.
///
/// Here the sparse opcodes are decoded to runs of equal registers, changed,
/// and encoded again; each member costs a pass over the runs (at most a
/// few thousand), each dense member O(1).
struct HyperLogLog {
    static let precision = 14
    static let registerCount = 1 << precision
    /// Bits of the hash left after the register index (Redis's HLL_Q).
    static let rankBits = 64 - precision
    static let headerSize = 16
    static let denseSize = headerSize + (registerCount * 6 + 7) / 8
    static let maxSparseValue: UInt8 = 32
    static let maxShortZeroRun = 64
    static let maxSparseRunOfValue = 4
    /// Redis's default `hll-sparse-max-bytes`.
    static let defaultSparseMaxBytes = 3000

    static let notAHyperLogLog = CommandError(.wrongType, "WRONGTYPE Key is not a valid HyperLogLog string value.")
    static let corrupted = CommandError(.generic, "INVALIDOBJ Corrupted HLL object detected")

    enum Encoding: UInt8 { case dense = 0, sparse = 1 }

    /// A run of equal registers in a sparse HLL.
    struct Run: Equatable {
        var value: UInt8
        var length: Int

        /// Bytes of opcodes the run takes.
        var encodedSize: Int {
            value == 0 ? (length > HyperLogLog.maxShortZeroRun ? 2 : 1) : (length + HyperLogLog.maxSparseRunOfValue - 1) / HyperLogLog.maxSparseRunOfValue
        }
    }

    /// The whole string value, header included.
    var bytes: [UInt8]

    /// An empty HLL: sparse, one opcode for all 16,384 zero registers, and a
    /// valid cached cardinality of 0.
    static func empty() -> HyperLogLog {
        var hll = HyperLogLog(trusted: Array("HYLL".utf8) + [Encoding.sparse.rawValue, 0, 0, 0] + [UInt8](repeating: 0, count: 8))
        hll.bytes += encode([Run(value: 0, length: registerCount)])
        return hll
    }

    /// Whether a string value has the layout of an HLL (Redis's
    /// isHLLObjectOrReply checks: the magic, a known encoding, the dense
    /// size). A sparse one's opcodes are checked when it is read.
    static func isValid(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= headerSize, bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "Y"),
              bytes[2] == UInt8(ascii: "L"), bytes[3] == UInt8(ascii: "L"),
              let encoding = Encoding(rawValue: bytes[4]) else { return false }
        return encoding == .sparse || bytes.count == denseSize
    }

    init?(validating bytes: [UInt8]) {
        guard Self.isValid(bytes) else { return nil }
        self.bytes = bytes
    }

    /// Wraps bytes `isValid` accepted.
    init(trusted bytes: [UInt8]) { self.bytes = bytes }

    var encoding: Encoding { bytes[4] == Encoding.dense.rawValue ? .dense : .sparse }

    // MARK: - The cached cardinality

    var cachedCardinality: Int64? {
        guard bytes[15] & 0x80 == 0 else { return nil }
        var value: UInt64 = 0
        for index in (8..<16).reversed() { value = value << 8 | UInt64(bytes[index]) }
        return Int64(value)
    }

    mutating func storeCardinality(_ cardinality: Int64) {
        var value = UInt64(cardinality)
        for index in 8..<16 {
            bytes[index] = UInt8(truncatingIfNeeded: value)
            value >>= 8
        }
    }

    mutating func invalidateCache() { bytes[15] |= 0x80 }

    // MARK: - Members to registers

    /// The register a member falls in, and the rank it offers: one more
    /// than the trailing zeros of the rest of its hash (1...51).
    static func registerAndRank(of member: [UInt8]) -> (register: Int, rank: UInt8) {
        let hash = MurmurHash64A.hash(member)
        let register = Int(hash & UInt64(registerCount - 1))
        let rest = (hash >> UInt64(precision)) | (UInt64(1) << UInt64(rankBits))
        return (register, UInt8(rest.trailingZeroBitCount + 1))
    }

    // MARK: - Dense registers

    static func denseRegister(_ bytes: [UInt8], _ register: Int) -> UInt8 {
        let bit = register * 6, byte = headerSize + bit / 8, shift = bit & 7
        var value = UInt16(bytes[byte]) >> UInt16(shift)
        if shift > 2 { value |= UInt16(bytes[byte + 1]) << UInt16(8 - shift) }
        return UInt8(value & 63)
    }

    static func setDenseRegister(_ bytes: inout [UInt8], _ register: Int, _ value: UInt8) {
        let bit = register * 6, byte = headerSize + bit / 8, shift = bit & 7
        bytes[byte] = bytes[byte] & ~UInt8(truncatingIfNeeded: 63 << shift) | UInt8(truncatingIfNeeded: UInt16(value) << UInt16(shift))
        if shift > 2 {
            let high = 8 - shift
            bytes[byte + 1] = bytes[byte + 1] & ~UInt8(63 >> high) | (value >> UInt8(high))
        }
    }

    // MARK: - Sparse runs

    /// The runs of a sparse HLL, neighbours always of different values, or
    /// nil when the opcodes do not cover exactly 16,384 registers.
    static func decodeRuns(_ bytes: [UInt8]) -> [Run]? {
        var runs: [Run] = []
        var covered = 0
        var position = headerSize
        func append(_ value: UInt8, _ length: Int) {
            if let last = runs.last, last.value == value { runs[runs.count - 1].length += length } else { runs.append(Run(value: value, length: length)) }
            covered += length
        }
        while position < bytes.count {
            let opcode = bytes[position]
            if opcode & 0xC0 == 0x00 {
                append(0, Int(opcode & 0x3F) + 1)
                position += 1
            } else if opcode & 0xC0 == 0x40 {
                guard position + 1 < bytes.count else { return nil }
                append(0, (Int(opcode & 0x3F) << 8 | Int(bytes[position + 1])) + 1)
                position += 2
            } else {
                append(((opcode >> 2) & 0x1F) + 1, Int(opcode & 3) + 1)
                position += 1
            }
            if covered > registerCount { return nil }
        }
        return covered == registerCount ? runs : nil
    }

    /// The opcodes of `runs`, shortest form first as Redis writes them.
    static func encode(_ runs: [Run]) -> [UInt8] {
        var out: [UInt8] = []
        for run in runs {
            if run.value == 0 {
                if run.length > maxShortZeroRun {
                    let length = run.length - 1
                    out.append(0x40 | UInt8(length >> 8))
                    out.append(UInt8(length & 0xFF))
                } else {
                    out.append(UInt8(run.length - 1))
                }
            } else {
                var remaining = run.length
                while remaining > 0 {
                    let chunk = min(remaining, maxSparseRunOfValue)
                    out.append(0x80 | (run.value - 1) << 2 | UInt8(chunk - 1))
                    remaining -= chunk
                }
            }
        }
        return out
    }

    // MARK: - Adding members

    /// PFADD's work: offers each member's rank to its register. True when
    /// any register grew. A sparse HLL turns dense when a rank passes 32 or
    /// the string would pass `sparseMaxBytes`.
    mutating func add(_ members: [Bytes], sparseMaxBytes: Int) throws(CommandError) -> Bool {
        var pending = members.map { Self.registerAndRank(of: $0.storage) }[...]
        var changed = false
        if encoding == .sparse {
            guard var runs = Self.decodeRuns(bytes) else { throw Self.corrupted }
            var size = Self.headerSize + runs.reduce(0) { $0 + $1.encodedSize }
            var promote = false
            while let (register, rank) = pending.first {
                if rank > Self.maxSparseValue { promote = true; break }
                pending.removeFirst()
                if Self.raise(&runs, register: register, to: rank, size: &size) {
                    changed = true
                    if size > sparseMaxBytes { promote = true; break }
                }
            }
            if promote {
                bytes = Self.dense(fromRuns: runs, header: bytes)
            } else {
                bytes.replaceSubrange(Self.headerSize..., with: Self.encode(runs))
            }
        }
        if encoding == .dense {
            for (register, rank) in pending where Self.denseRegister(bytes, register) < rank {
                Self.setDenseRegister(&bytes, register, rank)
                changed = true
            }
        }
        if changed { invalidateCache() }
        return changed
    }

    /// Raises one register of a sparse HLL's runs to `rank` if it is
    /// lower, splitting its run and merging equal neighbours; `size`
    /// follows the encoded length.
    static func raise(_ runs: inout [Run], register: Int, to rank: UInt8, size: inout Int) -> Bool {
        var start = 0, index = 0
        while start + runs[index].length <= register {
            start += runs[index].length
            index += 1
        }
        let old = runs[index]
        guard old.value < rank else { return false }
        let before = register - start, after = old.length - before - 1
        var replacement: [Run] = []
        if before > 0 { replacement.append(Run(value: old.value, length: before)) }
        replacement.append(Run(value: rank, length: 1))
        if after > 0 { replacement.append(Run(value: old.value, length: after)) }
        var first = index, last = index
        // Merge the new register with an equal neighbour it now touches.
        if before == 0, index > 0, runs[index - 1].value == rank {
            first -= 1
            replacement[0].length += runs[first].length
        }
        if after == 0, index + 1 < runs.count, runs[index + 1].value == rank {
            last += 1
            replacement[replacement.count - 1].length += runs[last].length
        }
        size -= runs[first...last].reduce(0) { $0 + $1.encodedSize }
        size += replacement.reduce(0) { $0 + $1.encodedSize }
        runs.replaceSubrange(first...last, with: replacement)
        return true
    }

    static func dense(fromRuns runs: [Run], header: [UInt8]) -> [UInt8] {
        var bytes = Array(header[0..<headerSize]) + [UInt8](repeating: 0, count: denseSize - headerSize)
        bytes[4] = Encoding.dense.rawValue
        var register = 0
        for run in runs {
            if run.value != 0 {
                for offset in 0..<run.length { setDenseRegister(&bytes, register + offset, run.value) }
            }
            register += run.length
        }
        return bytes
    }

    /// Turns a sparse HLL dense (PFDEBUG TODENSE, PFMERGE of a dense one);
    /// false when it already was.
    mutating func makeDense() throws(CommandError) -> Bool {
        guard encoding == .sparse else { return false }
        guard let runs = Self.decodeRuns(bytes) else { throw Self.corrupted }
        bytes = Self.dense(fromRuns: runs, header: bytes)
        return true
    }

    // MARK: - Registers and counting

    /// All 16,384 register values.
    func registers() throws(CommandError) -> [UInt8] {
        if encoding == .dense { return (0..<Self.registerCount).map { Self.denseRegister(bytes, $0) } }
        guard let runs = Self.decodeRuns(bytes) else { throw Self.corrupted }
        var registers: [UInt8] = []
        registers.reserveCapacity(Self.registerCount)
        for run in runs { registers.append(contentsOf: repeatElement(run.value, count: run.length)) }
        return registers
    }

    /// Replaces the registers with `registers` (PFMERGE), sparse when
    /// `preferSparse` and they fit, else dense.
    mutating func setRegisters(_ registers: [UInt8], preferSparse: Bool, sparseMaxBytes: Int) {
        if preferSparse && registers.allSatisfy({ $0 <= Self.maxSparseValue }) {
            var runs: [Run] = []
            for value in registers {
                if let last = runs.last, last.value == value { runs[runs.count - 1].length += 1 } else { runs.append(Run(value: value, length: 1)) }
            }
            let encoded = Self.encode(runs)
            if Self.headerSize + encoded.count <= sparseMaxBytes {
                bytes = Array(bytes[0..<Self.headerSize]) + encoded
                bytes[4] = Encoding.sparse.rawValue
                invalidateCache()
                return
            }
        }
        var dense = Array(bytes[0..<Self.headerSize]) + [UInt8](repeating: 0, count: Self.denseSize - Self.headerSize)
        dense[4] = Encoding.dense.rawValue
        for (register, value) in registers.enumerated() where value != 0 { Self.setDenseRegister(&dense, register, value) }
        bytes = dense
        invalidateCache()
    }

    /// How many registers hold each value 0...63.
    func histogram() throws(CommandError) -> [Int] {
        var histogram = [Int](repeating: 0, count: 64)
        if encoding == .dense {
            for register in 0..<Self.registerCount { histogram[Int(Self.denseRegister(bytes, register))] += 1 }
        } else {
            guard let runs = Self.decodeRuns(bytes) else { throw Self.corrupted }
            for run in runs { histogram[Int(run.value)] += run.length }
        }
        return histogram
    }

    static func histogram(ofRegisters registers: [UInt8]) -> [Int] {
        var histogram = [Int](repeating: 0, count: 64)
        for value in registers { histogram[Int(value)] += 1 }
        return histogram
    }

    /// The cardinality estimate from a register histogram: Otmar Ertl's
    /// improved estimator (2017), the one Redis uses since 5.0, computed
    /// in the same order so the rounding matches.
    static func estimate(_ histogram: [Int]) -> Int64 {
        let m = Double(registerCount)
        var z = m * tau((m - Double(histogram[rankBits + 1])) / m)
        for rank in stride(from: rankBits, through: 1, by: -1) {
            z += Double(histogram[rank])
            z *= 0.5
        }
        z += m * sigma(Double(histogram[0]) / m)
        let alphaInfinity = 0.721347520444481703680  // 1 / (2 ln 2)
        return Int64((alphaInfinity * m * m / z).rounded())
    }

    static func sigma(_ value: Double) -> Double {
        if value == 1 { return .infinity }
        var x = value, y = 1.0, z = value, previous = 0.0
        repeat {
            x *= x
            previous = z
            z += x * y
            y += y
        } while previous != z
        return z
    }

    static func tau(_ value: Double) -> Double {
        if value == 0 || value == 1 { return 0 }
        var x = value, y = 1.0, z = 1 - value, previous = 0.0
        repeat {
            x = x.squareRoot()
            previous = z
            y *= 0.5
            z -= (1 - x) * (1 - x) * y
        } while previous != z
        return z / 3
    }
}
