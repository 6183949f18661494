import KeywayEngine
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A subscription (SSE on `/v1/subscribe`) on the cluster: SUBSCRIBE and
/// PSUBSCRIBE on a connection of its own to one master. Redis Cluster
/// sends every PUBLISH to all nodes, so any node sees every message.
enum ClusterSubscription {
    static func start(executor: ClusterExecutor, subscriber: any MessageSubscriber, channels: [Bytes], patterns: [Bytes]) -> Subscription {
        let channelBox = NIOLockedValueBox<Channel?>(nil)
        let cancelled = NIOLockedValueBox(false)
        let masters = executor.slots.masters
        guard let node = masters.randomElement() else { return Subscription(cancel: {}) }
        let settings = executor.settings
        let bootstrap = ClientBootstrap(group: executor.group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(settings.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPReplyDecoder()))
                    try channel.pipeline.syncOperations.addHandler(PushMessageHandler(subscriber: subscriber))
                }
            }
        bootstrap.connect(host: node.host, port: node.port).whenSuccess { channel in
            let keep = cancelled.withLockedValue { cancelled -> Bool in
                if !cancelled { channelBox.withLockedValue { $0 = channel } }
                return !cancelled
            }
            guard keep else { channel.close(promise: nil); return }
            var buffer = channel.allocator.buffer(capacity: 256)
            if let password = settings.password {
                RESPCommandEncoder.encode([Bytes("AUTH")] + (settings.username.map { [Bytes($0)] } ?? []) + [Bytes(password)], into: &buffer)
            }
            if !channels.isEmpty { RESPCommandEncoder.encode([Bytes("SUBSCRIBE")] + channels, into: &buffer) }
            if !patterns.isEmpty { RESPCommandEncoder.encode([Bytes("PSUBSCRIBE")] + patterns, into: &buffer) }
            channel.writeAndFlush(buffer, promise: nil)
        }
        return Subscription(cancel: {
            cancelled.withLockedValue { $0 = true }
            channelBox.withLockedValue { $0 }?.close(promise: nil)
        })
    }
}

/// Hands `message` and `pmessage` pushes to the subscriber; confirmations
/// and the AUTH reply are not messages.
final class PushMessageHandler: ChannelInboundHandler {
    typealias InboundIn = Reply
    private let subscriber: any MessageSubscriber

    init(subscriber: any MessageSubscriber) { self.subscriber = subscriber }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .array(let parts) = unwrapInboundIn(data), case .bulk(let kind)? = parts.first else { return }
        if kind.text == "message", parts.count == 3, case .bulk(let channel) = parts[1], case .bulk(let payload) = parts[2] {
            subscriber.receive(PubSubMessage(channel: channel, pattern: nil, payload: payload))
        } else if kind.text == "pmessage", parts.count == 4, case .bulk(let pattern) = parts[1],
                  case .bulk(let channel) = parts[2], case .bulk(let payload) = parts[3] {
            subscriber.receive(PubSubMessage(channel: channel, pattern: pattern, payload: payload))
        }
    }
}
