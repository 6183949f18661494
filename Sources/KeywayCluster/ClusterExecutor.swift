#if canImport(Glibc)
import Glibc
#endif
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
    /// How node connections are made (TLS or not), shared by every pool and hub.
    let transport: NodeTransport
    let commands = CommandTable.standard
    let access: AccessControl
    private let gatewayCommands: (any CommandExecutor)?
    let group: MultiThreadedEventLoopGroup
    let slots = SlotMap()
    let statistics = ClusterStatistics()
    let offsets = ReplicationOffsets()
    let fieldExpiration = FieldExpirationSupport()
    private let replicaTurn = NIOLockedValueBox<Int>(0)
    private let pools = NIOLockedValueBox<[NodeAddress: NodePool]>([:])
    private let seeds: [NodeAddress]
    /// Writes served, for the sync token (batches count theirs too).
    let writes = NIOLockedValueBox<Int64>(0)
    private let refreshing = NIOLockedValueBox<Bool>(false)
    private let periodicRefresh = NIOLockedValueBox<RepeatedTask?>(nil)
    /// Created on first use: it refers back to the executor.
    private let pubSubHub = NIOLockedValueBox<ClusterPubSubHub?>(nil)
    private let shardHub = NIOLockedValueBox<ClusterShardPubSub?>(nil)
    let logger: Logger

    /// `accessControl` holds the users and tokens requests authenticate as
    /// (the gateway's, configured as for the embedded engine), and
    /// `gatewayCommands` runs the commands that act on them rather than on
    /// the nodes (`ACL`): the embedded engine that holds them.
    public init(settings: ClusterSettings, accessControl: AccessControl, gatewayCommands: (any CommandExecutor)? = nil,
                logger: Logger = Logger(label: "keyway.cluster")) throws {
        self.settings = settings
        self.gatewayCommands = gatewayCommands
        do {
            self.transport = try NodeTransport(settings: settings)
        } catch {
            throw ClusterConfigurationError("cluster-tls: \(error)")
        }
        self.access = accessControl
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let seeds = settings.seeds.compactMap { NodeAddress($0) }
        guard !seeds.isEmpty, seeds.count == settings.seeds.count else {
            throw ClusterConfigurationError("cluster-nodes must list host:port addresses, got \(settings.seeds)")
        }
        self.seeds = seeds
    }

    /// Learns the slot map from the first seed that answers, and reads it
    /// again every `mapRefreshInterval` from then on.
    public func start() throws {
        guard refreshSlotMap() else {
            throw ClusterConfigurationError("no node of \(seeds.map(\.description).joined(separator: ",")) answered CLUSTER SLOTS")
        }
        logger.info("cluster slot map loaded", metadata: ["masters": "\(slots.masters.count)", "slots": "\(slots.coveredSlots)"])
        let interval = settings.mapRefreshInterval
        let task = group.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            self?.scheduleRefresh()
        }
        periodicRefresh.withLockedValue { $0 = task }
    }

    /// The masters the slot map names now.
    public var knownMasters: [String] { slots.masters.map(\.description) }

    public func shutdown() {
        periodicRefresh.withLockedValue { $0 }?.cancel()
        let all = pools.withLockedValue { pools -> [NodePool] in
            defer { pools = [:] }
            return Array(pools.values)
        }
        for pool in all { pool.close() }
        pubSubHub.withLockedValue { $0 }?.close()
        shardHub.withLockedValue { $0 }?.close()
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

    /// A refresh in the background, off the event loops (it waits for a
    /// node's reply): after a MOVED, whose redirection already fixed the
    /// one slot while the rest may have moved with it, and periodically.
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
            let pool = NodePool(address: address, group: group, transport: transport)
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
    public var requiresHashTags: Bool { true }
    public var readsFromReplicas: Bool { settings.readFromReplicas }
    public func syncToken(merging requestToken: Bytes?) -> String {
        settings.readFromReplicas ? offsets.token(merging: requestToken, known: Set(slots.masters)) : String(writeSequence)
    }
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
        case .gateway:
            return gatewayCommands?.execute(command, spec: spec) ?? .error(CommandError(.notSupported, "ERR \(spec.name.uppercased()) is not served here"))
        case .everyMaster(let combine):
            return fanOut(command, combine: combine)
        case .split(let slotsOfKeys):
            return executeSplit(command, slotsOfKeys: slotsOfKeys)
        case .slot(let slot):
            let reply: Reply
            do {
                if let call = try scriptCall(command.arguments, spec: spec, slot: slot) {
                    reply = call.engineReply(run(call, slot: slot))
                } else if settings.readFromReplicas && spec.flags.contains(.readonly) {
                    reply = EngineReplyShape.of(readFromReplica(command.arguments, slot: slot, syncToken: command.syncToken),
                                                spec: spec, arguments: command.arguments)
                } else {
                    let observe = settings.readFromReplicas && spec.flags.contains(.write)
                    reply = EngineReplyShape.of(send(command.arguments, slot: slot, retryIfSent: spec.flags.contains(.readonly),
                                                     observeOffset: observe),
                                                spec: spec, arguments: command.arguments)
                }
            } catch {
                return .error(error)
            }
            if spec.flags.contains(.write), !reply.isError { noteWrite() }
            return reply
        }
    }

    /// Counts a write that went through, for the sync token.
    func noteWrite() { writes.withLockedValue { $0 += 1 } }

    /// The script that runs `arguments` on the master of `slot`: a
    /// middleware command's, or a hash field TTL command's on a master
    /// without field expiration. Nil for a command the node runs itself.
    func scriptCall(_ arguments: [Bytes], spec: CommandSpec, slot: Int) throws(CommandError) -> MiddlewareCall? {
        if let call = try MiddlewareCall(arguments, spec: spec) { return call }
        guard FieldExpirationEmulation.names.contains(spec.name), !hasFieldExpiration(slot: slot) else { return nil }
        return try MiddlewareCall(emulatingFieldExpiration: arguments, spec: spec)
    }

    /// Whether the master of `slot` has hash field expiration: asked once
    /// per node (see `FieldExpirationSupport`). A node that cannot be asked
    /// now counts as one without, and is asked again next time.
    func hasFieldExpiration(slot: Int) -> Bool {
        guard let master = slots.master(of: slot) else { return false }
        if let known = fieldExpiration.answer(for: master) { return known }
        guard let connection = try? pool(for: master).connection(),
              let reply = try? connection.sendAndWait([FieldExpirationSupport.probe], timeout: settings.requestTimeout).first else {
            return false
        }
        return fieldExpiration.record(reply, from: master)
    }

    /// Runs a middleware command's script on the master of `slot`: by its
    /// SHA, and whole when the node does not have it yet. The script's own
    /// reply, before `engineReply`.
    func run(_ call: MiddlewareCall, slot: Int) -> Reply {
        let observe = settings.readFromReplicas
        let reply = send(call.evalSHA, slot: slot, retryIfSent: false, observeOffset: observe)
        guard MiddlewareCall.isMissingScript(reply) else { return reply }
        return send(call.eval, slot: slot, retryIfSent: false, observeOffset: observe)
    }

    /// A read on a replica of `slot`, the replicas taken in turn. With a
    /// sync token naming the slot's master, the replica's `ROLE` goes in
    /// the same round trip, before the read: its offset at that moment
    /// must have reached the token's, or the replica is asked again (1 ms,
    /// doubling) until `replicaCatchUpWait`, then the master serves it. A
    /// replica that is unreachable, loading, or does not serve the slot
    /// (MOVED, after a failover or resharding) passes the read to the master.
    func readFromReplica(_ arguments: [Bytes], slot: Int, syncToken: Bytes?) -> Reply {
        let replicas = slots.replicas(of: slot)
        guard !replicas.isEmpty, let master = slots.master(of: slot) else {
            return send(arguments, slot: slot, retryIfSent: true)
        }
        let required = syncToken.flatMap { ReplicationOffsets.parse($0)[master] } ?? 0
        let turn = replicaTurn.withLockedValue { turn -> Int in
            defer { turn &+= 1 }
            return turn
        }
        let replica = replicas[turn % replicas.count]
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(settings.replicaCatchUpWait.nanoseconds)
        var pause: UInt32 = 1000
        while true {
            guard let connection = try? pool(for: replica).connection() else {
                statistics.count(\.connectionErrors)
                forget(replica)
                break
            }
            let batch: [[Bytes]] = required > 0 ? [[Bytes("ROLE")], arguments] : [arguments]
            let startedAt = DispatchTime.now().uptimeNanoseconds
            guard let replies = try? connection.sendAndWait(batch, timeout: settings.requestTimeout) else {
                statistics.count(\.connectionErrors)
                forget(replica)
                break
            }
            statistics.recordRoundTrip(startedAt: startedAt)
            let reply = replies[replies.count - 1]
            if case .error(let error) = reply, Self.replicaCannotServe(error.message) { break }
            if required > 0 {
                let offset = ReplicationOffsets.offset(ofRole: replies[0]) ?? -1
                if offset < required {
                    guard DispatchTime.now().uptimeNanoseconds < deadline else { break }
                    usleep(pause)
                    pause = min(pause * 2, 20_000)
                    continue
                }
            }
            statistics.count(\.replicaReads)
            return reply
        }
        statistics.count(\.replicaFallbacks)
        return send(arguments, slot: slot, retryIfSent: true)
    }

    /// Errors by which a replica says another node must answer.
    static func replicaCannotServe(_ message: String) -> Bool {
        message.hasPrefix("MOVED ") || message.hasPrefix("ASK ") || message.hasPrefix("TRYAGAIN") || message.hasPrefix("CLUSTERDOWN")
            || message.hasPrefix("LOADING") || message.hasPrefix("MASTERDOWN")
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
        case .gateway, .everyMaster, .split: return .reply(execute(command, spec: spec))
        case .slot(let slot):
            let call: MiddlewareCall?
            do { call = try scriptCall(command.arguments, spec: spec, slot: slot) } catch { return .reply(.error(error)) }
            guard let call else {
                return ClusterBlockingCommand(executor: self, arguments: command.arguments, slot: slot, client: client).start()
            }
            // KEYWAY.LOCK, the one blocking middleware command: try once
            // here, and wait for a held lock without holding this thread.
            let reply = run(call, slot: slot)
            guard case .lock(let wait) = call.kind, wait > 0, let heldFor = MiddlewareCall.heldFor(reply) else {
                if !reply.isError { noteWrite() }
                return .reply(call.engineReply(reply))
            }
            return ClusterLockWaiter(executor: self, call: call, slot: slot, client: client, waitMilliseconds: wait)
                .start(heldFor: heldFor)
        }
    }

    /// Never reached: `authorize` refuses MONITOR, which is per node.
    public func monitor(_ watcher: any CommandWatcher) -> Subscription {
        Subscription(cancel: {})
    }

    public func subscribe(_ subscriber: any MessageSubscriber, channels: [Bytes], patterns: [Bytes], shardChannels: [Bytes]) -> Subscription {
        var parts: [Subscription] = []
        if !channels.isEmpty || !patterns.isEmpty {
            let hub = pubSubHub.withLockedValue { hub -> ClusterPubSubHub in
                if let hub { return hub }
                let created = ClusterPubSubHub(executor: self)
                hub = created
                return created
            }
            parts.append(hub.subscribe(subscriber, channels: channels, patterns: patterns))
        }
        if !shardChannels.isEmpty {
            let hub = shardHub.withLockedValue { hub -> ClusterShardPubSub in
                if let hub { return hub }
                let created = ClusterShardPubSub(executor: self)
                hub = created
                return created
            }
            parts.append(hub.subscribe(subscriber, shardChannels: shardChannels))
        }
        if parts.count == 1 { return parts[0] }
        let all = parts
        return Subscription { for part in all { part.cancel() } }
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
            "cluster_read_from:\(settings.readFromReplicas ? "replicas" : "master")",
            "cluster_replica_reads:\(counters.replicaReads)",
            "cluster_replica_fallbacks:\(counters.replicaFallbacks)",
            "cluster_masters_with_field_expiration:\(fieldExpiration.counts(of: slots.masters).with)",
            "cluster_masters_without_field_expiration:\(fieldExpiration.counts(of: slots.masters).without)",
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
        /// What acts on the gateway's own state (its ACL users), not the
        /// nodes': run by `gatewayCommands`.
        case gateway
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
        if ClusterCommandPolicy.gatewayOwned.contains(spec.name), gatewayCommands != nil { return .gateway }
        if let reason = ClusterCommandPolicy.unsupported(spec) {
            return .refuse(CommandError(.notSupported, "ERR \(spec.name.uppercased()) \(reason)"))
        }
        if let fanOut = ClusterCommandPolicy.fanOut[spec.name] { return .everyMaster(fanOut) }
        // A shard channel is not a key, but it lives in its name's slot.
        if let channel = ClusterCommandPolicy.shardChannel(of: command.arguments, spec: spec) { return .slot(HashSlot.of(channel)) }
        let keys = spec.keys(in: command.arguments)
        guard let first = keys.first else { return .slot(Int.random(in: 0..<HashSlot.count)) }
        let slot = HashSlot.of(first)
        for key in keys.dropFirst() where HashSlot.of(key) != slot {
            if command.splitAcrossSlots, Self.splittable.contains(spec.name) { return .split(keys.map { HashSlot.of($0) }) }
            return .refuse(ClusterCommandPolicy.crossSlot)
        }
        if FieldExpirationEmulation.names.contains(spec.name),
           FieldExpirationEmulation.treatment(of: command.arguments, name: spec.name) == .refuse, !hasFieldExpiration(slot: slot) {
            return .refuse(FieldExpirationEmulation.refusal(spec.name))
        }
        return .slot(slot)
    }

    /// Sends one command to the master of `slot`, following redirections
    /// and retrying within `retryWindow`. A command whose connection broke
    /// after it was written is retried only when `retryIfSent` (reads):
    /// a write may have been applied, so it is answered 503 instead.
    ///
    /// `observeOffset` (a write, with replica reads on) sends `ROLE` right
    /// after the command on the same connection and keeps the master's
    /// offset, which then counts the write, for sync tokens.
    func send(_ arguments: [Bytes], slot: Int, retryIfSent: Bool, pinned: NodeAddress? = nil, observeOffset: Bool = false) -> Reply {
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
            var batch: [[Bytes]] = asking ? [[Bytes("ASKING")], arguments] : [arguments]
            if observeOffset { batch.append([Bytes("ROLE")]) }
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
            let reply = replies[asking ? 1 : 0]
            guard case .error(let error) = reply else {
                if observeOffset { offsets.note(replies[replies.count - 1], from: target) }
                return reply
            }
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
