/// Stream commands on entries: appending (with trimming), ranges, length,
/// deletion (plain and reference-aware), trimming and XSETID. Reads live in
/// StreamReadCommands.swift, consumer groups in StreamGroupCommands.swift,
/// XINFO in StreamInfoCommands.swift; `commands` gathers them all.
enum StreamCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("xadd", arity: -5, flags: [.write, .denyOOM, .fast], handler: xadd),
        CommandSpec("xlen", arity: 2, flags: [.readonly, .fast], handler: xlen),
        CommandSpec("xrange", arity: -4, flags: [.readonly], handler: { c throws(CommandError) in try xrange(c, reverse: false) }),
        CommandSpec("xrevrange", arity: -4, flags: [.readonly], handler: { c throws(CommandError) in try xrange(c, reverse: true) }),
        CommandSpec("xdel", arity: -3, flags: [.write, .fast], handler: xdel),
        CommandSpec("xdelex", arity: -5, flags: [.write, .fast], handler: xdelex),
        CommandSpec("xtrim", arity: -4, flags: [.write], handler: xtrim),
        CommandSpec("xsetid", arity: -3, flags: [.write, .denyOOM, .fast], handler: xsetid),
    ] + StreamReadCommands.commands + StreamGroupCommands.commands + StreamInfoCommands.commands

    // MARK: - Shared reply and parsing helpers

    /// `[id, [field, value, ...]]`, XRANGE's shape for one entry.
    static func reply(_ entry: StreamEntry) -> Reply {
        .array([.bulk(entry.id.bytes), .array(entry.fields.map(Reply.bulk))])
    }

    static func reply(_ id: StreamID) -> Reply { .bulk(id.bytes) }

    /// Trimming options shared by XADD and XTRIM.
    struct TrimOptions {
        var strategy: StreamValue.TrimStrategy?
        var approximate = false
        var limit: Int64?
        var policy = StreamValue.ReferencePolicy.keepReferences

        /// Parses one option at `i` if it is a trimming option; returns the
        /// next position, or nil when `c[i]` is not one.
        mutating func parse(_ c: CommandContext, at i: Int) throws(CommandError) -> Int? {
            let word = c[i]
            let more = c.argumentCount - 1 - i
            if let policy = StreamValue.ReferencePolicy(word) {
                self.policy = policy
                return i + 1
            }
            let isMaxLength = word.equalsIgnoringCase("maxlen"), isMinID = word.equalsIgnoringCase("minid")
            if (isMaxLength || isMinID) && more >= 1 {
                if strategy != nil {
                    throw CommandError(.syntax, "ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
                }
                var next = i + 1
                if more >= 2 && (c[next] == "~" || c[next] == "=") {
                    approximate = c[next] == "~"
                    next += 1
                }
                if isMaxLength {
                    let threshold = try c.integer(at: next)
                    if threshold < 0 { throw CommandError(.generic, "ERR The MAXLEN argument must be >= 0.") }
                    strategy = .maxLength(threshold)
                } else {
                    strategy = .minID(try StreamIDParse.id(c[next]))
                }
                return next + 1
            }
            if word.equalsIgnoringCase("limit") && more >= 1 {
                let value = try c.integer(at: i + 1)
                if value < 0 { throw CommandError(.generic, "ERR The LIMIT argument must be >= 0.") }
                limit = value
                return i + 2
            }
            return nil
        }

        /// The checks after parsing; returns the effective entry limit
        /// (Redis's default for `~` is 100 chunks' worth; 0 = none).
        func effectiveLimit() throws(CommandError) -> Int64 {
            if let limit {
                if !approximate { throw CommandError(.syntax, "ERR syntax error, LIMIT cannot be used without the special ~ option") }
                return limit
            }
            return approximate ? Int64(100 * StreamEntries.chunkCapacity) : 0
        }
    }

    // MARK: - XADD

    /// XADD key [NOMKSTREAM] [KEEPREF|DELREF|ACKED] [MAXLEN|MINID [=|~] threshold [LIMIT n]] *|id field value ...
    static func xadd(_ c: CommandContext) throws(CommandError) -> Reply {
        var trim = TrimOptions()
        var noCreate = false
        var requested: StreamID?
        var sequenceGiven = true
        var i = 2
        while i < c.argumentCount {
            if c[i] == "*" { break }
            if c[i].equalsIgnoringCase("nomkstream") {
                noCreate = true
                i += 1
                continue
            }
            if let next = try trim.parse(c, at: i) {
                i = next
                continue
            }
            (requested, sequenceGiven) = try StreamIDParse.addID(c[i])
            break
        }
        let fieldStart = i + 1
        let pairs = c.argumentCount - fieldStart
        if pairs < 2 || pairs % 2 == 1 { throw .wrongArity(c.name) }
        let limit = try trim.effectiveLimit()
        if let requested, sequenceGiven, requested.isZero {
            throw CommandError(.generic, "ERR The ID specified in XADD must be greater than 0-0")
        }
        let key = c[1]
        let fields = Array(c.arguments[fieldStart...])
        let now = c.db.now
        let added = try c.db.modify(StreamValue.self, key, create: !noCreate) { stream throws(CommandError) -> StreamID in
            let id = try stream.add(requested, sequenceGiven: sequenceGiven, fields: fields, now: now)
            if let strategy = trim.strategy {
                _ = stream.trim(strategy, approximate: trim.approximate, limit: limit, policy: trim.policy)
            }
            return id
        }
        guard let added else { return .null }
        // One event per write: "xadd" (it is what wakes XREAD/XREADGROUP waiters).
        c.db.didWrite(key, .xadd)
        if c.isPropagating && (requested == nil || !sequenceGiven) {
            // `*` and `ms-*` are logged as the ID they produced.
            var logged = c.arguments
            logged[fieldStart - 1] = added.bytes
            c.propagate(logged)
        }
        return reply(added)
    }

    // MARK: - Reading

    static func xlen(_ c: CommandContext) throws(CommandError) -> Reply {
        .integer(Int64(try c.db.read(StreamValue.self, c[1])?.length ?? 0))
    }

    /// XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n].
    static func xrange(_ c: CommandContext, reverse: Bool) throws(CommandError) -> Reply {
        let start = try StreamIDParse.intervalStart(c[reverse ? 3 : 2])
        let end = try StreamIDParse.intervalEnd(c[reverse ? 2 : 3])
        var count: Int64 = -1
        var i = 4
        while i < c.argumentCount {
            guard c[i].equalsIgnoringCase("count"), i + 1 < c.argumentCount else { throw .syntax }
            count = max(0, try c.integer(at: i + 1))
            i += 2
        }
        guard let stream = try c.db.read(StreamValue.self, c[1]) else { return .array([]) }
        // As in Redis, COUNT 0 answers nil rather than an empty array.
        if count == 0 { return .null }
        let entries = stream.entries.range(start, end, reverse: reverse, limit: count < 0 ? nil : Int(clamping: count))
        return .array(entries.map(reply))
    }

    // MARK: - Deleting

    static func xdel(_ c: CommandContext) throws(CommandError) -> Reply {
        var ids: [StreamID] = []
        for i in 2..<c.argumentCount { ids.append(try StreamIDParse.id(c[i])) }
        let key = c[1]
        let deleted = try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) -> Int64 in
            ids.reduce(0) { total, id in total + (stream.delete(id, policy: .keepReferences) == 1 ? 1 : 0) }
        } ?? 0
        if deleted > 0 { c.db.didWrite(key, .xdel) }
        return .integer(deleted)
    }

    /// Parses `[KEEPREF|DELREF|ACKED] IDS numids id ...` from `start`, the
    /// Redis 8.2 block XDELEX and XACKDEL share (options may sit on either side).
    static func referenceArguments(_ c: CommandContext, from start: Int) throws(CommandError) -> (StreamValue.ReferencePolicy, [StreamID]) {
        var policy: StreamValue.ReferencePolicy?
        var ids: [StreamID]?
        var i = start
        while i < c.argumentCount {
            if let parsed = StreamValue.ReferencePolicy(c[i]), policy == nil {
                policy = parsed
                i += 1
            } else if c[i].equalsIgnoringCase("ids"), ids == nil, i + 1 < c.argumentCount {
                guard let count = Parse.strictInt64(c[i + 1]), count > 0 else {
                    throw CommandError(.generic, "ERR Number of IDs must be a positive integer")
                }
                let first = i + 2
                guard count <= Int64(c.argumentCount - first) else {
                    throw CommandError(.generic, "ERR The `numids` parameter must match the number of arguments")
                }
                var parsed: [StreamID] = []
                for j in first..<(first + Int(count)) { parsed.append(try StreamIDParse.id(c[j])) }
                ids = parsed
                i = first + Int(count)
            } else if ids != nil && StreamValue.ReferencePolicy(c[i]) == nil && !c[i].equalsIgnoringCase("ids") {
                // Leftover words after the IDs: the count did not cover them.
                throw CommandError(.generic, "ERR The `numids` parameter must match the number of arguments")
            } else {
                throw .syntax
            }
        }
        guard let ids else { throw .syntax }
        return (policy ?? .keepReferences, ids)
    }

    /// XDELEX key [KEEPREF|DELREF|ACKED] IDS numids id ... (Redis 8.2):
    /// per ID -1 (not in the stream), 1 (deleted) or 2 (kept: still referenced).
    static func xdelex(_ c: CommandContext) throws(CommandError) -> Reply {
        let (policy, ids) = try referenceArguments(c, from: 2)
        let key = c[1]
        let results = try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) -> [Int64] in
            ids.map { stream.delete($0, policy: policy) }
        } ?? Array(repeating: -1, count: ids.count)
        if results.contains(1) { c.db.didWrite(key, .xdel) }
        return .array(results.map(Reply.integer))
    }

    /// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT n] [KEEPREF|DELREF|ACKED].
    static func xtrim(_ c: CommandContext) throws(CommandError) -> Reply {
        var trim = TrimOptions()
        var i = 2
        while i < c.argumentCount {
            guard let next = try trim.parse(c, at: i) else { throw .syntax }
            i = next
        }
        guard let strategy = trim.strategy else {
            throw CommandError(.syntax, "ERR syntax error, XTRIM must be called with a trimming strategy")
        }
        let limit = try trim.effectiveLimit()
        let key = c[1]
        let removed = try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) -> Int64 in
            stream.trim(strategy, approximate: trim.approximate, limit: limit, policy: trim.policy)
        } ?? 0
        if removed > 0 { c.db.didWrite(key, .xtrim) }
        return .integer(removed)
    }

    // MARK: - XSETID

    /// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id].
    static func xsetid(_ c: CommandContext) throws(CommandError) -> Reply {
        let id = try StreamIDParse.id(c[2])
        var entriesAdded: Int64?
        var maxDeleted: StreamID?
        var i = 3
        while i < c.argumentCount {
            let more = c.argumentCount - 1 - i
            if c[i].equalsIgnoringCase("entriesadded") && more >= 1 {
                let value = try c.integer(at: i + 1)
                if value < 0 { throw CommandError(.generic, "ERR entries_added must be positive") }
                entriesAdded = value
            } else if c[i].equalsIgnoringCase("maxdeletedid") && more >= 1 {
                let value = try StreamIDParse.id(c[i + 1])
                if id < value {
                    throw CommandError(.generic, "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
                }
                maxDeleted = value
            } else {
                throw .syntax
            }
            i += 2
        }
        let key = c[1]
        guard try c.db.read(StreamValue.self, key) != nil else { throw .noSuchKey }
        try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) in
            if id < stream.maxDeletedID {
                throw CommandError(.generic, "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id")
            }
            if stream.length > 0 {
                if let last = stream.entries.last?.id, id < last {
                    throw CommandError(.generic, "ERR The ID specified in XSETID is smaller than the target stream top item")
                }
                if let entriesAdded, Int64(stream.length) > entriesAdded {
                    throw CommandError(.generic, "ERR The entries_added specified in XSETID is smaller than the target stream length")
                }
            }
            stream.lastID = id
            if let entriesAdded { stream.entriesAdded = entriesAdded }
            if let maxDeleted, !maxDeleted.isZero { stream.maxDeletedID = maxDeleted }
        }
        c.db.didWrite(key, .xsetid)
        return .ok
    }
}

/// Stream events (`t`).
extension KeyspaceEvent {
    static let xadd = KeyspaceEvent("xadd", .stream)
    static let xdel = KeyspaceEvent("xdel", .stream)
    static let xtrim = KeyspaceEvent("xtrim", .stream)
    static let xsetid = KeyspaceEvent("xsetid", .stream)
    static let xgroupCreate = KeyspaceEvent("xgroup-create", .stream)
    static let xgroupSetID = KeyspaceEvent("xgroup-setid", .stream)
    static let xgroupDestroy = KeyspaceEvent("xgroup-destroy", .stream)
    static let xgroupCreateConsumer = KeyspaceEvent("xgroup-createconsumer", .stream)
    static let xgroupDelConsumer = KeyspaceEvent("xgroup-delconsumer", .stream)
    // Consumer-group bookkeeping Redis does not announce.
    static let xack = KeyspaceEvent(unannounced: "xack")
    static let xreadgroup = KeyspaceEvent(unannounced: "xreadgroup")
    static let xclaim = KeyspaceEvent(unannounced: "xclaim")
    static let xautoclaim = KeyspaceEvent(unannounced: "xautoclaim")
}
