import Dispatch
import Synchronization

/// Server-wide state commands may read: start time, configuration, and the
/// INFO sections other layers contribute (e.g. the HTTP clients section).
public final class ServerState: @unchecked Sendable {
    public let startedAt: Int64
    public let processID: Int32
    public var hz: Int = 10
    public let commands: CommandTable
    /// Extra INFO sections by name, filled by the layers that own the facts.
    public var infoSections: [String: @Sendable () -> [(String, String)]] = [:]
    /// Fields added to INFO's server section (e.g. tcp_port from the HTTP layer).
    public var serverFields: [(String, String)] = []

    init(startedAt: Int64, commands: CommandTable) {
        self.startedAt = startedAt
        self.processID = getpid()
        self.commands = commands
    }
}

/// Everything behind the engine's lock. `@unchecked Sendable` because the
/// engine's Mutex is what makes access safe.
final class EngineState: @unchecked Sendable {
    let db: Database
    let server: ServerState
    var expiryTimer: DispatchSourceTimer?

    init(db: Database, server: ServerState) {
        self.db = db
        self.server = server
    }

    /// Looks up and checks a command before it runs: the checks Redis makes
    /// when queueing inside MULTI.
    func resolve(_ command: Command) -> Result<CommandSpec, CommandError> {
        guard let spec = server.commands.lookup(command.name) else {
            return .failure(.unknownCommand(command.name, arguments: command.arguments.dropFirst()))
        }
        guard spec.acceptsArgumentCount(command.arguments.count) else {
            return .failure(.wrongArity(spec.name))
        }
        return .success(spec)
    }

    func run(_ command: Command) -> Reply {
        switch resolve(command) {
        case .failure(let error):
            db.stats.totalErrors += 1
            return .error(error)
        case .success(let spec):
            return run(command, spec: spec)
        }
    }

    func run(_ command: Command, spec: CommandSpec) -> Reply {
        db.stats.totalCommands += 1
        let context = CommandContext(arguments: command.arguments, db: db, server: server, spec: spec)
        do {
            return try spec.handler(context)
        } catch {
            db.stats.totalErrors += 1
            return .error(error)
        }
    }
}

/// The embedded data store: one lock, one command table, one write path.
///
/// Every command runs entirely under the lock, so a transaction is atomic by
/// running its commands in one critical section. Commands are short and do
/// no I/O inside the lock.
public final class Engine: CommandExecutor {
    private let state: Mutex<EngineState>
    private let writes: WriteCounter

    public init(clock: any EngineClock = SystemClock(), commands: CommandTable = .standard) {
        writes = WriteCounter()
        let db = Database(clock: clock, writeCounter: writes)
        let server = ServerState(startedAt: clock.nowMilliseconds(), commands: commands)
        state = Mutex(EngineState(db: db, server: server))
    }

    public var writeSequence: Int64 { writes.value }

    public func execute(_ command: Command) -> Reply {
        state.withLock { state in
            state.db.beginCommand()
            return state.run(command)
        }
    }

    public func executePipeline(_ commands: [Command]) -> [Reply] {
        commands.map { command in
            if let refusal = refuseInBatch(command) { return .error(refusal) }
            return execute(command)
        }
    }

    public func executeTransaction(_ commands: [Command]) -> Result<[Reply], CommandError> {
        state.withLock { state in
            var specs: [CommandSpec] = []
            specs.reserveCapacity(commands.count)
            for command in commands {
                switch state.resolve(command) {
                case .failure:
                    return .failure(CommandError(.execAbort, "EXECABORT Transaction discarded because of previous errors."))
                case .success(let spec):
                    if spec.flags.contains(.noMulti) {
                        return .failure(CommandError(.execAbort, "EXECABORT Transaction discarded because of previous errors."))
                    }
                    specs.append(spec)
                }
            }
            state.db.beginCommand()
            return .success(zip(commands, specs).map { state.run($0, spec: $1) })
        }
    }

    private func refuseInBatch(_ command: Command) -> CommandError? {
        guard let spec = CommandTable.standard.lookup(command.name), spec.flags.contains(.noMulti) else { return nil }
        return CommandError(.notSupported, "ERR \(spec.name.uppercased()) is not allowed in a pipeline")
    }

    /// Runs `body` under the engine lock. For tests and for layers that must
    /// inspect state consistently (snapshots, INFO providers).
    public func withDatabase<R>(_ body: (Database, ServerState) throws -> R) rethrows -> R {
        try state.withLock { state in try body(state.db, state.server) }
    }

    // MARK: - Background work

    /// Starts the active expiry cycle, `hz` times a second, each run taking
    /// the lock for at most a quarter of its period, as Redis does.
    public func startBackgroundTasks() {
        let hz = withDatabase { _, server in server.hz }
        let period = 1_000_000 / hz
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "keyway.active-expiry"))
        timer.schedule(deadline: .now(), repeating: .microseconds(period), leeway: .milliseconds(5))
        timer.setEventHandler { [weak self] in
            self?.runActiveExpiryCycle(budgetMicroseconds: Int64(period / 4))
        }
        timer.resume()
        state.withLock { $0.expiryTimer = timer }
    }

    public func stopBackgroundTasks() {
        state.withLock { state in
            state.expiryTimer?.cancel()
            state.expiryTimer = nil
        }
    }

    /// One active expiry pass; public so tests can drive it under a manual clock.
    @discardableResult
    public func runActiveExpiryCycle(budgetMicroseconds: Int64 = 25_000) -> Int {
        state.withLock { state in state.db.activeExpireCycle(budgetMicroseconds: budgetMicroseconds) }
    }

    deinit {
        stopBackgroundTasks()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
