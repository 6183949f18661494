import Foundation
import KeywayEngine
import KeywayHTTP

/// `GET /v1/monitor`: MONITOR as Server-Sent Events, one `command` event per
/// executed command, with its time and client. Costs nothing while nobody
/// watches. Any holder of the token may watch (there is one credential).
enum MonitorRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("GET", "/v1/monitor", gateway.routeResult(.eventStream) { request, _ in monitor(request, gateway) })
    }

    final class StreamWatcher: CommandWatcher {
        let stream: EventStream
        init(stream: EventStream) { self.stream = stream }

        func observe(_ command: MonitoredCommand) {
            var json = JSONWriter(capacity: 96)
            json.object { o in
                o.member("time") { $0.raw(String(format: "%d.%06d", command.microseconds / 1_000_000, command.microseconds % 1_000_000)) }
                o.member("client") { json in if let client = command.client { json.string(client) } else { json.null() } }
                o.member("command") { json in json.array(command.arguments) { $0.string(bytes: $1.storage) } }
            }
            stream.send(ServerSentEvents.event("command", data: json.bytes))
        }
    }

    static func monitor(_ request: HTTPRequest, _ gateway: Gateway) -> HTTPResult {
        guard let stream = gateway.openEventStream() else { return .response(Gateway.tooManyStreams(gateway.maxEventStreams)) }
        stream.describeSubscriber(flag: "O")
        stream.send(ServerSentEvents.retryField + ServerSentEvents.event("monitor", data: Array(#"{"status":"watching"}"#.utf8)))
        let subscription = gateway.executor.monitor(StreamWatcher(stream: stream))
        stream.setCloseHandler {
            subscription.cancel()
            gateway.eventStreamClosed()
        }
        return .stream(stream, headers: [])
    }
}
