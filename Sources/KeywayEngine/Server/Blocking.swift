import DequeModule

/// A client parked on a blocking command (BLPOP, BZPOPMIN, XREAD BLOCK, ...),
/// as the engine sees it. The HTTP layer implements it over a suspended
/// connection.
public protocol BlockedClient: AnyObject, Sendable {
    /// False once the client has gone away; the engine then skips it, so no
    /// element is handed to a dead connection.
    var isConnected: Bool { get }
    /// Receives the reply. Called outside the engine lock.
    func deliver(_ reply: Reply)
}

/// The outcome of submitting a command that may block.
public enum Submission: Sendable {
    case reply(Reply)
    /// Parked: the reply arrives later through `BlockedClient.deliver`.
    case blocked(BlockedHandle)
}

/// Lets the submitter withdraw a parked command (the client went away).
public final class BlockedHandle: Sendable {
    let id: UInt64
    private let cancelAction: @Sendable (UInt64) -> Void

    public init(id: UInt64, cancel: @escaping @Sendable (UInt64) -> Void) {
        self.id = id
        self.cancelAction = cancel
    }

    public func cancel() { cancelAction(id) }
}

/// What a blocking command asks for when it finds nothing to serve.
struct BlockRequest {
    let keys: [Bytes]
    /// Absolute deadline in engine-clock milliseconds; nil waits forever.
    let deadline: Int64?
    /// The argv to re-run when woken, when it differs from the original
    /// (XREAD's `$` must become the ID that was last when the wait began).
    let rewrittenArguments: [Bytes]?
    /// When to look at the keys again although nobody wrote them: a lock
    /// waiter asks for its lock key's expiry time, so a lock that lapses by
    /// TTL is handed on then, without waiting for active expiry to sample it.
    var recheckAt: Int64? = nil
}

/// The registry of parked commands: FIFO queues per key, deadlines, and the
/// keys written since the last serve pass.
///
/// When a write touches a key with waiters, the key is marked ready; after
/// the write's command finishes, the engine re-runs the first waiter's
/// command (as Redis 7 does), hands its reply over, and goes on while the
/// key still has data. Lives under the engine lock.
final class BlockingRegistry {
    struct Waiter {
        let id: UInt64
        let command: Command
        let client: any BlockedClient
        let keys: [Bytes]
        let deadline: Int64?
    }

    private(set) var waiters: [UInt64: Waiter] = [:]
    private var queues: [Bytes: Deque<UInt64>] = [:]
    private var deadlines = DeadlineHeap()
    /// (time, waiter id): when to re-look at a waiter's keys (`recheckAt`).
    private var rechecks = DeadlineHeap()
    private var nextID: UInt64 = 1
    /// Keys written since the last serve pass that have waiters, in order.
    private var ready: [Bytes] = []
    private var readySet: Set<Bytes> = []

    var count: Int { waiters.count }
    var hasWaiters: Bool { !waiters.isEmpty }

    func register(_ command: Command, client: any BlockedClient, request: BlockRequest) -> UInt64 {
        let id = nextID
        nextID += 1
        let rerun = request.rewrittenArguments.map(Command.init) ?? command
        waiters[id] = Waiter(id: id, command: rerun, client: client, keys: request.keys, deadline: request.deadline)
        for key in request.keys { queues[key, default: Deque()].append(id) }
        if let deadline = request.deadline { deadlines.push(deadline, id) }
        if let recheckAt = request.recheckAt { rechecks.push(recheckAt, id) }
        return id
    }

    /// Asks for another look at a still-parked waiter's keys at `time`.
    func scheduleRecheck(_ id: UInt64, at time: Int64) {
        guard waiters[id] != nil else { return }
        rechecks.push(time, id)
    }

    /// The (waiter, key) pairs whose recheck time has come, consumed.
    func takeDueRechecks(now: Int64) -> [(id: UInt64, key: Bytes)] {
        var due: [(id: UInt64, key: Bytes)] = []
        while let (time, id) = rechecks.peek(), time <= now {
            rechecks.pop()
            if let waiter = waiters[id] { due += waiter.keys.map { (id, $0) } }
        }
        return due
    }

    /// Keys of waiters about to time out: a key that expired unnoticed must
    /// be handed on before they are told they timed out.
    func keysOfWaitersDue(now: Int64) -> [Bytes] {
        deadlines.ids(dueBy: now).flatMap { waiters[$0]?.keys ?? [] }
    }

    @discardableResult
    func remove(_ id: UInt64) -> Waiter? {
        guard let waiter = waiters.removeValue(forKey: id) else { return nil }
        for key in waiter.keys {
            queues[key]?.removeAll { $0 == id }
            if queues[key]?.isEmpty == true { queues.removeValue(forKey: key) }
        }
        return waiter
    }

    /// Called from the write path: remembers `key` if someone waits on it.
    func keyWritten(_ key: Bytes) {
        guard queues[key] != nil, !readySet.contains(key) else { return }
        readySet.insert(key)
        ready.append(key)
    }

    func popReadyKey() -> Bytes? {
        guard !ready.isEmpty else { return nil }
        let key = ready.removeFirst()
        readySet.remove(key)
        return key
    }

    func firstWaiter(on key: Bytes) -> Waiter? {
        queues[key]?.first.flatMap { waiters[$0] }
    }

    /// Waiters whose deadline has passed, removed from the registry.
    func expire(now: Int64) -> [Waiter] {
        var expired: [Waiter] = []
        while let (deadline, id) = deadlines.peek(), deadline <= now {
            deadlines.pop()
            if let waiter = remove(id) { expired.append(waiter) }
        }
        return expired
    }

    /// The earliest pending deadline (skipping withdrawn waiters).
    func nextDeadline() -> Int64? {
        while let (deadline, id) = deadlines.peek() {
            if waiters[id] != nil { return deadline }
            deadlines.pop()
        }
        return nil
    }

    /// The earliest deadline or recheck time: when the timer must fire next.
    func nextWakeUp() -> Int64? {
        while let (_, id) = rechecks.peek(), waiters[id] == nil { rechecks.pop() }
        switch (nextDeadline(), rechecks.peek()?.0) {
        case let (deadline?, recheck?): return min(deadline, recheck)
        case let (deadline, recheck): return deadline ?? recheck
        }
    }

    /// Drops waiters whose clients have gone.
    func removeDisconnected() -> Int {
        let gone = waiters.values.filter { !$0.client.isConnected }.map(\.id)
        for id in gone { remove(id) }
        return gone.count
    }
}

/// A binary min-heap of (deadline, waiter id).
struct DeadlineHeap {
    private var items: [(Int64, UInt64)] = []

    mutating func push(_ deadline: Int64, _ id: UInt64) {
        items.append((deadline, id))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].0 < items[parent].0 else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    func peek() -> (Int64, UInt64)? { items.first }

    /// Ids of every entry due by `now`, without removing them (a walk that
    /// stops below entries that are later).
    func ids(dueBy now: Int64) -> [UInt64] {
        var found: [UInt64] = []
        var stack = items.isEmpty ? [] : [0]
        while let index = stack.popLast() {
            guard items[index].0 <= now else { continue }
            found.append(items[index].1)
            for child in [2 * index + 1, 2 * index + 2] where child < items.count { stack.append(child) }
        }
        return found
    }

    @discardableResult
    mutating func pop() -> (Int64, UInt64)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count && items[left].0 < items[smallest].0 { smallest = left }
            if right < items.count && items[right].0 < items[smallest].0 { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

/// Per-execution facts a handler may read or set: whether it may block,
/// and the block it asked for. One instance reused under the engine lock.
public final class ExecutionState {
    /// Counters and the slow log every command updates.
    let statistics = CommandStatistics()
    /// True only for a command submitted on its own by a client that can
    /// wait (not inside a pipeline, transaction or script).
    var mayBlock = false
    var blockRequest: BlockRequest?
    /// The parked waiter whose command is being re-run, so a command can
    /// tell its own turn from a newcomer's (locks are handed on in order).
    var servingWaiter: UInt64?
    /// Effects being recorded for the AOF; nil when no sink is attached.
    var propagation: PropagationRecorder?
    /// True while a MULTI/EXEC batch runs (its effects are wrapped already).
    var inTransaction = false
}

extension CommandContext {
    /// Asks to park on `keys` until one gets data or `timeout` (ms, 0 =
    /// forever) passes. Returns the reply for when blocking is not allowed
    /// (inside MULTI or a pipeline): Redis's nil.
    /// `rewrite` replaces the argv that is re-run on wake-up (see `BlockRequest`).
    /// `recheckAt` asks for another look at the keys at that time (see `BlockRequest`).
    public func block(on keys: [Bytes], timeoutMilliseconds: Int64, nilReply: Reply = .null, rewrite: [Bytes]? = nil,
                      recheckAt: Int64? = nil) -> Reply {
        if execution.mayBlock {
            // A wait so long its deadline would not fit is a wait forever.
            let deadline = timeoutMilliseconds == 0 || timeoutMilliseconds > Int64.max / 4 ? nil : db.now + timeoutMilliseconds
            execution.blockRequest = BlockRequest(keys: keys, deadline: deadline, rewrittenArguments: rewrite, recheckAt: recheckAt)
        }
        return nilReply
    }

    /// A blocking timeout argument in seconds (fractional allowed), as
    /// milliseconds, with Redis's errors.
    public func timeout(at position: Int) throws(CommandError) -> Int64 {
        guard let seconds = Parse.strictLongDouble(arguments[position]), seconds.isFinite else {
            throw CommandError(.generic, "ERR timeout is not a float or out of range")
        }
        if seconds < 0 { throw CommandError(.generic, "ERR timeout is negative") }
        let milliseconds = seconds * 1000
        if milliseconds >= 9.2e15 { throw CommandError(.generic, "ERR timeout is out of range") }
        // A positive timeout under 1 ms still waits, rather than forever.
        return seconds > 0 ? max(1, Int64(milliseconds)) : 0
    }
}
