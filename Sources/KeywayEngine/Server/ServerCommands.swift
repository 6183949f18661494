/// Connection-independent server commands: PING, ECHO, TIME, INFO, and the
/// stateful-connection commands that have no meaning over stateless HTTP.
enum ServerCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("ping", arity: -1, flags: [.fast, .loading], keys: (0, 0, 0), handler: ping),
        CommandSpec("echo", arity: 2, flags: [.fast, .loading], keys: (0, 0, 0), handler: { c throws(CommandError) in .bulk(c[1]) }),
        CommandSpec("time", arity: 1, flags: [.fast, .loading], keys: (0, 0, 0), handler: time),
        CommandSpec("info", arity: -1, flags: [.loading], keys: (0, 0, 0), handler: info),
        CommandSpec("select", arity: 2, flags: [.fast, .loading], keys: (0, 0, 0), handler: select),
        CommandSpec("command", arity: -1, flags: [.loading], keys: (0, 0, 0), handler: command),
        CommandSpec("monitor", arity: 1, flags: [.admin, .noMulti, .noScript], keys: (0, 0, 0)) { _ throws(CommandError) in
            throw CommandError(.notSupported, "ERR MONITOR needs a streaming connection: use GET /v1/monitor (Server-Sent Events)")
        },
    ] + ["multi", "exec", "discard", "watch", "unwatch"].map { name in
        CommandSpec(name, arity: -1, flags: [.noMulti, .noScript], keys: (0, 0, 0)) { _ throws(CommandError) in
            throw CommandError(.notSupported, "ERR \(name.uppercased()) is not available over stateless HTTP; send the commands to /multi-exec")
        }
    }

    static func ping(_ c: CommandContext) throws(CommandError) -> Reply {
        switch c.argumentCount {
        case 1: return .status("PONG")
        case 2: return .bulk(c[1])
        default: throw .wrongArity(c.name)
        }
    }

    static func time(_ c: CommandContext) throws(CommandError) -> Reply {
        let micros = c.db.clock.nowMicroseconds()
        return .array([.bulk(Parse.bytes(micros / 1_000_000)), .bulk(Parse.bytes(micros % 1_000_000))])
    }

    /// One database only: SELECT 0 succeeds so clients that send it work.
    static func select(_ c: CommandContext) throws(CommandError) -> Reply {
        let index = try c.integer(at: 1)
        guard index == 0 else { throw CommandError(.generic, "ERR DB index is out of range") }
        return .ok
    }

    /// COMMAND COUNT | LIST | INFO name... | DOCS name...: what the server
    /// implements, with Redis's arity and key positions (flags named as Redis
    /// names them); DOCS answers from `CommandDocs`.
    static func command(_ c: CommandContext) throws(CommandError) -> Reply {
        let table = c.server.commands
        if c.argumentCount == 1 || c[1].equalsIgnoringCase("info") {
            let specs = c.argumentCount <= 2 ? table.all : c.arguments.dropFirst(2).map { table.lookup($0) }
            return .array(specs.map { spec in spec.map { describe($0, categories: table.categories(of: $0)) } ?? .null })
        }
        if c[1].equalsIgnoringCase("count") && c.argumentCount == 2 {
            return .integer(Int64(table.all.count))
        }
        if c[1].equalsIgnoringCase("list") && c.argumentCount == 2 {
            return .array(table.all.map { .bulk(Bytes($0.name)) })
        }
        if c[1].equalsIgnoringCase("docs") {
            return CommandDocs.reply(c)
        }
        throw CommandError(.syntax, "ERR unknown subcommand or wrong number of arguments for '\(c[1].text)'. Try COMMAND HELP.")
    }

    /// Redis 7's first seven fields: name, arity, flags, key positions, and
    /// the ACL categories (the same `ACL CAT` lists).
    static func describe(_ spec: CommandSpec, categories: ACLCategories) -> Reply {
        var flags: [Reply] = []
        if spec.flags.contains(.write) { flags.append(.status("write")) }
        if spec.flags.contains(.readonly) { flags.append(.status("readonly")) }
        if spec.flags.contains(.denyOOM) { flags.append(.status("denyoom")) }
        if spec.flags.contains(.admin) { flags.append(.status("admin")) }
        if spec.flags.contains(.blocking) { flags.append(.status("blocking")) }
        if spec.flags.contains(.noScript) { flags.append(.status("noscript")) }
        if spec.flags.contains(.fast) { flags.append(.status("fast")) }
        return .array([.bulk(Bytes(spec.name)), .integer(Int64(spec.arity)), .array(flags),
                       .integer(Int64(spec.firstKey)), .integer(Int64(spec.lastKey)), .integer(Int64(spec.keyStep)),
                       .array(categories.names.map { .status("@" + $0) })])
    }

    /// INFO [section ...] in Redis's text format.
    static func info(_ c: CommandContext) throws(CommandError) -> Reply {
        let requested = c.arguments.dropFirst().map { $0.lowercasedASCII }
        let sections = Info.collect(db: c.db, server: c.server, statistics: c.execution.statistics, requested: requested)
        return .bulk(Bytes(Info.render(sections)))
    }
}
