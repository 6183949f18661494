#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import KeywayEngine
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Pub/sub on the cluster: one upstream connection, to one master, carries
/// the SUBSCRIBE and PSUBSCRIBE of every local subscriber (SSE stream) of
/// this gateway. A channel is subscribed upstream when its first local
/// subscriber arrives and unsubscribed when its last leaves. Redis Cluster
/// sends every PUBLISH to all nodes, so one node sees every message. When
/// that node goes away the hub connects to another master and subscribes
/// again to everything its subscribers still want.
final class ClusterPubSubHub: Sendable {
    private struct State {
        var upstream: Channel?
        var connecting = false
        var channels: [Bytes: [ObjectIdentifier: any MessageSubscriber]] = [:]
        var patterns: [Bytes: [ObjectIdentifier: any MessageSubscriber]] = [:]
        /// What the node has confirmed it is subscribed to on `upstream`.
        var confirmedChannels: Set<Bytes> = []
        var confirmedPatterns: Set<Bytes> = []
        var isEmpty: Bool { channels.isEmpty && patterns.isEmpty }
    }
    private let state = NIOLockedValueBox(State())
    private unowned(unsafe) let executor: ClusterExecutor

    init(executor: ClusterExecutor) {
        self.executor = executor
    }

    func subscribe(_ subscriber: any MessageSubscriber, channels: [Bytes], patterns: [Bytes]) -> Subscription {
        let id = ObjectIdentifier(subscriber)
        let (newChannels, newPatterns, upstream) = state.withLockedValue { state -> ([Bytes], [Bytes], Channel?) in
            var newChannels: [Bytes] = [], newPatterns: [Bytes] = []
            for channel in channels {
                if state.channels[channel] == nil { newChannels.append(channel) }
                state.channels[channel, default: [:]][id] = subscriber
            }
            for pattern in patterns {
                if state.patterns[pattern] == nil { newPatterns.append(pattern) }
                state.patterns[pattern, default: [:]][id] = subscriber
            }
            return (newChannels, newPatterns, state.upstream)
        }
        if let upstream {
            write(to: upstream, subscribe: newChannels, patterns: newPatterns)
        } else {
            connect()
        }
        awaitConfirmation(channels: channels, patterns: patterns)
        return Subscription(cancel: { [self] in unsubscribe(id, channels: channels, patterns: patterns) })
    }

    /// Returns once the node has confirmed every one of `channels` and
    /// `patterns` (or after the retry window, while no node can), as
    /// SUBSCRIBE does: a message published after the subscriber was told it
    /// is subscribed reaches it. Subscribing is rare next to messages, so
    /// the wait looks every millisecond rather than keeping waiters.
    private func awaitConfirmation(channels: [Bytes], patterns: [Bytes]) {
        executor.awaitSubscription {
            state.withLockedValue { state in
                channels.allSatisfy(state.confirmedChannels.contains) && patterns.allSatisfy(state.confirmedPatterns.contains)
            }
        }
    }

    /// The node's `subscribe`/`psubscribe` confirmation.
    func confirm(_ name: Bytes, isPattern: Bool) {
        state.withLockedValue { state in
            if isPattern {
                if state.patterns[name] != nil { state.confirmedPatterns.insert(name) }
            } else if state.channels[name] != nil {
                state.confirmedChannels.insert(name)
            }
        }
    }

    private func unsubscribe(_ id: ObjectIdentifier, channels: [Bytes], patterns: [Bytes]) {
        let (goneChannels, gonePatterns, upstream) = state.withLockedValue { state -> ([Bytes], [Bytes], Channel?) in
            var goneChannels: [Bytes] = [], gonePatterns: [Bytes] = []
            for channel in channels {
                state.channels[channel]?[id] = nil
                if state.channels[channel]?.isEmpty == true {
                    state.channels[channel] = nil
                    state.confirmedChannels.remove(channel)
                    goneChannels.append(channel)
                }
            }
            for pattern in patterns {
                state.patterns[pattern]?[id] = nil
                if state.patterns[pattern]?.isEmpty == true {
                    state.patterns[pattern] = nil
                    state.confirmedPatterns.remove(pattern)
                    gonePatterns.append(pattern)
                }
            }
            return (goneChannels, gonePatterns, state.upstream)
        }
        guard let upstream else { return }
        var buffer = upstream.allocator.buffer(capacity: 128)
        if !goneChannels.isEmpty { RESPCommandEncoder.encode([Bytes("UNSUBSCRIBE")] + goneChannels, into: &buffer) }
        if !gonePatterns.isEmpty { RESPCommandEncoder.encode([Bytes("PUNSUBSCRIBE")] + gonePatterns, into: &buffer) }
        if buffer.readableBytes > 0 { upstream.writeAndFlush(buffer, promise: nil) }
    }

    private func write(to upstream: Channel, subscribe channels: [Bytes], patterns: [Bytes]) {
        var buffer = upstream.allocator.buffer(capacity: 128)
        if !channels.isEmpty { RESPCommandEncoder.encode([Bytes("SUBSCRIBE")] + channels, into: &buffer) }
        if !patterns.isEmpty { RESPCommandEncoder.encode([Bytes("PSUBSCRIBE")] + patterns, into: &buffer) }
        if buffer.readableBytes > 0 { upstream.writeAndFlush(buffer, promise: nil) }
    }

    /// Connects to a master (once at a time) and subscribes to everything
    /// wanted at that moment; whatever is added meanwhile is written when
    /// `subscribe` next finds the connection.
    private func connect() {
        let start = state.withLockedValue { state -> Bool in
            guard state.upstream == nil, !state.connecting, !state.isEmpty else { return false }
            state.connecting = true
            return true
        }
        guard start else { return }
        guard let node = executor.slots.masters.randomElement() else { retryLater(); return }
        let settings = executor.settings
        executor.transport.connect(to: node, on: executor.group) { [self] channel in
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPReplyDecoder()))
            try channel.pipeline.syncOperations.addHandler(PushMessageHandler(hub: self))
        }
            .whenComplete { [self] result in
                switch result {
                case .failure:
                    state.withLockedValue { $0.connecting = false }
                    executor.statistics.count(\.connectionErrors)
                    retryLater()
                case .success(let channel):
                    let (channels, patterns) = state.withLockedValue { state -> ([Bytes], [Bytes]) in
                        state.connecting = false
                        state.upstream = channel
                        return (Array(state.channels.keys), Array(state.patterns.keys))
                    }
                    channel.closeFuture.whenComplete { [self] _ in lost(channel) }
                    var buffer = channel.allocator.buffer(capacity: 256)
                    if let password = settings.password {
                        RESPCommandEncoder.encode([Bytes("AUTH")] + (settings.username.map { [Bytes($0)] } ?? []) + [Bytes(password)], into: &buffer)
                    }
                    channel.writeAndFlush(buffer, promise: nil)
                    write(to: channel, subscribe: channels, patterns: patterns)
                }
            }
    }

    /// The node went away: subscribe again elsewhere.
    private func lost(_ channel: Channel) {
        let wasCurrent = state.withLockedValue { state -> Bool in
            guard state.upstream === channel else { return false }
            state.upstream = nil
            state.confirmedChannels = []
            state.confirmedPatterns = []
            return true
        }
        if wasCurrent { retryLater() }
    }

    /// Tries again in a quarter of a second, off the event loop: the slot
    /// map refresh waits for a node's reply, which an event loop thread
    /// must never do.
    private func retryLater() {
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(250)) { [self] in
            executor.refreshSlotMap()
            connect()
        }
    }

    func deliver(_ message: PubSubMessage) {
        let receivers: [any MessageSubscriber] = state.withLockedValue { state in
            if let pattern = message.pattern { return Array((state.patterns[pattern] ?? [:]).values) }
            return Array((state.channels[message.channel] ?? [:]).values)
        }
        for receiver in receivers { receiver.receive(message) }
    }

    func close() {
        let upstream = state.withLockedValue { state -> Channel? in
            defer { state.upstream = nil; state.channels = [:]; state.patterns = [:] }
            return state.upstream
        }
        upstream?.close(promise: nil)
    }
}

/// Hands `message` and `pmessage` pushes to the hub, and the node's
/// `subscribe`/`psubscribe` confirmations; the AUTH reply is neither.
final class PushMessageHandler: ChannelInboundHandler {
    typealias InboundIn = Reply
    private unowned(unsafe) let hub: ClusterPubSubHub

    init(hub: ClusterPubSubHub) { self.hub = hub }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .array(let parts) = unwrapInboundIn(data), case .bulk(let kind)? = parts.first else { return }
        if kind.text == "message", parts.count == 3, case .bulk(let channel) = parts[1], case .bulk(let payload) = parts[2] {
            hub.deliver(PubSubMessage(channel: channel, pattern: nil, payload: payload))
        } else if kind.text == "pmessage", parts.count == 4, case .bulk(let pattern) = parts[1],
                  case .bulk(let channel) = parts[2], case .bulk(let payload) = parts[3] {
            hub.deliver(PubSubMessage(channel: channel, pattern: pattern, payload: payload))
        } else if kind.text == "subscribe" || kind.text == "psubscribe", parts.count == 3, case .bulk(let name) = parts[1] {
            hub.confirm(name, isPattern: kind.text == "psubscribe")
        }
    }
}

extension ClusterExecutor {
    /// Waits until `confirmed` (a node has acknowledged a subscription),
    /// looking every millisecond, at most the retry window: subscribing is
    /// rare next to messages, so no waiter list is kept.
    func awaitSubscription(_ confirmed: () -> Bool) {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(settings.retryWindow.nanoseconds)
        while DispatchTime.now().uptimeNanoseconds < deadline {
            if confirmed() { return }
            usleep(1000)
        }
    }
}
