import KeywayEngine
import NIOConcurrencyHelpers
import NIOCore

/// A blocking command (BLPOP, BRPOP, BLMOVE, XREAD BLOCK, ...) on a
/// connection of its own to the slot's master, so the node can hold it as
/// long as it likes while no HTTP thread waits. The reply, or a redirection
/// followed on a fresh connection, reaches the client through `deliver`.
final class ClusterBlockingCommand: Sendable {
    private let executor: ClusterExecutor
    private let arguments: [Bytes]
    private let slot: Int
    private let client: any BlockedClient
    private struct State {
        var connection: NodeConnection?
        var finished = false
        var hops = 0
    }
    private let state = NIOLockedValueBox(State())

    init(executor: ClusterExecutor, arguments: [Bytes], slot: Int, client: any BlockedClient) {
        self.executor = executor
        self.arguments = arguments
        self.slot = slot
        self.client = client
    }

    func start() -> Submission {
        guard let target = executor.slots.master(of: slot) ?? (executor.refreshSlotMap() ? executor.slots.master(of: slot) : nil) else {
            return .reply(.error(ClusterCommandPolicy.unavailable("no node serves slot \(slot)")))
        }
        issue(to: target, asking: false)
        return .blocked(BlockedHandle(id: 0, cancel: { [self] _ in cancel() }))
    }

    private func issue(to target: NodeAddress, asking: Bool) {
        executor.pool(for: target).dedicatedConnection().whenComplete { [self] result in
            switch result {
            case .failure(let error):
                finish(.error(ClusterCommandPolicy.unavailable("\(target) unreachable: \(error)")))
            case .success(let connection):
                let keep = state.withLockedValue { state -> Bool in
                    guard !state.finished else { return false }
                    state.connection = connection
                    return true
                }
                guard keep else { connection.close(); return }
                let batch: [[Bytes]] = asking ? [[Bytes("ASKING")], arguments] : [arguments]
                connection.send(batch).whenComplete { [self] result in
                    connection.close()
                    switch result {
                    case .failure(let error):
                        finish(.error(ClusterCommandPolicy.unavailable("\(target): \(error)")))
                    case .success(let replies):
                        let reply = replies[replies.count - 1]
                        if case .error(let error) = reply, let redirection = Redirection(error.message), nextHop() {
                            if redirection.kind == .moved {
                                executor.slots.move(slot: redirection.slot, to: redirection.address)
                                executor.scheduleRefresh()
                            }
                            issue(to: redirection.address, asking: redirection.kind == .ask)
                            return
                        }
                        finish(reply)
                    }
                }
            }
        }
    }

    private func nextHop() -> Bool {
        state.withLockedValue { state in
            state.hops += 1
            return state.hops <= 16 && !state.finished
        }
    }

    private func finish(_ reply: Reply) {
        let deliver = state.withLockedValue { state -> Bool in
            if state.finished { return false }
            state.finished = true
            state.connection = nil
            return true
        }
        if deliver && client.isConnected { client.deliver(reply) }
    }

    /// The HTTP client left: the node's wait ends with its connection.
    private func cancel() {
        let connection = state.withLockedValue { state -> NodeConnection? in
            state.finished = true
            defer { state.connection = nil }
            return state.connection
        }
        connection?.close()
    }
}
