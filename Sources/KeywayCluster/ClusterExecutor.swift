import Dispatch
import KeywayEngine
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The `CommandExecutor` for `backend cluster`: every command goes to the
/// Redis Cluster master that serves its keys' slot, following Redis's
/// cluster specification (MOVED updates the slot map, ASK redirects one
/// command with ASKING, TRYAGAIN and CLUSTERDOWN are retried with a bounded
/// backoff), so the gateway above it works unchanged.
///
/// Commands are checked here first, against Keyway's command table: unknown
/// commands, wrong arity, ACL rules and keys in different slots (CROSSSLOT)
/// are answered without a round trip. The HTTP threads wait for replies on
/// pipelined connections; blocking commands and subscriptions get
/// connections of their own and hold no thread while they wait.
public final class ClusterExecutor: CommandExecutor, @unchecked Sendable {
    let settings: ClusterSettings
    let commands = CommandTable.standard
    let access: AccessControl
    let group: MultiThreadedEventLoopGroup
    let slots = SlotMap()
    let statistics = ClusterStatistics()
    private let pools = NIOLockedValueBox<[NodeAddress: NodePool]>([:])
    private let seeds: [NodeAddress]
    /// Writes served, for the sync token (batches count theirs too).
    let writes = NIOLockedValueBox<Int64>(0)
    private let refreshing = NIOLockedValueBox<Bool>(false)
    /// Created on first use: it refers back to the executor.
    private let pubSubHub = NIOLockedValueBox<ClusterPubSubHub?>(nil)
    let logger: Logger

    /// `accessControl` holds the users and tokens requests authenticate as
    /// (the gateway's, configured as for the embedded engine).
    public init(settings: ClusterSettings, accessControl: AccessControl, logger: Logger = Logger(label: "keyway.cluster")) throws {
        self.settings = settings
        self.access = accessControl
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let seeds = settings.seeds.compactMap { NodeAddress($0) }
        guard !seeds.isEmpty, seeds.count == settings.seeds.count else {
            throw ClusterConfigurationError("cluster-nodes must list host:port addresses, got \(settings.seeds)")
        }
        self.seeds = seeds
    }

    /// Learns the slot map from the first seed that answers.
    public func start() throws {
        guard refreshSlotMap() else {
            throw ClusterConfigurationError("no node of \(seeds.map(\.description).joined(separator: ",")) answered CLUSTER SLOTS")
        }
        logger.info("cluster slot map loaded", metadata: ["masters": "\(slots.masters.count)", "slots": "\(slots.coveredSlots)"])
    }

    /// The masters the slot map names now.
    public var knownMasters: [String] { slots.masters.map(\.description) }

    public func shutdown() {
        let all = pools.withLockedValue { pools -> [NodePool] in
            defer { pools = [:] }
            return Array(pools.values)
        }
        for pool in all { pool.close() }
        pubSubHub.withLockedValue { $0 }?.close()
        try? group.syncShutdownGracefully()
    }

    // MARK: - Slot map

    /// Asks known masters, then the seeds, for `CLUSTER SLOTS` until one
    /// answers. True when the map was replaced.
    @discardableResult
    func refreshSlotMap() -> Bool {
        let candidates = slots.masters + seeds.filter { !slots.masters.contains($0) }
        for address in candidates {
            guard let replies = try? wait(pool(for: address).connection().send([[Bytes("CLUSTER"), Bytes("SLOTS")]])),
                  let reply = replies.first,
                  slots.load(clusterSlots: reply, fallbackHost: address.host),
                  slots.coveredSlots > 0 else { continue }
            statistics.count(\.mapRefreshes)
            return true
        }
        return false
    }

    /// A refresh in the background after a MOVED: the redirection itself
    /// already fixed the one slot, the rest may have moved with it.
    func scheduleRefresh() {
        let start = refreshing.withLockedValue { busy -> Bool in
            if busy { return false }
            busy = true
            return true
        }
        guard start else { return }
        DispatchQueue.global().async {
            self.refreshSlotMap()
            self.refreshing.withLockedValue { $0 = false }
        }
    }

    func pool(for address: NodeAddress) -> NodePool {
        pools.withLockedValue { pools in
            if let pool = pools[address] { return pool }
            let pool = NodePool(address: address, group: group, settings: settings)
            pools[address] = pool
            return pool
        }
    }

    /// Drops a node's connections after they failed, so the next request
    /// connects afresh (to wherever the refreshed map says).
    func forget(_ address: NodeAddress) {
        let pool = pools.withLockedValue { $0.removeValue(forKey: address) }
        pool?.close()
    }

    // MARK: - CommandExecutor

    public func commandSpec(_ name: Bytes) -> CommandSpec? { commands.lookup(name) }
    public func commandFlags(_ name: Bytes) -> CommandFlags? { commands.lookup(name)?.flags }
    public var accessControl: AccessControl? { access }
    public var isLoading: Bool { false }
    public var writeSequence: Int64 { writes.withLockedValue { $0 } }
    public func durabilityBarrier() -> DurabilityTicket? { nil }

    public func authorize(_ command: Command) -> CommandError? {
        // `/v1/monitor` asks here before it opens its stream: refused whole,
        // once the user's rights are checked (NOPERM first, as for any route).
        let monitor = CommandError(.notSupported, "ERR MONITOR is per node in a cluster; ask the nodes themselves")
        guard let user = command.user, !user.isUnrestricted else {
            return command.name.equalsIgnoringCase("monitor") ? monitor : nil
        }
        guard let spec = commands.lookup(command.name) else {
            return .unknownCommand(command.name, arguments: command.arguments.dropFirst())
        }
        let refusal = access.check(user, spec: spec, arguments: command.arguments,
                                   client: ACLLog.clientInfo(id: command.clientID, address: command.client), context: "toplevel",
                                   nowMilliseconds: Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000))
        return refusal ?? (spec.name == "monitor" ? monitor : nil)
    }

    public func execute(_ command: Command) -> Reply {
        guard let spec = commands.lookup(command.name) else {
            return .error(.unknownCommand(command.name, arguments: command.arguments.dropFirst()))
        }
        return execute(command, spec: spec)
    }

    public func execute(_ command: Command, spec: CommandSpec) -> Reply {
        if spec.name == "info", spec.acceptsArgumentCount(command.arguments.count), authorize(command) == nil {
            return info(command)
        }
        if spec.name == "scan", spec.acceptsArgumentCount(command.arguments.count), authorize(command) == nil {
            return scan(command)
        }
        switch plan(command, spec: spec) {
        case .refuse(let error):
            return .error(error)
        case .everyMaster(let combine):
            return fanOut(command, combine: combine)
        case .split(let slotsOfKeys):
            return executeSplit(command, slotsOfKeys: slotsOfKeys)
        case .slot(let slot):
            let reply = ClusterReplyShapes.restore(send(command.arguments, slot: slot, retryIfSent: spec.flags.contains(.readonly)), for: command.arguments)
            if spec.flags.contains(.write), !reply.isError { writes.withLockedValue { $0 += 1 } }
            return reply
        }
    }

    public func executePipeline(_ commands: [Command]) -> [Reply] {
        ClusterPipeline(executor: self, commands: commands).run()
    }

    public func executeTransaction(_ commands: [Command]) -> Result<[Reply], CommandError> {
        ClusterTransaction(executor: self, commands: commands).run()
    }

    public func mayBlock(_ command: Command) -> Bool {
        guard let spec = commands.lookup(command.name) else { return false }
        return mayBlock(command, spec: spec)
    }

    public func mayBlock(_ command: Command, spec: CommandSpec) -> Bool {
        spec.flags.contains(.blocking)
    }

    public func submit(_ command: Command, client: any BlockedClient) -> Submission {
        guard let spec = commands.lookup(command.name) else {
            return .reply(.error(.unknownCommand(command.name, arguments: command.arguments.dropFirst())))
        }
        switch plan(command, spec: spec) {
        case .refuse(let error): return .reply(.error(error))
        case .everyMaster, .split: return .reply(execute(command, spec: spec))
        case .slot(let slot): return ClusterBlockingCommand(executor: self, arguments: command.arguments, slot: slot, client: client).start()
        }
    }

    /// Never reached: `authorize` refuses MONITOR, which is per node.
    public func monitor(_ watcher: any CommandWatcher) -> Subscription {
        Subscription(cancel: {})
    }

    public func subscribe(_ subscriber: any MessageSubscriber, channels: [Bytes], patterns: [Bytes]) -> Subscription {
        let hub = pubSubHub.withLockedValue { hub -> ClusterPubSubHub in
            if let hub { return hub }
            let created = ClusterPubSubHub(executor: self)
            hub = created
            return created
        }
        return hub.subscribe(subscriber, channels: channels, patterns: patterns)
    }

    /// Why the cluster cannot serve every slot now, for `/readyz`; nil when
    /// it can.
    public var backendProblem: String? {
        let covered = slots.coveredSlots
        if covered < HashSlot.count { return "\(HashSlot.count - covered) of \(HashSlot.count) slots have no master" }
        return nil
    }

    /// INFO: one master's sections (its server, memory and keyspace), then
    /// the gateway's view of the cluster in `# Keyway_cluster`.
    func info(_ command: Command) -> Reply {
        var text = ""
        if let master = slots.masters.randomElement(),
           case .bulk(let nodeInfo) = send(command.arguments, slot: 0, retryIfSent: true, pinned: master) {
            text = nodeInfo.text
            if !text.hasSuffix("\r\n") && !text.isEmpty { text += "\r\n" }
            text += "\r\n"
        }
        let counters = statistics.snapshot
        let lines = [
            "# Keyway_cluster",
            "backend:cluster",
            "cluster_masters_known:\(slots.masters.count)",
            "cluster_slots_covered:\(slots.coveredSlots)",
            "cluster_map_refreshes:\(counters.mapRefreshes)",
            "cluster_moved_redirections:\(counters.movedRedirections)",
            "cluster_ask_redirections:\(counters.askRedirections)",
            "cluster_connection_errors:\(counters.connectionErrors)",
            "cluster_upstream_requests:\(counters.upstreamRequests)",
            "cluster_upstream_usec:\(counters.upstreamMicroseconds)",
        ]
        text += lines.joined(separator: "\r\n") + "\r\n"
        return .bulk(Bytes(text))
    }

    /// SCAN over every master in turn. The cursor carries the master's
    /// position (in the map's sorted order) in its top 16 bits and that
    /// master's own cursor below; a page goes on to the next masters until
    /// it holds COUNT keys (default 10), so a small keyspace comes back in
    /// the first call.
    func scan(_ command: Command) -> Reply {
        let masters = slots.masters
        guard let cursor = UInt64(command.arguments[1].text) else { return .error(.invalidCursor) }
        var master = Int(cursor >> 48)
        var nodeCursor = cursor & ((1 << 48) - 1)
        var wanted = 10
        let options = Array(command.arguments.dropFirst(2))
        for index in stride(from: 0, to: options.count - 1, by: 2) where options[index].equalsIgnoringCase("count") {
            wanted = max(1, Int(options[index + 1].text) ?? 10)
        }
        var keys: [Reply] = []
        while master < masters.count {
            let reply = send([command.arguments[0], Bytes(String(nodeCursor))] + options, slot: 0, retryIfSent: true, pinned: masters[master])
            guard case .array(let parts) = reply, parts.count == 2, case .bulk(let next) = parts[0],
                  let nextCursor = UInt64(next.text), case .array(let page) = parts[1] else { return reply }
            keys += page
            if nextCursor == 0 {
                master += 1
                nodeCursor = 0
            } else {
                guard nextCursor < 1 << 48 else { return .error(CommandError(.generic, "ERR a node's SCAN cursor does not fit")) }
                nodeCursor = nextCursor
            }
            if keys.count >= wanted { break }
        }
        let next: UInt64 = master >= masters.count ? 0 : UInt64(master) << 48 | nodeCursor
        return .array([.bulk(Bytes(String(next))), .array(keys)])
    }

    // MARK: - Routing

    enum Plan {
        case refuse(CommandError)
        /// Keyless commands that are per node: sent to every master and
        /// their replies combined.
        case everyMaster(FanOut)
        case slot(Int)
        /// A splittable command over several slots, run per slot (the
        /// slot of each key, in argument order).
        case split([Int])
    }

    /// The multi-key commands `?split=true` may run one slot at a time:
    /// MGET's replies are put back in key order, the others' counts summed.
    static let splittable: Set<String> = ["mget", "del", "exists", "unlink", "touch"]

    public func splitsAcrossSlots(_ command: Command) -> Bool {
        guard command.splitAcrossSlots, let spec = commands.lookup(command.name), Self.splittable.contains(spec.name) else { return false }
        let slotsOfKeys = Set(spec.keys(in: command.arguments).map { HashSlot.of($0) })
        return slotsOfKeys.count > 1
    }

    /// Runs each slot's keys as one command of their own and merges.
    func executeSplit(_ command: Command, slotsOfKeys: [Int]) -> Reply {
        let name = command.arguments[0]
        let keys = Array(command.arguments.dropFirst())
        var positionsBySlot: [Int: [Int]] = [:]
        for (position, slot) in slotsOfKeys.enumerated() { positionsBySlot[slot, default: []].append(position) }
        let isRead = commands.lookup(name)?.flags.contains(.readonly) ?? false
        var values = [Reply](repeating: .null, count: keys.count)
        var total: Int64 = 0
        for (slot, positions) in positionsBySlot.sorted(by: { $0.value[0] < $1.value[0] }) {
            let reply = send([name] + positions.map { keys[$0] }, slot: slot, retryIfSent: isRead)
            switch reply {
            case .error: return reply
            case .integer(let count): total += count
            case .array(let items) where items.count == positions.count:
                for (position, item) in zip(positions, items) { values[position] = item }
            default: return .error(CommandError(.generic, "ERR unexpected reply to a split \(name.text)"))
            }
        }
        return name.lowercasedASCII == "mget" ? .array(values) : .integer(total)
    }

    enum FanOut { case sum, concatenate, firstOK }

    /// Where a command goes, or why it goes nowhere.
    func plan(_ command: Command, spec: CommandSpec) -> Plan {
        guard spec.acceptsArgumentCount(command.arguments.count) else { return .refuse(.wrongArity(spec.name)) }
        if let refusal = authorize(command) { return .refuse(refusal) }
        if let reason = ClusterCommandPolicy.unsupported(spec) {
            return .refuse(CommandError(.notSupported, "ERR \(spec.name.uppercased()) \(reason)"))
        }
        if let fanOut = ClusterCommandPolicy.fanOut[spec.name] { return .everyMaster(fanOut) }
        let keys = spec.keys(in: command.arguments)
        guard let first = keys.first else { return .slot(Int.random(in: 0..<HashSlot.count)) }
        let slot = HashSlot.of(first)
        for key in keys.dropFirst() where HashSlot.of(key) != slot {
            if command.splitAcrossSlots, Self.splittable.contains(spec.name) { return .split(keys.map { HashSlot.of($0) }) }
            return .refuse(ClusterCommandPolicy.crossSlot)
        }
        return .slot(slot)
    }

    /// Sends one command to the master of `slot`, following redirections
    /// and retrying within `retryWindow`. A command whose connection broke
    /// after it was written is retried only when `retryIfSent` (reads):
    /// a write may have been applied, so it is answered 503 instead.
    func send(_ arguments: [Bytes], slot: Int, retryIfSent: Bool, pinned: NodeAddress? = nil) -> Reply {
        var redirect: Redirection? = pinned.map { Redirection(pinnedTo: $0) }
        var backoff = RetryBackoff(window: settings.retryWindow)
        var hops = 0
        while true {
            let target: NodeAddress
            if let redirect { target = redirect.address }
            else if let master = slots.master(of: slot) { target = master }
            else {
                refreshSlotMap()
                guard let master = slots.master(of: slot) else {
                    if backoff.wait() { continue }
                    return .error(ClusterCommandPolicy.unavailable("no node serves slot \(slot)"))
                }
                target = master
            }
            let asking = redirect?.kind == .ask
            let batch: [[Bytes]] = asking ? [[Bytes("ASKING")], arguments] : [arguments]
            let connection: NodeConnection
            do {
                connection = try pool(for: target).connection()
            } catch {
                statistics.count(\.connectionErrors)
                forget(target)
                redirect = nil
                refreshSlotMap()
                if backoff.wait() { continue }
                return .error(ClusterCommandPolicy.unavailable("\(target) unreachable: \(error)"))
            }
            let replies: [Reply]
            let startedAt = DispatchTime.now().uptimeNanoseconds
            do {
                replies = try connection.sendAndWait(batch, timeout: settings.requestTimeout)
                statistics.recordRoundTrip(startedAt: startedAt)
            } catch {
                statistics.count(\.connectionErrors)
                forget(target)
                redirect = nil
                refreshSlotMap()
                if retryIfSent, backoff.wait() { continue }
                return .error(ClusterCommandPolicy.unavailable("\(target): \(error)"))
            }
            let reply = replies[replies.count - 1]
            guard case .error(let error) = reply else { return reply }
            if let found = Redirection(error.message) {
                hops += 1
                guard hops <= 16 else { return .error(ClusterCommandPolicy.unavailable("too many redirections for slot \(slot)")) }
                statistics.count(found.kind == .moved ? \.movedRedirections : \.askRedirections)
                if found.kind == .moved {
                    slots.move(slot: found.slot, to: found.address)
                    scheduleRefresh()
                    redirect = nil
                } else {
                    redirect = found
                }
                continue
            }
            if error.message.hasPrefix("TRYAGAIN") || error.message.hasPrefix("CLUSTERDOWN") {
                redirect = nil
                if backoff.wait() { continue }
                return .error(ClusterCommandPolicy.unavailable(error.message))
            }
            return reply
        }
    }

    /// Waits for `future` at most `requestTimeout`.
    func wait<T: Sendable>(_ future: EventLoopFuture<T>) throws -> T {
        let deadline = future.eventLoop.scheduleTask(in: settings.requestTimeout) {}
        let timed = future.eventLoop.makePromise(of: T.self)
        future.cascade(to: timed)
        deadline.futureResult.whenSuccess { timed.fail(ClusterError.timedOut) }
        defer { deadline.cancel() }
        return try timed.futureResult.waitOffLoop()
    }

    /// Sends a keyless per-node command to every master and combines the
    /// replies (DBSIZE sums, KEYS concatenates, FLUSHALL answers OK).
    func fanOut(_ command: Command, combine: FanOut) -> Reply {
        var replies: [Reply] = []
        for master in slots.masters {
            guard let connection = try? pool(for: master).connection(),
                  let reply = try? connection.sendAndWait([command.arguments], timeout: settings.requestTimeout).first else {
                return .error(ClusterCommandPolicy.unavailable("\(master) did not answer"))
            }
            if case .error = reply { return reply }
            replies.append(reply)
        }
        switch combine {
        case .sum:
            return .integer(replies.reduce(0) { total, reply in
                if case .integer(let value) = reply { return total + value }
                return total
            })
        case .concatenate:
            return .array(replies.flatMap { reply -> [Reply] in
                if case .array(let items) = reply { return items }
                return []
            })
        case .firstOK:
            return replies.first ?? .ok
        }
    }
}

/// A MOVED or ASK error: where the slot is (or is being moved to).
struct Redirection {
    enum Kind { case moved, ask }
    let kind: Kind
    let slot: Int
    let address: NodeAddress

    /// Parses `MOVED 3999 127.0.0.1:6381` and `ASK 3999 127.0.0.1:6381`.
    /// A keyless command meant for one node (INFO): sent there as if MOVED.
    init(pinnedTo address: NodeAddress) {
        kind = .moved
        slot = 0
        self.address = address
    }

    init?(_ message: String) {
        let words = message.split(separator: " ")
        guard words.count == 3, let slot = Int(words[1]), slot >= 0, slot < HashSlot.count,
              let address = NodeAddress(String(words[2])) else { return nil }
        switch words[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        self.slot = slot
        self.address = address
    }
}

/// Waits between retries: 25 ms, doubling to 400 ms, until a window
/// closes.
struct RetryBackoff {
    private let deadline: UInt64
    private var delayMilliseconds: UInt64 = 25

    init(window: TimeAmount) {
        deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, window.nanoseconds))
    }

    /// Sleeps and returns true when another try fits in the window.
    mutating func wait() -> Bool {
        let now = DispatchTime.now().uptimeNanoseconds
        guard now < deadline else { return false }
        let delay = min(delayMilliseconds * 1_000_000, deadline - now)
        usleep(useconds_t(delay / 1000))
        delayMilliseconds = min(delayMilliseconds * 2, 400)
        return true
    }
}

struct ClusterConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
