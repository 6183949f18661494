/// Consumer group commands: XGROUP's subcommands, acknowledging (XACK,
/// XACKDEL), inspecting pending entries (XPENDING) and moving them between
/// consumers (XCLAIM, XAUTOCLAIM).
enum StreamGroupCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("xgroup", arity: -2, flags: [.write, .denyOOM], keys: (2, 2, 1), handler: xgroup),
        CommandSpec("xack", arity: -4, flags: [.write, .fast], handler: xack),
        CommandSpec("xackdel", arity: -6, flags: [.write, .fast], handler: xackdel),
        CommandSpec("xpending", arity: -3, flags: [.readonly], handler: xpending),
        CommandSpec("xclaim", arity: -6, flags: [.write, .fast], handler: xclaim),
        CommandSpec("xautoclaim", arity: -6, flags: [.write, .fast], handler: xautoclaim),
    ]

    /// What a command needs to know before changing a stream, as plain
    /// facts: holding the `StreamValue` itself across the `modify` that
    /// follows would make that modify copy the stream (copy-on-write).
    static func facts(_ c: CommandContext, _ key: Bytes, group: Bytes) throws(CommandError) -> (hasGroup: Bool, lastID: StreamID)? {
        guard let stream = try c.db.read(StreamValue.self, key) else { return nil }
        return (stream.groups[group] != nil, stream.lastID)
    }

    static func hasGroup(_ c: CommandContext, _ key: Bytes, _ group: Bytes) throws(CommandError) -> Bool {
        try facts(c, key, group: group)?.hasGroup ?? false
    }

    static func noGroup(key: Bytes, group: Bytes) -> CommandError {
        CommandError(.noGroup, "NOGROUP No such key '\(key.text)' or consumer group '\(group.text)'")
    }

    // MARK: - XGROUP

    static let requiresKey = CommandError(.generic, "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")

    static let help: [String] = [
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Print this help.",
    ]

    /// ENTRIESREAD's value: a counter, or -1 for "unknown" (nil).
    static func entriesRead(_ c: CommandContext, at position: Int) throws(CommandError) -> Int64? {
        let value = try c.integer(at: position)
        if value < 0 && value != -1 { throw CommandError(.generic, "ERR value for ENTRIESREAD must be positive or -1") }
        return value < 0 ? nil : value
    }

    static func xgroup(_ c: CommandContext) throws(CommandError) -> Reply {
        let subcommand = c[1].lowercasedASCII
        let arities = ["help": 2, "create": -5, "setid": -5, "destroy": 4, "createconsumer": 5, "delconsumer": 5]
        guard let arity = arities[subcommand] else {
            throw CommandError(.generic, "ERR unknown subcommand '\(String(c[1].text.prefix(128)))'. Try XGROUP HELP.")
        }
        if arity >= 0 ? c.argumentCount != arity : c.argumentCount < -arity {
            throw .wrongArity("xgroup|" + subcommand)
        }
        if subcommand == "help" { return .array(help.map { .status($0) }) }

        let key = c[2], name = c[3]
        var makeStream = false
        var createEntriesRead: Int64?
        if subcommand == "create" {
            var i = 5
            while i < c.argumentCount {
                if c[i].equalsIgnoringCase("mkstream") {
                    makeStream = true
                    i += 1
                } else if c[i].equalsIgnoringCase("entriesread") && i + 1 < c.argumentCount {
                    createEntriesRead = try entriesRead(c, at: i + 1)
                    i += 2
                } else {
                    throw .syntax
                }
            }
        }
        let existing = try facts(c, key, group: name)
        if !makeStream {
            guard let existing else { throw requiresKey }
            if !existing.hasGroup && ["setid", "createconsumer", "delconsumer"].contains(subcommand) {
                throw CommandError(.noGroup, "NOGROUP No such consumer group '\(name.text)' for key name '\(key.text)'")
            }
        }
        let lastID = existing?.lastID ?? .zero
        let now = c.db.now

        switch subcommand {
        case "create":
            let id = c[4] == "$" ? lastID : try StreamIDParse.id(c[4])
            if existing?.hasGroup == true { throw CommandError(.busyGroup, "BUSYGROUP Consumer Group name already exists") }
            try c.db.modify(StreamValue.self, key, create: true) { stream throws(CommandError) in
                stream.groups[name] = StreamConsumerGroup(lastID: id, entriesRead: createEntriesRead)
            }
            c.db.didWrite(key, .xgroupCreate)
            return .ok
        case "setid":
            if c.argumentCount != 5 && c.argumentCount != 7 { throw .syntax }
            let id = c[4] == "$" ? lastID : try StreamIDParse.id(c[4], strict: false)
            var read: Int64?
            if c.argumentCount == 7 {
                guard c[5].equalsIgnoringCase("entriesread") else { throw .syntax }
                read = try entriesRead(c, at: 6)
            }
            try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) in
                stream.groups[name]!.lastID = id
                stream.groups[name]!.entriesRead = read
            }
            c.db.didWrite(key, .xgroupSetID)
            return .ok
        case "destroy":
            let removed = try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) -> Bool in
                stream.groups.removeValue(forKey: name) != nil
            } ?? false
            // Also wakes XREADGROUP waiters of the group: re-run, they get NOGROUP.
            if removed { c.db.didWrite(key, .xgroupDestroy) }
            return .integer(removed ? 1 : 0)
        case "createconsumer":
            let created = try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) -> Bool in
                stream.groups[name]!.ensureConsumer(c[4], now: now)
            } ?? false
            if created { c.db.didWrite(key, .xgroupCreateConsumer) }
            return .integer(created ? 1 : 0)
        default: // delconsumer
            let pending = try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) -> Int? in
                stream.groups[name]!.removeConsumer(c[4])
            } ?? nil
            guard let pending else { return .integer(0) }
            c.db.didWrite(key, .xgroupDelConsumer)
            return .integer(Int64(pending))
        }
    }

    // MARK: - Acknowledging

    /// XACK key group id ...: how many of the IDs were pending.
    static func xack(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1], name = c[2]
        guard try hasGroup(c, key, name) else { return .integer(0) }
        var ids: [StreamID] = []
        for i in 3..<c.argumentCount { ids.append(try StreamIDParse.id(c[i])) }
        let acked = try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) -> Int64 in
            ids.reduce(0) { total, id in total + (stream.groups[name]!.acknowledge(id) ? 1 : 0) }
        } ?? 0
        if acked > 0 { c.db.didWrite(key, .xack) }
        return .integer(acked)
    }

    /// XACKDEL key group [KEEPREF|DELREF|ACKED] IDS numids id ... (Redis 8.2):
    /// acknowledges in the group, then deletes as the policy allows. Per ID:
    /// -1 not in the stream, 1 deleted, 2 kept (another group still needs it).
    static func xackdel(_ c: CommandContext) throws(CommandError) -> Reply {
        let (policy, ids) = try StreamCommands.referenceArguments(c, from: 3)
        let key = c[1], name = c[2]
        guard try hasGroup(c, key, name) else {
            return .array(Array(repeating: .integer(-1), count: ids.count))
        }
        var acked = false
        let results = try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) -> [Int64] in
            ids.map { id in
                if stream.groups[name]!.acknowledge(id) { acked = true }
                return stream.delete(id, policy: policy)
            }
        } ?? []
        if results.contains(1) { c.db.didWrite(key, .xdel) } else if acked { c.db.didWrite(key, .xack) }
        return .array(results.map(Reply.integer))
    }

    // MARK: - XPENDING

    /// XPENDING key group: the summary; XPENDING key group [IDLE ms] start end
    /// count [consumer]: the entries with owner, idle time and delivery count.
    static func xpending(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1], name = c[2]
        if c.argumentCount != 3 && (c.argumentCount < 6 || c.argumentCount > 9) { throw .syntax }
        var minIdle: Int64 = 0
        var start = StreamID.zero, end = StreamID.max, count: Int64 = 0
        var consumer: Bytes?
        if c.argumentCount > 3 {
            var at = 3
            if c[3].equalsIgnoringCase("idle") {
                minIdle = try c.integer(at: 4)
                if c.argumentCount < 8 { throw .syntax }
                at += 2
            }
            count = max(0, try c.integer(at: at + 2))
            start = try StreamIDParse.intervalStart(c[at])
            end = try StreamIDParse.intervalEnd(c[at + 1])
            if at + 3 < c.argumentCount { consumer = c[at + 3] }
        }
        guard let stream = try c.db.read(StreamValue.self, key), let group = stream.groups[name] else {
            throw noGroup(key: key, group: name)
        }
        if c.argumentCount == 3 {
            guard let first = group.pending.firstID, let last = group.pending.lastID else {
                return .array([.integer(0), .null, .null, .null])
            }
            let owners = group.consumerNames.compactMap { name -> Reply? in
                let n = group.consumers[name]!.pending.count
                return n > 0 ? .array([.bulk(name), .bulk(Parse.bytes(Int64(n)))]) : nil
            }
            return .array([.integer(Int64(group.pending.count)), StreamCommands.reply(first), StreamCommands.reply(last), .array(owners)])
        }
        let now = c.db.now
        var rows: [Reply] = []
        guard count > 0 else { return .array([]) }
        func visit(_ id: StreamID) -> Bool {
            guard let entry = group.pending[id] else { return true }
            let idle = now.saturatingSubtracting(entry.deliveryTime)
            if minIdle > 0 && idle < minIdle { return true }
            rows.append(.array([StreamCommands.reply(id), .bulk(entry.consumer), .integer(idle), .integer(entry.deliveryCount)]))
            return Int64(rows.count) < count
        }
        if let consumer {
            guard let owner = group.consumers[consumer] else { return .array([]) }
            try owner.pending.forEach(from: start, through: end) { id, _ in visit(id) }
        } else {
            try group.pending.forEach(from: start, through: end) { id, _ in visit(id) }
        }
        return .array(rows)
    }

    // MARK: - Claiming

    /// XCLAIM key group consumer min-idle-time id ... [IDLE ms] [TIME ms]
    /// [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id].
    static func xclaim(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1], name = c[2], consumer = c[3]
        guard try hasGroup(c, key, name) else { throw noGroup(key: key, group: name) }
        guard var minIdle = Parse.strictInt64(c[4]) else {
            throw CommandError(.generic, "ERR Invalid min-idle-time argument for XCLAIM")
        }
        minIdle = max(0, minIdle)
        var ids: [StreamID] = []
        var i = 5
        while i < c.argumentCount, let id = try? StreamIDParse.id(c[i]) {
            ids.append(id)
            i += 1
        }
        let now = c.db.now
        var deliveryTime: Int64?
        var retryCount: Int64?
        var force = false, justID = false
        var lastID: StreamID?
        while i < c.argumentCount {
            let word = c[i]
            let more = c.argumentCount - 1 - i
            func number(_ label: String) throws(CommandError) -> Int64 {
                guard let value = Parse.strictInt64(c[i + 1]) else {
                    throw CommandError(.generic, "ERR Invalid \(label) option argument for XCLAIM")
                }
                return value
            }
            if word.equalsIgnoringCase("force") {
                force = true
            } else if word.equalsIgnoringCase("justid") {
                justID = true
            } else if word.equalsIgnoringCase("idle") && more >= 1 {
                deliveryTime = now.saturatingSubtracting(try number("IDLE"))
                i += 1
            } else if word.equalsIgnoringCase("time") && more >= 1 {
                deliveryTime = try number("TIME")
                i += 1
            } else if word.equalsIgnoringCase("retrycount") && more >= 1 {
                retryCount = try number("RETRYCOUNT")
                i += 1
            } else if word.equalsIgnoringCase("lastid") && more >= 1 {
                lastID = try StreamIDParse.id(c[i + 1])
                i += 1
            } else {
                throw CommandError(.generic, "ERR Unrecognized XCLAIM option '\(word.text)'")
            }
            i += 1
        }
        // A delivery time in the future or before the epoch is taken as now
        // rather than refused: clients compute it from their own clocks.
        var time = deliveryTime ?? now
        if time < 0 || time > now { time = now }

        var changed = false
        // Logged as XCLAIMs with explicit TIME and RETRYCOUNT, XACK for
        // pending entries whose stream entry is gone, and XGROUP SETID for
        // a LASTID that moved the group.
        let propagating = c.isPropagating
        var effects: [[Bytes]] = []
        let replies = try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) -> [Reply] in
            if let lastID, lastID > stream.groups[name]!.lastID {
                stream.groups[name]!.lastID = lastID
                changed = true
                if propagating {
                    effects.append(argv("XGROUP", "SETID", key, name, lastID, "ENTRIESREAD", stream.groups[name]!.entriesRead ?? -1))
                }
            }
            var replies: [Reply] = []
            for id in ids {
                let existing = stream.groups[name]!.pending[id]
                guard let entry = stream.entries.entry(id) else {
                    // The entry is gone from the stream: drop its pending record.
                    if existing != nil {
                        stream.groups[name]!.acknowledge(id)
                        changed = true
                        if propagating { effects.append(argv("XACK", key, name, id)) }
                    }
                    continue
                }
                guard existing != nil || force else { continue }
                if let existing, minIdle > 0, now.saturatingSubtracting(existing.deliveryTime) < minIdle { continue }
                if stream.groups[name]!.ensureConsumer(consumer, now: now) { changed = true }
                var count = existing?.deliveryCount ?? 0
                if let retryCount { count = retryCount } else if !justID { count += 1 }
                stream.groups[name]!.deliver(id, to: consumer, now: time, count: count)
                stream.groups[name]!.consumers[consumer]!.activeTime = now
                changed = true
                if propagating {
                    effects.append(argv("XCLAIM", key, name, consumer, "0", id, "TIME", time, "RETRYCOUNT", count, "FORCE", "JUSTID"))
                }
                replies.append(justID ? StreamCommands.reply(id) : StreamCommands.reply(entry))
            }
            if stream.groups[name]!.consumers[consumer] != nil {
                stream.groups[name]!.consumers[consumer]!.seenTime = now
            }
            return replies
        } ?? []
        if changed { c.db.didWrite(key, .xclaim) }
        if propagating { c.propagate(effects) }
        return .array(replies)
    }

    /// XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]:
    /// [next cursor, claimed entries (or IDs), IDs dropped because deleted].
    static func xautoclaim(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1], name = c[2], consumer = c[3]
        guard try hasGroup(c, key, name) else { throw noGroup(key: key, group: name) }
        guard var minIdle = Parse.strictInt64(c[4]) else {
            throw CommandError(.generic, "ERR Invalid min-idle-time argument for XAUTOCLAIM")
        }
        minIdle = max(0, minIdle)
        let start = try StreamIDParse.intervalStart(c[5])
        var count = 100
        var justID = false
        var i = 6
        while i < c.argumentCount {
            let more = c.argumentCount - 1 - i
            if c[i].equalsIgnoringCase("count") && more >= 1 {
                // Each call examines at most 10 × COUNT pending entries.
                guard let n = Parse.strictInt64(c[i + 1]), n >= 1, n <= Int64.max / 10 else {
                    throw CommandError(.generic, "ERR COUNT must be > 0")
                }
                count = Int(clamping: n)
                i += 2
            } else if c[i].equalsIgnoringCase("justid") {
                justID = true
                i += 1
            } else {
                throw CommandError(.generic, "ERR Unrecognized XAUTOCLAIM option '\(c[i].text)'")
            }
        }
        let now = c.db.now
        let attempts = count.multipliedReportingOverflow(by: 10).overflow ? Int.max - 1 : count * 10
        var changed = false
        // Logged as XCLAIMs with explicit TIME and RETRYCOUNT, and XACK for
        // pending entries whose stream entry is gone.
        let propagating = c.isPropagating
        var effects: [[Bytes]] = []
        let reply = try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) -> Reply in
            let candidates = stream.groups[name]!.pending.ids(from: start, limit: attempts + 1)
            var claimed: [Reply] = []
            var deleted: [Reply] = []
            var examined = 0
            var remaining = count
            while examined < min(attempts, candidates.count) && remaining > 0 {
                let id = candidates[examined]
                examined += 1
                guard let entry = stream.entries.entry(id) else {
                    stream.groups[name]!.acknowledge(id)
                    deleted.append(StreamCommands.reply(id))
                    changed = true
                    if propagating { effects.append(argv("XACK", key, name, id)) }
                    continue
                }
                let pending = stream.groups[name]!.pending[id]!
                if minIdle > 0 && now.saturatingSubtracting(pending.deliveryTime) < minIdle { continue }
                if stream.groups[name]!.ensureConsumer(consumer, now: now) { changed = true }
                stream.groups[name]!.deliver(id, to: consumer, now: now, count: pending.deliveryCount + (justID ? 0 : 1))
                stream.groups[name]!.consumers[consumer]!.activeTime = now
                changed = true
                if propagating {
                    effects.append(argv("XCLAIM", key, name, consumer, "0", id, "TIME", now,
                                        "RETRYCOUNT", pending.deliveryCount + (justID ? 0 : 1), "FORCE", "JUSTID"))
                }
                claimed.append(justID ? StreamCommands.reply(id) : StreamCommands.reply(entry))
                remaining -= 1
            }
            if stream.groups[name]!.consumers[consumer] != nil {
                stream.groups[name]!.consumers[consumer]!.seenTime = now
            }
            let cursor = examined < candidates.count ? candidates[examined] : StreamID.zero
            return .array([StreamCommands.reply(cursor), .array(claimed), .array(deleted)])
        } ?? .null
        if changed { c.db.didWrite(key, .xautoclaim) }
        if propagating { c.propagate(effects) }
        return reply
    }
}
