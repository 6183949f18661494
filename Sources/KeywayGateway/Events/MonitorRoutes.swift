import Foundation
import KeywayEngine
import KeywayHTTP

/// `GET /v1/monitor`: MONITOR as Server-Sent Events, one `command` event per
/// executed command, with its time and client. Costs nothing while nobody
/// watches. Any holder of the token may watch (there is one credential).
enum MonitorRoutes {
    static func register(_ routes: Routes) {
        routes.eventStream.addResult("GET", "/v1/monitor", monitor)
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

    static func monitor(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResult {
        try context.authorize("MONITOR")
        let stream = try context.openEventStream()
        stream.describeSubscriber(flag: "O")
        stream.send(ServerSentEvents.retryField + ServerSentEvents.event("monitor", data: Array(#"{"status":"watching"}"#.utf8)))
        let subscription = context.executor.monitor(StreamWatcher(stream: stream))
        let gateway = context.gateway
        stream.setCloseHandler {
            subscription.cancel()
            gateway.eventStreamClosed()
        }
        return .stream(stream, headers: [])
    }
}
