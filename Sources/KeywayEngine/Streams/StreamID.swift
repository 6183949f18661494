/// A stream entry ID, `<milliseconds>-<sequence>`: two unsigned 64-bit parts
/// compared as one 128-bit number, as Redis does. IDs only ever grow inside a
/// stream, so they double as the entries' sort key.
public struct StreamID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var ms: UInt64
    public var seq: UInt64

    public init(ms: UInt64, seq: UInt64) {
        self.ms = ms
        self.seq = seq
    }

    public static let zero = StreamID(ms: 0, seq: 0)
    public static let max = StreamID(ms: .max, seq: .max)

    public static func < (lhs: StreamID, rhs: StreamID) -> Bool {
        lhs.ms != rhs.ms ? lhs.ms < rhs.ms : lhs.seq < rhs.seq
    }

    public var description: String { "\(ms)-\(seq)" }
    public var bytes: Bytes { Bytes(description) }
    public var isZero: Bool { self == .zero }

    /// The next ID in 128-bit order; nil past the last possible one.
    public var successor: StreamID? {
        if seq < .max { return StreamID(ms: ms, seq: seq + 1) }
        if ms < .max { return StreamID(ms: ms + 1, seq: 0) }
        return nil
    }

    /// The previous ID in 128-bit order; nil before 0-0.
    public var predecessor: StreamID? {
        if seq > 0 { return StreamID(ms: ms, seq: seq - 1) }
        if ms > 0 { return StreamID(ms: ms - 1, seq: .max) }
        return nil
    }
}

/// Parsing stream IDs from arguments with Redis's rules and error texts.
public enum StreamIDParse {
    public static let invalid = CommandError(.generic, "ERR Invalid stream ID specified as stream command argument")

    /// An unsigned decimal: digits only, no sign, fits in 64 bits.
    static func unsigned<C: Collection>(_ digits: C) -> UInt64? where C.Element == UInt8 {
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    /// `ms` or `ms-seq`; a bare `ms` takes `missingSequence` (0 for a start,
    /// the maximum for an end). `-` and `+` mean the smallest and largest ID
    /// unless `strict` (XADD, XGROUP, XSETID, XDEL, XACK, XCLAIM take only
    /// real IDs).
    public static func id(_ bytes: Bytes, missingSequence: UInt64 = 0, strict: Bool = true) throws(CommandError) -> StreamID {
        let raw = bytes.storage
        guard raw.count <= 127 else { throw invalid }
        if !strict && raw.count == 1 {
            if raw[0] == UInt8(ascii: "-") { return .zero }
            if raw[0] == UInt8(ascii: "+") { return .max }
        }
        if let dash = raw.firstIndex(of: UInt8(ascii: "-")) {
            guard let ms = unsigned(raw[..<dash]), let seq = unsigned(raw[(dash + 1)...]) else { throw invalid }
            return StreamID(ms: ms, seq: seq)
        }
        guard let ms = unsigned(raw) else { throw invalid }
        return StreamID(ms: ms, seq: missingSequence)
    }

    /// XADD's ID argument: an explicit ID, or `ms-*` (the sequence chosen by
    /// the stream). Returns the ID and whether its sequence was given.
    public static func addID(_ bytes: Bytes) throws(CommandError) -> (StreamID, sequenceGiven: Bool) {
        let raw = bytes.storage
        if raw.count >= 2, raw[raw.count - 1] == UInt8(ascii: "*"), raw[raw.count - 2] == UInt8(ascii: "-") {
            guard raw.count <= 127, let ms = unsigned(raw[..<(raw.count - 2)]) else { throw invalid }
            return (StreamID(ms: ms, seq: 0), false)
        }
        return (try id(bytes), true)
    }

    /// One end of an XRANGE/XPENDING/XAUTOCLAIM interval: `-`, `+`, an ID,
    /// a bare `ms`, or an exclusive `(id`, turned into the inclusive bound.
    public static func intervalStart(_ bytes: Bytes) throws(CommandError) -> StreamID {
        let (id, exclusive) = try interval(bytes, missingSequence: 0)
        guard exclusive else { return id }
        guard let next = id.successor else { throw CommandError(.generic, "ERR invalid start ID for the interval") }
        return next
    }

    public static func intervalEnd(_ bytes: Bytes) throws(CommandError) -> StreamID {
        let (id, exclusive) = try interval(bytes, missingSequence: .max)
        guard exclusive else { return id }
        guard let previous = id.predecessor else { throw CommandError(.generic, "ERR invalid end ID for the interval") }
        return previous
    }

    private static func interval(_ bytes: Bytes, missingSequence: UInt64) throws(CommandError) -> (StreamID, Bool) {
        if bytes.storage.first == UInt8(ascii: "(") && bytes.count > 1 {
            // `(-` and `(+` are not IDs: the exclusive form needs a real one.
            return (try id(Bytes(bytes.storage.dropFirst()), missingSequence: missingSequence, strict: true), true)
        }
        return (try id(bytes, missingSequence: missingSequence, strict: false), false)
    }
}
