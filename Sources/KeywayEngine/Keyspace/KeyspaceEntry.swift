/// One key of the keyspace: its name and value, expiry and access clock,
/// in 32 bytes plus at most one heap object.
///
/// Why this layout: the per-key overhead is what decides memory at real
/// sizes. Held as a key array, a value array and an entry, a 21-byte key
/// with a 40-byte value cost three heap headers and two malloc chunks
/// beyond the bytes (about 1.4x what Redis spends). Here the key and a
/// string value share one allocation, as Redis embeds a short value in its
/// object header, and the smallest pairs need none:
///
/// - `inlinePair`: key and string value together at most 15 bytes, in the
///   entry itself (a counter `k:1` -> `42`, a flag);
/// - `packed`: key then string value in one immutable heap object with a
///   16-byte header; a GET copies the value out;
/// - `keyed`: the key in a heap object whose header holds a `Value`: every
///   collection, a string that commands change in place (APPEND grows it
///   without copying), and strings longer than `packedValueLimit`.
///
/// The entry is a value type inside copy-on-write chunks (see `Keyspace`),
/// so a snapshot may share a `keyed` object: it is changed in place only
/// when uniquely referenced, else copied first.
extension Keyspace {
    public struct Entry: Sendable {
        var storage: Storage
        /// Absolute expiry in Unix milliseconds, or `Entry.persistent`.
        public var expiresAt: Int64
        /// Redis's 24-bit LRU clock or LFU minutes+counter, set on access
        /// (see Eviction.swift); the keyspace only stores it.
        public internal(set) var access: UInt32
        /// The key's length; for an `inlinePair`, the value's length too,
        /// in the upper 16 bits.
        private var lengths: UInt32

        public static let persistent: Int64 = -1
        public var hasExpiry: Bool { expiresAt != Entry.persistent }

        /// String values up to this many bytes are packed with their key;
        /// longer ones keep their own array, which GET hands out uncopied.
        static let packedValueLimit = 4096

        init(key: Bytes, value: Value, access: UInt32) {
            expiresAt = Entry.persistent
            self.access = access
            (storage, lengths) = key.storage.withUnsafeBytes { Self.layout(key: $0, value: value, growable: false) }
        }

        /// A string entry from bytes it copies, laid out as `init(key:value:)`
        /// would, without a `Bytes` for either (loading a snapshot).
        init(key: UnsafeRawBufferPointer, string: UnsafeRawBufferPointer, access: UInt32) {
            expiresAt = Entry.persistent
            self.access = access
            if key.count + string.count <= InlinePair.capacity {
                (storage, lengths) = (.inlinePair(InlinePair(key, string)), UInt32(key.count) | UInt32(string.count) << 16)
            } else if string.count <= Self.packedValueLimit {
                (storage, lengths) = (.packed(PackedBytes.make(key, string), valueCount: UInt32(string.count)), UInt32(key.count))
            } else {
                (storage, lengths) = Self.layout(key: key, value: .string(Bytes(Array(string))), growable: false)
            }
        }

        /// Unchecked because `ManagedBuffer` opts out of `Sendable`: a
        /// `packed` object never changes, and a `keyed` one changes only
        /// while uniquely referenced, under the engine's lock.
        enum Storage: @unchecked Sendable {
            case inlinePair(InlinePair)
            case packed(PackedBytes, valueCount: UInt32)
            case keyed(KeyedValue)
        }

        /// The storage for `key` and `value`. `growable` keeps a string in its
        /// own array (in a `keyed` object) so later in-place changes do not
        /// copy it each time.
        private static func layout(key: UnsafeRawBufferPointer, value: Value, growable: Bool) -> (Storage, UInt32) {
            if case .string(let bytes) = value {
                if key.count + bytes.count <= InlinePair.capacity {
                    let pair = bytes.storage.withUnsafeBytes { InlinePair(key, $0) }
                    return (.inlinePair(pair), UInt32(key.count) | UInt32(bytes.count) << 16)
                }
                if !growable && bytes.count <= packedValueLimit {
                    let packed = bytes.storage.withUnsafeBytes { PackedBytes.make(key, $0) }
                    return (.packed(packed, valueCount: UInt32(bytes.count)), UInt32(key.count))
                }
            }
            return (.keyed(KeyedValue.make(key: key, value: value)), UInt32(key.count))
        }

        // MARK: - The key

        public var keyCount: Int {
            if case .inlinePair = storage { return Int(lengths & 0xFFFF) }
            return Int(lengths)
        }

        /// The key's bytes, valid during `body`.
        @inline(__always)
        func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            switch storage {
            case .inlinePair(let pair):
                return try pair.withBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<keyCount])) }
            case .packed(let packed, _):
                return try packed.withBytes(count: Int(lengths)) { try body($0) }
            case .keyed(let keyed):
                return try keyed.withKeyBytes(count: Int(lengths)) { try body($0) }
            }
        }

        public var key: Bytes { withKeyBytes { Bytes(Array($0)) } }

        /// Byte equality of the key with raw bytes.
        @inline(__always)
        func keyEquals(_ other: UnsafeRawBufferPointer) -> Bool {
            guard keyCount == other.count else { return false }
            return withKeyBytes { mine in mine.count == 0 || memcmp(mine.baseAddress!, other.baseAddress!, mine.count) == 0 }
        }

        /// Byte equality of the key with `other`, without building a `Bytes`.
        @inline(__always)
        func keyEquals(_ other: Bytes) -> Bool {
            guard keyCount == other.count else { return false }
            return withKeyBytes { mine in
                other.storage.withUnsafeBytes { theirs in
                    mine.count == 0 || memcmp(mine.baseAddress!, theirs.baseAddress!, mine.count) == 0
                }
            }
        }

        /// The key's `Bytes.hashValue`, without building one.
        var keyHashValue: Int {
            var hasher = Hasher()
            withKeyBytes { hasher.combine(bytes: $0) }
            return hasher.finalize()
        }

        // MARK: - The value

        /// The value; mutated in place through `_modify`, so a uniquely held
        /// collection is not copied.
        public var value: Value {
            get {
                switch storage {
                case .inlinePair(let pair):
                    let start = Int(lengths & 0xFFFF)
                    return .string(pair.withBytes { Bytes(Array($0[start..<start + Int(lengths >> 16)])) })
                case .packed(let packed, let valueCount):
                    let start = Int(lengths)
                    return .string(packed.withBytes(count: start + Int(valueCount)) { Bytes(Array($0[start...])) })
                case .keyed(let keyed):
                    return keyed.header
                }
            }
            set {
                (storage, lengths) = withKeyBytes { Self.layout(key: $0, value: newValue, growable: false) }
            }
            _modify {
                if case .keyed(var keyed) = storage {
                    // Drop the entry's own reference while checking, so the
                    // check sees only other holders (a snapshot's copy).
                    storage = .inlinePair(InlinePair())
                    if !isKnownUniquelyReferenced(&keyed) { keyed = keyed.copy(keyCount: Int(lengths)) }
                    var current = keyed.header
                    keyed.header = Value.placeholder
                    defer {
                        keyed.header = current
                        storage = .keyed(keyed)
                    }
                    yield &current
                } else {
                    // A string: changed in place, it moves to its own array
                    // so the next change (APPEND again) need not copy it.
                    var current = value
                    defer {
                        if !holdsString(current) {
                            (storage, lengths) = withKeyBytes { Self.layout(key: $0, value: current, growable: true) }
                        }
                    }
                    yield &current
                }
            }
        }

        /// Whether the entry holds exactly `value`, a string (inline or packed).
        private func holdsString(_ value: Value) -> Bool {
            guard case .string(let bytes) = value else { return false }
            let start: Int, count: Int
            switch storage {
            case .inlinePair: (start, count) = (Int(lengths & 0xFFFF), Int(lengths >> 16))
            case .packed(_, let valueCount): (start, count) = (Int(lengths), Int(valueCount))
            case .keyed: return false
            }
            guard bytes.count == count else { return false }
            return withAllBytes { all in
                bytes.storage.withUnsafeBytes { theirs in
                    count == 0 || memcmp(all.baseAddress! + start, theirs.baseAddress!, count) == 0
                }
            }
        }

        /// The inline or packed bytes (key then value), valid during `body`.
        private func withAllBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
            switch storage {
            case .inlinePair(let pair): return pair.withBytes(body)
            case .packed(let packed, let valueCount): return packed.withBytes(count: Int(lengths) + Int(valueCount), body)
            case .keyed(let keyed): return keyed.withKeyBytes(count: Int(lengths), body)
            }
        }

        /// The key's and the string value's bytes, valid during `body`, for
        /// a string kept inline or packed with its key; nil for any other
        /// entry (whose `value` is not a copy). Lets a snapshot write a
        /// string without copying it out.
        func withPackedString<R>(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> R) -> R? {
            let valueStart: Int, valueCount: Int
            switch storage {
            case .inlinePair: (valueStart, valueCount) = (Int(lengths & 0xFFFF), Int(lengths >> 16))
            case .packed(_, let count): (valueStart, valueCount) = (Int(lengths), Int(count))
            case .keyed: return nil
            }
            return withAllBytes { all in
                body(UnsafeRawBufferPointer(rebasing: all[0..<valueStart]),
                     UnsafeRawBufferPointer(rebasing: all[valueStart..<valueStart + valueCount]))
            }
        }

        /// Whether the value is a hash with field TTLs; a string value is
        /// not copied out to tell.
        var holdsHashWithVolatileFields: Bool {
            guard case .keyed(let keyed) = storage, case .hash(let hash) = keyed.header else { return false }
            return hash.hasVolatileFields
        }

        // MARK: - Memory

        /// The value's estimated bytes, in O(1).
        var valueMemoryUsage: Int {
            switch storage {
            case .inlinePair: return 0
            case .packed(_, let valueCount): return Int(valueCount)
            case .keyed(let keyed): return keyed.header.memoryUsage
            }
        }

        /// The same figure computed by walking the value's items.
        func recountValueMemoryUsage() -> Int {
            if case .keyed(let keyed) = storage { return keyed.header.recountMemoryUsage() }
            return valueMemoryUsage
        }

        /// The bytes of the entry's heap object beyond the value's own, and
        /// of the key: `MemoryCost.keyEntry` excluded.
        var storageOverhead: Int {
            switch storage {
            case .inlinePair: return 0
            case .packed: return MemoryCost.packedHeader + keyCount
            case .keyed: return MemoryCost.keyedHeader + keyCount
            }
        }
    }
}

/// Fifteen bytes of plain storage: a key and its short string value side
/// by side, with no allocation. The entry keeps both lengths.
struct InlinePair: Sendable {
    static let capacity = 15

    private var word0: UInt64 = 0
    private var word1: UInt32 = 0
    private var word2: UInt16 = 0
    private var word3: UInt8 = 0

    init() {}

    init(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        precondition(key.count + value.count <= Self.capacity)
        withUnsafeMutableBytes(of: &self) { target in
            if let base = key.baseAddress, key.count > 0 {
                target.baseAddress!.copyMemory(from: base, byteCount: key.count)
            }
            if let base = value.baseAddress, value.count > 0 {
                (target.baseAddress! + key.count).copyMemory(from: base, byteCount: value.count)
            }
        }
    }

    /// All fifteen bytes, valid during `body`.
    @inline(__always)
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: self) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<Self.capacity])) }
    }
}

/// A key and its string value in one immutable heap object (16-byte header,
/// then the bytes). Never changed after `make`, so sharing it with a
/// snapshot is safe.
final class PackedBytes: ManagedBuffer<Void, UInt8> {
    static func make(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> PackedBytes {
        let count = key.count + value.count
        let packed = unsafeDowncast(PackedBytes.create(minimumCapacity: count) { _ in }, to: PackedBytes.self)
        packed.withUnsafeMutablePointerToElements { elements in
            let target = UnsafeMutableRawPointer(elements)
            if let base = key.baseAddress, key.count > 0 { target.copyMemory(from: base, byteCount: key.count) }
            if let base = value.baseAddress, value.count > 0 {
                (target + key.count).copyMemory(from: base, byteCount: value.count)
            }
        }
        return packed
    }

    /// The first `count` bytes (the key's, or the key's and the value's).
    @inline(__always)
    func withBytes<R>(count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeMutablePointerToElements { try body(UnsafeRawBufferPointer(start: $0, count: count)) }
    }
}

/// A key (tail bytes) with any value (the header). The header changes in
/// place only while the object is uniquely referenced (see `Entry.value`).
final class KeyedValue: ManagedBuffer<Value, UInt8> {
    static func make(key: UnsafeRawBufferPointer, value: Value) -> KeyedValue {
        let keyed = unsafeDowncast(KeyedValue.create(minimumCapacity: key.count) { _ in value }, to: KeyedValue.self)
        if let base = key.baseAddress, key.count > 0 {
            keyed.withUnsafeMutablePointerToElements { UnsafeMutableRawPointer($0).copyMemory(from: base, byteCount: key.count) }
        }
        return keyed
    }

    /// A fresh object with the same key and value.
    func copy(keyCount: Int) -> KeyedValue {
        withKeyBytes(count: keyCount) { KeyedValue.make(key: $0, value: header) }
    }

    /// The key's bytes; the entry knows their `count`.
    @inline(__always)
    func withKeyBytes<R>(count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeMutablePointerToElements { try body(UnsafeRawBufferPointer(start: $0, count: count)) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
