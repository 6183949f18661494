import CMicroHTTPD
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One open TCP connection: what `CLIENT LIST` calls a client.
///
/// Over HTTP a "client" is a keep-alive connection, not a user: every
/// request on the same connection shares its id and its name, and a new
/// connection is a new client. libmicrohttpd tells the server when a
/// connection starts and closes; the record lives in the connection's
/// `socket_context` slot, so a request reaches it without any lock. What a
/// request updates (last activity, last command, byte counts) are relaxed
/// atomics; only the rarely changed name and event stream sit behind a
/// per-connection lock that requests never take.
public final class ClientConnection: Sendable {
    /// What the connection is doing now.
    public enum Activity: UInt8, Sendable {
        /// Between requests or answering one.
        case normal = 0
        /// A request parked in a blocking command (BLPOP, XREAD BLOCK).
        case parked = 1
        /// Serving a Server-Sent Event stream.
        case streaming = 2
    }

    /// Ids grow from 1 and are never reused while the process lives.
    public let id: Int64
    /// The peer, `ip:port`.
    public let address: String
    /// The peer's IP address alone: what its requests carry as
    /// `remoteAddress`, formatted once per connection.
    public let host: String
    /// The server's end, `ip:port`.
    public let localAddress: String
    let openedAt: Int64
    let lastActive: Atomic<Int64>
    /// An `ActivityLabel` that outlives every connection (owned by the
    /// router or a static table), stored as its address; 0 before the first request.
    private let lastLabel = Atomic<UInt>(0)
    let bytesIn = Atomic<Int64>(0)
    let bytesOut = Atomic<Int64>(0)

    /// Where the connection is in its current request, for the read
    /// deadlines of `ConnectionGuard`.
    enum RequestPhase: UInt8 {
        /// Between requests: idle, or receiving the next request's headers.
        case waiting = 0
        /// Headers in, receiving the body.
        case readingBody = 1
        /// Being answered, parked, or streaming.
        case answering = 2
    }
    /// When the current phase began (monotonic ms).
    let phaseSince: Atomic<Int64>
    /// When the last request was answered; 0 before the first.
    let lastRequestEnded = Atomic<Int64>(0)
    /// When the guard first saw bytes of the next request after an answer;
    /// 0 while the connection is idle.
    let nextRequestSeen = Atomic<Int64>(0)

    // The small fields together, in this order: they take 16 bytes where,
    // spread between the 8-byte ones, they took 32 (and the record a
    // 240-byte malloc block instead of 224).
    public let fd: Int32
    let activity = Atomic<UInt8>(0)
    let phase = Atomic<UInt8>(RequestPhase.waiting.rawValue)
    /// Set by `CLIENT KILL` on the caller's own connection: answer, then close.
    let closeAfterReply = Atomic<Bool>(false)
    /// A request on this connection passed authentication: it is a known
    /// client's, not one a flood of anonymous sockets may push out.
    let authenticated = Atomic<Bool>(false)
    /// Shut down by the guard or CLIENT KILL, not yet closed by libmicrohttpd.
    let shutDown = Atomic<Bool>(false)

    private struct Rare {
        var name: String = ""
        var stream: EventStream?
        var user = "default"
        /// Whether the current request authenticated (as `user`); read by
        /// the access log, reset when a request starts only while it is on.
        var authenticated = false
    }
    private let rare = Mutex(Rare())

    init(id: Int64, address: String, host: String, localAddress: String, fd: Int32, now: Int64) {
        self.id = id
        self.address = address
        self.host = host
        self.localAddress = localAddress
        self.fd = fd
        self.openedAt = now
        self.lastActive = Atomic(now)
        self.phaseSince = Atomic(now)
    }

    /// Marks the connection as an authenticated client's (see `authenticated`).
    public func markAuthenticated() {
        if !authenticated.load(ordering: .relaxed) { authenticated.store(true, ordering: .relaxed) }
    }

    func enter(_ newPhase: RequestPhase, now: Int64) {
        phase.store(newPhase.rawValue, ordering: .relaxed)
        phaseSince.store(now, ordering: .relaxed)
        if newPhase == .waiting {
            lastRequestEnded.store(now, ordering: .relaxed)
            nextRequestSeen.store(0, ordering: .relaxed)
        }
    }

    /// The name set with `CLIENT SETNAME` ("" when none).
    public var name: String {
        get { rare.withLock { $0.name } }
        set { rare.withLock { $0.name = newValue } }
    }

    /// Records the command a request ran, for `cmd=`. `label` must outlive
    /// the connection (keep labels in a static table).
    public func noteCommand(_ label: ActivityLabel) {
        lastLabel.store(UInt(bitPattern: Unmanaged.passUnretained(label).toOpaque()), ordering: .relaxed)
    }

    /// Records the ACL user the connection's latest request ran as, for
    /// CLIENT LIST's `user=`.
    public func noteUser(_ user: String) {
        rare.withLock {
            if $0.user != user { $0.user = user }
            $0.authenticated = true
        }
    }

    /// Asks the server to close this connection once the current response
    /// has been sent (a client killing itself).
    public func closeAfterCurrentReply() {
        closeAfterReply.store(true, ordering: .relaxed)
    }

    // MARK: - Server side

    func requestStarted(now: Int64) {
        lastActive.store(now, ordering: .relaxed)
        enter(.readingBody, now: now)
    }

    /// For the access log: forgets the previous request's user.
    func resetRequestUser() {
        rare.withLock { $0.authenticated = false }
    }

    /// For the access log: the user the current request authenticated as,
    /// nil when it did not.
    var requestUser: String? {
        rare.withLock { $0.authenticated ? $0.user : nil }
    }

    func setActivity(_ value: Activity) {
        activity.store(value.rawValue, ordering: .relaxed)
    }

    func streamStarted(_ stream: EventStream) {
        rare.withLock { $0.stream = stream }
        setActivity(.streaming)
    }

    func streamEnded() {
        rare.withLock { $0.stream = nil }
        setActivity(.normal)
    }

    func snapshot(now: Int64) -> ClientSnapshot {
        let (name, stream, user) = rare.withLock { ($0.name, $0.stream, $0.user) }
        let bits = lastLabel.load(ordering: .relaxed)
        let label = bits == 0 ? nil : Unmanaged<ActivityLabel>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!).takeUnretainedValue().text
        let activity = Activity(rawValue: activity.load(ordering: .relaxed)) ?? .normal
        return ClientSnapshot(
            id: id, address: address, localAddress: localAddress, fd: fd, name: name,
            ageSeconds: max(0, (now - openedAt) / 1000),
            idleSeconds: max(0, (now - lastActive.load(ordering: .relaxed)) / 1000),
            activity: activity,
            streamFlag: activity == .streaming ? (stream?.subscriberFlag ?? "P") : nil,
            channels: stream?.channelCount ?? 0, patterns: stream?.patternCount ?? 0,
            lastCommand: label,
            bytesIn: bytesIn.load(ordering: .relaxed), bytesOut: bytesOut.load(ordering: .relaxed), user: user)
    }

    /// Milliseconds on a coarse monotonic clock (a few ns to read).
    static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

/// A command or route name shown as `cmd=`, allocated once and kept for the
/// life of the process so connections can point at it without retaining it.
public final class ActivityLabel: Sendable {
    public let text: String
    public init(_ text: String) { self.text = text }
}

/// A connection as `CLIENT LIST` shows it, read at one moment.
public struct ClientSnapshot: Sendable {
    public var id: Int64
    public var address: String
    public var localAddress: String
    public var fd: Int32
    public var name: String
    public var ageSeconds: Int64
    public var idleSeconds: Int64
    public var activity: ClientConnection.Activity
    /// For an event stream: `P` (pub/sub, stream events) or `O` (MONITOR).
    public var streamFlag: Character?
    public var channels: Int
    public var patterns: Int
    /// The last command or route, nil before the first request.
    public var lastCommand: String?
    /// Request and response body bytes (headers and stream events not counted).
    public var bytesIn: Int64
    public var bytesOut: Int64
    /// The ACL user of the latest request.
    public var user: String
}
