/// Up to 14 bytes held in 15 bytes of plain storage, with no allocation.
///
/// Why: most keys and many string values are short (`user:1234`, a counter,
/// a flag). As a `Bytes` each costs a heap array of at least 48 bytes
/// (header plus malloc rounding) besides the 8-byte reference; held inline
/// in the keyspace entry it costs nothing beyond the entry. This is how
/// Keyway keeps a small string key near Redis's footprint, where Redis
/// embeds short strings in the object header (`embstr`).
///
/// Layout: `words` carry the bytes in order from offset 0 (8 + 4 + 2 bytes);
/// `length` sits in the 15th byte.
struct InlineBytes: Sendable {
    static let capacity = 14

    private var word0: UInt64 = 0
    private var word1: UInt32 = 0
    private var word2: UInt16 = 0
    private(set) var length: UInt8 = 0

    /// Nil when `bytes` is longer than `capacity`.
    init?(_ bytes: Bytes) {
        guard bytes.count <= Self.capacity else { return nil }
        length = UInt8(bytes.count)
        bytes.storage.withUnsafeBytes { source in
            withUnsafeMutableBytes(of: &self) { target in
                if let base = source.baseAddress, source.count > 0 {
                    target.baseAddress!.copyMemory(from: base, byteCount: source.count)
                }
            }
        }
    }

    /// The bytes, as a buffer valid during `body`.
    @inline(__always)
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: self) { all in
            try body(UnsafeRawBufferPointer(rebasing: all[0..<Int(length)]))
        }
    }

    var bytes: Bytes {
        withBytes { Bytes(Array($0)) }
    }
}

/// A byte string stored inline when short, else as a shared `Bytes`: the
/// keyspace's representation of keys.
enum CompactBytes: Sendable {
    case inline(InlineBytes)
    case heap(Bytes)

    init(_ bytes: Bytes) {
        if let inline = InlineBytes(bytes) {
            self = .inline(inline)
        } else {
            self = .heap(bytes)
        }
    }

    var bytes: Bytes {
        switch self {
        case .inline(let inline): return inline.bytes
        case .heap(let bytes): return bytes
        }
    }

    var count: Int {
        switch self {
        case .inline(let inline): return Int(inline.length)
        case .heap(let bytes): return bytes.count
        }
    }

    @inline(__always)
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .inline(let inline): return try inline.withBytes(body)
        case .heap(let bytes): return try bytes.storage.withUnsafeBytes(body)
        }
    }

    /// Byte equality with `other`, without building a `Bytes`.
    @inline(__always)
    func equals(_ other: Bytes) -> Bool {
        guard count == other.count else { return false }
        return withBytes { mine in
            other.storage.withUnsafeBytes { theirs in
                mine.count == 0 || memcmp(mine.baseAddress!, theirs.baseAddress!, mine.count) == 0
            }
        }
    }

    /// The same value as `Bytes.hashValue` for equal bytes, without building one.
    var hashValue: Int {
        var hasher = Hasher()
        withBytes { hasher.combine(bytes: $0) }
        return hasher.finalize()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
