import Foundation
import KeywayEngine
import KeywayHTTP

/// Pub/sub over HTTP: `GET /v1/subscribe` streams messages as Server-Sent
/// Events, `/subscribe/{channel}` does the same in Upstash's format, and
/// `POST /v1/channels/{channel}/messages` publishes.
enum PubSubRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("GET", "/v1/subscribe", gateway.routeResult(.eventStream) { request, _ in subscribe(request, gateway) })
        router.add("POST", "/v1/channels/{channel}/messages", gateway.route(.resource) { request, p in publish(request, p, gateway) })
        for method in ["GET", "POST"] {
            router.add(method, "/subscribe/{channels...}", gateway.routeResult(.command) { request, p in
                upstashSubscribe(request, channels: p.rest["channels"] ?? [], patterns: [], gateway)
            })
            router.add(method, "/psubscribe/{patterns...}", gateway.routeResult(.command) { request, p in
                upstashSubscribe(request, channels: [], patterns: p.rest["patterns"] ?? [], gateway)
            })
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

    /// `?channel=a&channel=b&pattern=news.*[&encoding=base64]`: one
    /// `message` event per message, `{"channel","pattern","message"}`.
    static func subscribe(_ request: HTTPRequest, _ gateway: Gateway) -> HTTPResult {
        let channels = request.queryValues("channel").map(Bytes.init)
        let patterns = request.queryValues("pattern").map(Bytes.init)
        guard !channels.isEmpty || !patterns.isEmpty else {
            return .response(Problem.badRequest("give at least one ?channel= or ?pattern="))
        }
        let base64 = ValueEncoding.wantsBase64(request)
        return open(gateway, channels: channels, patterns: patterns, greeting: { json in
            json.object { o in
                o.member("channels") { $0.array(channels) { $0.string(bytes: $1.storage) } }
                o.member("patterns") { $0.array(patterns) { $0.string(bytes: $1.storage) } }
            }
            return ServerSentEvents.event("subscribe", data: json.bytes)
        }) { message in
            var json = JSONWriter(capacity: 64 + message.payload.count)
            json.object { o in
                o.member("channel") { $0.string(bytes: message.channel.storage) }
                o.member("pattern") { json in
                    if let pattern = message.pattern { json.string(bytes: pattern.storage) } else { json.null() }
                }
                ValueEncoding.writeValue(message.payload.storage, forceBase64: base64, into: &o, name: "message")
            }
            return ServerSentEvents.event("message", data: json.bytes)
        }
    }

    /// Upstash's stream format: `data: subscribe,<channel>,<n>` then
    /// `data: message,<channel>,<payload>` (`pmessage,<pattern>,<channel>,<payload>`).
    static func upstashSubscribe(_ request: HTTPRequest, channels: [[UInt8]], patterns: [[UInt8]], _ gateway: Gateway) -> HTTPResult {
        let channels = channels.map(Bytes.init), patterns = patterns.map(Bytes.init)
        return open(gateway, channels: channels, patterns: patterns, greeting: { _ in
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
        _ gateway: Gateway, channels: [Bytes], patterns: [Bytes],
        greeting: (inout JSONWriter) -> [UInt8],
        format: @escaping @Sendable (PubSubMessage) -> [UInt8]
    ) -> HTTPResult {
        guard let stream = gateway.openEventStream() else { return .response(Gateway.tooManyStreams(gateway.maxEventStreams)) }
        stream.describeSubscriber(channels: channels.count, patterns: patterns.count)
        var json = JSONWriter()
        stream.send(ServerSentEvents.retryField + greeting(&json))
        let subscription = gateway.executor.subscribe(StreamSubscriber(stream: stream, format: format), channels: channels, patterns: patterns)
        stream.setCloseHandler {
            subscription.cancel()
            gateway.eventStreamClosed()
        }
        return .stream(stream, headers: [])
    }

    /// `{"message": "..."}` (or a raw octet-stream body) → PUBLISH.
    static func publish(_ request: HTTPRequest, _ parameters: RouteParameters, _ gateway: Gateway) -> HTTPResponse {
        let channel = Bytes(parameters["channel"] ?? [])
        let payload: [UInt8]
        switch RequestBody.value(request, field: "message") {
        case .failure(let problem): return problem
        case .success(let body): payload = body.value
        }
        let reply = gateway.executor.execute(Command("PUBLISH", [channel, Bytes(payload)]))
        guard case .integer(let receivers) = reply else {
            if case .error(let error) = reply { return Problem.from(error) }
            return Problem.badRequest("unexpected reply")
        }
        return KeyRoutes.json(200) { o in
            o.member("channel") { $0.string(bytes: channel.storage) }
            o.member("receivers") { $0.integer(receivers) }
        }
    }
}
