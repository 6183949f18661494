/// The connections CLIENT LIST shows, as the layer that owns them sees them.
///
/// The engine knows no transport, so it asks this protocol. The server layer
/// implements it (over HTTP a client is one keep-alive connection) and sets
/// it on `ServerState.clients`; each Command carries the id of the
/// connection that sent it (`Command.clientID`).
///
/// Why CLIENT lives in the engine rather than being caught in the gateway:
/// it stays one row of the command table, so arity checks, COMMAND INFO,
/// INFO commandstats, pipelines and MULTI/EXEC treat it like every other
/// command, and the engine's tests cover its parsing and error words with a
/// fake directory. The price is that the directory is called under the
/// engine's lock, so its methods must be quick and must never call back into
/// the engine (closing a connection only shuts its socket down; the cleanup
/// happens later on the server's threads).
public protocol ClientDirectory: AnyObject, Sendable {
    /// Every open connection, oldest first.
    func clients() -> [ClientInfo]
    func client(id: Int64) -> ClientInfo?
    /// Sets the name CLIENT GETNAME returns ("" clears it). False when the
    /// connection is gone.
    @discardableResult
    func setName(_ name: String, id: Int64) -> Bool
    /// Closes these connections and returns how many were open. The caller's
    /// own connection is closed after its reply.
    func kill(ids: [Int64], callerID: Int64?) -> Int
}

/// One connection as CLIENT LIST shows it.
public struct ClientInfo: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case normal, pubsub
    }

    public var id: Int64
    /// `ip:port` of the peer.
    public var address: String
    /// `ip:port` of the server's end.
    public var localAddress: String
    public var fd: Int32
    public var name: String
    public var ageSeconds: Int64
    public var idleSeconds: Int64
    /// Redis's letters: `N` normal, `b` blocked, `P` pub/sub, `O` MONITOR.
    public var flags: String
    public var kind: Kind
    public var channels: Int
    public var patterns: Int
    /// The last command or route; nil before the first.
    public var lastCommand: String?
    public var bytesIn: Int64
    public var bytesOut: Int64
    /// The ACL user the latest request ran as.
    public var user: String

    public init(id: Int64, address: String, localAddress: String, fd: Int32, name: String = "",
                ageSeconds: Int64 = 0, idleSeconds: Int64 = 0, flags: String = "N", kind: Kind = .normal,
                channels: Int = 0, patterns: Int = 0, lastCommand: String? = nil, bytesIn: Int64 = 0, bytesOut: Int64 = 0,
                user: String = "default") {
        self.id = id
        self.address = address
        self.localAddress = localAddress
        self.fd = fd
        self.name = name
        self.ageSeconds = ageSeconds
        self.idleSeconds = idleSeconds
        self.flags = flags
        self.kind = kind
        self.channels = channels
        self.patterns = patterns
        self.lastCommand = lastCommand
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.user = user
    }

    /// Redis's `CLIENT LIST` line (without the newline). Fields that have no
    /// meaning over HTTP keep Redis's neutral values (`db=0`, `multi=-1`).
    public var line: String {
        "id=\(id) addr=\(address) laddr=\(localAddress) fd=\(fd) name=\(name) age=\(ageSeconds) idle=\(idleSeconds)"
            + " flags=\(flags) db=0 sub=\(channels) psub=\(patterns) ssub=0 multi=-1 watch=0"
            + " tot-net-in=\(bytesIn) tot-net-out=\(bytesOut) cmd=\(lastCommand ?? "NULL") user=\(user)"
    }
}
