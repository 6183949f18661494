/// Taking members off either end: ZPOPMIN, ZPOPMAX, ZMPOP and their
/// blocking forms BZPOPMIN, BZPOPMAX, BZMPOP.
///
/// A blocking command first tries to serve; with nothing to pop it asks the
/// engine to park the client on its keys (`CommandContext.block`). A write
/// to any of them re-runs the whole command, which then pops or parks again.
extension SortedSetCommands {
    enum PopEnd { case min, max }

    /// Removes up to `count` members from `end` of the set at `key` and
    /// returns them in pop order; emits the pop event (and `del` when the
    /// set is emptied).
    static func pop(_ c: CommandContext, _ key: Bytes, end: PopEnd, count: Int) throws(CommandError) -> [(member: Bytes, score: Double)] {
        let popped = try c.db.modify(SortedSetValue.self, key, create: false) { set throws(CommandError) -> [(member: Bytes, score: Double)] in
            let taken = set.elements(fromRank: 0, count: min(count, set.count), reversed: end == .max)
            for element in taken { set.remove(element.member) }
            return taken
        } ?? []
        if !popped.isEmpty { c.db.didWrite(key, end == .min ? .zpopmin : .zpopmax) }
        return popped
    }

    /// The first of `keys` holding a sorted set, WRONGTYPE if a key before
    /// it holds another type. Sorted sets are never empty, so it has members.
    static func firstPopulated(_ c: CommandContext, _ keys: ArraySlice<Bytes>) throws(CommandError) -> Bytes? {
        for key in keys where try c.db.read(SortedSetValue.self, key) != nil { return key }
        return nil
    }

    /// ZPOPMIN / ZPOPMAX key [count]: a flat `member, score, ...` array.
    static func zpop(_ c: CommandContext, end: PopEnd) throws(CommandError) -> Reply {
        if c.argumentCount > 3 { throw .syntax }
        var count = 1
        if c.argumentCount == 3 {
            guard let requested = Parse.strictInt64(c[2]), requested >= 0 else {
                throw CommandError(.generic, "ERR value is out of range, must be positive")
            }
            count = Int(min(requested, Int64(Int32.max)))
        }
        guard try c.db.read(SortedSetValue.self, c[1]) != nil, count > 0 else { return .array([]) }
        return flatReply(try pop(c, c[1], end: end, count: count), withScores: true)
    }

    /// BZPOPMIN / BZPOPMAX key [key ...] timeout: `[key, member, score]`, or
    /// nil when the timeout passes.
    static func bzpop(_ c: CommandContext, end: PopEnd) throws(CommandError) -> Reply {
        let timeout = try c.timeout(at: c.argumentCount - 1)
        let keys = c.arguments[1..<(c.argumentCount - 1)]
        guard let key = try firstPopulated(c, keys) else {
            return c.block(on: Array(keys), timeoutMilliseconds: timeout)
        }
        let popped = try pop(c, key, end: end, count: 1)
        c.propagate(argv(end == .min ? "ZPOPMIN" : "ZPOPMAX", key))
        return .array([.bulk(key), .bulk(popped[0].member), scoreReply(popped[0].score)])
    }

    /// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count], and
    /// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]:
    /// `[key, [[member, score], ...]]` or nil.
    static func zmpop(_ c: CommandContext, blocking: Bool) throws(CommandError) -> Reply {
        let timeout = blocking ? try c.timeout(at: 1) : 0
        let numkeysAt = blocking ? 2 : 1
        guard let numkeys = Parse.strictInt64(c[numkeysAt]), numkeys >= 1 else {
            throw CommandError(.generic, "ERR numkeys should be greater than 0")
        }
        // Checked before any arithmetic: numkeys may be near Int64.max.
        if numkeys >= Int64(c.argumentCount - numkeysAt - 1) { throw .syntax }
        let whereAt = Int64(numkeysAt) + numkeys + 1
        let end: PopEnd
        if c[Int(whereAt)].equalsIgnoringCase("min") { end = .min }
        else if c[Int(whereAt)].equalsIgnoringCase("max") { end = .max }
        else { throw .syntax }
        var count: Int64 = -1
        var i = Int(whereAt) + 1
        while i < c.argumentCount {
            guard count == -1, c[i].equalsIgnoringCase("count"), i + 1 < c.argumentCount else { throw .syntax }
            guard let requested = Parse.strictInt64(c[i + 1]), requested >= 1 else {
                throw CommandError(.generic, "ERR count should be greater than 0")
            }
            count = requested
            i += 2
        }
        let keys = c.arguments[(numkeysAt + 1)..<Int(whereAt)]
        guard let key = try firstPopulated(c, keys) else {
            return blocking ? c.block(on: Array(keys), timeoutMilliseconds: timeout) : .null
        }
        let popped = try pop(c, key, end: end, count: Int(min(max(count, 1), Int64(Int32.max))))
        c.propagate(argv(end == .min ? "ZPOPMIN" : "ZPOPMAX", key, Int64(popped.count)))
        return .array([.bulk(key), .array(popped.map { .array([.bulk($0.member), scoreReply($0.score)]) })])
    }
}
