import Synchronization

/// What other threads may know about the running script without taking the
/// engine lock, which the script holds for its whole run.
///
/// Once a script has run longer than `lua-time-limit`, it is "busy": the
/// engine answers every other command with BUSY instead of queueing it
/// behind the lock, except SCRIPT KILL, which sets the kill flag here. The
/// script's count hook reads that flag and aborts the script, unless the
/// script already called a write command (UNKILLABLE): stopping it half
/// way would leave half its writes.
public final class ScriptWatchdog: Sendable {
    /// lua-time-limit in milliseconds. 0 or less lets a script run without
    /// limit, but others get BUSY as soon as it is seen running (not a
    /// wait behind it forever), so SCRIPT KILL, SHUTDOWN and a free HTTP
    /// thread are always within reach.
    let limitMilliseconds = Atomic<Int64>(5000)
    /// Monotonic microseconds when the running script started; 0 when none runs.
    private let startedAt = Atomic<Int64>(0)
    private let timedOut = Atomic<Bool>(false)
    private let killRequested = Atomic<Bool>(false)
    private let wrote = Atomic<Bool>(false)
    /// Set by a shutdown: kills the script even if it wrote.
    private let shutdownRequested = Atomic<Bool>(false)

    public init() {}

    public var timeLimitMilliseconds: Int64 {
        get { limitMilliseconds.load(ordering: .relaxed) }
        set { limitMilliseconds.store(newValue, ordering: .relaxed) }
    }

    /// True while a script has run past the limit: other clients get BUSY.
    public var isBusy: Bool { timedOut.load(ordering: .acquiring) }

    /// Under the engine lock, as a script starts.
    func begin() {
        wrote.store(false, ordering: .relaxed)
        killRequested.store(false, ordering: .relaxed)
        timedOut.store(false, ordering: .relaxed)
        startedAt.store(monotonicMicroseconds(), ordering: .releasing)
    }

    /// Under the engine lock, as the script ends (however it ends).
    func end() {
        startedAt.store(0, ordering: .relaxed)
        killRequested.store(false, ordering: .relaxed)
        timedOut.store(false, ordering: .releasing)
    }

    /// The script called a write command: it can no longer be killed.
    func markWrote() { wrote.store(true, ordering: .releasing) }

    /// From the Lua count hook: marks the script busy once past the limit,
    /// and answers whether it must be killed now.
    func shouldInterrupt() -> Bool {
        if !timedOut.load(ordering: .relaxed) {
            let limit = limitMilliseconds.load(ordering: .relaxed)
            let started = startedAt.load(ordering: .relaxed)
            guard started > 0 else { return false }
            guard limit <= 0 || monotonicMicroseconds() - started >= limit.saturatingMultiplied(by: 1000) else {
                return shutdownRequested.load(ordering: .acquiring)
            }
            timedOut.store(true, ordering: .releasing)
        }
        return killRequested.load(ordering: .acquiring) || shutdownRequested.load(ordering: .acquiring)
    }

    /// True while a script runs (under the engine lock it holds).
    public var isRunning: Bool { startedAt.load(ordering: .acquiring) > 0 }

    /// The process is stopping: the running script, if any, is stopped at
    /// its next check whether or not it wrote. Returns whether it had
    /// written (its writes are then only partly done: do not save them).
    @discardableResult
    public func interruptForShutdown() -> Bool {
        shutdownRequested.store(true, ordering: .releasing)
        return isRunning && wrote.load(ordering: .acquiring)
    }

    /// SCRIPT KILL while the engine is locked by a busy script.
    func requestKill() -> Reply {
        guard timedOut.load(ordering: .acquiring) else { return .error(Self.notBusy) }
        if wrote.load(ordering: .acquiring) { return .error(Self.unkillable) }
        killRequested.store(true, ordering: .releasing)
        return .ok
    }

    static let busy = CommandError(.busy, "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.")
    static let notBusy = CommandError(.notBusy, "NOTBUSY No scripts in execution right now.")
    static let unkillable = CommandError(.unkillable, "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")

    /// Whether `command` is SCRIPT KILL, the one command a busy engine serves.
    static func isScriptKill(_ command: Command) -> Bool {
        command.arguments.count == 2 && command.arguments[0].equalsIgnoringCase("script") && command.arguments[1].equalsIgnoringCase("kill")
    }
}
