import CMicroHTTPD
import Dispatch
import Synchronization

/// Keeps slow and anonymous clients from taking the connection pool, the
/// slowloris attack: sockets that open and then send a request a byte at a
/// time, each one holding a slot.
///
/// - **Read deadlines.** A request's headers must arrive within
///   `headerTimeout` of the connection opening or, on a keep-alive
///   connection, of the first byte after the previous answer; its body
///   within `bodyTimeout` of the headers. These are deadlines, not idle
///   timeouts: a byte every few seconds does not extend them. An idle
///   keep-alive connection (nothing sent since the last answer) is left to
///   the idle timeout. Whether bytes came since the last answer is read
///   from the kernel (TCP_INFO's last data received), since libmicrohttpd
///   does not say when a request starts, only when its headers are in.
/// - **Room for newcomers.** When a new connection would pass
///   `max-connections`, the oldest connection that never authenticated is
///   shut down to make room, else the longest idle keep-alive connection;
///   only when every slot is busy is the newcomer refused. So anonymous
///   sockets, however many, cannot lock out a client with a token.
/// - **Per address.** `max-connections-per-address` (libmicrohttpd's own
///   per-IP limit) caps what one address may hold at all.
final class ConnectionGuard: Sendable {
    let headerTimeoutMilliseconds: Int64
    let bodyTimeoutMilliseconds: Int64
    let limit: Int
    private let timer = Mutex<TimerBox?>(nil)
    /// Connections closed for a missed deadline, and to make room.
    let closedSlow = Atomic<Int64>(0)
    let evicted = Atomic<Int64>(0)

    /// Slack for comparing the kernel's clock with ours (both jiffies-based).
    static let clockSlackMilliseconds: Int64 = 50
    /// An idle keep-alive connection may be pushed out for a newcomer once
    /// it has been idle this long.
    static let evictableIdleMilliseconds: Int64 = 1000

    init(configuration: HTTPServerConfiguration) {
        headerTimeoutMilliseconds = Int64(configuration.headerTimeoutSeconds * 1000)
        bodyTimeoutMilliseconds = Int64(configuration.bodyTimeoutSeconds * 1000)
        limit = configuration.connectionLimit
    }

    /// The limit given to libmicrohttpd: above `limit`, so a newcomer is
    /// accepted and `admit` decides who leaves; libmicrohttpd refuses
    /// beyond the headroom while shut-down sockets are being closed.
    static func daemonLimit(for limit: Int) -> Int {
        limit + max(16, limit / 10)
    }

    func start(_ registry: ConnectionRegistry) {
        let shortest = min(headerTimeoutMilliseconds, bodyTimeoutMilliseconds)
        guard shortest > 0 else { return }
        let interval = min(1.0, max(0.1, Double(shortest) / 4000))
        let source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "keyway.connection-guard"))
        source.schedule(deadline: .now() + interval, repeating: interval)
        source.setEventHandler { [weak self, weak registry] in
            guard let self, let registry else { return }
            self.sweep(registry)
        }
        source.resume()
        timer.withLock { $0 = TimerBox(timer: source) }
    }

    func stop() {
        timer.withLock { box in
            box?.timer.cancel()
            box = nil
        }
    }

    /// Shuts down the connections past a read deadline.
    func sweep(_ registry: ConnectionRegistry) {
        let now = ClientConnection.monotonicMilliseconds()
        let closed = registry.shutDown { isOverdue($0, now: now) }
        if closed > 0 { closedSlow.add(Int64(closed), ordering: .relaxed) }
    }

    func isOverdue(_ connection: ClientConnection, now: Int64) -> Bool {
        let since = connection.phaseSince.load(ordering: .relaxed)
        switch ClientConnection.RequestPhase(rawValue: connection.phase.load(ordering: .relaxed)) ?? .answering {
        case .answering:
            return false
        case .readingBody:
            return bodyTimeoutMilliseconds > 0 && now - since > bodyTimeoutMilliseconds
        case .waiting:
            guard headerTimeoutMilliseconds > 0 else { return false }
            let ended = connection.lastRequestEnded.load(ordering: .relaxed)
            // The first request: its deadline runs from the connection's opening.
            if ended == 0 { return now - since > headerTimeoutMilliseconds }
            // Later ones: from the first sweep that sees bytes of it.
            let seen = connection.nextRequestSeen.load(ordering: .relaxed)
            if seen == 0 {
                let quietFor = keyway_tcp_last_data_received_ms(connection.fd)
                if quietFor >= 0 && now - Int64(quietFor) > ended + Self.clockSlackMilliseconds {
                    connection.nextRequestSeen.store(now, ordering: .relaxed)
                }
                return false
            }
            return now - seen > headerTimeoutMilliseconds
        }
    }

    /// A connection opened: make room if it passes the limit.
    func admit(_ connection: ClientConnection, into registry: ConnectionRegistry) {
        let now = ClientConnection.monotonicMilliseconds()
        let victim = registry.admit(connection, limit: limit) { others in
            // The oldest connection that never authenticated and is not
            // being answered, then the longest idle keep-alive connection.
            var anonymous: ClientConnection?
            var idle: ClientConnection?
            for other in others where other.phase.load(ordering: .relaxed) != ClientConnection.RequestPhase.answering.rawValue {
                if !other.authenticated.load(ordering: .relaxed) {
                    if anonymous == nil || other.id < anonymous!.id { anonymous = other }
                } else if other.phase.load(ordering: .relaxed) == ClientConnection.RequestPhase.waiting.rawValue,
                          now - other.phaseSince.load(ordering: .relaxed) >= Self.evictableIdleMilliseconds,
                          idle == nil || other.phaseSince.load(ordering: .relaxed) < idle!.phaseSince.load(ordering: .relaxed) {
                    idle = other
                }
            }
            return anonymous ?? idle
        }
        if victim != nil { evicted.add(1, ordering: .relaxed) }
    }
}
