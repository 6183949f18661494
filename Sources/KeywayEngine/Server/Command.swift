/// A command as Redis models it: a name followed by binary-safe arguments.
///
/// Every HTTP route builds Commands; nothing reaches the data any other way.
public struct Command: Sendable, Equatable {
    /// `arguments[0]` is the command name, as in Redis's argv.
    public var arguments: [Bytes]
    /// The ip of the client that sent it, for MONITOR and the ACL log; nil
    /// when not known.
    public var client: String?
    /// The id of the connection that sent it (CLIENT ID); nil when not known.
    public var clientID: Int64?
    /// The ACL user it runs as; nil for the server's own commands, which
    /// no rule restricts.
    public var user: ACLUser?
    /// The client allows a multi-key command whose keys live in different
    /// cluster slots to run as one command per slot, not atomically
    /// (`?split=true`); only the cluster backend looks at it.
    public var splitAcrossSlots = false
    /// The client's sync token (`Upstash-Sync-Token`): a read must see the
    /// writes it names. Set only for an executor that `readsFromReplicas`.
    public var syncToken: Bytes?

    public init(_ arguments: [Bytes]) {
        precondition(!arguments.isEmpty, "a command needs a name")
        self.arguments = arguments
    }

    public init(_ name: String, _ rest: [Bytes]) {
        self.arguments = Self.arguments(Bytes(name), rest)
    }

    /// `[name] + rest`, in one allocation.
    public static func arguments(_ name: Bytes, _ rest: [Bytes]) -> [Bytes] {
        var arguments: [Bytes] = []
        arguments.reserveCapacity(rest.count + 1)
        arguments.append(name)
        arguments.append(contentsOf: rest)
        return arguments
    }

    public init(_ words: String...) {
        self.arguments = words.map { Bytes($0) }
    }

    public var name: Bytes { arguments[0] }
}

/// The seam between the HTTP gateway and whatever stores the data.
///
/// The embedded `Engine` implements it; a client for an external Redis could
/// implement it too without the gateway changing.
public protocol CommandExecutor: AnyObject, Sendable {
    /// Runs one command and returns its reply (errors are `.error` replies).
    func execute(_ command: Command) -> Reply

    /// Runs commands one after another, each atomically on its own (a pipeline).
    func executePipeline(_ commands: [Command]) -> [Reply]

    /// The same pipeline, handing replies to `onSlice` in order as they are
    /// produced, so the caller can send them meanwhile; `onSlice` returning
    /// false drops the commands not yet run (the client has gone).
    func executePipeline(_ commands: [Command], onSlice: ([Reply]) -> Bool)

    /// Runs commands as one atomic transaction (MULTI/EXEC). A command that
    /// cannot be queued (unknown, wrong arity) aborts the whole batch with
    /// `EXECABORT`, as Redis does; runtime errors are per-command replies.
    func executeTransaction(_ commands: [Command]) -> Result<[Reply], CommandError>

    /// Whether `command` may park its client (BLPOP, ...), so the caller
    /// should use `submit` with a client that can wait.
    func mayBlock(_ command: Command) -> Bool

    /// The command table's entry for a command name (any case); nil for an
    /// unknown command, or an executor without a table. A caller that
    /// needs the entry before running the command (the command API: its
    /// label, whether it may block) looks it up once and hands it to
    /// `execute(_:spec:)` and `mayBlock(_:spec:)`, so the name is not
    /// hashed into the table again.
    func commandSpec(_ name: Bytes) -> CommandSpec?

    /// `execute` with the entry `commandSpec` gave for the command's name.
    func execute(_ command: Command, spec: CommandSpec) -> Reply

    /// `mayBlock` with the entry `commandSpec` gave for the command's name.
    func mayBlock(_ command: Command, spec: CommandSpec) -> Bool

    /// Runs a command that may block (BLPOP, ...): either replies now or
    /// parks `client`, which later receives the reply through `deliver`.
    func submit(_ command: Command, client: any BlockedClient) -> Submission

    /// Streams every executed command to `watcher` (MONITOR) until the
    /// returned subscription is cancelled.
    func monitor(_ watcher: any CommandWatcher) -> Subscription

    /// Subscribes to channels and glob patterns (pub/sub, keyspace events)
    /// until the returned subscription is cancelled.
    func subscribe(_ subscriber: any MessageSubscriber, channels: [Bytes], patterns: [Bytes], shardChannels: [Bytes]) -> Subscription

    /// With `appendfsync always`, a ticket that is durable once every write
    /// made so far is on disk: the gateway holds a write's reply until then.
    /// Nil when replies need not wait.
    func durabilityBarrier() -> DurabilityTicket?

    /// True while the dataset is still loading at start-up: clients should
    /// get Redis's LOADING answer (HTTP 503).
    var isLoading: Bool { get }

    /// A number that grows with every write: the gateway's sync token.
    var writeSequence: Int64 { get }

    /// True while commands that may grow memory are refused because used
    /// memory is above `maxmemory` (OOM): `/readyz` reports not ready.
    var isOutOfMemory: Bool { get }

    /// What keeps writes from reaching disk (a failed AOF write or fsync, a
    /// failed background save), while writes are refused with MISCONF:
    /// `/readyz` reports it. Nil when persistence is healthy.
    var persistenceFailure: String? { get }

    /// Whether `command` runs (or ran) as several commands, not atomically:
    /// a `splitAcrossSlots` command whose keys are in different slots.
    func splitsAcrossSlots(_ command: Command) -> Bool

    /// Why the data behind the executor cannot all be served now (a cluster
    /// with slots no master serves), for `/readyz`; nil when it can.
    var backendProblem: String? { get }

    /// Whether keys used together must share a `{hash tag}` (a cluster,
    /// where one command or script reaches one slot): routes that keep one
    /// resource in several keys (a lock and its fencing counter) name them
    /// with a tag then.
    var requiresHashTags: Bool { get }

    /// Whether reads may be served by replicas that lag behind writes (a
    /// cluster with `cluster-read-from replicas`): the gateway then hands
    /// each command the client's sync token and answers with `syncToken`.
    var readsFromReplicas: Bool { get }

    /// The sync token to answer a request with, given the one it came with.
    /// A number that grows with every write (`writeSequence`) where every
    /// read sees every write already.
    func syncToken(merging requestToken: Bytes?) -> String

    /// Grows each time writes that could not be persisted were undone
    /// (`appendfsync always`): a reply computed while it moved may have
    /// read them and must not be sent.
    var undoCount: UInt64 { get }

    /// The command table's flags for a command name (any case); nil for an
    /// unknown command. The gateway reads `.write` and `.readonly` to keep
    /// browsers from writing with a GET.
    func commandFlags(_ name: Bytes) -> CommandFlags?

    /// The users and tokens requests authenticate against; nil when the
    /// executor has no access control (every request is unrestricted).
    var accessControl: AccessControl? { get }

    /// Whether `command` may run as its user, without running it: nil, or
    /// the NOPERM error (logged in ACL LOG). For what reaches the engine
    /// other than as a command: MONITOR and subscriptions.
    func authorize(_ command: Command) -> CommandError?
}

extension CommandExecutor {
    /// An executor without slices hands over every reply at once.
    public func executePipeline(_ commands: [Command], onSlice: ([Reply]) -> Bool) {
        _ = onSlice(executePipeline(commands))
    }
    public var isOutOfMemory: Bool { false }
    public var persistenceFailure: String? { nil }
    public var backendProblem: String? { nil }
    public var requiresHashTags: Bool { false }
    /// Channels and patterns only.
    public func subscribe(_ subscriber: any MessageSubscriber, channels: [Bytes], patterns: [Bytes]) -> Subscription {
        subscribe(subscriber, channels: channels, patterns: patterns, shardChannels: [])
    }
    public var readsFromReplicas: Bool { false }
    public func syncToken(merging requestToken: Bytes?) -> String { String(writeSequence) }
    public func splitsAcrossSlots(_ command: Command) -> Bool { false }
    public var undoCount: UInt64 { 0 }
    public func commandFlags(_ name: Bytes) -> CommandFlags? { nil }
    public func commandSpec(_ name: Bytes) -> CommandSpec? { nil }
    public func execute(_ command: Command, spec: CommandSpec) -> Reply { execute(command) }
    public func mayBlock(_ command: Command, spec: CommandSpec) -> Bool { mayBlock(command) }
    public var accessControl: AccessControl? { nil }
    public func authorize(_ command: Command) -> CommandError? { nil }
}
