/// The cursor and options shared by SCAN, HSCAN, SSCAN and ZSCAN:
/// `cursor [MATCH pattern] [COUNT n] [TYPE type] [NOVALUES]`, parsed with
/// Redis's rules and error texts.
struct ScanOptions {
    /// Where the walk starts, clamped to `capacity` by `start(capacity:)`.
    let cursor: UInt64
    var count = 10
    /// Nil when every element matches (`MATCH *` or no MATCH).
    var pattern: Bytes?
    /// SCAN's TYPE filter, lowercased.
    var type: String?
    /// HSCAN's NOVALUES.
    var noValues = false

    /// Parses the cursor at `cursorAt` and the options after `optionsFrom`.
    /// `TYPE` and `NOVALUES` are accepted only where the command has them.
    init(_ c: CommandContext, cursorAt: Int, optionsFrom: Int, allowType: Bool = false, allowNoValues: Bool = false) throws(CommandError) {
        guard let cursor = ScanOptions.cursor(c[cursorAt]) else { throw .invalidCursor }
        self.cursor = cursor
        var i = optionsFrom
        while i < c.argumentCount {
            if allowNoValues && c[i].equalsIgnoringCase("novalues") {
                noValues = true
                i += 1
                continue
            }
            guard i + 1 < c.argumentCount else { throw .syntax }
            if c[i].equalsIgnoringCase("count") {
                let n = try c.integer(at: i + 1)
                if n < 1 { throw .syntax }
                count = Int(min(n, Int64(Int32.max)))
            } else if c[i].equalsIgnoringCase("match") {
                pattern = c[i + 1] == Bytes("*") ? nil : c[i + 1]
            } else if allowType && c[i].equalsIgnoringCase("type") {
                type = c[i + 1].lowercasedASCII
            } else {
                throw .syntax
            }
            i += 2
        }
    }

    /// A cursor is an unsigned decimal of at most 20 digits.
    static func cursor(_ bytes: Bytes) -> UInt64? {
        guard bytes.count <= 20 else { return nil }
        return UInt64(bytes.text)
    }

    /// The slot position to start from in a table of `capacity` slots.
    func start(capacity: Int) -> Int {
        cursor > UInt64(capacity) ? capacity : Int(cursor)
    }

    func matches(_ element: Bytes) -> Bool {
        pattern.map { GlobPattern.matches($0, element) } ?? true
    }

    /// The reply shape of every SCAN variant: [next cursor, [elements]].
    static func reply(next: Int, _ elements: [Reply]) -> Reply {
        .array([.bulk(Bytes(String(next))), .array(elements)])
    }

    /// A scan of a missing key: finished, nothing found.
    static let empty = Reply.array([.bulk("0"), .array([])])
}
