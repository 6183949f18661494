import Dispatch
import KeywayEngine
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One TCP connection to a Redis node, shared by many requests: commands
/// from any thread are written in order and their replies, which a node
/// sends in the same order, complete their promises one by one (RESP
/// pipelining). A request of several commands is written as one buffer, so
/// nothing interleaves with it (what keeps MULTI ... EXEC and ASKING +
/// command together on a shared connection).
final class NodeConnection: Sendable {
    let address: NodeAddress
    private let channel: Channel

    private init(address: NodeAddress, channel: Channel) {
        self.address = address
        self.channel = channel
    }

    /// Connects, authenticates (`AUTH`) and, for replica reads, sends
    /// `READONLY`, before the connection is handed out.
    static func connect(to address: NodeAddress, on group: EventLoopGroup, transport: NodeTransport) -> EventLoopFuture<NodeConnection> {
        let settings = transport.settings
        let connected = transport.connect(to: address, on: group) { channel in
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPReplyDecoder()))
            try channel.pipeline.syncOperations.addHandler(ReplyQueueHandler())
        }
        return connected.flatMap { channel in
            let connection = NodeConnection(address: address, channel: channel)
            var greeting: [[Bytes]] = []
            if let password = settings.password {
                greeting.append([Bytes("AUTH")] + (settings.username.map { [Bytes($0)] } ?? []) + [Bytes(password)])
            }
            // Harmless on a master, and a replica's connections need it to
            // serve reads of their master's slots instead of MOVED.
            if settings.readFromReplicas { greeting.append([Bytes("READONLY")]) }
            guard !greeting.isEmpty else { return channel.eventLoop.makeSucceededFuture(connection) }
            return connection.send(greeting).flatMapThrowing { replies in
                for reply in replies { if case .error(let error) = reply { throw ClusterError.authenticationFailed(error.message) } }
                return connection
            }
        }
    }

    var isActive: Bool { channel.isActive }

    /// Sends `commands` as one write; the future holds their replies in order.
    func send(_ commands: [[Bytes]]) -> EventLoopFuture<[Reply]> {
        let promises = commands.map { _ in channel.eventLoop.makePromise(of: Reply.self) }
        channel.writeAndFlush(PendingRequest(buffer: encode(commands), slots: promises.map { .promise($0) }), promise: nil)
        return EventLoopFuture.whenAllSucceed(promises.map(\.futureResult), on: channel.eventLoop)
    }

    /// Sends `commands` as one write and waits on this thread for their
    /// replies, at most `timeout`. The event loop hands the replies over
    /// directly (no futures, no timer), so a request costs one hop to the
    /// event loop and one wake-up back.
    func sendAndWait(_ commands: [[Bytes]], timeout: TimeAmount) throws -> [Reply] {
        try sendDeferred(commands).wait(timeout: timeout)
    }

    /// Sends `commands` as one write; the caller waits on the waiter later
    /// (a pipeline writes to every master first, then waits for each).
    func sendDeferred(_ commands: [[Bytes]]) -> ReplyWaiter {
        let waiter = ReplyWaiter(expecting: commands.count)
        channel.writeAndFlush(PendingRequest(buffer: encode(commands), slots: Array(repeating: .waiter(waiter), count: commands.count)), promise: nil)
        return waiter
    }

    private func encode(_ commands: [[Bytes]]) -> ByteBuffer {
        var size = 16
        for command in commands { for argument in command { size += argument.count + 16 } }
        var buffer = channel.allocator.buffer(capacity: size)
        for command in commands { RESPCommandEncoder.encode(command, into: &buffer) }
        return buffer
    }

    func close() {
        channel.close(promise: nil)
    }
}

/// A host and port of a cluster node, as CLUSTER SLOTS and MOVED name it.
struct NodeAddress: Hashable, Sendable, CustomStringConvertible {
    let host: String
    let port: Int

    /// `host:port` (the last colon splits, so an IPv6 host keeps its own).
    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), port > 0, port < 65536 else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Commands written, with where each reply goes.
struct PendingRequest {
    let buffer: ByteBuffer
    let slots: [ReplySlot]
}

/// Where one reply goes: a promise (asynchronous callers) or a thread
/// waiting for all of its request's replies.
enum ReplySlot {
    case promise(EventLoopPromise<Reply>)
    case waiter(ReplyWaiter)

    func succeed(_ reply: Reply) {
        switch self {
        case .promise(let promise): promise.succeed(reply)
        case .waiter(let waiter): waiter.add(reply)
        }
    }

    func fail(_ error: Error) {
        switch self {
        case .promise(let promise): promise.fail(error)
        case .waiter(let waiter): waiter.fail(error)
        }
    }
}

/// Collects a request's replies on the event loop and wakes the thread
/// that waits for them.
final class ReplyWaiter: @unchecked Sendable {
    private let lock = NIOLock()
    private let semaphore = DispatchSemaphore(value: 0)
    private let expected: Int
    private var replies: [Reply] = []
    private var failure: Error?
    private var done = false

    init(expecting expected: Int) {
        self.expected = expected
        replies.reserveCapacity(expected)
    }

    func add(_ reply: Reply) {
        let finished = lock.withLock { () -> Bool in
            guard !done else { return false }
            replies.append(reply)
            if replies.count == expected { done = true }
            return done
        }
        if finished { semaphore.signal() }
    }

    func fail(_ error: Error) {
        let finished = lock.withLock { () -> Bool in
            guard !done else { return false }
            failure = error
            done = true
            return true
        }
        if finished { semaphore.signal() }
    }

    func wait(timeout: TimeAmount) throws -> [Reply] {
        if semaphore.wait(timeout: .now() + .nanoseconds(Int(timeout.nanoseconds))) == .timedOut {
            fail(ClusterError.timedOut)
            // A reply that completed the request just now wins over the timeout.
            _ = semaphore.wait(timeout: .now())
        }
        return try lock.withLock { () throws -> [Reply] in
            if replies.count == expected { return replies }
            throw failure ?? ClusterError.timedOut
        }
    }
}

/// Matches replies to requests in order; fails every waiting request when
/// the connection breaks, so no caller waits for a reply that cannot come.
final class ReplyQueueHandler: ChannelDuplexHandler {
    typealias InboundIn = Reply
    typealias OutboundIn = PendingRequest
    typealias OutboundOut = ByteBuffer

    private var waiting = CircularBuffer<ReplySlot>()
    private var closed = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard !closed else {
            for slot in request.slots { slot.fail(ClusterError.connectionLost) }
            promise?.fail(ClusterError.connectionLost)
            return
        }
        waiting.append(contentsOf: request.slots)
        context.write(wrapOutboundOut(request.buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let waiter = waiting.popFirst() else {
            // A reply nobody asked for: the stream is out of step; drop the connection.
            context.close(promise: nil)
            return
        }
        waiter.succeed(reply)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failAll()
        context.close(promise: nil)
    }

    private func failAll() {
        closed = true
        while let waiter = waiting.popFirst() { waiter.fail(ClusterError.connectionLost) }
    }
}

/// Why a request to the cluster failed below the level of a Redis reply.
enum ClusterError: Error, CustomStringConvertible {
    case connectionLost
    case authenticationFailed(String)
    case noNodeReachable
    case timedOut
    case waitOnOwnLoop

    var description: String {
        switch self {
        case .connectionLost: return "connection to the node lost"
        case .authenticationFailed(let message): return "authentication failed: \(message)"
        case .noNodeReachable: return "no cluster node reachable"
        case .timedOut: return "the node did not answer in time"
        case .waitOnOwnLoop: return "a request waited on the cluster connections' own event loop"
        }
    }
}
