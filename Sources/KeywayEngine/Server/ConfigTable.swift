/// A table of configuration parameters over one target. The engine's is
/// `ConfigTable.engine`; the `keyway` executable has one for the settings
/// the engine does not own (port, bind, token...).
public struct ConfigTable<Target>: Sendable {
    public let parameters: [ConfigParameter<Target>]

    public init(_ parameters: [ConfigParameter<Target>]) {
        self.parameters = parameters
    }

    /// The parameter answering to `name` (its name, an alias or its flag), without regard to case.
    public func parameter(named name: String) -> ConfigParameter<Target>? {
        let lower = name.lowercased()
        return parameters.first { $0.names.contains(lower) || $0.flagName == lower }
    }

    /// Sets every parameter that has a fixed default to it.
    public func applyDefaults(to target: inout Target) {
        for parameter in parameters {
            guard let value = parameter.defaultValue else { continue }
            do {
                try parameter.change(parameter.words(value))(&target)
            } catch {
                preconditionFailure("the default of \(parameter.name) is not valid: \(error.rule)")
            }
        }
    }

    /// The names CONFIG GET lists, with each one's value.
    public func values(of target: Target) -> [(String, String)] {
        parameters.flatMap { parameter -> [(String, String)] in
            guard let get = parameter.get else { return [] }
            let value = get(target)
            return ([parameter.name] + (parameter.aliasesListed ? parameter.aliases : [])).map { ($0, value) }
        }
    }

    /// This table's parameters bound to `target`, for `ConfigReader`.
    /// `apply` runs a change on the target (the caller holds it).
    public func bound(_ apply: @escaping (ConfigParameter<Target>.Change) -> Void) -> [ConfigReader.Binding] {
        parameters.map { parameter in
            ConfigReader.Binding(name: parameter.name, names: parameter.names, flag: parameter.flagName,
                                 repetition: parameter.repetition) { words, adding throws(ConfigValueError) in
                apply(try parameter.change(words, adding: adding))
            } split: { parameter.words($0) }
        }
    }

    /// One Markdown table row per parameter.
    public func markdownRows() -> [String] {
        parameters.map { parameter in
            let names = ([parameter.name] + parameter.aliases).map { "`\($0)`" }.joined(separator: ", ")
            let flag = "`--\(parameter.flagName)`"
            let cells = [names, flag, parameter.kind, parameter.defaultDescription, parameter.allowed,
                         parameter.mutability == .mutable ? "yes" : "no (\(parameter.mutability.rawValue))", parameter.help]
            return "| " + cells.map { $0.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }.joined(separator: " | ") + " |"
        }
    }

    /// `serve --help`'s lines for the generated flags.
    public func flagHelp() -> [String] {
        parameters.map { parameter in
            let aliases = parameter.names.filter { $0 != parameter.flagName }.map { "--\($0)" }
            let also = aliases.isEmpty ? "" : " (also \(aliases.joined(separator: ", ")))"
            let fixed = parameter.defaultDescription.isEmpty ? "" : " Default \(parameter.defaultDescription)."
            return "  --\(parameter.flagName) <\(parameter.kind)>\(also)\n        \(parameter.help)\(fixed)"
        }
    }
}

/// What the engine's parameters act on.
public struct EngineSettings: @unchecked Sendable {
    public let db: Database
    public let server: ServerState

    public init(db: Database, server: ServerState) {
        self.db = db
        self.server = server
    }
}

extension ConfigTable where Target == EngineSettings {
    /// The engine's parameters: CONFIG GET lists them in this order.
    public static var engine: ConfigTable<EngineSettings> { EngineConfig.table }

    /// The value CONFIG GET shows for `name`.
    public func value(_ name: String, in target: EngineSettings) -> String? {
        parameter(named: name)?.get?(target)
    }
}

/// Holds the engine's table (a generic type can't have stored statics).
enum EngineConfig {
    static let table = ConfigTable<EngineSettings>([
        .init("notify-keyspace-events", ConfigValueType<KeyspaceEventFlags>.keyspaceEvents, default: "",
              help: "Keyspace notification classes, as Redis's (e.g. KEA); empty is off.",
              get: { $0.db.notifyKeyspaceEvents }, set: { $0.db.notifyKeyspaceEvents = $1 }),
        .init("hz", ConfigValueType<Int>.int(1...500), default: "10", .immutable,
              help: "Background task runs a second (active expiry, save rules).",
              get: { $0.server.hz }, set: { $0.server.hz = $1 }),
        .init("slowlog-log-slower-than", ConfigValueType<Int64>.integer(.min ... .max, unit: "microseconds"), default: "10000",
              help: "Commands slower than this go to the slow log; negative disables, 0 logs all.",
              get: { $0.server.statistics?.slowerThanMicroseconds ?? 10_000 }, set: { $0.server.statistics?.slowerThanMicroseconds = $1 }),
        .init("acllog-max-len", ConfigValueType<Int>.int(0...Int(Int32.max)), default: "128",
              help: "Entries ACL LOG keeps (refused commands, keys and channels, failed authentications).",
              get: { $0.server.accessControl.log.maxLength }, set: { $0.server.accessControl.log.maxLength = $1 }),
        .init("slowlog-max-len", ConfigValueType<Int>.int(0...Int(Int32.max)), default: "128",
              help: "Entries the slow log keeps.",
              get: { $0.server.statistics?.slowLogMaxLength ?? 128 },
              set: { target, length in
                  target.server.statistics?.slowLogMaxLength = length
                  target.server.statistics?.trimSlowLog()
              }),
        .init("save", ConfigValueType<[SnapshotState.SaveRule]>.saveRules, default: "3600 1 300 100 60 10000", repetition: .accumulateWithinSource,
              help: "Snapshot rules: pairs of seconds and changes; \"\" disables. Several lines of one file add up.",
              get: { $0.server.snapshots.rules }, set: { $0.server.snapshots.rules = $1 },
              add: { target, rules in
                  if rules.isEmpty { target.server.snapshots.rules = [] } else { target.server.snapshots.rules += rules }
              }),
        .init("lazyfree-lazy-user-del", ConfigValueType<Bool>.bool, default: "no",
              help: "DEL frees big values off the engine, as UNLINK does.",
              get: { $0.server.lazyFree.userDel }, set: { $0.server.lazyFree.userDel = $1 }),
        .init("lazyfree-lazy-user-flush", ConfigValueType<Bool>.bool, default: "no",
              help: "FLUSHALL and FLUSHDB without SYNC or ASYNC free the data off the engine, as with ASYNC.",
              get: { $0.server.lazyFree.userFlush }, set: { $0.server.lazyFree.userFlush = $1 }),
        .init("stop-writes-on-bgsave-error", ConfigValueType<Bool>.bool, default: "yes",
              help: "After a failed background save, refuse writes (MISCONF) until a save succeeds, while save rules are set.",
              get: { $0.server.snapshots.stopWritesOnError }, set: { $0.server.snapshots.stopWritesOnError = $1 }),
        .init("appendonly", ConfigValueType<Bool>.bool, default: "no",
              help: "Keep an append-only file. At run time, yes writes the data into a new file and no closes it.",
              get: { $0.server.appendOnly.enabled }, set: { $0.server.appendOnly.configured = $1 },
              setAtRunTime: { $0.server.appendOnly.switchRequested = $1 }),
        .init("appendfilename", ConfigValueType<String>.fileName, default: "appendonly.aof", .protected,
              help: "Append-only file name, in dir.",
              get: { $0.server.appendOnly.fileName }, set: { $0.server.appendOnly.fileName = $1 }),
        .init("appendfsync", ConfigValueType<AOFFsyncPolicy>.enumeration(AOFFsyncPolicy.allCases, noun: "appendfsync policy"), default: "everysec", .immutable,
              help: "When the append-only file is fsynced: always (a write answers once on disk), everysec, or no.",
              get: { $0.server.appendOnly.fsync }, set: { $0.server.appendOnly.fsync = $1 }),
        .init("aof-load-truncated", ConfigValueType<Bool>.bool, default: "yes", .immutable,
              help: "At start-up, drop a torn last command of the append-only file instead of refusing to start.",
              get: { $0.server.appendOnly.loadTruncated }, set: { $0.server.appendOnly.loadTruncated = $1 }),
        .init("auto-aof-rewrite-percentage", ConfigValueType<Int64>.integer(0 ... .max, unit: "percent"), default: "100",
              help: "Rewrite the append-only file when it grew this much since the last rewrite; 0 disables.",
              get: { $0.server.appendOnly.autoRewritePercentage }, set: { $0.server.appendOnly.autoRewritePercentage = $1 }),
        .init("auto-aof-rewrite-min-size", ConfigValueType<Int64>.memory, default: "67108864",
              help: "No automatic rewrite below this size.",
              get: { $0.server.appendOnly.autoRewriteMinSize }, set: { $0.server.appendOnly.autoRewriteMinSize = $1 }),
        .init("dir", ConfigValueType<String>.path, default: ".", .protected,
              help: "Directory of the snapshot and append-only files.",
              get: { $0.server.snapshots.directory }, set: { $0.server.snapshots.directory = $1 }),
        .init("dbfilename", ConfigValueType<String>.fileName, default: "dump.rdb", .protected,
              help: "Snapshot file name, in dir.",
              get: { $0.server.snapshots.fileName }, set: { $0.server.snapshots.fileName = $1 }),
        .init("databases", ConfigValueType<Int>.int(1...1), default: "1", .immutable,
              help: "Keyway has one database.",
              get: { _ in 1 }, set: { _, _ in }),
        .init("hll-sparse-max-bytes", ConfigValueType<Int>.int(0...100_000), default: "3000",
              help: "Bytes up to which a HyperLogLog stays sparse (Redis's default); past it, it turns dense (12 KB).",
              get: { $0.server.hyperLogLogSparseMaxBytes }, set: { $0.server.hyperLogLogSparseMaxBytes = $1 }),
        .init("lua-time-limit", aliases: ["busy-reply-threshold"], ConfigValueType<Int64>.integer(0 ... .max, unit: "milliseconds"), default: "5000",
              aliasesListed: true,
              help: "Milliseconds a script runs before other clients get BUSY and SCRIPT KILL may stop it; 0 lets a script run without limit, others getting BUSY at once.",
              get: { $0.server.scripts.watchdog.timeLimitMilliseconds }, set: { $0.server.scripts.watchdog.timeLimitMilliseconds = $1 }),
    ] + EvictionConfig.parameters)
}

extension ConfigValueType where Value == KeyspaceEventFlags {
    /// Redis's class letters; an empty value (or none) is off.
    public static var keyspaceEvents: Self { ConfigValueType(
        kind: "flags", allowed: "letters of Ag$lshzxetmnKE, or empty", arity: 0...1,
        parse: { _, words throws(ConfigValueError) in
            let text = words.first ?? ""
            guard let flags = KeyspaceEventFlags(text) else {
                throw ConfigValueError(headline: "invalid event class characters in '\(text)', use letters of 'Ag$lshzxetmnKE'",
                                       subject: nil, rule: "Invalid event class character. Use 'Ag$lshzxeKEtmn'.")
            }
            return flags
        }, format: { $0.description }) }
}

extension ConfigValueType where Value == [SnapshotState.SaveRule] {
    /// `save`'s pairs of seconds and changes, as words or one string.
    public static var saveRules: Self { ConfigValueType(
        kind: "save rules", allowed: "pairs of seconds and changes, or \"\"", arity: 0...Int.max,
        words: { $0.split(separator: " ").map(String.init) },
        parse: { _, words throws(ConfigValueError) in
            guard let rules = SnapshotState.parseRules(words.flatMap { $0.split(separator: " ").map(String.init) }) else {
                throw ConfigValueError(headline: "expected pairs of seconds and changes, e.g. \"3600 1 300 100\", or \"\"",
                                       subject: nil, rule: "Invalid save parameters")
            }
            return rules
        }, format: { $0.map { "\($0.seconds) \($0.changes)" }.joined(separator: " ") }) }
}

/// Reads the parameters of one or more tables from a config file or from
/// `--name value` flags, in order, as one source each.
public struct ConfigReader {
    /// A parameter bound to the target its changes apply to.
    public struct Binding {
        let name: String
        let names: [String]
        let flag: String
        let repetition: ConfigRepetition
        let apply: (_ words: [String], _ adding: Bool) throws(ConfigValueError) -> Void
        let split: (String) -> [String]

        init(name: String, names: [String], flag: String, repetition: ConfigRepetition,
             apply: @escaping (_ words: [String], _ adding: Bool) throws(ConfigValueError) -> Void, split: @escaping (String) -> [String]) {
            self.name = name
            self.names = names
            self.flag = flag
            self.repetition = repetition
            self.apply = apply
            self.split = split
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    let bindings: [Binding]
    /// Directives Keyway knows from redis.conf but does not act on.
    let inactive: Set<String>

    public init(_ bindings: [Binding], inactive: Set<String> = []) {
        self.bindings = bindings
        self.inactive = inactive
    }

    func binding(_ name: String) -> Binding? {
        bindings.first { $0.names.contains(name) || $0.flag == name }
    }

    /// Applies a config file's directives, failing on the first bad one
    /// with its line, as Redis refuses a bad config. Returns the inactive
    /// directives it met.
    @discardableResult
    public func read(_ file: ConfigFile) throws(Failure) -> [String] {
        var seen: Set<String> = []
        var ignored: [String] = []
        for directive in file.directives {
            guard !inactive.contains(directive.name) else {
                ignored.append(directive.name)
                continue
            }
            guard let binding = binding(directive.name) else {
                throw Failure(message: ConfigValueError("Bad directive or wrong number of arguments")
                    .fileMessage(line: directive.line, directive: directive.name, arguments: directive.arguments))
            }
            let adding = binding.repetition == .accumulate || (binding.repetition == .accumulateWithinSource && seen.contains(binding.name))
            seen.insert(binding.name)
            do {
                try binding.apply(directive.arguments, adding)
            } catch {
                throw Failure(message: error.fileMessage(line: directive.line, directive: directive.name, arguments: directive.arguments))
            }
        }
        return ignored
    }

    /// Applies `--name value` and `--name=value` flags, in order.
    public func read(flags arguments: [String]) throws(Failure) {
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw Failure(message: "unexpected argument '\(argument)'")
            }
            let body = argument.dropFirst(2)
            let name = String(body.prefix(while: { $0 != "=" })).lowercased()
            guard let binding = binding(name) else { throw Failure(message: "unknown option '--\(name)'") }
            let value: String
            if let equals = body.firstIndex(of: "=") {
                value = String(body[body.index(after: equals)...])
            } else if let next = remaining.popFirst() {
                value = next
            } else {
                throw Failure(message: "--\(name): missing value")
            }
            do {
                try binding.apply(binding.split(value), binding.repetition == .accumulate)
            } catch {
                throw Failure(message: error.flagMessage(name))
            }
        }
    }
}
