import CMicroHTTPD
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Every open connection by id, for `CLIENT LIST` and `CLIENT KILL`.
///
/// Its lock is taken when a connection opens or closes and when someone
/// lists or kills connections, never per request: a request reaches its
/// own `ClientConnection` through libmicrohttpd's socket context.
public final class ConnectionRegistry: Sendable {
    private struct State {
        var byID: [Int64: ClientConnection] = [:]
        var nextID: Int64 = 1
        /// Connections shut down but not yet closed by libmicrohttpd: they
        /// no longer count against the limit.
        var closing = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// Connections open now.
    public var count: Int { state.withLock { $0.byID.count } }

    /// Every open connection, oldest first.
    public func snapshot() -> [ClientSnapshot] {
        let now = ClientConnection.monotonicMilliseconds()
        let connections = state.withLock { Array($0.byID.values) }
        return connections.sorted { $0.id < $1.id }.map { $0.snapshot(now: now) }
    }

    public func snapshot(id: Int64) -> ClientSnapshot? {
        connection(id: id)?.snapshot(now: ClientConnection.monotonicMilliseconds())
    }

    public func connection(id: Int64) -> ClientConnection? {
        state.withLock { $0.byID[id] }
    }

    /// Closes the connections with these ids and returns how many were
    /// open. The socket is shut down under the registry lock, so it cannot
    /// be a descriptor that libmicrohttpd already closed and reused (a
    /// connection leaves the registry before its socket is closed).
    /// libmicrohttpd, or the hang-up watcher for a parked request or an
    /// idle event stream, then sees the dead socket and cleans up as if the
    /// peer had left: parked work is withdrawn, streams end. The caller's
    /// own connection (`callerID`) is closed after its reply instead.
    public func kill(ids: [Int64], callerID: Int64?) -> Int {
        state.withLock { state in
            var killed = 0
            for id in Set(ids) {
                guard let connection = state.byID[id] else { continue }
                killed += 1
                if id == callerID {
                    connection.closeAfterCurrentReply()
                } else {
                    Self.shutDown(connection, &state)
                }
            }
            return killed
        }
    }

    // MARK: - Server side

    func opened(_ connection: OpaquePointer) -> ClientConnection {
        let fd = keyway_mhd_connection_fd(connection)
        var peer = [CChar](repeating: 0, count: 64)
        var local = [CChar](repeating: 0, count: 64)
        keyway_format_address(keyway_mhd_client_address(connection), &peer, peer.count)
        if fd >= 0 { keyway_format_local_address(fd, &local, local.count) }
        let host = Self.peerHost(connection)
        let now = ClientConnection.monotonicMilliseconds()
        return state.withLock { state in
            let client = ClientConnection(id: state.nextID, address: Self.text(peer), host: host, localAddress: Self.text(local), fd: fd, now: now)
            state.nextID += 1
            state.byID[client.id] = client
            return client
        }
    }

    func closed(_ connection: ClientConnection) {
        state.withLock { state in
            _ = state.byID.removeValue(forKey: connection.id)
            if connection.shutDown.load(ordering: .relaxed) { state.closing -= 1 }
        }
    }

    /// Under the lock: shuts the socket down once (see `kill`).
    private static func shutDown(_ connection: ClientConnection, _ state: inout State) {
        guard !connection.shutDown.load(ordering: .relaxed) else { return }
        connection.shutDown.store(true, ordering: .relaxed)
        state.closing += 1
        shutdown(connection.fd, Int32(SHUT_RDWR))
    }

    /// A connection just opened: if that makes more than `limit` live
    /// connections, makes room by shutting one down, chosen by `pick`
    /// among the others (nil: the newcomer itself is refused). Returns the
    /// connection shut down, if any.
    func admit(_ newcomer: ClientConnection, limit: Int, pick: ([ClientConnection]) -> ClientConnection?) -> ClientConnection? {
        state.withLock { state in
            guard state.byID.count - state.closing > limit else { return nil }
            let others = state.byID.values.filter { $0 !== newcomer && !$0.shutDown.load(ordering: .relaxed) }
            let victim = pick(others) ?? newcomer
            Self.shutDown(victim, &state)
            return victim
        }
    }

    /// Shuts down every live connection `overdue` picks; returns how many.
    func shutDown(where overdue: (ClientConnection) -> Bool) -> Int {
        state.withLock { state in
            var count = 0
            for connection in state.byID.values where !connection.shutDown.load(ordering: .relaxed) && overdue(connection) {
                Self.shutDown(connection, &state)
                count += 1
            }
            return count
        }
    }

    /// The peer's IP address without the port ("" when it has none).
    static func peerHost(_ connection: OpaquePointer) -> String {
        guard let address = keyway_mhd_client_address(connection) else { return "" }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ipv4 in
                var addr = ipv4.pointee.sin_addr
                _ = inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
            }
        case AF_INET6:
            address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { ipv6 in
                var addr = ipv6.pointee.sin6_addr
                _ = inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
            }
        default:
            return ""
        }
        return Self.text(text)
    }

    private static func text(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
