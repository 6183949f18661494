#if canImport(Glibc)
import Glibc
#endif

/// CONFIG GET / SET / RESETSTAT over a table of the parameters that can be
/// read and changed while running.
public enum ConfigCommands {
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
        Parameter(name: "slowlog-log-slower-than", get: { _, server in String(server.statistics?.slowerThanMicroseconds ?? 10_000) }) { _, server, value throws(CommandError) in
            guard let micros = Parse.strictInt64(value) else {
                throw CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument couldn't be parsed into an integer")
            }
            server.statistics?.slowerThanMicroseconds = micros
        },
        Parameter(name: "slowlog-max-len", get: { _, server in String(server.statistics?.slowLogMaxLength ?? 128) }) { _, server, value throws(CommandError) in
            guard let length = Parse.strictInt64(value), length >= 0, length <= Int64(Int32.max) else {
                throw CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 2147483647 inclusive")
            }
            server.statistics?.slowLogMaxLength = Int(length)
            server.statistics?.trimSlowLog()
        },
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
    ] + ["lua-time-limit", "busy-reply-threshold"].map(scriptTimeLimit) + EvictionConfig.parameters

    /// lua-time-limit and its Redis 7 name busy-reply-threshold: one value,
    /// milliseconds a script runs before other clients get BUSY (0 = never).
    static func scriptTimeLimit(_ name: String) -> Parameter {
        Parameter(name: name, get: { _, server in String(server.scripts.watchdog.timeLimitMilliseconds) }) { _, server, value throws(CommandError) in
            guard let milliseconds = Parse.strictInt64(value), milliseconds >= 0 else {
                throw CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument '\(name)') - argument must be a non-negative integer")
            }
            server.scripts.watchdog.timeLimitMilliseconds = milliseconds
        }
    }

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
        if sub.equalsIgnoringCase("rewrite") && c.argumentCount == 2 {
            return try rewrite(c)
        }
        if sub.equalsIgnoringCase("resetstat") && c.argumentCount == 2 {
            c.db.stats = EngineStats()
            c.execution.statistics.reset()
            return .ok
        }
        throw CommandError(.syntax, "ERR unknown subcommand or wrong number of arguments for '\(sub.text)'. Try CONFIG HELP.")
    }

    /// CONFIG REWRITE: writes the current value of every live parameter back
    /// into the config file the server started with, keeping comments and
    /// other lines, replacing each parameter's first line (dropping repeats)
    /// and appending the ones the file lacked. Atomic: temp file + rename.
    static func rewrite(_ c: CommandContext) throws(CommandError) -> Reply {
        guard let path = c.server.configFilePath else {
            throw CommandError(.generic, "ERR The server is running without a config file")
        }
        var text = ""
        if let file = fopen(path, "r") {
            var buffer = [CChar](repeating: 0, count: 65536)
            while fgets(&buffer, Int32(buffer.count), file) != nil {
                text += String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            fclose(file)
        }
        let rewritten = rewrittenConfig(text, values: parameters.map { ($0.name, $0.get(c.db, c.server)) })
        let temporary = path + ".tmp-\(getpid())"
        guard let out = fopen(temporary, "w") else {
            throw CommandError(.generic, "ERR Rewriting config file: \(String(cString: strerror(errno)))")
        }
        let bytes = Array(rewritten.utf8)
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, out) }
        let flushed = fflush(out) == 0 && fsync(fileno(out)) == 0
        fclose(out)
        guard written == bytes.count, flushed, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CommandError(.generic, "ERR Rewriting config file: \(String(cString: strerror(errno)))")
        }
        return .ok
    }

    /// The config text with `values` written in: pure, for testing.
    public static func rewrittenConfig(_ text: String, values: [(String, String)]) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var written: Set<String> = []
        let byName = Dictionary(values, uniquingKeysWith: { first, _ in first })
        var output: [String] = []
        for line in lines {
            let words = ConfigFile.splitArguments(line.trimmingLeadingSpaces) ?? []
            guard let name = words.first?.lowercased(), !line.trimmingLeadingSpaces.hasPrefix("#"), let value = byName[name] else {
                output.append(line)
                continue
            }
            if written.contains(name) { continue }  // later repeats are folded into the first
            written.insert(name)
            output.append(directive(name, value))
        }
        let missing = values.filter { !written.contains($0.0) }
        if !missing.isEmpty {
            output.append("# Generated by CONFIG REWRITE")
            for (name, value) in missing { output.append(directive(name, value)) }
        }
        return output.joined(separator: "\n") + "\n"
    }

    /// One directive line; `save` keeps its pairs as separate words.
    static func directive(_ name: String, _ value: String) -> String {
        if name == "save" { return value.isEmpty ? "save \"\"" : "save \(value)" }
        return "\(name) \(quoted(value))"
    }

    /// Quotes a value when Redis's splitting would otherwise change it.
    static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "'" || $0 == "\t" || $0 == "\\" })
        guard needsQuotes else { return value }
        var out = "\""
        for character in value {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}

extension String {
    var trimmingLeadingSpaces: String { String(drop(while: { $0 == " " || $0 == "\t" })) }
}
