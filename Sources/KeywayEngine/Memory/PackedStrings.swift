/// A sequence of byte strings in one flat buffer, each a LEB128 length then
/// its bytes: how a small collection is held, as Redis holds one in a
/// listpack.
///
/// Why: a collection of 100 short members held as a table costs a heap
/// array per member (48 bytes or more for 9 bytes of data) plus table
/// slots and index buckets, 5-7x what Redis spends. Packed, a member costs
/// its bytes and one length byte. Finding a member is a scan, so collections
/// keep this form only while small (see each type's limits) and move to
/// their tables beyond, as Redis converts a listpack to a hash table.
///
/// Elements are addressed by their byte offset in the buffer. An offset
/// stays valid until the buffer changes before it.
struct PackedStrings: Sendable {
    private(set) var buffer: [UInt8] = []
    /// Number of elements.
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }
    /// The offset one past the last element.
    var endOffset: Int { buffer.count }
    /// Bytes the buffer takes, for memory accounting: its length rounded up
    /// to malloc's 16-byte granularity. Not the array's capacity, which
    /// follows the allocator's free lists (the same members loaded from a
    /// snapshot could count differently), where the accounting must be a
    /// function of the contents.
    var byteCount: Int { (buffer.count + 15) & ~15 }

    // MARK: - Reading

    /// The element at `offset`: where its bytes start and how many there are.
    @inline(__always)
    private func header(at offset: Int) -> (start: Int, length: Int) {
        var length = 0
        var shift = 0
        var position = offset
        while true {
            let byte = buffer[position]
            length |= Int(byte & 0x7F) << shift
            position += 1
            if byte < 0x80 { return (position, length) }
            shift += 7
        }
    }

    /// The offset of the element after the one at `offset`.
    @inline(__always)
    func offset(after offset: Int) -> Int {
        let (start, length) = header(at: offset)
        return start + length
    }

    /// The element at `offset` as `Bytes`.
    func element(at offset: Int) -> Bytes {
        let (start, length) = header(at: offset)
        return Bytes(buffer[start..<start + length])
    }

    /// The element's bytes at `offset`, valid during `body`.
    @inline(__always)
    func withElement<R>(at offset: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let (start, length) = header(at: offset)
        return try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<start + length])) }
    }

    /// Whether the element at `offset` equals `bytes`, without copying it.
    @inline(__always)
    func element(at offset: Int, equals bytes: Bytes) -> Bool {
        let (start, length) = header(at: offset)
        guard length == bytes.count else { return false }
        if length == 0 { return true }
        return buffer.withUnsafeBytes { mine in
            bytes.storage.withUnsafeBytes { theirs in memcmp(mine.baseAddress! + start, theirs.baseAddress!, length) == 0 }
        }
    }

    /// The offset of the first element equal to `bytes` among every
    /// `stride`-th element (stride 2 visits the fields of field-value
    /// pairs), or nil. O(n).
    func firstOffset(of bytes: Bytes, stride: Int = 1) -> Int? {
        var offset = 0
        var index = 0
        while offset < buffer.count {
            if index % stride == 0 && element(at: offset, equals: bytes) { return offset }
            offset = self.offset(after: offset)
            index += 1
        }
        return nil
    }

    /// The offset of the element at `index` (0-based), counting from the front. O(n).
    func offset(ofIndex index: Int) -> Int {
        precondition(index >= 0 && index <= count)
        var offset = 0
        for _ in 0..<index { offset = self.offset(after: offset) }
        return offset
    }

    /// Every element's offset, in order.
    var offsets: some Sequence<Int> {
        sequence(state: 0) { (offset: inout Int) -> Int? in
            guard offset < buffer.count else { return nil }
            defer { offset = self.offset(after: offset) }
            return offset
        }
    }

    /// Every element, in order.
    var elements: [Bytes] {
        var all: [Bytes] = []
        all.reserveCapacity(count)
        for offset in offsets { all.append(element(at: offset)) }
        return all
    }

    // MARK: - Writing

    /// The encoded header of a length.
    private static func lengthHeader(_ length: Int) -> [UInt8] {
        var header: [UInt8] = []
        var rest = length
        while rest >= 0x80 {
            header.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        header.append(UInt8(rest))
        return header
    }

    /// Adds `bytes` after the last element.
    mutating func append(_ bytes: Bytes) {
        appendHeader(bytes.count)
        buffer.append(contentsOf: bytes.storage)
        count += 1
    }

    @inline(__always)
    private mutating func appendHeader(_ length: Int) {
        var rest = length
        while rest >= 0x80 {
            buffer.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        buffer.append(UInt8(rest))
    }

    /// Inserts `bytes` before the element at `offset` (or at the end when
    /// `offset == endOffset`). O(n) bytes moved.
    mutating func insert(_ bytes: Bytes, at offset: Int) {
        if offset == buffer.count { return append(bytes) }
        buffer.insert(contentsOf: Self.lengthHeader(bytes.count) + bytes.storage, at: offset)
        count += 1
    }

    /// Removes the element at `offset`. O(n) bytes moved.
    mutating func remove(at offset: Int) {
        buffer.removeSubrange(offset..<self.offset(after: offset))
        count -= 1
    }

    /// Removes `number` consecutive elements from `offset` on.
    mutating func remove(_ number: Int, from offset: Int) {
        var end = offset
        for _ in 0..<number { end = self.offset(after: end) }
        buffer.removeSubrange(offset..<end)
        count -= number
    }

    /// Replaces the element at `offset` with `bytes`.
    mutating func replace(at offset: Int, with bytes: Bytes) {
        let (start, length) = header(at: offset)
        if length == bytes.count {
            buffer.replaceSubrange(start..<start + length, with: bytes.storage)
        } else {
            buffer.replaceSubrange(offset..<start + length, with: Self.lengthHeader(bytes.count) + bytes.storage)
        }
    }

    /// Gives back reserved room beyond an eighth of what is used: appends
    /// grow the buffer by doubling, which would leave a collection built
    /// one member at a time with up to twice the bytes it needs.
    mutating func shrinkToFit() {
        if buffer.capacity - buffer.count > buffer.count / 8 + 16 {
            buffer = Array(unsafeUninitializedCapacity: buffer.count) { target, initialized in
                _ = target.initialize(from: buffer)
                initialized = buffer.count
            }
        }
    }

    mutating func removeAll() {
        buffer = []
        count = 0
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
