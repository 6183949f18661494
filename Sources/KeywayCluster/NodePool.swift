import Dispatch
import KeywayEngine
import NIOConcurrencyHelpers
import NIOCore

/// The connections kept to one node. Requests take them in turn; a broken
/// one is replaced on its next use.
final class NodePool: Sendable {
    let address: NodeAddress
    private let group: EventLoopGroup
    private let transport: NodeTransport
    private let slots: NIOLockedValueBox<(connections: [NodeConnection?], next: Int)>

    init(address: NodeAddress, group: EventLoopGroup, transport: NodeTransport) {
        self.address = address
        self.group = group
        self.transport = transport
        self.slots = NIOLockedValueBox((Array(repeating: nil, count: max(1, transport.settings.connectionsPerNode)), 0))
    }

    /// A live connection, connecting (and waiting for it) when the slot in
    /// turn has none. Throws when the node cannot be reached.
    func connection() throws -> NodeConnection {
        let index: Int = slots.withLockedValue { state in
            let index = state.next
            state.next = (state.next + 1) % state.connections.count
            return index
        }
        if let existing = slots.withLockedValue({ $0.connections[index] }), existing.isActive { return existing }
        let fresh = try NodeConnection.connect(to: address, on: group, transport: transport).waitOffLoop()
        let kept: NodeConnection = slots.withLockedValue { state in
            if let other = state.connections[index], other.isActive { return other }
            state.connections[index] = fresh
            return fresh
        }
        if kept !== fresh { fresh.close() }
        return kept
    }

    /// A connection of its own, for one blocking command or a subscription.
    func dedicatedConnection() -> EventLoopFuture<NodeConnection> {
        NodeConnection.connect(to: address, on: group, transport: transport)
    }

    func close() {
        let all = slots.withLockedValue { state -> [NodeConnection] in
            defer { state.connections = state.connections.map { _ in nil } }
            return state.connections.compactMap { $0 }
        }
        for connection in all { connection.close() }
    }
}

extension EventLoopFuture where Value: Sendable {
    /// Waits on this thread for the future's result. NIO's `wait()` traps on
    /// any event loop's thread, and routes may reach the executor from one
    /// (an HTTP client's loop, for the cache-aside origin fetches). Waiting
    /// there is safe as long as it is not the future's own loop, which
    /// could then never complete it: that one is refused.
    func waitOffLoop() throws -> Value {
        if eventLoop.inEventLoop { throw ClusterError.waitOnOwnLoop }
        let done = DispatchSemaphore(value: 0)
        let outcome = NIOLockedValueBox<Result<Value, any Error>?>(nil)
        whenComplete { result in
            outcome.withLockedValue { $0 = result }
            done.signal()
        }
        done.wait()
        return try outcome.withLockedValue { $0! }.get()
    }
}
