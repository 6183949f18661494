/// XREAD and XREADGROUP: reading new entries from several streams at once,
/// optionally waiting for them (BLOCK), and for groups, the delivery
/// bookkeeping (last-delivered-id, entries-read, pending entries).
enum StreamReadCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("xread", arity: -4, flags: [.readonly, .blocking], keys: (0, 0, 0), variableKeys: .streams, handler: { c throws(CommandError) in try read(c, grouped: false) }),
        CommandSpec("xreadgroup", arity: -7, flags: [.write, .blocking], keys: (0, 0, 0), variableKeys: .streams, handler: { c throws(CommandError) in try read(c, grouped: true) }),
    ]

    /// What one stream's ID argument asks for.
    enum Start {
        /// Entries after this ID.
        case after(StreamID)
        /// `$`: entries added from now on (XREAD).
        case newOnly
        /// `+`: the last entry (XREAD, Redis 7.4).
        case lastEntry
        /// `>`: entries never delivered to the group (XREADGROUP).
        case undelivered
    }

    struct Options {
        var count: Int?
        var timeout: Int64?
        var noAck = false
        var group: (name: Bytes, consumer: Bytes)?
        var keysAt = 0
        var streams = 0
    }

    static func parseOptions(_ c: CommandContext, grouped: Bool) throws(CommandError) -> Options {
        var options = Options()
        var i = 1
        var streamsAt: Int?
        while i < c.argumentCount {
            let word = c[i]
            let more = c.argumentCount - 1 - i
            if word.equalsIgnoringCase("block") && more >= 1 {
                guard let ms = Parse.strictInt64(c[i + 1]) else {
                    throw CommandError(.generic, "ERR timeout is not an integer or out of range")
                }
                if ms < 0 { throw CommandError(.generic, "ERR timeout is negative") }
                options.timeout = ms
                i += 2
            } else if word.equalsIgnoringCase("count") && more >= 1 {
                let count = try c.integer(at: i + 1)
                // COUNT 0 (or negative) means no limit, as in Redis.
                options.count = count > 0 ? Int(clamping: count) : nil
                i += 2
            } else if word.equalsIgnoringCase("streams") && more >= 1 {
                streamsAt = i + 1
                break
            } else if word.equalsIgnoringCase("group") && more >= 2 {
                guard grouped else {
                    throw CommandError(.generic, "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
                }
                options.group = (c[i + 1], c[i + 2])
                i += 3
            } else if word.equalsIgnoringCase("noack") && grouped {
                options.noAck = true
                i += 1
            } else {
                throw .syntax
            }
        }
        guard let streamsAt else { throw .syntax }
        let remaining = c.argumentCount - streamsAt
        if remaining % 2 != 0 {
            throw CommandError(.generic, "ERR Unbalanced '\(c.name)' list of streams: for each stream key an ID or '$' must be specified.")
        }
        if grouped && options.group == nil { throw CommandError(.generic, "ERR Missing GROUP option for XREADGROUP") }
        options.keysAt = streamsAt
        options.streams = remaining / 2
        return options
    }

    static func read(_ c: CommandContext, grouped: Bool) throws(CommandError) -> Reply {
        let options = try parseOptions(c, grouped: grouped)
        let keys = Array(c.arguments[options.keysAt..<(options.keysAt + options.streams)])
        let idsAt = options.keysAt + options.streams

        // Check every stream (type, group) and resolve every ID before
        // serving any, so an error leaves nothing half-delivered.
        var starts: [Start] = []
        var lastIDs: [StreamID] = []
        for (index, key) in keys.enumerated() {
            let stream = try c.db.read(StreamValue.self, key)
            if let group = options.group, stream?.groups[group.name] == nil {
                throw CommandError(.noGroup, "NOGROUP No such key '\(key.text)' or consumer group '\(group.name.text)' in XREADGROUP with GROUP option")
            }
            lastIDs.append(stream?.lastID ?? .zero)
            let argument = c[idsAt + index]
            if argument == "$" {
                if grouped {
                    throw CommandError(.generic, "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
                }
                starts.append(.newOnly)
            } else if argument == ">" {
                guard grouped else {
                    throw CommandError(.generic, "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
                }
                starts.append(.undelivered)
            } else if argument == "+" && !grouped {
                starts.append(.lastEntry)
            } else {
                starts.append(.after(try StreamIDParse.id(argument, strict: false)))
            }
        }

        var results: [Reply] = []
        for (index, key) in keys.enumerated() {
            if let group = options.group {
                if let served = try serveGroup(c, key: key, group: group, start: starts[index], options: options) {
                    results.append(.array([.bulk(key), .array(served)]))
                }
            } else if let served = try serve(c, key: key, start: starts[index], lastID: lastIDs[index], count: options.count) {
                results.append(.array([.bulk(key), .array(served)]))
            }
        }
        if !results.isEmpty { return .array(results) }
        guard let timeout = options.timeout else { return .null }
        // Woken by a write, the command runs again: `$` and `+` must then
        // mean the last ID as it is now, or the new entry would be skipped.
        var rewritten = c.arguments
        for (index, start) in starts.enumerated() {
            switch start {
            case .newOnly, .lastEntry: rewritten[idsAt + index] = lastIDs[index].bytes
            case .after, .undelivered: break
            }
        }
        return c.block(on: keys, timeoutMilliseconds: timeout, nilReply: .null, rewrite: rewritten == c.arguments ? nil : rewritten)
    }

    /// XREAD from one stream: entries after the start, nil when none.
    static func serve(_ c: CommandContext, key: Bytes, start: Start, lastID: StreamID, count: Int?) throws(CommandError) -> [Reply]? {
        guard let stream = try c.db.read(StreamValue.self, key) else { return nil }
        let after: StreamID
        switch start {
        case .newOnly: after = lastID
        case .after(let id): after = id
        case .lastEntry:
            return stream.entries.last.map { [StreamCommands.reply($0)] }
        case .undelivered: return nil
        }
        guard let from = after.successor else { return nil }
        let entries = stream.entries.range(from, .max, limit: count)
        return entries.isEmpty ? nil : entries.map(StreamCommands.reply)
    }

    /// XREADGROUP from one stream. `>` delivers new entries (nil when there
    /// are none); a history ID re-sends the consumer's pending entries after
    /// it (always answered, possibly empty; deleted entries come as [id, nil]).
    static func serveGroup(_ c: CommandContext, key: Bytes, group: (name: Bytes, consumer: Bytes),
                           start: Start, options: Options) throws(CommandError) -> [Reply]? {
        let now = c.db.now
        var event: KeyspaceEvent?
        // Logged as effects: consumer creation, XCLAIMs with explicit delivery
        // time and count, and the group's new last ID (Redis's propagation).
        let propagating = c.isPropagating
        var effects: [[Bytes]] = []
        func claim(_ stream: StreamValue, _ id: StreamID) {
            guard propagating, let pending = stream.groups[group.name]!.pending[id] else { return }
            effects.append(argv("XCLAIM", key, group.name, group.consumer, "0", id, "TIME", pending.deliveryTime,
                                "RETRYCOUNT", pending.deliveryCount, "FORCE", "JUSTID"))
        }
        let served = try c.db.modify(StreamValue.self, key, create: false) { stream throws(CommandError) -> [Reply]? in
            if stream.groups[group.name]!.ensureConsumer(group.consumer, now: now) {
                event = .xgroupCreateConsumer
                if propagating { effects.append(argv("XGROUP", "CREATECONSUMER", key, group.name, group.consumer)) }
            }
            stream.groups[group.name]!.consumers[group.consumer]!.seenTime = now
            switch start {
            case .undelivered:
                guard let from = stream.groups[group.name]!.lastID.successor else { return nil }
                let entries = stream.entries.range(from, .max, limit: options.count)
                guard !entries.isEmpty else { return nil }
                for entry in entries {
                    stream.markDelivered(entry.id, group: group.name)
                    if !options.noAck { stream.groups[group.name]!.deliver(entry.id, to: group.consumer, now: now) }
                    claim(stream, entry.id)
                }
                if propagating {
                    let updated = stream.groups[group.name]!
                    effects.append(argv("XGROUP", "SETID", key, group.name, updated.lastID, "ENTRIESREAD", updated.entriesRead ?? -1))
                }
                stream.groups[group.name]!.consumers[group.consumer]!.activeTime = now
                event = event ?? .xreadgroup
                return entries.map(StreamCommands.reply)
            case .after(let id):
                guard let from = id.successor else { return [] }
                let ids = stream.groups[group.name]!.consumers[group.consumer]!.pending.ids(from: from, limit: options.count ?? .max)
                var replies: [Reply] = []
                for id in ids {
                    if let entry = stream.entries.entry(id) {
                        stream.groups[group.name]!.pending[id]!.deliveryTime = now
                        stream.groups[group.name]!.pending[id]!.deliveryCount += 1
                        claim(stream, id)
                        replies.append(StreamCommands.reply(entry))
                    } else {
                        replies.append(.array([StreamCommands.reply(id), .null]))
                    }
                }
                if !ids.isEmpty {
                    stream.groups[group.name]!.consumers[group.consumer]!.activeTime = now
                    event = event ?? .xreadgroup
                }
                return replies
            case .newOnly, .lastEntry:
                return nil
            }
        } ?? nil
        if let event { c.db.didWrite(key, event) }
        if propagating { c.propagate(effects) }
        return served
    }
}
