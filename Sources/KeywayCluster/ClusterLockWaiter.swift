import Dispatch
import KeywayEngine
import NIOConcurrencyHelpers

/// A `KEYWAY.LOCK` that waits for a held lock, on the cluster backend.
///
/// The embedded engine parks the request and hands the lock over the
/// moment it is released, first come first served. A Redis node cannot
/// park a script, so here the lock is tried again on a timer: after 5 ms,
/// then doubling to at most 50 ms between tries, never later than the
/// moment the holder's TTL runs out, and once more when the wait ends.
/// No thread is held between tries (each is one round trip on a pooled
/// connection). Waiters on one lock are not served in arrival order:
/// whichever tries first after a release takes it.
final class ClusterLockWaiter: Sendable {
    static let firstDelayMilliseconds: Int64 = 5
    static let longestDelayMilliseconds: Int64 = 50
    static let longestWaitMilliseconds: Int64 = 365 * 24 * 3600 * 1000

    private let executor: ClusterExecutor
    private let call: MiddlewareCall
    private let slot: Int
    private let client: any BlockedClient
    private let deadline: DispatchTime

    private struct State {
        var finished = false
        var delay = ClusterLockWaiter.firstDelayMilliseconds
    }
    private let state = NIOLockedValueBox(State())

    init(executor: ClusterExecutor, call: MiddlewareCall, slot: Int, client: any BlockedClient, waitMilliseconds: Int64) {
        self.executor = executor
        self.call = call
        self.slot = slot
        self.client = client
        // KEYWAY.LOCK takes any wait from the command API; a year is more
        // than any lock is waited for, and keeps the deadline's arithmetic
        // (nanoseconds since boot) far from overflowing.
        let wait = min(max(waitMilliseconds, 0), Self.longestWaitMilliseconds)
        self.deadline = DispatchTime(uptimeNanoseconds: DispatchTime.now().uptimeNanoseconds + UInt64(wait) * 1_000_000)
    }

    /// Parks the request; the holder has the lock for `heldFor` ms more.
    func start(heldFor: Int64) -> Submission {
        schedule(heldFor: heldFor)
        return .blocked(BlockedHandle(id: 0, cancel: { [self] _ in cancel() }))
    }

    /// The next try: after the current delay (doubled for the one after),
    /// or when the holder's TTL ends, or at the deadline, whichever is first.
    /// A try already scheduled when the client leaves finds it finished.
    private func schedule(heldFor: Int64) {
        let delay = state.withLockedValue { state -> Int64 in
            defer { state.delay = min(state.delay * 2, Self.longestDelayMilliseconds) }
            return min(state.delay, max(1, heldFor + 1))
        }
        let at = min(DispatchTime.now() + .milliseconds(Int(delay)), deadline)
        DispatchQueue.global().asyncAfter(deadline: at) { [self] in attempt() }
    }

    private func attempt() {
        guard !state.withLockedValue({ $0.finished }) else { return }
        let reply = executor.run(call, slot: slot)
        if let heldFor = MiddlewareCall.heldFor(reply) {
            guard DispatchTime.now() < deadline else { return finish(.null) }
            return schedule(heldFor: heldFor)
        }
        finish(call.engineReply(reply))
    }

    private func finish(_ reply: Reply) {
        let deliver = state.withLockedValue { state -> Bool in
            if state.finished { return false }
            state.finished = true
            return true
        }
        if case .array = reply { executor.noteWrite() }
        guard deliver, client.isConnected else {
            releaseIfAcquired(reply)
            return
        }
        client.deliver(reply)
    }

    /// The client left while its lock was being taken: nobody knows the
    /// token, so the lock is given back rather than held until its TTL.
    private func releaseIfAcquired(_ reply: Reply) {
        guard case .array(let parts) = reply, parts.count == 2, case .integer(let fencing) = parts[0], fencing > 0,
              let spec = executor.commands.lookup(Bytes("keyway.unlock")),
              let unlock = try? MiddlewareCall([Bytes("KEYWAY.UNLOCK"), call.keys[0], call.arguments[0]], spec: spec) else { return }
        _ = executor.run(unlock, slot: slot)
    }

    /// The HTTP client left: no more tries.
    private func cancel() {
        state.withLockedValue { $0.finished = true }
    }
}
