/// A binary-safe byte string: the type of every key, value, field and argument.
///
/// Keys and values may contain any bytes (NUL, `/`, invalid UTF-8), so nothing
/// in the engine uses `String` for data. Equality, hashing and ordering are
/// over the raw bytes, ordering being `memcmp` order as Redis uses.
public struct Bytes: Hashable, Comparable, Sendable {
    public var storage: [UInt8]

    @inlinable public init(_ storage: [UInt8]) { self.storage = storage }
    @inlinable public init<S: Sequence>(_ bytes: S) where S.Element == UInt8 { self.storage = Array(bytes) }
    @inlinable public init(_ string: String) { self.storage = Array(string.utf8) }
    @inlinable public init() { self.storage = [] }

    @inlinable public var count: Int { storage.count }
    @inlinable public var isEmpty: Bool { storage.isEmpty }

    /// The bytes read as UTF-8, invalid sequences replaced. For messages and logs only.
    public var text: String { String(decoding: storage, as: UTF8.self) }

    /// The bytes as a `String` when they are valid UTF-8, else nil.
    public var utf8String: String? {
        isValidUTF8 ? String(decoding: storage, as: UTF8.self) : nil
    }

    /// Whether the bytes are valid UTF-8, checked without building a String.
    @inlinable public var isValidUTF8: Bool { UTF8Validation.isValid(storage) }

    /// ASCII-lowercased copy, for matching command names and options.
    public var lowercasedASCII: String {
        String(decoding: storage.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// Case-insensitive ASCII comparison against a lowercase literal such as "nx".
    @inlinable public func equalsIgnoringCase(_ lowercaseLiteral: StaticString) -> Bool {
        guard lowercaseLiteral.utf8CodeUnitCount == storage.count else { return false }
        return lowercaseLiteral.withUTF8Buffer { literal in
            for i in 0..<storage.count {
                var byte = storage[i]
                if byte >= 65 && byte <= 90 { byte += 32 }
                if byte != literal[i] { return false }
            }
            return true
        }
    }

    @inlinable public func hash(into hasher: inout Hasher) {
        storage.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    @inlinable public static func == (lhs: Bytes, rhs: Bytes) -> Bool {
        lhs.storage == rhs.storage
    }

    public static func < (lhs: Bytes, rhs: Bytes) -> Bool {
        lhs.storage.withUnsafeBufferPointer { a in
            rhs.storage.withUnsafeBufferPointer { b in
                let common = min(a.count, b.count)
                if common > 0, let pa = a.baseAddress, let pb = b.baseAddress {
                    let order = memcmp(pa, pb, common)
                    if order != 0 { return order < 0 }
                }
                return a.count < b.count
            }
        }
    }
}

/// UTF-8 validation for byte buffers, with an ASCII fast path: values are
/// checked on every JSON reply, and most are plain ASCII.
public enum UTF8Validation {
    @inlinable
    public static func isValid<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        if bytes.withContiguousStorageIfAvailable(isASCII) ?? bytes.allSatisfy({ $0 < 0x80 }) { return true }
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// No byte has its high bit set: tested eight bytes at a time, as most
    /// values checked here are ASCII and some are long.
    @usableFromInline
    static func isASCII(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = buffer.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var offset = 0
        var highBits: UInt64 = 0
        while offset + 8 <= buffer.count {
            highBits |= raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        while offset < buffer.count {
            highBits |= UInt64(base[offset])
            offset += 1
        }
        return highBits & 0x8080_8080_8080_8080 == 0
    }
}

extension Bytes: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.init(value) }
}

extension Bytes: CustomStringConvertible {
    public var description: String { text }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
