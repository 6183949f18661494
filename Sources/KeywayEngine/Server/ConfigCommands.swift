#if canImport(Glibc)
import Glibc
#endif

/// CONFIG GET / SET / REWRITE / RESETSTAT over `ConfigTable.engine`.
public enum ConfigCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("config", arity: -2, flags: [.admin, .noScript, .loading], keys: (0, 0, 0), handler: config),
    ]

    static var table: ConfigTable<EngineSettings> { .engine }

    static func config(_ c: CommandContext) throws(CommandError) -> Reply {
        let sub = c[1]
        if sub.equalsIgnoringCase("get") && c.argumentCount >= 3 {
            let patterns = c.arguments.dropFirst(2)
            var pairs: [Reply] = []
            for (name, value) in table.values(of: EngineSettings(db: c.db, server: c.server))
            where patterns.contains(where: { GlobPattern.matches($0, Bytes(name), ignoreCase: true) }) {
                pairs += [.bulk(Bytes(name)), .bulk(Bytes(value))]
            }
            return .map(pairs)
        }
        if sub.equalsIgnoringCase("set") && c.argumentCount >= 4 && c.argumentCount % 2 == 0 {
            return try set(c)
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

    /// CONFIG SET name value [name value ...], as Redis 7: every name and
    /// value is checked before any is applied, so a bad one changes nothing.
    static func set(_ c: CommandContext) throws(CommandError) -> Reply {
        var changes: [ConfigParameter<EngineSettings>.Change] = []
        var named: Set<String> = []
        for i in stride(from: 2, to: c.argumentCount, by: 2) {
            let name = c[i].lowercasedASCII
            guard let parameter = table.parameter(named: name), parameter.names.contains(name) else {
                throw CommandError(.generic, "ERR Unknown option or number of arguments for CONFIG SET - '\(c[i].text)'")
            }
            func failure(_ reason: String) -> CommandError {
                CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument '\(name)') - \(reason)")
            }
            switch parameter.mutability {
            case .immutable: throw failure("can't set immutable config")
            case .protected: throw failure("can't set protected config")
            case .mutable: break
            }
            guard named.insert(parameter.name).inserted else { throw failure("duplicate parameter") }
            do {
                changes.append(try parameter.change(value: c[i + 1].text, atRunTime: true))
            } catch {
                throw CommandError(.generic, error.configSetMessage(name))
            }
            if parameter.name == "appendonly", c[i + 1].equalsIgnoringCase("yes"), let reason = appendOnlyFileUnusable(c) {
                throw failure("Unable to turn on AOF: \(reason)")
            }
        }
        var settings = EngineSettings(db: c.db, server: c.server)
        for change in changes { change(&settings) }
        return .ok
    }

    /// Why `appendonly yes` could not open the file it would write (an
    /// unwritable `dir`, a directory in the way), checked before anything
    /// of the CONFIG SET applies; nil when it can, or the AOF is already on.
    private static func appendOnlyFileUnusable(_ c: CommandContext) -> String? {
        let appendOnly = c.server.appendOnly
        guard appendOnly.writer == nil else { return nil }
        let path = appendOnly.path(in: c.server.snapshots.directory)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "\(path): \(String(cString: strerror(errno)))" }
        close(fd)
        return nil
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
        let rewritten = rewrittenConfig(text, values: table.values(of: EngineSettings(db: c.db, server: c.server)))
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
