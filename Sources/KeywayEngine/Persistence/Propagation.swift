/// Effect propagation: what each executed write command contributes to the
/// append-only file (and, later, to replicas).
///
/// Keyway follows Redis's rule: propagate *effects*, not intentions. A command
/// replayed from the AOF must rebuild exactly the data the original built, at
/// any later time and on any clock, so whatever depended on time or chance is
/// logged as its outcome:
/// - by default a write command logs its own argv when it changed data (the
///   database's dirty counter moved during it, not counting lazy expiry);
/// - a handler that is time-dependent or random replaces that with
///   `c.propagate(...)` (`SET k v EX 10` logs `SET k v PXAT <abs>`, `SPOP`
///   logs `SREM`, `XADD *` logs the real ID, `BLPOP` logs `LPOP`, ...);
/// - a key found expired is logged as `DEL key` where it is deleted, before
///   the command that noticed it;
/// - the effects of a transaction are wrapped in `MULTI` ... `EXEC`.
///
/// The effects of one locked unit of work (a command and the blocked clients
/// it served, a transaction, an active expiry pass) are handed to the
/// attached `PropagationSink` in execution order, still under the engine
/// lock, so the sink sees writes in the same order as the keyspace did. With
/// no sink attached, the cost per command is one branch.

/// Receives the effect commands the engine propagates.
public protocol PropagationSink: AnyObject, Sendable {
    /// Called under the engine lock with the effects of one unit of work, in
    /// execution order (never empty). Must only buffer: no I/O, no blocking.
    /// Returns a ticket when the caller's reply should wait until these
    /// effects are durable (AOF `appendfsync always`), nil otherwise.
    func propagate(_ commands: [[Bytes]]) -> DurabilityTicket?
}

/// Something that can tell when a numbered record became durable.
public protocol DurabilityTracker: AnyObject, Sendable {
    func isDurable(_ sequence: UInt64) -> Bool
    /// Blocks the calling thread until `sequence` is durable; false if the
    /// write failed.
    func waitDurable(_ sequence: UInt64) -> Bool
    /// Calls `callback` (on the flusher's thread, or now if already durable)
    /// once `sequence` is durable; false if the write failed.
    func onDurable(_ sequence: UInt64, _ callback: @escaping @Sendable (Bool) -> Void)
}

/// A promise that some propagated writes reach stable storage. The HTTP
/// layer parks a response on `onDurable` rather than blocking a thread.
public final class DurabilityTicket: Sendable {
    public let sequence: UInt64
    let tracker: any DurabilityTracker

    public init(sequence: UInt64, tracker: any DurabilityTracker) {
        self.sequence = sequence
        self.tracker = tracker
    }

    public var isDurable: Bool { tracker.isDurable(sequence) }

    /// Blocks until durable. For tests and tools; servers use `onDurable`.
    @discardableResult
    public func waitDurable() -> Bool { tracker.waitDurable(sequence) }

    public func onDurable(_ callback: @escaping @Sendable (Bool) -> Void) {
        tracker.onDurable(sequence, callback)
    }
}

/// The effects collected while the engine lock is held. Lives in
/// `ExecutionState` while a sink is attached.
final class PropagationRecorder {
    let sink: any PropagationSink
    /// Effects of the unit of work in progress.
    var pending: [[Bytes]] = []
    /// Set by `CommandContext.propagate` during the running command.
    var override: [[Bytes]]?
    /// Dirty-counter increments caused by expiry rather than by commands.
    var expirations: Int64 = 0

    init(sink: any PropagationSink) { self.sink = sink }

    /// Hands the pending effects to the sink.
    func flush() -> DurabilityTicket? {
        guard !pending.isEmpty else { return nil }
        let effects = pending
        pending.removeAll(keepingCapacity: true)
        return sink.propagate(effects)
    }

    /// Write observer: expired and evicted keys are logged as DEL where they go.
    func observe(_ key: Bytes, _ event: String) {
        switch event {
        case "expired", "evicted":
            expirations += 1
            pending.append([Bytes("DEL"), key])
        case "hexpired":
            // Field deadlines are logged as absolute times (HPEXPIREAT), so a
            // replay reaches the same fields; the removal itself is not logged.
            expirations += 1
        default:
            break
        }
    }
}

extension CommandContext {
    /// Whether effects are being recorded: handlers may skip building
    /// propagation argv when not.
    public var isPropagating: Bool { execution.propagation != nil }

    /// Replaces what this command logs with `commands` (may be empty: log
    /// nothing). Calls accumulate in order. Only the argv to log changes;
    /// the command's reply does not.
    public func propagate(_ commands: [[Bytes]]) {
        guard let recorder = execution.propagation else { return }
        if recorder.override == nil {
            recorder.override = commands
        } else {
            recorder.override!.append(contentsOf: commands)
        }
    }

    /// Logs one command instead of this one (`c.propagate(["SET", ...])`).
    public func propagate(_ command: [Bytes]) { propagate([command]) }

    /// Logs nothing for this command even though it changed data.
    public func propagateNothing() { propagate([[Bytes]]()) }
}

/// Argv building for handlers: `argv("SET", key, value, "PXAT", ms)`.
func argv(_ words: Any...) -> [Bytes] {
    words.map { word in
        switch word {
        case let bytes as Bytes: return bytes
        case let string as String: return Bytes(string)
        case let number as Int64: return Parse.bytes(number)
        case let number as Int: return Parse.bytes(Int64(number))
        case let id as StreamID: return id.bytes
        default: preconditionFailure("unsupported argv word \(word)")
        }
    }
}
