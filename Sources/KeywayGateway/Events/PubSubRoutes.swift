import Synchronization
import Foundation
import KeywayEngine
import KeywayHTTP

/// Pub/sub over HTTP: `GET /v1/subscribe` streams messages as Server-Sent
/// Events, `/subscribe/{channel}` does the same in Upstash's format, and
/// `POST /v1/channels/{channel}/messages` publishes.
enum PubSubRoutes {
    static func register(_ routes: Routes) {
        routes.eventStream.addResult("GET", "/v1/subscribe", subscribe)
        routes.resource.post("/v1/channels/{channel}/messages", publish)
        for method in ["GET", "POST"] {
            routes.command.addResult(method, "/subscribe/{channels...}") { context throws(HTTPResponse) in
                try upstashSubscribe(context, channels: context.parameters.rest["channels"] ?? [], patterns: [])
            }
            routes.command.addResult(method, "/psubscribe/{patterns...}") { context throws(HTTPResponse) in
                try upstashSubscribe(context, channels: [], patterns: context.parameters.rest["patterns"] ?? [])
            }
        }
    }

    /// Feeds published messages into an event stream.
    final class StreamSubscriber: MessageSubscriber {
        let stream: EventStream
        let format: @Sendable (PubSubMessage) -> [UInt8]

        init(stream: EventStream, format: @escaping @Sendable (PubSubMessage) -> [UInt8]) {
            self.stream = stream
            self.format = format
        }

        func receive(_ message: PubSubMessage) {
            stream.send(format(message))
        }
    }

    /// `?channel=a&channel=b&pattern=news.*&shard-channel=orders:{eu}[&encoding=base64]`:
    /// one `message` event per message, `{"channel","pattern","message"}`,
    /// and an `smessage` event, `{"channel","message"}`, per message to a
    /// shard channel (SPUBLISH's namespace, apart from the others).
    static func subscribe(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResult {
        let channels = context.request.queryValues("channel").map(Bytes.init)
        let patterns = context.request.queryValues("pattern").map(Bytes.init)
        let shardChannels = context.request.queryValues("shard-channel").map(Bytes.init)
        guard !channels.isEmpty || !patterns.isEmpty || !shardChannels.isEmpty else {
            throw Problem.badRequest("give at least one ?channel=, ?pattern= or ?shard-channel=")
        }
        return try open(context, channels: channels, patterns: patterns, shardChannels: shardChannels, greeting: { json in
            json.object { o in
                o.member("channels") { $0.array(channels) { $0.string(bytes: $1.storage) } }
                o.member("patterns") { $0.array(patterns) { $0.string(bytes: $1.storage) } }
                if !shardChannels.isEmpty {
                    o.member("shard_channels") { $0.array(shardChannels) { $0.string(bytes: $1.storage) } }
                }
            }
            return ServerSentEvents.event("subscribe", data: json.bytes)
        }, format: context.wantsBase64 ? messageEventBase64 : messageEvent)
    }

    /// The `message` event of `/v1/subscribe`, as two closures that capture
    /// nothing: a subscriber's formatter then needs no context of its own.
    static let messageEvent: @Sendable (PubSubMessage) -> [UInt8] = { messageEvent(for: $0, base64: false) }
    static let messageEventBase64: @Sendable (PubSubMessage) -> [UInt8] = { messageEvent(for: $0, base64: true) }

    /// `{"channel","pattern","message"}`, encoded once per message for all subscribers.
    static func messageEvent(for message: PubSubMessage, base64: Bool) -> [UInt8] {
        LastEncodedMessage.shared.event(for: message, base64: base64) {
            var json = JSONWriter(capacity: 64 + message.payload.count)
            json.object { o in
                o.member("channel") { $0.string(bytes: message.channel.storage) }
                if !message.isShard {
                    o.member("pattern") { json in
                        if let pattern = message.pattern { json.string(bytes: pattern.storage) } else { json.null() }
                    }
                }
                ValueEncoding.writeValue(message.payload.storage, forceBase64: base64, into: &o, name: "message")
            }
            return ServerSentEvents.event(message.isShard ? "smessage" : "message", data: json.bytes)
        }
    }

    /// Upstash's stream format: `data: subscribe,<channel>,<n>` then
    /// `data: message,<channel>,<payload>` (`pmessage,<pattern>,<channel>,<payload>`).
    static func upstashSubscribe(_ context: ResourceContext, channels: [[UInt8]], patterns: [[UInt8]]) throws(HTTPResponse) -> HTTPResult {
        let channels = channels.map(Bytes.init), patterns = patterns.map(Bytes.init)
        return try open(context, channels: channels, patterns: patterns, shardChannels: [], greeting: { _ in
            var greeting: [UInt8] = []
            for (index, channel) in channels.enumerated() {
                greeting += ServerSentEvents.event(nil, data: Array("subscribe,".utf8) + channel.storage + Array(",\(index + 1)".utf8))
            }
            for (index, pattern) in patterns.enumerated() {
                greeting += ServerSentEvents.event(nil, data: Array("psubscribe,".utf8) + pattern.storage + Array(",\(index + 1)".utf8))
            }
            return greeting
        }) { message in
            let comma = UInt8(ascii: ",")
            if let pattern = message.pattern {
                return ServerSentEvents.event(nil, data: Array("pmessage,".utf8) + pattern.storage + [comma] + message.channel.storage + [comma] + message.payload.storage)
            }
            return ServerSentEvents.event(nil, data: Array("message,".utf8) + message.channel.storage + [comma] + message.payload.storage)
        }
    }

    /// Opens the stream, subscribes, and ties the subscription's life to the stream's.
    static func open(
        _ context: ResourceContext, channels: [Bytes], patterns: [Bytes], shardChannels: [Bytes],
        greeting: (inout JSONWriter) -> [UInt8],
        format: @escaping @Sendable (PubSubMessage) -> [UInt8]
    ) throws(HTTPResponse) -> HTTPResult {
        try context.authorizeSubscription(channels: channels, patterns: patterns, shardChannels: shardChannels)
        let stream = try context.openEventStream()
        // CLIENT LIST's sub= counts shard channels too.
        stream.describeSubscriber(channels: channels.count + shardChannels.count, patterns: patterns.count)
        var json = JSONWriter()
        stream.send(ServerSentEvents.retryField + greeting(&json))
        let subscription = context.executor.subscribe(StreamSubscriber(stream: stream, format: format), channels: channels,
                                                      patterns: patterns, shardChannels: shardChannels)
        let gateway = context.gateway
        stream.setCloseHandler {
            subscription.cancel()
            gateway.eventStreamClosed()
        }
        return .stream(stream, headers: [])
    }

    /// `{"message": "..."}` (or a raw octet-stream body) → PUBLISH, or
    /// SPUBLISH to the shard channel with `?shard=true`.
    static func publish(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let channel = context.parameter("channel")
        let payload = try context.value(field: "message").value
        let shard = context.request.queryValue("shard") == Array("true".utf8)
        guard case .integer(let receivers) = try context.execute(shard ? "SPUBLISH" : "PUBLISH", [channel, Bytes(payload)]) else {
            throw Problem.badRequest("unexpected reply")
        }
        return context.json { o in
            o.member("channel") { $0.string(bytes: channel.storage) }
            o.member("receivers") { $0.integer(receivers) }
        }
    }
}

/// The `message` event last built for a published message. A message goes
/// to its subscribers one after another under the engine lock, so the
/// second subscriber on finds it here: the payload is encoded once, not
/// once per subscriber, and every stream queues the same bytes (one copy
/// in memory however many subscribers have not read it yet).
final class LastEncodedMessage: Sendable {
    static let shared = LastEncodedMessage()

    private struct Entry {
        /// Kept so its address identifies it (and cannot be reused).
        var payload: [UInt8]
        var channel: Bytes
        var pattern: Bytes?
        var isShard: Bool
        var base64: Bool
        var event: [UInt8]
    }
    private let last = Mutex<Entry?>(nil)

    func event(for message: PubSubMessage, base64: Bool, encode: () -> [UInt8]) -> [UInt8] {
        let payload = message.payload.storage
        if let hit = last.withLock({ entry -> [UInt8]? in
            guard let entry, entry.base64 == base64, entry.isShard == message.isShard, entry.channel == message.channel,
                  entry.pattern == message.pattern,
                  Self.sameBuffer(entry.payload, payload) else { return nil }
            return entry.event
        }) {
            return hit
        }
        let event = encode()
        // Kept whatever its size: with 20,000 subscribers even a short
        // message was 20,000 encodings and 20,000 buffers queued.
        last.withLock { $0 = Entry(payload: payload, channel: message.channel, pattern: message.pattern, isShard: message.isShard,
                                          base64: base64, event: event) }
        return event
    }

    private static func sameBuffer(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress } }
    }
}
