#if canImport(Glibc)
import Glibc
#endif

/// CONFIG GET / SET / RESETSTAT over a table of the parameters that can be
/// read and changed while running.
enum ConfigCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("config", arity: -2, flags: [.admin, .noScript, .loading], keys: (0, 0, 0), handler: config),
    ]

    /// One live parameter: how to show it and how to change it.
    struct Parameter: Sendable {
        let name: String
        let get: @Sendable (Database, ServerState) -> String
        /// Validates and applies a new value; nil for read-only parameters.
        let set: (@Sendable (Database, ServerState, Bytes) throws(CommandError) -> Void)?
    }

    static let parameters: [Parameter] = [
        Parameter(name: "notify-keyspace-events", get: { db, _ in db.notifyKeyspaceEvents.description }) { db, _, value throws(CommandError) in
            guard let flags = KeyspaceEventFlags(value.text) else {
                throw CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmn'.")
            }
            db.notifyKeyspaceEvents = flags
        },
        Parameter(name: "hz", get: { _, server in String(server.hz) }, set: nil),
        Parameter(name: "save", get: { _, server in server.snapshots.rulesDescription }) { _, server, value throws(CommandError) in
            guard let rules = SnapshotState.parseRules(value.text.split(separator: " ").map(String.init)) else {
                throw CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters")
            }
            server.snapshots.rules = rules
        },
        Parameter(name: "appendonly", get: { _, server in server.appendOnly.enabled ? "yes" : "no" }) { _, server, value throws(CommandError) in
            switch value.lowercasedASCII {
            case "yes": server.appendOnly.switchRequested = true
            case "no": server.appendOnly.switchRequested = false
            default: throw CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'")
            }
        },
        Parameter(name: "appendfilename", get: { _, server in server.appendOnly.fileName }, set: nil),
        Parameter(name: "appendfsync", get: { _, server in server.appendOnly.fsync.rawValue }, set: nil),
        Parameter(name: "aof-load-truncated", get: { _, server in server.appendOnly.loadTruncated ? "yes" : "no" }, set: nil),
        Parameter(name: "auto-aof-rewrite-percentage", get: { _, server in String(server.appendOnly.autoRewritePercentage) }) { _, server, value throws(CommandError) in
            guard let percent = Parse.strictInt64(value), percent >= 0 else {
                throw CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument 'auto-aof-rewrite-percentage') - argument must be a non-negative integer")
            }
            server.appendOnly.autoRewritePercentage = percent
        },
        Parameter(name: "auto-aof-rewrite-min-size", get: { _, server in String(server.appendOnly.autoRewriteMinSize) }) { _, server, value throws(CommandError) in
            guard let size = Parse.strictInt64(value), size >= 0 else {
                throw CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument 'auto-aof-rewrite-min-size') - argument must be a non-negative integer")
            }
            server.appendOnly.autoRewriteMinSize = size
        },
        Parameter(name: "dir", get: { _, server in server.snapshots.directory }) { _, server, value throws(CommandError) in
            var info = stat()
            guard stat(value.text, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                throw CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory")
            }
            server.snapshots.directory = value.text
        },
        Parameter(name: "dbfilename", get: { _, server in server.snapshots.fileName }) { _, server, value throws(CommandError) in
            guard !value.isEmpty, !value.text.contains("/") else {
                throw CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename")
            }
            server.snapshots.fileName = value.text
        },
        Parameter(name: "databases", get: { _, _ in "1" }, set: nil),
    ]

    static func config(_ c: CommandContext) throws(CommandError) -> Reply {
        let sub = c[1]
        if sub.equalsIgnoringCase("get") && c.argumentCount >= 3 {
            var pairs: [Reply] = []
            for parameter in parameters where c.arguments.dropFirst(2).contains(where: { GlobPattern.matches($0, Bytes(parameter.name), ignoreCase: true) }) {
                pairs += [.bulk(parameter.name), .bulk(parameter.get(c.db, c.server))]
            }
            return .map(pairs)
        }
        if sub.equalsIgnoringCase("set") && c.argumentCount >= 4 && c.argumentCount % 2 == 0 {
            // Validate every name first so a bad one changes nothing.
            var changes: [(Parameter, Bytes)] = []
            for i in stride(from: 2, to: c.argumentCount, by: 2) {
                let name = c[i].lowercasedASCII
                guard let parameter = parameters.first(where: { $0.name == name }) else {
                    throw CommandError(.generic, "ERR Unknown option or number of arguments for CONFIG SET - '\(c[i].text)'")
                }
                guard parameter.set != nil else {
                    throw CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument '\(name)') - can't set immutable config")
                }
                changes.append((parameter, c[i + 1]))
            }
            for (parameter, value) in changes { try parameter.set!(c.db, c.server, value) }
            return .ok
        }
        if sub.equalsIgnoringCase("resetstat") && c.argumentCount == 2 {
            c.db.stats = EngineStats()
            return .ok
        }
        throw CommandError(.syntax, "ERR unknown subcommand or wrong number of arguments for '\(sub.text)'. Try CONFIG HELP.")
    }
}
