import Foundation
import KeywayEngine
import KeywayHTTP
import Synchronization

/// Streams delivered as Server-Sent Events: a tail of new entries
/// (`/v1/streams/{key}/events`) and a consumer reading its group
/// (`/v1/streams/{key}/groups/{group}/events`).
///
/// Each open event stream is a `StreamFollower`: it submits a blocking
/// XREAD / XREADGROUP with BLOCK 0, the engine parks it, and every wake-up
/// sends the entries as events and submits the next read. Every event's
/// `id:` is the entry ID, so a reconnecting EventSource sends it back as
/// `Last-Event-ID` and the tail resumes right after it: no gap, no duplicate.
enum StreamEventRoutes {
    static func register(_ routes: Routes) {
        let stream = routes.eventStream.group("/v1/streams/{key}")
        stream.addResult("GET", "/events", tail)
        stream.addResult("GET", "/groups/{group}/events", consume)
    }

    /// What a follower reads next.
    enum Mode: Sendable {
        /// XREAD after `lastID` (`$` until the first entry arrives).
        case tail
        /// The consumer's pending entries from `lastID` on (history), then new ones.
        case history(group: Bytes, consumer: Bytes, autoAck: Bool)
        case live(group: Bytes, consumer: Bytes, autoAck: Bool)
    }

    /// `?from=$|<id>&count=n`, or `Last-Event-ID` to resume.
    static func tail(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResult {
        let key = context.key
        var start = Bytes("$")
        if let resume = context.request.header("last-event-id") {
            start = Bytes(resume)
        } else if let from = context.request.queryValue("from") {
            start = Bytes(from)
        }
        let count = try countParameter(context)
        if start == "$" {
            // `$` is made the stream's last ID here, while the request is
            // answered: the tail's first read may reach the store later (on
            // a cluster, over a connection of its own), and an entry added
            // once the client has its response headers must not be missed.
            // Checks the key's type too.
            start = lastEntryID(try context.execute("XREVRANGE", [key, "+", "-", "COUNT", "1"])) ?? "0-0"
        } else {
            // Check the key's type and the ID before opening the stream.
            try context.execute("XREAD", ["COUNT", "1", "STREAMS", key, start])
        }
        return try open(context, mode: .tail, from: start, count: count)
    }

    /// The ID of the one entry an `XREVRANGE ... COUNT 1` answered; nil for
    /// an empty or missing stream.
    private static func lastEntryID(_ reply: Reply) -> Bytes? {
        guard case .array(let entries) = reply, case .array(let entry)? = entries.first,
              case .bulk(let id)? = entry.first else { return nil }
        return id
    }

    /// `?consumer=c1&count=n&ack=auto`: first the consumer's pending entries,
    /// then new ones. Entries stay pending until acked (`POST .../ack`) unless
    /// `ack=auto`, so a client that dies loses nothing: XPENDING/XAUTOCLAIM
    /// still see its entries.
    static func consume(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResult {
        let key = context.key
        let group = context.parameter("group")
        guard let consumer = context.request.queryValue("consumer").map(Bytes.init), !consumer.isEmpty else {
            throw Problem.badRequest("'consumer' is required")
        }
        let count = try countParameter(context)
        let autoAck: Bool
        switch context.request.queryString("ack")?.lowercased() {
        case nil, "manual": autoAck = false
        case "auto": autoAck = true
        default: throw Problem.badRequest("'ack' must be auto or manual")
        }
        // ACL: the reads (and acks) the follower will run, before it runs any.
        try context.authorize("XREADGROUP", ["GROUP", group, consumer, "STREAMS", key, ">"])
        if autoAck { try context.authorize("XACK", [key, group, "0-1"]) }
        // A missing group (or stream) is a 404 before anything streams. (A
        // read would do too, but it would count as a delivery.)
        try context.execute("XINFO", ["CONSUMERS", key, group]) { error in
            error.code == .noSuchKey ? context.noSuchKey : Problem.from(error)
        }
        return try open(context, mode: .history(group: group, consumer: consumer, autoAck: autoAck), from: "0", count: count)
    }

    /// `?count=n`, 100 when not given.
    static func countParameter(_ context: ResourceContext) throws(HTTPResponse) -> Int {
        guard let text = context.request.queryString("count") else { return 100 }
        guard let count = Int(text), count > 0 else { throw Problem.badRequest("'count' must be a positive integer") }
        return count
    }

    static func open(_ context: ResourceContext, mode: Mode, from: Bytes, count: Int) throws(HTTPResponse) -> HTTPResult {
        let stream = try context.openEventStream()
        let key = context.key, gateway = context.gateway
        stream.send(Array(": following \(key.text)\n\n".utf8))
        let follower = StreamFollower(
            gateway: gateway, client: context.client, stream: stream, key: key, mode: mode, from: from, count: count,
            base64: context.wantsBase64)
        stream.setCloseHandler {
            follower.stop()
            gateway.eventStreamClosed()
        }
        follower.pump()
        return .stream(stream, headers: [])
    }
}

/// Keeps one blocking read outstanding for an event stream and turns each
/// batch of entries into events.
final class StreamFollower: BlockedClient {
    private struct State {
        var mode: StreamEventRoutes.Mode
        var lastID: Bytes
        var handle: BlockedHandle?
        var stopped = false
    }

    private let gateway: Gateway
    /// Who opened the stream: every read and ack carries it (MONITOR).
    private let client: ClientIdentity
    private let stream: EventStream
    private let key: Bytes
    private let count: Int
    private let base64: Bool
    private let state: Mutex<State>

    init(gateway: Gateway, client: ClientIdentity, stream: EventStream, key: Bytes, mode: StreamEventRoutes.Mode, from: Bytes, count: Int, base64: Bool) {
        self.gateway = gateway
        self.client = client
        self.stream = stream
        self.key = key
        self.count = count
        self.base64 = base64
        state = Mutex(State(mode: mode, lastID: from))
    }

    var isConnected: Bool { !stream.isClosed && !state.withLock { $0.stopped } }

    /// The engine served the parked read.
    func deliver(_ reply: Reply) {
        state.withLock { $0.handle = nil }
        if handle(reply) { pump() }
    }

    /// Stops reading; withdraws the parked read.
    func stop() {
        let handle = state.withLock { state -> BlockedHandle? in
            state.stopped = true
            defer { state.handle = nil }
            return state.handle
        }
        handle?.cancel()
    }

    /// Submits reads until one parks (or the stream ends): history batches
    /// and backlogs are drained without waiting.
    func pump() {
        while true {
            // A reader behind by a lot: wait until it has taken most of it,
            // rather than queue a whole history at once.
            if stream.waitForRoom({ [weak self] in self?.pump() }) { return }
            guard let command = state.withLock({ $0.stopped ? nil : nextCommand($0) }) else { return }
            switch gateway.executor.submit(command, client: self) {
            case .blocked(let handle):
                let cancelNow = state.withLock { state -> Bool in
                    if state.stopped { return true }
                    state.handle = handle
                    return false
                }
                if cancelNow { handle.cancel() }
                return
            case .reply(let reply):
                if !handle(reply) { return }
            }
        }
    }

    private func nextCommand(_ state: State) -> Command {
        let countWords: [Bytes] = ["COUNT", Bytes(String(count))]
        switch state.mode {
        case .tail:
            return command("XREAD", countWords + ["BLOCK", "0", "STREAMS", key, state.lastID])
        case .history(let group, let consumer, _):
            return command("XREADGROUP", ["GROUP", group, consumer] + countWords + ["STREAMS", key, state.lastID])
        case .live(let group, let consumer, let autoAck):
            return command("XREADGROUP", ["GROUP", group, consumer] + countWords + ["BLOCK", "0"] + (autoAck ? ["NOACK"] : []) + ["STREAMS", key, ">"])
        }
    }

    /// A command stamped with the stream's client.
    private func command(_ name: String, _ arguments: [Bytes]) -> Command {
        var command = Command(name, arguments)
        client.stamp(&command)
        return command
    }

    /// Sends a read's entries as events; false when the stream should end.
    private func handle(_ reply: Reply) -> Bool {
        if case .error(let error) = reply {
            // The group was destroyed or the key changed type: say so and end.
            var json = JSONWriter()
            json.object { o in
                o.member("code") { $0.string(error.code.rawValue) }
                o.member("detail") { $0.string(error.message) }
            }
            stream.send(ServerSentEvents.event("error", data: json.bytes))
            stream.finish()
            return false
        }
        let entries = Self.entries(of: reply)
        var events: [UInt8] = []
        var delivered: [Bytes] = []
        for entry in entries {
            guard case .array(let parts) = entry, parts.count == 2, case .bulk(let id) = parts[0] else { continue }
            delivered.append(id)
            // A pending entry deleted from the stream comes back with nil fields: skip it.
            guard case .array = parts[1] else { continue }
            var json = JSONWriter(capacity: 128)
            StreamRoutes.writeEntry(entry, base64: base64, into: &json)
            events += ServerSentEvents.event("entry", id: id.text, data: json.bytes)
        }
        if !events.isEmpty, !stream.send(events) { return false }
        // Never call the engine while holding `state`: the engine asks
        // `isConnected` (which takes `state`) under its own lock.
        let (ackGroup, keepGoing) = state.withLock { state -> (Bytes?, Bool) in
            if let last = delivered.last { state.lastID = last }
            var ackGroup: Bytes? = nil
            if case .history(let group, let consumer, let autoAck) = state.mode {
                if autoAck && !delivered.isEmpty { ackGroup = group }
                // An empty history batch means the backlog is done: go live.
                if delivered.isEmpty { state.mode = .live(group: group, consumer: consumer, autoAck: autoAck) }
            }
            return (ackGroup, !state.stopped)
        }
        if let group = ackGroup {
            _ = gateway.executor.execute(command("XACK", [key, group] + delivered))
        }
        return keepGoing
    }

    /// The entries of an XREAD/XREADGROUP reply for this follower's one key.
    private static func entries(of reply: Reply) -> [Reply] {
        guard case .array(let streams) = reply, let first = streams.first,
              case .array(let pair) = first, pair.count == 2, case .array(let entries) = pair[1] else { return [] }
        return entries
    }
}
