import KeywayEngine
import KeywayHTTP

/// The engine's view of the HTTP server's connections: CLIENT LIST and
/// friends read the `ConnectionRegistry` through this. Install it with
/// `HTTPClientDirectory.install(_:on:)` once the server exists.
public final class HTTPClientDirectory: ClientDirectory {
    let connections: ConnectionRegistry

    public init(_ connections: ConnectionRegistry) {
        self.connections = connections
    }

    /// Lets the engine's CLIENT command and INFO's clients section see
    /// `server`'s connections. SSE streams count as pub/sub clients.
    public static func install(_ server: HTTPServer, on engine: Engine, eventStreamBudget: StreamBufferBudget? = nil) {
        let directory = HTTPClientDirectory(server.connections)
        engine.withDatabase { _, state in
            state.clients = directory
            state.infoSections["clients"] = { [server] in
                [
                    ("connected_clients", String(server.connections.count)),
                    ("blocked_clients", String(server.parkedCount)),
                    ("pubsub_clients", String(server.streamCount)),
                    ("maxclients", String(server.configuration.connectionLimit)),
                    ("slow_clients_closed", String(server.guardCounters.slowClosed)),
                    ("connections_evicted", String(server.guardCounters.evicted)),
                    ("pubsub_output_buffer_bytes", String(eventStreamBudget?.usedBytes ?? 0)),
                    ("client_output_buffer_limit_disconnections", String(eventStreamBudget?.disconnections ?? 0)),
                ]
            }
        }
    }

    public func clients() -> [ClientInfo] {
        connections.snapshot().map(Self.info)
    }

    public func client(id: Int64) -> ClientInfo? {
        connections.snapshot(id: id).map(Self.info)
    }

    public func setName(_ name: String, id: Int64) -> Bool {
        guard let connection = connections.connection(id: id) else { return false }
        connection.name = name
        return true
    }

    public func kill(ids: [Int64], callerID: Int64?) -> Int {
        connections.kill(ids: ids, callerID: callerID)
    }

    /// A parked request is Redis's blocked client (`b`); an event stream is a
    /// subscriber (`P`) or a MONITOR (`O`, which Redis counts as a normal client).
    static func info(_ snapshot: ClientSnapshot) -> ClientInfo {
        var flags = "N", kind = ClientInfo.Kind.normal
        switch snapshot.activity {
        case .normal: break
        case .parked: flags = "b"
        case .streaming:
            flags = String(snapshot.streamFlag ?? "P")
            if flags == "P" { kind = .pubsub }
        }
        return ClientInfo(
            id: snapshot.id, address: snapshot.address, localAddress: snapshot.localAddress, fd: snapshot.fd,
            name: snapshot.name, ageSeconds: snapshot.ageSeconds, idleSeconds: snapshot.idleSeconds,
            flags: flags, kind: kind, channels: snapshot.channels, patterns: snapshot.patterns,
            lastCommand: snapshot.lastCommand, bytesIn: snapshot.bytesIn, bytesOut: snapshot.bytesOut, user: snapshot.user)
    }
}
