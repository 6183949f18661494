/// A message as a subscriber receives it.
public struct PubSubMessage: Sendable, Equatable {
    public let channel: Bytes
    /// The pattern that matched, for pattern subscriptions.
    public let pattern: Bytes?
    public let payload: Bytes
    /// Published to a shard channel (SPUBLISH), a namespace of its own.
    public let isShard: Bool

    public init(channel: Bytes, pattern: Bytes?, payload: Bytes, isShard: Bool = false) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
        self.isShard = isShard
    }
}

/// Something that receives published messages: an SSE stream in the gateway.
public protocol MessageSubscriber: AnyObject, Sendable {
    /// Called under the engine lock, in publish order; must only enqueue.
    func receive(_ message: PubSubMessage)
}

/// Withdraws a subscription (the client went away).
public final class Subscription: Sendable {
    private let cancelAction: @Sendable () -> Void
    public init(cancel: @escaping @Sendable () -> Void) { cancelAction = cancel }
    public func cancel() { cancelAction() }
}

/// Channel and pattern subscriptions, and shard channels (SSUBSCRIBE and
/// SPUBLISH: Redis 7's channels that live in one cluster slot, a namespace
/// apart from the others). Publishing is O(subscribers of the channel +
/// number of patterns), as in Redis. Lives under the engine lock.
final class PubSubRegistry {
    private var channels: [Bytes: [ObjectIdentifier: any MessageSubscriber]] = [:]
    private var patterns: [Bytes: [ObjectIdentifier: any MessageSubscriber]] = [:]
    private var shardChannels: [Bytes: [ObjectIdentifier: any MessageSubscriber]] = [:]

    var isEmpty: Bool { channels.isEmpty && patterns.isEmpty && shardChannels.isEmpty }

    /// Returns the channel name as the registry keeps it: the first
    /// subscriber's copy, which later subscribers share instead of keeping
    /// their own (one name for 20,000 subscribers, not 20,000).
    @discardableResult
    func subscribe(_ subscriber: any MessageSubscriber, channel: Bytes) -> Bytes {
        channels[channel, default: [:]][ObjectIdentifier(subscriber)] = subscriber
        return channels.index(forKey: channel).map { channels.keys[$0] } ?? channel
    }

    /// Returns the pattern as the registry keeps it (see the channel form).
    @discardableResult
    func subscribe(_ subscriber: any MessageSubscriber, pattern: Bytes) -> Bytes {
        patterns[pattern, default: [:]][ObjectIdentifier(subscriber)] = subscriber
        return patterns.index(forKey: pattern).map { patterns.keys[$0] } ?? pattern
    }

    /// Returns the shard channel as the registry keeps it.
    @discardableResult
    func subscribe(_ subscriber: any MessageSubscriber, shardChannel: Bytes) -> Bytes {
        shardChannels[shardChannel, default: [:]][ObjectIdentifier(subscriber)] = subscriber
        return shardChannels.index(forKey: shardChannel).map { shardChannels.keys[$0] } ?? shardChannel
    }

    func unsubscribe(_ id: ObjectIdentifier, shardChannels names: [Bytes]) {
        for name in names {
            shardChannels[name]?.removeValue(forKey: id)
            if shardChannels[name]?.isEmpty == true { shardChannels.removeValue(forKey: name) }
        }
    }

    /// SPUBLISH: to the shard channel's subscribers only (no patterns).
    @discardableResult
    func publish(shardChannel: Bytes, payload: Bytes) -> Int {
        guard let subscribers = shardChannels[shardChannel] else { return 0 }
        let message = PubSubMessage(channel: shardChannel, pattern: nil, payload: payload, isShard: true)
        for subscriber in subscribers.values { subscriber.receive(message) }
        return subscribers.count
    }

    func activeShardChannels(matching pattern: Bytes?) -> [Bytes] {
        shardChannels.keys.filter { pattern == nil || GlobPattern.matches(pattern!, $0) }.sorted()
    }

    func shardSubscriberCount(channel: Bytes) -> Int { shardChannels[channel]?.count ?? 0 }

    func unsubscribe(_ id: ObjectIdentifier, channels names: [Bytes], patterns patternNames: [Bytes]) {
        for name in names {
            channels[name]?.removeValue(forKey: id)
            if channels[name]?.isEmpty == true { channels.removeValue(forKey: name) }
        }
        for name in patternNames {
            patterns[name]?.removeValue(forKey: id)
            if patterns[name]?.isEmpty == true { patterns.removeValue(forKey: name) }
        }
    }

    /// Delivers to channel subscribers, then to each matching pattern's
    /// subscribers; returns how many deliveries were made (PUBLISH's reply).
    @discardableResult
    func publish(channel: Bytes, payload: Bytes) -> Int {
        var receivers = 0
        if let subscribers = channels[channel] {
            let message = PubSubMessage(channel: channel, pattern: nil, payload: payload)
            for subscriber in subscribers.values { subscriber.receive(message) }
            receivers += subscribers.count
        }
        for (pattern, subscribers) in patterns where GlobPattern.matches(pattern, channel) {
            let message = PubSubMessage(channel: channel, pattern: pattern, payload: payload)
            for subscriber in subscribers.values { subscriber.receive(message) }
            receivers += subscribers.count
        }
        return receivers
    }

    /// Channels with at least one subscriber, optionally filtered by a glob.
    func activeChannels(matching pattern: Bytes?) -> [Bytes] {
        channels.keys.filter { pattern == nil || GlobPattern.matches(pattern!, $0) }.sorted()
    }

    func subscriberCount(channel: Bytes) -> Int { channels[channel]?.count ?? 0 }

    var patternCount: Int { patterns.count }
}

extension Engine {
    /// Subscribes `subscriber` to channels, glob patterns and shard channels. Messages arrive
    /// through `receive` until the returned subscription is cancelled.
    public func subscribe(_ subscriber: any MessageSubscriber, channels: [Bytes], patterns: [Bytes], shardChannels: [Bytes]) -> Subscription {
        let (channels, patterns, shardChannels) = withDatabase { db, _ in
            (channels.map { db.pubsub.subscribe(subscriber, channel: $0) },
             patterns.map { db.pubsub.subscribe(subscriber, pattern: $0) },
             shardChannels.map { db.pubsub.subscribe(subscriber, shardChannel: $0) })
        }
        let record = SubscriptionRecord(engine: self, id: ObjectIdentifier(subscriber), channels: channels, patterns: patterns,
                                        shardChannels: shardChannels)
        // The record is the closure's only capture, so it is the context:
        // no separate one (nor a box for a weak capture) per subscriber.
        return Subscription { record.cancel() }
    }
}

/// What cancelling one subscription needs: the names as the registry
/// keeps them, and the subscriber's identity. Written once, in `init`.
private final class SubscriptionRecord: @unchecked Sendable {
    private weak var engine: Engine?
    private let id: ObjectIdentifier
    private let channels: [Bytes]
    private let patterns: [Bytes]
    private let shardChannels: [Bytes]

    init(engine: Engine, id: ObjectIdentifier, channels: [Bytes], patterns: [Bytes], shardChannels: [Bytes]) {
        self.engine = engine
        self.id = id
        self.channels = channels
        self.patterns = patterns
        self.shardChannels = shardChannels
    }

    func cancel() {
        engine?.withDatabase { db, _ in
            db.pubsub.unsubscribe(id, channels: channels, patterns: patterns)
            if !shardChannels.isEmpty { db.pubsub.unsubscribe(id, shardChannels: shardChannels) }
        }
    }
}

/// PUBLISH, SPUBLISH and PUBSUB. Subscribing needs a connection that stays
/// open, so it happens through the SSE routes rather than as a command.
enum PubSubCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("publish", arity: 3, flags: [.fast], keys: (0, 0, 0), handler: publish),
        CommandSpec("spublish", arity: 3, flags: [.fast], keys: (0, 0, 0), handler: shardPublish),
        CommandSpec("pubsub", arity: -2, flags: [], keys: (0, 0, 0), handler: pubsub),
    ] + ["subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe", "sunsubscribe"].map { name in
        CommandSpec(name, arity: -1, flags: [.noMulti, .noScript], keys: (0, 0, 0)) { _ throws(CommandError) in
            throw CommandError(.notSupported, "ERR \(name.uppercased()) needs a streaming connection: use GET /v1/subscribe?"
                + (name.hasPrefix("s") ? "shard-channel" : "channel") + "=... (Server-Sent Events)")
        }
    }

    static func publish(_ c: CommandContext) throws(CommandError) -> Reply {
        .integer(Int64(c.db.pubsub.publish(channel: c[1], payload: c[2])))
    }

    /// SPUBLISH shardchannel message: a cluster routes it by the channel's
    /// slot; one engine has every slot.
    static func shardPublish(_ c: CommandContext) throws(CommandError) -> Reply {
        .integer(Int64(c.db.pubsub.publish(shardChannel: c[1], payload: c[2])))
    }

    /// PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT.
    static func pubsub(_ c: CommandContext) throws(CommandError) -> Reply {
        let sub = c[1]
        if sub.equalsIgnoringCase("channels") && c.argumentCount <= 3 {
            let pattern = c.argumentCount == 3 ? c[2] : nil
            return .array(c.db.pubsub.activeChannels(matching: pattern).map(Reply.bulk))
        }
        if sub.equalsIgnoringCase("numsub") {
            return .array(c.arguments.dropFirst(2).flatMap { channel in
                [Reply.bulk(channel), .integer(Int64(c.db.pubsub.subscriberCount(channel: channel)))]
            })
        }
        if sub.equalsIgnoringCase("shardchannels") && c.argumentCount <= 3 {
            let pattern = c.argumentCount == 3 ? c[2] : nil
            return .array(c.db.pubsub.activeShardChannels(matching: pattern).map(Reply.bulk))
        }
        if sub.equalsIgnoringCase("shardnumsub") {
            return .array(c.arguments.dropFirst(2).flatMap { channel in
                [Reply.bulk(channel), .integer(Int64(c.db.pubsub.shardSubscriberCount(channel: channel)))]
            })
        }
        if sub.equalsIgnoringCase("numpat") && c.argumentCount == 2 {
            return .integer(Int64(c.db.pubsub.patternCount))
        }
        throw CommandError(.syntax, "ERR unknown subcommand or wrong number of arguments for '\(sub.text)'. Try PUBSUB HELP.")
    }
}
