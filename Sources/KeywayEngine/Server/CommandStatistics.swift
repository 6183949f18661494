/// Per-command counters (INFO commandstats), error counters (INFO
/// errorstats), the slow log (SLOWLOG), and the ops-per-second sampler
/// (instantaneous_ops_per_sec). Lives in `EngineState`, under the lock.
public final class CommandStatistics {
    public struct Counters: Sendable {
        public var calls: Int64 = 0
        public var microseconds: Int64 = 0
        public var failedCalls: Int64 = 0

        mutating func add(microseconds: Int64, failed: Bool) {
            calls += 1
            self.microseconds += microseconds
            if failed { failedCalls += 1 }
        }
    }

    /// One slow-log entry, as SLOWLOG GET shows it.
    public struct SlowEntry: Sendable {
        public let id: Int64
        public let unixSeconds: Int64
        public let microseconds: Int64
        public let arguments: [Bytes]
        /// `ip:port` of the client that sent it, "" when not known.
        public let clientAddress: String
        /// The client's CLIENT SETNAME name, as it was when the entry was made.
        public let clientName: String
    }

    /// Keyed by the spec's identity: hashing an address is much cheaper
    /// than hashing the command's name on every call.
    private var counters: [ObjectIdentifier: (name: String, counters: Counters)] = [:]

    /// Counters by command name.
    public var byCommand: [String: Counters] {
        Dictionary(counters.values.map { ($0.name, $0.counters) }, uniquingKeysWith: { first, _ in first })
    }
    /// Error replies by their first word (`ERR`, `WRONGTYPE`, ...).
    public private(set) var byError: [String: Int64] = [:]

    /// `slowlog-log-slower-than` in microseconds; negative disables, 0 logs all.
    public var slowerThanMicroseconds: Int64 = 10_000
    /// `slowlog-max-len`.
    public var slowLogMaxLength = 128
    public private(set) var slowLog: [SlowEntry] = []  // newest first
    private var nextSlowID: Int64 = 0

    /// Samples of (time, total commands) for the moving ops/s, as Redis keeps.
    private var samples: [(Int64, Int64)] = []

    /// `clients` names the sender in a slow-log entry; it is asked only
    /// when an entry is made, not for every command.
    func record(_ spec: CommandSpec, _ command: Command, microseconds: Int64, error: CommandError?, nowMilliseconds: Int64,
                clients: @autoclosure () -> ClientDirectory?) {
        counters[ObjectIdentifier(spec), default: (spec.name, Counters())].counters.add(microseconds: microseconds, failed: error != nil)
        if let error { recordError(error) }
        if slowerThanMicroseconds >= 0 && microseconds >= slowerThanMicroseconds {
            // The connection's `ip:port` as CLIENT LIST shows it; a command
            // carries only its client's ip.
            let connection = command.clientID.flatMap { clients()?.client(id: $0) }
            addSlowEntry(SecretRedaction.shown(spec, command.arguments), microseconds: microseconds, nowMilliseconds: nowMilliseconds,
                         clientAddress: connection?.address ?? command.client ?? "", clientName: connection?.name ?? "")
        }
    }

    /// Errors before a command ran (unknown command, wrong arity).
    func recordError(_ error: CommandError) {
        let word = error.message.split(separator: " ", maxSplits: 1).first.map(String.init) ?? "ERR"
        byError[word, default: 0] += 1
    }

    /// Redis's truncation: at most 32 arguments (the last saying how many
    /// more), each cut at 128 bytes with "... (N more bytes)".
    private func addSlowEntry(_ arguments: [Bytes], microseconds: Int64, nowMilliseconds: Int64, clientAddress: String, clientName: String) {
        var shown: [Bytes] = []
        for (index, argument) in arguments.enumerated() {
            if index == 31 && arguments.count > 32 {
                shown.append(Bytes("... (\(arguments.count - 31) more arguments)"))
                break
            }
            if argument.count > 128 {
                shown.append(Bytes(Array(argument.storage.prefix(128)) + Array("... (\(argument.count - 128) more bytes)".utf8)))
            } else {
                shown.append(argument)
            }
        }
        slowLog.insert(SlowEntry(id: nextSlowID, unixSeconds: nowMilliseconds / 1000, microseconds: microseconds, arguments: shown,
                                 clientAddress: clientAddress, clientName: clientName), at: 0)
        nextSlowID += 1
        if slowLog.count > slowLogMaxLength { slowLog.removeLast(slowLog.count - slowLogMaxLength) }
    }

    func trimSlowLog() {
        if slowLog.count > slowLogMaxLength { slowLog.removeLast(slowLog.count - slowLogMaxLength) }
    }

    func resetSlowLog() { slowLog.removeAll() }

    /// CONFIG RESETSTAT.
    func reset() {
        counters.removeAll()
        byError.removeAll()
        samples.removeAll()
    }

    /// Called from the background tick with the running total.
    func sample(nowMilliseconds: Int64, totalCommands: Int64) {
        samples.append((nowMilliseconds, totalCommands))
        if samples.count > 16 { samples.removeFirst(samples.count - 16) }
    }

    /// Commands per second over the last samples.
    public var instantaneousOpsPerSecond: Int64 {
        guard let first = samples.first, let last = samples.last, last.0 > first.0 else { return 0 }
        return (last.1 - first.1) * 1000 / (last.0 - first.0)
    }
}

/// SLOWLOG GET [count] | LEN | RESET.
enum SlowLogCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("slowlog", arity: -2, flags: [.admin, .loading], keys: (0, 0, 0), handler: slowlog),
    ]

    static func slowlog(_ c: CommandContext) throws(CommandError) -> Reply {
        let statistics = c.execution.statistics
        let sub = c[1]
        if sub.equalsIgnoringCase("get") && c.argumentCount <= 3 {
            var count = 10
            if c.argumentCount == 3 {
                let n = try c.integer(at: 2)
                guard n >= -1 else { throw CommandError(.generic, "ERR count should be greater than or equal to -1") }
                count = n == -1 ? Int.max : Int(min(n, Int64(Int.max)))
            }
            return .array(statistics.slowLog.prefix(count).map { entry in
                .array([.integer(entry.id), .integer(entry.unixSeconds), .integer(entry.microseconds),
                        .array(entry.arguments.map(Reply.bulk)), .bulk(Bytes(entry.clientAddress)), .bulk(Bytes(entry.clientName))])
            })
        }
        if sub.equalsIgnoringCase("len") && c.argumentCount == 2 { return .integer(Int64(statistics.slowLog.count)) }
        if sub.equalsIgnoringCase("reset") && c.argumentCount == 2 {
            statistics.resetSlowLog()
            return .ok
        }
        throw CommandError(.syntax, "ERR unknown subcommand or wrong number of arguments for '\(sub.text)'. Try SLOWLOG HELP.")
    }
}
