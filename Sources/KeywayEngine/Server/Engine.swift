import Dispatch
import Synchronization

/// Server-wide state commands may read: start time, configuration, and the
/// INFO sections other layers contribute (e.g. the HTTP clients section).
public final class ServerState: @unchecked Sendable {
    public let startedAt: Int64
    public let processID: Int32
    public var hz: Int = 10
    /// `lazyfree-lazy-user-del`, `lazyfree-lazy-user-flush`.
    public var lazyFree = LazyFreeSettings()
    /// `hll-sparse-max-bytes`: the longest a sparse HyperLogLog string grows
    /// before it turns dense.
    public var hyperLogLogSparseMaxBytes = HyperLogLog.defaultSparseMaxBytes
    public let commands: CommandTable
    /// Extra INFO sections by name, filled by the layers that own the facts.
    public var infoSections: [String: @Sendable () -> [(String, String)]] = [:]
    /// Fields added to INFO's server section (e.g. tcp_port from the HTTP layer).
    public var serverFields: [(String, String)] = []
    /// RDB snapshot settings and status.
    public let snapshots = SnapshotState()
    /// Append-only file settings and status.
    public let appendOnly = AppendOnlyState()
    /// How SHUTDOWN stops the process that runs this engine.
    let shutdownHook = ShutdownHook()
    /// The file `--config` named, which CONFIG REWRITE writes back.
    public var configFilePath: String?
    /// The command counters and slow log (owned by the execution state).
    public internal(set) var statistics: CommandStatistics?
    /// The open connections, for CLIENT; set by the server layer.
    public var clients: (any ClientDirectory)?
    /// ACL users, issued tokens and the ACL log.
    public let accessControl: AccessControl
    /// Cached scripts, the Lua VM and the script watchdog.
    let scripts = Scripting()
    /// lua-time-limit in milliseconds: how long a script runs before other
    /// clients get BUSY and SCRIPT KILL may stop it (0 = never).
    public var scriptTimeLimitMilliseconds: Int64 {
        get { scripts.watchdog.timeLimitMilliseconds }
        set { scripts.watchdog.timeLimitMilliseconds = newValue }
    }

    init(startedAt: Int64, commands: CommandTable) {
        self.startedAt = startedAt
        self.processID = getpid()
        self.commands = commands
        self.accessControl = AccessControl(commands: commands)
    }
}

/// Everything behind the engine's lock. `@unchecked Sendable` because the
/// engine's lock is what makes access safe.
final class EngineState: @unchecked Sendable {
    let db: Database
    let server: ServerState
    let execution = ExecutionState()
    let monitors = MonitorRegistry()
    var expiryTimer: DispatchSourceTimer?
    var deadlineTimer: DispatchSourceTimer?
    var scheduledDeadline: Int64?
    var expiryTicks = 0
    var propagationObserverInstalled = false

    init(db: Database, server: ServerState) {
        self.db = db
        self.server = server
        server.scripts.dispatch = { [unowned self] command, spec in self.run(command, spec: spec) }
    }

    /// Looks up and checks a command before it runs: the checks Redis makes
    /// when queueing inside MULTI.
    func resolve(_ command: Command) -> Result<CommandSpec, CommandError> {
        resolve(command, spec: server.commands.lookup(command.name))
    }

    /// `resolve` with the command's table entry already looked up.
    private func resolve(_ command: Command, spec: CommandSpec?) -> Result<CommandSpec, CommandError> {
        guard let spec else {
            return .failure(.unknownCommand(command.name, arguments: command.arguments.dropFirst()))
        }
        guard spec.acceptsArgumentCount(command.arguments.count) else {
            return .failure(.wrongArity(spec.name))
        }
        return .success(spec)
    }

    func run(_ command: Command) -> Reply {
        run(command, spec: server.commands.lookup(command.name))
    }

    /// `run` with the command's table entry looked up already (by
    /// `Engine.commandSpec`): checked and run as `run` does.
    func run(_ command: Command, lookedUp spec: CommandSpec) -> Reply {
        run(command, spec: Optional(spec))
    }

    /// A command of a pipeline: one that cannot run there (SUBSCRIBE,
    /// blocking forms, ...) is refused before anything else, uncounted.
    func runInPipeline(_ command: Command) -> Reply {
        let spec = server.commands.lookup(command.name)
        if let spec, spec.flags.contains(.noMulti) { return .error(Engine.refusalInPipeline(spec)) }
        return run(command, spec: spec)
    }

    private func run(_ command: Command, spec: CommandSpec?) -> Reply {
        switch resolve(command, spec: spec) {
        case .failure(let error):
            db.stats.totalErrors += 1
            execution.statistics.recordError(error)
            return .error(error)
        case .success(let spec):
            if let refusal = refusal(command, spec: spec, context: "toplevel") {
                db.stats.totalErrors += 1
                execution.statistics.recordError(refusal)
                return .error(refusal)
            }
            return run(command, spec: spec)
        }
    }

    /// The NOPERM error when the command's user may not run it (and an
    /// ACL LOG entry), else nil.
    func refusal(_ command: Command, spec: CommandSpec, context: String) -> CommandError? {
        guard let user = command.user, !user.isUnrestricted else { return nil }
        return server.accessControl.check(user, spec: spec, arguments: command.arguments, client: ACLLog.clientInfo(id: command.clientID, address: command.client),
                                          context: context, nowMilliseconds: db.clock.nowMilliseconds())
    }

    func run(_ command: Command, spec: CommandSpec) -> Reply {
        // MONITOR sees commands as they are executed, as in Redis.
        if !monitors.isEmpty && !spec.flags.contains(.admin) {
            monitors.feed(MonitoredCommand(microseconds: db.clock.nowMicroseconds(), client: command.client,
                                           arguments: SecretRedaction.shown(spec, command.arguments)))
        }
        // Redis's performEvictions: free memory first, or refuse (OOM).
        if db.eviction.maxMemory > 0, !execution.inTransaction, let refusal = db.enforceMemoryLimit(for: spec) {
            db.stats.totalErrors += 1
            execution.statistics.recordError(refusal)
            return .error(refusal)
        }
        // Redis's MISCONF: no writes while the data cannot be persisted.
        if spec.flags.contains(.write), !execution.inTransaction, let refusal = diskErrorRefusal() {
            db.stats.totalErrors += 1
            execution.statistics.recordError(refusal)
            return .error(refusal)
        }
        let started = monotonicMicroseconds()
        let reply = runHandler(command, spec: spec)
        db.noteMemoryAfterCommand()
        // Counted once the command has run, as Redis's call() does: INFO does
        // not count itself, and commands refused before running never count.
        db.stats.totalCommands += 1
        var failure: CommandError? = nil
        if case .error(let error) = reply { failure = error }
        execution.statistics.record(spec, command, microseconds: monotonicMicroseconds() - started,
                                    error: failure, nowMilliseconds: db.now, clients: server.clients)
        return reply
    }

    private func runHandler(_ command: Command, spec: CommandSpec) -> Reply {
        let context = CommandContext(arguments: command.arguments, db: db, server: server, spec: spec, execution: execution,
                                     clientID: command.clientID, user: command.user)
        guard let recorder = execution.propagation else {
            do {
                return try spec.handler(context)
            } catch {
                db.stats.totalErrors += 1
                return .error(error)
            }
        }
        let dirtyBefore = db.dirty, expiredBefore = recorder.expirations
        recorder.override = nil
        let reply: Reply
        do {
            reply = try spec.handler(context)
        } catch {
            db.stats.totalErrors += 1
            reply = .error(error)
        }
        if let override = recorder.override {
            recorder.pending.append(contentsOf: override)
            recorder.override = nil
        } else if spec.flags.contains(.write), db.dirty - dirtyBefore > recorder.expirations - expiredBefore {
            recorder.pending.append(command.arguments)
        }
        return reply
    }

    /// Hands the effects recorded in this locked section to the sink.
    func flushPropagation() -> DurabilityTicket? {
        guard let recorder = execution.propagation else { return nil }
        return recorder.flush()
    }
}

/// A reply to hand to a parked client once the lock is released.
struct Delivery {
    let client: any BlockedClient
    let reply: Reply
}

extension EngineState {
    /// Serves clients parked on keys written by the commands just run, first
    /// come first served, re-running each one's command as Redis 7 does.
    func serveReadyKeys() -> [Delivery] {
        guard db.blocking.hasWaiters else { return [] }
        var deliveries: [Delivery] = []
        while let key = db.blocking.popReadyKey() {
            while let waiter = db.blocking.firstWaiter(on: key) {
                guard waiter.client.isConnected else {
                    db.blocking.remove(waiter.id)
                    continue
                }
                execution.mayBlock = true
                execution.servingWaiter = waiter.id
                let reply = run(waiter.command)
                execution.mayBlock = false
                execution.servingWaiter = nil
                if let request = execution.blockRequest {
                    // Nothing left for it: the data went to earlier waiters.
                    execution.blockRequest = nil
                    if let recheckAt = request.recheckAt { db.blocking.scheduleRecheck(waiter.id, at: recheckAt) }
                    break
                }
                db.blocking.remove(waiter.id)
                deliveries.append(Delivery(client: waiter.client, reply: reply))
            }
        }
        return deliveries
    }
}

/// The embedded data store: one lock, one command table, one write path.
///
/// Every command runs entirely under the lock, so a transaction is atomic by
/// running its commands in one critical section. Commands are short and do
/// no I/O inside the lock.
public final class Engine: CommandExecutor {
    private let state: EngineLock<EngineState>
    private let writes: WriteCounter
    private let commands: CommandTable
    /// Read without the lock: a script running too long makes the engine busy.
    private let scriptWatchdog: ScriptWatchdog
    private let shutdownHook: ShutdownHook
    /// The ACL users; read without the engine lock (it has its own).
    private let access: AccessControl
    private let clock: any EngineClock
    /// The append-only writer as published outside the engine lock.
    let appendOnlyWriter: PublishedWriter
    /// The database's eviction state, for the lock-free OOM flag.
    private let eviction: EvictionState
    /// Set while the dataset loads at start-up; read without the lock.
    let loadingDataset = Atomic<Bool>(false)
    /// For `persistenceFailure`, read without the lock.
    let snapshotState: SnapshotState
    /// See `undoCount`.
    let undoneWriteBatches = Atomic<UInt64>(0)

    public init(clock: any EngineClock = SystemClock(), commands: CommandTable = .standard) {
        writes = WriteCounter()
        self.commands = commands
        let db = Database(clock: clock, writeCounter: writes)
        eviction = db.eviction
        let server = ServerState(startedAt: clock.nowMilliseconds(), commands: commands)
        // Save rules count time from start-up until a first save.
        server.snapshots.lastSaveTime = clock.nowMilliseconds() / 1000
        let engineState = EngineState(db: db, server: server)
        server.statistics = engineState.execution.statistics
        var settings = EngineSettings(db: db, server: server)
        ConfigTable.engine.applyDefaults(to: &settings)
        scriptWatchdog = server.scripts.watchdog
        shutdownHook = server.shutdownHook
        access = server.accessControl
        self.clock = clock
        appendOnlyWriter = server.appendOnly.published
        snapshotState = server.snapshots
        state = EngineLock(engineState)
    }

    /// While a script runs past lua-time-limit, every command but SCRIPT
    /// KILL is answered BUSY without waiting for the lock, and SCRIPT KILL
    /// is answered here (the script holds the lock). Nil when not busy.
    private func refuseWhileBusy(_ command: Command) -> Reply? {
        guard scriptWatchdog.isBusy else { return nil }
        if ScriptWatchdog.isScriptKill(command) { return scriptWatchdog.requestKill() }
        if ShutdownCommand.isNoSaveShutdown(command) {
            scriptWatchdog.interruptForShutdown()
            guard shutdownHook.request(.noSave) else {
                return .error(CommandError(.notSupported, "ERR SHUTDOWN is not available: this engine runs inside no server process"))
            }
            return .ok
        }
        return .error(ScriptWatchdog.busy)
    }

    /// Gives the engine the process's way to stop, for SHUTDOWN.
    public func setShutdownHandler(_ handler: @escaping @Sendable (ShutdownSave) -> Void) {
        shutdownHook.install(handler)
    }

    /// The process is stopping: a running script is stopped at its next
    /// check, even one that wrote. True when it had written, so its writes
    /// are half done and the dataset should not be saved.
    public func interruptScriptForShutdown() -> Bool {
        scriptWatchdog.interruptForShutdown()
    }

    /// Takes the lock for `command`, or answers as `refuseWhileBusy` does
    /// if a script becomes busy while this waits.
    private func withLock<R>(for command: Command, refused: (Reply) -> R, _ body: (EngineState) -> R) -> R {
        if let refusal = refuseWhileBusy(command) { return refused(refusal) }
        let watchdog = scriptWatchdog
        if let result = state.withLock(unless: { watchdog.isBusy }, body) { return result }
        return refused(refuseWhileBusy(command) ?? .error(ScriptWatchdog.busy))
    }

    public var writeSequence: Int64 { writes.value }

    public var isLoading: Bool { loadingDataset.load(ordering: .relaxed) }

    /// True while commands that may grow memory are refused for maxmemory.
    public var isOutOfMemory: Bool { eviction.outOfMemory }

    public func execute(_ command: Command) -> Reply {
        executeReportingDurability(command).reply
    }

    public func execute(_ command: Command, spec: CommandSpec) -> Reply {
        executeReportingDurability(command, spec: spec).reply
    }

    /// Runs a command and returns, with its reply, the ticket to wait on
    /// before releasing the reply when the attached sink asks for durable
    /// writes (AOF `appendfsync always`); nil when there is nothing to wait for.
    /// `spec` is the command's table entry when the caller looked it up
    /// (`commandSpec`); nil looks it up here.
    public func executeReportingDurability(_ command: Command, spec: CommandSpec? = nil) -> (reply: Reply, durability: DurabilityTicket?) {
        let (reply, deliveries, ticket) = withLock(for: command, refused: { ($0, [], nil) }) { state -> (Reply, [Delivery], DurabilityTicket?) in
            state.db.beginCommand()
            let reply = if let spec { state.run(command, lookedUp: spec) } else { state.run(command) }
            runDeferredActions(state)
            let deliveries = serveReadyKeys(state)
            return (reply, deliveries, state.flushPropagation())
        }
        deliver(deliveries, after: ticket)
        return (reply, ticket)
    }

    /// Attaches the sink that receives every write's effect commands (the
    /// AOF writer), or detaches it with nil. See Propagation.swift.
    public func attachPropagationSink(_ sink: (any PropagationSink)?) {
        state.withLock { state in attachPropagationSink(sink, in: state) }
    }

    /// The same, under the lock already held.
    func attachPropagationSink(_ sink: (any PropagationSink)?, in state: EngineState) {
        _ = state.flushPropagation()
        guard let sink else {
            state.execution.propagation = nil
            return
        }
        state.execution.propagation = PropagationRecorder(sink: sink)
        if !state.propagationObserverInstalled {
            state.propagationObserverInstalled = true
            let execution = state.execution
            state.db.writeObservers.append { key, event in
                execution.propagation?.observe(key, event)
            }
        }
    }

    /// Work a command asked for that needs the engine itself (BGSAVE,
    /// BGREWRITEAOF, turning the AOF on or off). Under the lock.
    func runDeferredActions(_ state: EngineState) {
        if state.server.snapshots.startRequested { startBackgroundSave(state) }
        let appendOnly = state.server.appendOnly
        if let enable = appendOnly.switchRequested {
            appendOnly.switchRequested = nil
            switchAppendOnly(enable, state)
        }
        if appendOnly.rewriteRequested { startAppendOnlyRewrite(state) }
    }

    public func commandFlags(_ name: Bytes) -> CommandFlags? {
        commands.lookup(name)?.flags
    }

    public func commandSpec(_ name: Bytes) -> CommandSpec? {
        commands.lookup(name)
    }

    public var accessControl: AccessControl? { access }

    public func authorize(_ command: Command) -> CommandError? {
        guard let user = command.user, !user.isUnrestricted else { return nil }
        guard let spec = commands.lookup(command.name) else {
            return .unknownCommand(command.name, arguments: command.arguments.dropFirst())
        }
        return access.check(user, spec: spec, arguments: command.arguments, client: ACLLog.clientInfo(id: command.clientID, address: command.client), context: "toplevel",
                            nowMilliseconds: clock.nowMilliseconds())
    }

    public func mayBlock(_ command: Command) -> Bool {
        guard let spec = commands.lookup(command.name) else { return false }
        return mayBlock(command, spec: spec)
    }

    public func mayBlock(_ command: Command, spec: CommandSpec) -> Bool {
        spec.flags.contains(.blocking) || ScriptCommands.runsScript(spec)
    }

    /// Runs a command that may park the client until data arrives.
    public func submit(_ command: Command, client: any BlockedClient) -> Submission {
        if let spec = commands.lookup(command.name), ScriptCommands.runsScript(spec) {
            return runScriptAside(command, client: client)
        }
        let (submission, deliveries, ticket) = withLock(for: command, refused: { (.reply($0), [], nil) }) { state -> (Submission, [Delivery], DurabilityTicket?) in
            state.db.beginCommand()
            state.execution.mayBlock = true
            let reply = state.run(command)
            state.execution.mayBlock = false
            if let request = state.execution.blockRequest {
                state.execution.blockRequest = nil
                let id = state.db.blocking.register(command, client: client, request: request)
                if let wakeUp = state.db.blocking.nextWakeUp() { armDeadlineTimer(state, for: wakeUp) }
                _ = state.flushPropagation()
                return (.blocked(BlockedHandle(id: id) { [weak self] id in self?.cancelWaiter(id) }), [], nil)
            }
            let deliveries = serveReadyKeys(state)
            return (.reply(reply), deliveries, state.flushPropagation())
        }
        deliver(deliveries, after: ticket)
        return submission
    }

    /// Serves ready keys, then points the timer at the earliest wake-up,
    /// which a waiter that parked again may have brought forward.
    private func serveReadyKeys(_ state: EngineState) -> [Delivery] {
        guard state.db.blocking.hasWaiters else { return [] }
        let deliveries = state.serveReadyKeys()
        if let wakeUp = state.db.blocking.nextWakeUp() { armDeadlineTimer(state, for: wakeUp) }
        return deliveries
    }

    /// Scripts submitted by parked-capable clients run on their own threads,
    /// not the caller's: a script may run long, and an HTTP thread running
    /// it could not serve the connections it holds (nor answer them BUSY,
    /// nor carry the SCRIPT KILL that would stop it).
    private func runScriptAside(_ command: Command, client: any BlockedClient) -> Submission {
        Self.scriptQueue.async { [self] in
            let (reply, ticket) = executeReportingDurability(command)
            deliver([Delivery(client: client, reply: reply)], after: ticket)
        }
        return .blocked(BlockedHandle(id: 0) { _ in })
    }

    private static let scriptQueue = DispatchQueue(label: "keyway.scripts", attributes: .concurrent)

    private func cancelWaiter(_ id: UInt64) {
        state.withLock { state in _ = state.db.blocking.remove(id) }
    }

    /// Hands replies to parked clients; under `appendfsync always` only once
    /// the writes that served them (their pops) are on disk.
    private func deliver(_ deliveries: [Delivery], after ticket: DurabilityTicket? = nil) {
        guard !deliveries.isEmpty else { return }
        guard let ticket, !ticket.isDurable else {
            for delivery in deliveries { delivery.client.deliver(delivery.reply) }
            return
        }
        ticket.onDurable { _ in
            for delivery in deliveries { delivery.client.deliver(delivery.reply) }
        }
    }

    /// Ends the waits whose deadline has passed with their nil reply.
    /// The deadline timer calls this; tests call it under a manual clock.
    /// First it looks again at the keys of waiters due for a recheck or about
    /// to time out: a key that expired unnoticed (a lock left to lapse) is
    /// expired now, which serves its waiters in order before anyone times out.
    public func expireBlockedClients() {
        let (expired, deliveries, ticket) = state.withLock { state -> ([BlockingRegistry.Waiter], [Delivery], DurabilityTicket?) in
            state.db.beginCommand()
            let blocking = state.db.blocking
            for (id, key) in blocking.takeDueRechecks(now: state.db.now) {
                // Still there (extended, or the timer ran early): look again at its new expiry.
                if let slot = state.db.liveSlot(key), case let entry = state.db.keyspace[slot: slot], entry.hasExpiry {
                    blocking.scheduleRecheck(id, at: entry.expiresAt + 1)
                }
            }
            for key in blocking.keysOfWaitersDue(now: state.db.now) { _ = state.db.liveSlot(key) }
            let deliveries = state.serveReadyKeys()
            let expired = state.db.blocking.expire(now: state.db.now)
            state.scheduledDeadline = nil
            if let next = state.db.blocking.nextWakeUp() { armDeadlineTimer(state, for: next) }
            return (expired, deliveries, state.flushPropagation())
        }
        deliver(deliveries, after: ticket)
        for waiter in expired { waiter.client.deliver(.null) }
    }

    /// Number of parked commands.
    public var blockedClientCount: Int {
        state.withLock { $0.db.blocking.count }
    }

    /// Points the one deadline timer at `deadline` if that is sooner than
    /// what it waits for now. Called under the lock.
    private func armDeadlineTimer(_ state: EngineState, for deadline: Int64) {
        if let scheduled = state.scheduledDeadline, scheduled <= deadline { return }
        state.scheduledDeadline = deadline
        if state.deadlineTimer == nil {
            let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "keyway.blocking-deadlines"))
            timer.setEventHandler { [weak self] in self?.expireBlockedClients() }
            timer.resume()
            state.deadlineTimer = timer
        }
        let delay = max(0, deadline - state.db.clock.nowMilliseconds())
        state.deadlineTimer?.schedule(deadline: .now() + .milliseconds(Int(delay)), leeway: .milliseconds(1))
    }

    /// Most commands one pipeline slice runs under one hold of the lock.
    static let pipelineSliceCommands = 64
    /// Longest a pipeline slice holds the lock, in nanoseconds, so other
    /// clients wait at most about this long behind a big pipeline.
    static let pipelineSliceNanoseconds: UInt64 = 200_000

    /// Each command atomic on its own; blocking commands don't block here.
    ///
    /// Commands run in slices: the lock is taken once for up to
    /// `pipelineSliceCommands` commands or `pipelineSliceNanoseconds`,
    /// whichever ends first. A batch of 100 pays two lock round trips instead
    /// of 100, and a 10,000-command batch still lets other clients in between
    /// slices. Each command keeps its own command time, deferred actions and
    /// wake-ups of blocked clients, as if sent alone.
    public func executePipeline(_ commands: [Command]) -> [Reply] {
        var replies: [Reply] = []
        replies.reserveCapacity(commands.count)
        while replies.count < commands.count {
            runPipelineSlice(commands, from: replies.count, into: &replies)
        }
        return replies
    }

    /// The same pipeline, each slice's replies handed to `onSlice` as soon
    /// as the slice has run (outside the lock), so a big reply can be sent
    /// while the rest runs. When `onSlice` returns false (the client has
    /// gone), the commands not yet run are dropped.
    public func executePipeline(_ commands: [Command], onSlice: ([Reply]) -> Bool) {
        var replies: [Reply] = []
        replies.reserveCapacity(Self.pipelineSliceCommands)
        var done = 0
        while done < commands.count {
            replies.removeAll(keepingCapacity: true)
            done += runPipelineSlice(commands, from: done, into: &replies)
            if !replies.isEmpty && !onSlice(replies) { return }
        }
    }

    /// Runs the next slice of a pipeline, from `commands[first]` on, under
    /// one hold of the lock, appending the replies; returns how many ran.
    @discardableResult
    private func runPipelineSlice(_ commands: [Command], from first: Int, into replies: inout [Reply]) -> Int {
        let watchdog = scriptWatchdog
        if watchdog.isBusy {
            // A script holds the engine: each command gets its BUSY
            // refusal (or SCRIPT KILL / SHUTDOWN NOSAVE its way).
            replies.append(executeOneInPipeline(commands[first]))
            return 1
        }
        var ran = 0
        let slice = state.withLock(unless: { watchdog.isBusy }) { state -> (deliveries: [Delivery], ticket: DurabilityTicket?) in
            let started = DispatchTime.now().uptimeNanoseconds
            var deliveries: [Delivery] = []
            while first + ran < commands.count && ran < Self.pipelineSliceCommands {
                state.db.beginCommand()
                replies.append(state.runInPipeline(commands[first + ran]))
                runDeferredActions(state)
                deliveries += serveReadyKeys(state)
                ran += 1
                if ran % 8 == 0 && DispatchTime.now().uptimeNanoseconds - started > Self.pipelineSliceNanoseconds { break }
            }
            return (deliveries, state.flushPropagation())
        }
        if let slice { deliver(slice.deliveries, after: slice.ticket) }
        return ran
    }

    private func executeOneInPipeline(_ command: Command) -> Reply {
        if let refusal = refuseInBatch(command) { return .error(refusal) }
        return execute(command)
    }

    public func executeTransaction(_ commands: [Command]) -> Result<[Reply], CommandError> {
        executeTransactionReportingDurability(commands).result
    }

    /// A transaction, with the ticket to wait on before releasing its replies
    /// (see `executeReportingDurability`). Its effects are logged inside
    /// MULTI ... EXEC.
    public func executeTransactionReportingDurability(_ commands: [Command]) -> (result: Result<[Reply], CommandError>, durability: DurabilityTicket?) {
        let exec = Self.exec
        let refused: (Reply) -> (Result<[Reply], CommandError>, [Delivery], DurabilityTicket?) = { reply in
            if case .error(let error) = reply { return (.failure(error), [], nil) }
            return (.failure(ScriptWatchdog.busy), [], nil)
        }
        let (result, deliveries, ticket) = withLock(for: exec, refused: refused) { state -> (Result<[Reply], CommandError>, [Delivery], DurabilityTicket?) in
            var specs: [CommandSpec] = []
            specs.reserveCapacity(commands.count)
            for command in commands {
                switch state.resolve(command) {
                case .failure:
                    return (.failure(CommandError(.execAbort, "EXECABORT Transaction discarded because of previous errors.")), [], nil)
                case .success(let spec):
                    if let refusal = state.refusal(command, spec: spec, context: "multi") {
                        state.execution.statistics.recordError(refusal)
                        return (.failure(refusal), [], nil)
                    }
                    if spec.flags.contains(.noMulti) {
                        return (.failure(CommandError(.execAbort, "EXECABORT Transaction discarded because of previous errors.")), [], nil)
                    }
                    specs.append(spec)
                }
            }
            state.db.beginCommand()
            // As Redis 7 refuses EXEC itself: above maxmemory, a transaction
            // holding any command that may grow memory is refused whole (OOM)
            // after eviction had its chance; inside it no command is refused.
            if state.db.eviction.maxMemory > 0, let first = specs.first,
               let refusal = state.db.enforceMemoryLimit(for: specs.first(where: { $0.flags.contains(.denyOOM) }) ?? first) {
                state.db.stats.totalErrors += 1
                state.execution.statistics.recordError(refusal)
                return (.failure(refusal), [], nil)
            }
            if specs.contains(where: { $0.flags.contains(.write) }), let refusal = state.diskErrorRefusal() {
                state.db.stats.totalErrors += 1
                state.execution.statistics.recordError(refusal)
                return (.failure(CommandError(.misconf, "EXECABORT Transaction discarded because of: " + refusal.message)), [], nil)
            }
            state.execution.inTransaction = true
            let replies = zip(commands, specs).map { state.run($0, spec: $1) }
            state.execution.inTransaction = false
            runDeferredActions(state)
            if let recorder = state.execution.propagation, !recorder.pending.isEmpty {
                recorder.pending.insert([Bytes("MULTI")], at: 0)
                recorder.pending.append([Bytes("EXEC")])
            }
            let deliveries = serveReadyKeys(state)
            return (.success(replies), deliveries, state.flushPropagation())
        }
        deliver(deliveries, after: ticket)
        return (result, ticket)
    }

    /// What a transaction is while a script keeps the engine busy: made
    /// once, not for every transaction (every resource route runs one).
    private static let exec = Command("EXEC")

    private func refuseInBatch(_ command: Command) -> CommandError? {
        guard let spec = commands.lookup(command.name), spec.flags.contains(.noMulti) else { return nil }
        return Self.refusalInPipeline(spec)
    }

    static func refusalInPipeline(_ spec: CommandSpec) -> CommandError {
        CommandError(.notSupported, "ERR \(spec.name.uppercased()) is not allowed in a pipeline")
    }

    /// Runs `body` under the engine lock with the whole engine state.
    func withEngineState<R>(_ body: (EngineState) throws -> R) rethrows -> R {
        try state.withLock { state in try body(state) }
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
            state.deadlineTimer?.cancel()
            state.deadlineTimer = nil
        }
    }

    /// One active expiry pass; public so tests can drive it under a manual clock.
    @discardableResult
    public func runActiveExpiryCycle(budgetMicroseconds: Int64 = 25_000) -> Int {
        let (removed, deliveries, ticket) = state.withLock { state in
            let removed = state.db.activeExpireCycle(budgetMicroseconds: budgetMicroseconds)
            // Keys that expired may have brought memory back under the limit.
            state.db.noteMemoryAfterCommand()
            // Once a second, drop parked clients whose connection closed.
            state.expiryTicks += 1
            state.execution.statistics.sample(nowMilliseconds: state.db.clock.nowMilliseconds(), totalCommands: state.db.stats.totalCommands)
            if state.expiryTicks % max(1, state.server.hz) == 0 {
                _ = state.db.blocking.removeDisconnected()
                applySaveRules(state)
                applyAutomaticRewrite(state)
            }
            let deliveries = serveReadyKeys(state)
            return (removed, deliveries, state.flushPropagation())
        }
        deliver(deliveries, after: ticket)
        return removed
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
