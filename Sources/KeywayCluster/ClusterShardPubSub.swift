#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import KeywayEngine
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Shard channels on the cluster (Redis 7's SSUBSCRIBE and SPUBLISH): a
/// shard channel lives in the slot its name hashes to, and only the master
/// of that slot carries its messages. So, unlike `ClusterPubSubHub`'s one
/// connection, this keeps one upstream connection per master that serves
/// some subscribed shard channel, and SSUBSCRIBEs each channel on its
/// slot's master, once for all of this gateway's local subscribers.
///
/// When a slot moves (resharding, failover) the node unsubscribes the
/// channel itself (`sunsubscribe` push) or the connection closes; the
/// channel is then subscribed again on whichever master the refreshed slot
/// map names. A `MOVED` answer to SSUBSCRIBE does the same at once.
final class ClusterShardPubSub: Sendable {
    private struct State {
        var subscribers: [Bytes: [ObjectIdentifier: any MessageSubscriber]] = [:]
        /// The master each wanted channel is subscribed on (or being).
        var placedOn: [Bytes: NodeAddress] = [:]
        var upstreams: [NodeAddress: Channel] = [:]
        var connecting: Set<NodeAddress> = []
        var confirmed: Set<Bytes> = []
    }
    private let state = NIOLockedValueBox(State())
    private unowned(unsafe) let executor: ClusterExecutor

    init(executor: ClusterExecutor) {
        self.executor = executor
    }

    func subscribe(_ subscriber: any MessageSubscriber, shardChannels: [Bytes]) -> Subscription {
        let id = ObjectIdentifier(subscriber)
        let fresh = state.withLockedValue { state -> [Bytes] in
            var fresh: [Bytes] = []
            for channel in shardChannels {
                if state.subscribers[channel] == nil { fresh.append(channel) }
                state.subscribers[channel, default: [:]][id] = subscriber
            }
            return fresh
        }
        place(fresh)
        awaitConfirmation(shardChannels)
        return Subscription(cancel: { [self] in unsubscribe(id, shardChannels: shardChannels) })
    }

    /// Subscribes `channels` on their slots' masters, connecting where needed.
    private func place(_ channels: [Bytes]) {
        var byMaster: [NodeAddress: [Bytes]] = [:]
        for channel in channels {
            guard let master = executor.slots.master(of: HashSlot.of(channel)) else { continue }
            byMaster[master, default: []].append(channel)
        }
        for (master, channels) in byMaster { place(channels, on: master) }
        if byMaster.values.reduce(0, { $0 + $1.count }) < channels.count { retryLater(channels) }
    }

    private func place(_ channels: [Bytes], on master: NodeAddress) {
        let (upstream, connect) = state.withLockedValue { state -> (Channel?, Bool) in
            for channel in channels where state.subscribers[channel] != nil {
                state.placedOn[channel] = master
                state.confirmed.remove(channel)
            }
            if let upstream = state.upstreams[master] { return (upstream, false) }
            return (nil, state.connecting.insert(master).inserted)
        }
        if let upstream, !channels.isEmpty {
            write(["SSUBSCRIBE"], channels, to: upstream)
        } else if upstream == nil, connect {
            self.connect(to: master)
        }
    }

    private func connect(to master: NodeAddress) {
        let settings = executor.settings
        executor.transport.connect(to: master, on: executor.group) { [self] channel in
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPReplyDecoder()))
            try channel.pipeline.syncOperations.addHandler(ShardPushHandler(hub: self, node: master))
        }
            .whenComplete { [self] result in
                switch result {
                case .failure:
                    let stranded = state.withLockedValue { state -> [Bytes] in
                        state.connecting.remove(master)
                        return state.placedOn.filter { $0.value == master }.map(\.key)
                    }
                    executor.statistics.count(\.connectionErrors)
                    retryLater(stranded)
                case .success(let channel):
                    let channels = state.withLockedValue { state -> [Bytes] in
                        state.connecting.remove(master)
                        state.upstreams[master] = channel
                        return state.placedOn.filter { $0.value == master }.map(\.key)
                    }
                    channel.closeFuture.whenComplete { [self] _ in lost(channel, master: master) }
                    if let password = settings.password {
                        write(["AUTH"] + (settings.username.map { [$0] } ?? []) + [password], [], to: channel)
                    }
                    if !channels.isEmpty { write(["SSUBSCRIBE"], channels, to: channel) }
                }
            }
    }

    /// `words` alone, or followed by one channel at a time: the channels
    /// of one SSUBSCRIBE must share a slot (CROSSSLOT otherwise).
    private func write(_ words: [String], _ channels: [Bytes], to upstream: Channel) {
        var buffer = upstream.allocator.buffer(capacity: 64)
        let command = words.map { Bytes($0) }
        if channels.isEmpty {
            RESPCommandEncoder.encode(command, into: &buffer)
        } else {
            for channel in channels { RESPCommandEncoder.encode(command + [channel], into: &buffer) }
        }
        upstream.writeAndFlush(buffer, promise: nil)
    }

    /// Returns once every channel is confirmed by its node, or after the
    /// retry window (see `ClusterPubSubHub.awaitConfirmation`).
    private func awaitConfirmation(_ channels: [Bytes]) {
        executor.awaitSubscription { state.withLockedValue { state in channels.allSatisfy(state.confirmed.contains) } }
    }

    private func unsubscribe(_ id: ObjectIdentifier, shardChannels: [Bytes]) {
        let gone = state.withLockedValue { state -> [(Bytes, Channel?)] in
            var gone: [(Bytes, Channel?)] = []
            for channel in shardChannels {
                state.subscribers[channel]?[id] = nil
                guard state.subscribers[channel]?.isEmpty == true else { continue }
                state.subscribers[channel] = nil
                state.confirmed.remove(channel)
                let master = state.placedOn.removeValue(forKey: channel)
                gone.append((channel, master.flatMap { state.upstreams[$0] }))
            }
            return gone
        }
        for (channel, upstream) in gone {
            if let upstream { write(["SUNSUBSCRIBE"], [channel], to: upstream) }
        }
    }

    // MARK: - From the nodes

    func deliver(_ channel: Bytes, payload: Bytes) {
        let receivers = state.withLockedValue { Array(($0.subscribers[channel] ?? [:]).values) }
        let message = PubSubMessage(channel: channel, pattern: nil, payload: payload, isShard: true)
        for receiver in receivers { receiver.receive(message) }
    }

    func confirm(_ channel: Bytes, from node: NodeAddress) {
        state.withLockedValue { state in
            if state.placedOn[channel] == node { state.confirmed.insert(channel) }
        }
    }

    /// The node dropped a channel this gateway still wants (its slot moved
    /// away) or refused it with MOVED: subscribe it again where it lives now.
    func displaced(_ channel: Bytes, from node: NodeAddress, movedTo: NodeAddress?) {
        let wanted = state.withLockedValue { state -> Bool in
            guard state.subscribers[channel] != nil, state.placedOn[channel] == node else { return false }
            state.confirmed.remove(channel)
            return true
        }
        guard wanted else { return }
        if let movedTo {
            executor.slots.move(slot: HashSlot.of(channel), to: movedTo)
            executor.scheduleRefresh()
            place([channel], on: movedTo)
        } else {
            retryLater([channel])
        }
    }

    /// A master's connection closed: its channels go wherever the map says
    /// after a refresh.
    private func lost(_ channel: Channel, master: NodeAddress) {
        let stranded = state.withLockedValue { state -> [Bytes] in
            guard state.upstreams[master] === channel else { return [] }
            state.upstreams[master] = nil
            let stranded = state.placedOn.filter { $0.value == master }.map(\.key)
            for name in stranded { state.confirmed.remove(name) }
            return stranded
        }
        if !stranded.isEmpty { retryLater(stranded) }
    }

    /// In a quarter of a second, off the event loop (the refresh waits for
    /// a node): refresh the slot map and place what is still wanted.
    private func retryLater(_ channels: [Bytes]) {
        guard !channels.isEmpty else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(250)) { [self] in
            executor.refreshSlotMap()
            let wanted = state.withLockedValue { state in channels.filter { state.subscribers[$0] != nil } }
            place(wanted)
        }
    }

    func close() {
        let upstreams = state.withLockedValue { state -> [Channel] in
            defer { state = State() }
            return Array(state.upstreams.values)
        }
        for upstream in upstreams { upstream.close(promise: nil) }
    }
}

/// One master's shard-channel pushes: `smessage` to subscribers,
/// `ssubscribe` confirmations, and the node's own `sunsubscribe` or a
/// `MOVED` refusal when a channel's slot is not (or no longer) there.
final class ShardPushHandler: ChannelInboundHandler {
    typealias InboundIn = Reply
    private unowned(unsafe) let hub: ClusterShardPubSub
    private let node: NodeAddress

    init(hub: ClusterShardPubSub, node: NodeAddress) {
        self.hub = hub
        self.node = node
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .array(let parts):
            guard case .bulk(let kind)? = parts.first, parts.count >= 3, case .bulk(let channel) = parts[1] else { return }
            switch kind.text {
            case "smessage":
                if case .bulk(let payload) = parts[2] { hub.deliver(channel, payload: payload) }
            case "ssubscribe":
                hub.confirm(channel, from: node)
            case "sunsubscribe":
                hub.displaced(channel, from: node, movedTo: nil)
            default:
                break
            }
        case .error(let error):
            // SSUBSCRIBE of a slot this node does not serve.
            guard let redirection = Redirection(error.message) else { return }
            hub.displacedSlot(redirection.slot, from: node, movedTo: redirection.address)
        default:
            break
        }
    }
}

extension ClusterShardPubSub {
    /// A MOVED names the slot, not the channel: every channel of that slot
    /// placed on `node` moves.
    func displacedSlot(_ slot: Int, from node: NodeAddress, movedTo: NodeAddress) {
        let channels = state.withLockedValue { state in
            state.placedOn.filter { $0.value == node && HashSlot.of($0.key) == slot }.map(\.key)
        }
        for channel in channels { displaced(channel, from: node, movedTo: movedTo) }
    }
}
