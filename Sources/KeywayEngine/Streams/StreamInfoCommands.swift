/// XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS: Redis 7.2's
/// fields in Redis's order. Each record is a `Reply.map`, which RESP2-style
/// clients (the command API) see as a flat key/value array and the resource
/// API renders as a JSON object.
enum StreamInfoCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("xinfo", arity: -2, flags: [.readonly], keys: (2, 2, 1), handler: xinfo),
    ]

    static let help: [String] = [
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Print this help.",
    ]

    static func xinfo(_ c: CommandContext) throws(CommandError) -> Reply {
        let subcommand = c[1].lowercasedASCII
        let arities = ["help": 2, "stream": -3, "groups": 3, "consumers": 4]
        guard let arity = arities[subcommand] else {
            throw CommandError(.generic, "ERR unknown subcommand '\(String(c[1].text.prefix(128)))'. Try XINFO HELP.")
        }
        if arity >= 0 ? c.argumentCount != arity : c.argumentCount < -arity {
            throw .wrongArity("xinfo|" + subcommand)
        }
        if subcommand == "help" { return .array(help.map { .status($0) }) }
        let key = c[2]
        var fullCount: Int?
        if subcommand == "stream" && c.argumentCount > 3 {
            guard c[3].equalsIgnoringCase("full") else { throw .syntax }
            fullCount = 10
            if c.argumentCount > 4 {
                guard c.argumentCount == 6, c[4].equalsIgnoringCase("count") else { throw .syntax }
                let n = try c.integer(at: 5)
                fullCount = n <= 0 ? 0 : Int(clamping: n)
            }
        }
        guard let stream = try c.db.read(StreamValue.self, key) else { throw .noSuchKey }
        let now = c.db.now
        switch subcommand {
        case "groups":
            return .array(stream.groups.keys.sorted().map { groupSummary(stream, $0) })
        case "consumers":
            guard let group = stream.groups[c[3]] else {
                throw CommandError(.noGroup, "NOGROUP No such consumer group '\(c[3].text)' for key name '\(key.text)'")
            }
            return .array(group.consumerNames.map { name in
                let consumer = group.consumers[name]!
                return .map([
                    .bulk("name"), .bulk(name),
                    .bulk("pending"), .integer(Int64(consumer.pending.count)),
                    .bulk("idle"), .integer(now.saturatingSubtracting(consumer.seenTime)),
                    .bulk("inactive"), .integer(consumer.activeTime < 0 ? -1 : now.saturatingSubtracting(consumer.activeTime)),
                ])
            })
        default:
            if let fullCount { return full(stream, count: fullCount) }
            return .map(header(stream) + [
                .bulk("groups"), .integer(Int64(stream.groups.count)),
                .bulk("first-entry"), stream.entries.first.map(StreamCommands.reply) ?? .null,
                .bulk("last-entry"), stream.entries.last.map(StreamCommands.reply) ?? .null,
            ])
        }
    }

    /// The fields XINFO STREAM starts with, plain and FULL alike. Keyway has
    /// no radix tree: both radix-tree fields report the number of chunks.
    static func header(_ stream: StreamValue) -> [Reply] {
        [
            .bulk("length"), .integer(Int64(stream.length)),
            .bulk("radix-tree-keys"), .integer(Int64(stream.entries.chunkCount)),
            .bulk("radix-tree-nodes"), .integer(Int64(stream.entries.chunkCount)),
            .bulk("last-generated-id"), StreamCommands.reply(stream.lastID),
            .bulk("max-deleted-entry-id"), StreamCommands.reply(stream.maxDeletedID),
            .bulk("entries-added"), .integer(stream.entriesAdded),
            .bulk("recorded-first-entry-id"), StreamCommands.reply(stream.firstID),
        ]
    }

    static func counter(_ value: Int64?) -> Reply { value.map(Reply.integer) ?? .null }

    static func groupSummary(_ stream: StreamValue, _ name: Bytes) -> Reply {
        let group = stream.groups[name]!
        return .map([
            .bulk("name"), .bulk(name),
            .bulk("consumers"), .integer(Int64(group.consumers.count)),
            .bulk("pending"), .integer(Int64(group.pending.count)),
            .bulk("last-delivered-id"), StreamCommands.reply(group.lastID),
            .bulk("entries-read"), counter(group.entriesRead),
            .bulk("lag"), counter(stream.lag(of: group)),
        ])
    }

    /// XINFO STREAM key FULL [COUNT n]: entries, groups with their PELs and
    /// consumers, each list capped at `count` (0 = everything).
    static func full(_ stream: StreamValue, count: Int) -> Reply {
        let limit = count == 0 ? Int.max : count
        let entries = stream.entries.range(.zero, .max, limit: limit).map(StreamCommands.reply)
        let groups = stream.groups.keys.sorted().map { name -> Reply in
            let group = stream.groups[name]!
            let pending = group.pending.ids(limit: limit).map { id -> Reply in
                let entry = group.pending[id]!
                return .array([StreamCommands.reply(id), .bulk(entry.consumer), .integer(entry.deliveryTime), .integer(entry.deliveryCount)])
            }
            let consumers = group.consumerNames.map { consumerName -> Reply in
                let consumer = group.consumers[consumerName]!
                let owned = consumer.pending.ids(limit: limit).map { id -> Reply in
                    let entry = group.pending[id]!
                    return .array([StreamCommands.reply(id), .integer(entry.deliveryTime), .integer(entry.deliveryCount)])
                }
                return .map([
                    .bulk("name"), .bulk(consumerName),
                    .bulk("seen-time"), .integer(consumer.seenTime),
                    .bulk("active-time"), .integer(consumer.activeTime),
                    .bulk("pel-count"), .integer(Int64(consumer.pending.count)),
                    .bulk("pending"), .array(owned),
                ])
            }
            return .map([
                .bulk("name"), .bulk(name),
                .bulk("last-delivered-id"), StreamCommands.reply(group.lastID),
                .bulk("entries-read"), counter(group.entriesRead),
                .bulk("lag"), counter(stream.lag(of: group)),
                .bulk("pel-count"), .integer(Int64(group.pending.count)),
                .bulk("pending"), .array(pending),
                .bulk("consumers"), .array(consumers),
            ])
        }
        return .map(header(stream) + [.bulk("entries"), .array(entries), .bulk("groups"), .array(groups)])
    }
}
