/// Connection-independent server commands: PING, ECHO, TIME, INFO, and the
/// stateful-connection commands that have no meaning over stateless HTTP.
enum ServerCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("ping", arity: -1, flags: [.fast], keys: (0, 0, 0), handler: ping),
        CommandSpec("echo", arity: 2, flags: [.fast], keys: (0, 0, 0), handler: { c throws(CommandError) in .bulk(c[1]) }),
        CommandSpec("time", arity: 1, flags: [.fast], keys: (0, 0, 0), handler: time),
        CommandSpec("info", arity: -1, flags: [], keys: (0, 0, 0), handler: info),
        CommandSpec("select", arity: 2, flags: [.fast], keys: (0, 0, 0), handler: select),
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

    /// INFO [section ...] in Redis's text format.
    static func info(_ c: CommandContext) throws(CommandError) -> Reply {
        let requested = c.arguments.dropFirst().map { $0.lowercasedASCII }
        let sections = Info.collect(db: c.db, server: c.server, requested: requested)
        return .bulk(Bytes(Info.render(sections)))
    }
}
