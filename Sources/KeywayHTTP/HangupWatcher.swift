import CMicroHTTPD
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Notices when the peer of a suspended connection hangs up.
///
/// libmicrohttpd stops polling a connection while it is suspended, so a
/// client that leaves a parked request or an idle event stream would go
/// unnoticed until the next write. This watcher keeps those sockets in its
/// own epoll set (hang-up events only, one-shot) and runs a handler that
/// resumes the connection, so it is cleaned up at once.
final class HangupWatcher: Sendable {
    private let epollFD: Int32
    /// A closure stored in a dictionary directly is wrapped in a thunk (an
    /// allocation per watched socket); inside a struct it is stored as is.
    private struct Handler {
        let run: @Sendable () -> Void
    }
    private let handlers = Mutex<[Int32: Handler]>([:])
    private let running = Atomic<Bool>(true)
    private let thread = Mutex<pthread_t?>(nil)

    init() {
        epollFD = keyway_epoll_create()
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        pthread_create(&handle, nil, { context in
            let watcher = Unmanaged<HangupWatcher>.fromOpaque(context!).takeRetainedValue()
            watcher.loop()
            return nil
        }, context)
        thread.withLock { $0 = handle }
    }

    /// Runs `handler` once if `fd`'s peer hangs up before `unwatch(fd)`.
    func watch(_ fd: Int32, _ handler: @escaping @Sendable () -> Void) {
        guard fd >= 0 else { return }
        handlers.withLock { $0[fd] = Handler(run: handler) }
        _ = keyway_epoll_watch_hangup(epollFD, fd)
    }

    /// Runs `handler` once if `fd`'s peer hangs up before `unwatch(fd)`,
    /// watching also while the connection is not suspended: for an event
    /// stream, registered once for its whole life rather than at every
    /// suspension (two epoll_ctl calls per message and subscriber).
    func watchForLife(_ fd: Int32, _ handler: @escaping @Sendable () -> Void) {
        guard fd >= 0 else { return }
        handlers.withLock { $0[fd] = Handler(run: handler) }
        _ = keyway_epoll_watch_hangup_until_removed(epollFD, fd)
    }

    /// Stops watching `fd`; call before the connection goes back to
    /// libmicrohttpd, which may close the descriptor.
    func unwatch(_ fd: Int32) {
        guard fd >= 0 else { return }
        let removed = handlers.withLock { $0.removeValue(forKey: fd) }
        if removed != nil { _ = keyway_epoll_unwatch(epollFD, fd) }
    }

    func stop() {
        running.store(false, ordering: .relaxed)
        if let handle = thread.withLock({ $0 }) { pthread_join(handle, nil) }
        close(epollFD)
    }

    private func loop() {
        var ready = [Int32](repeating: 0, count: 64)
        while running.load(ordering: .relaxed) {
            let count = keyway_epoll_wait_fds(epollFD, &ready, Int32(ready.count), 50)
            guard count > 0 else { continue }
            for index in 0..<Int(count) {
                let fd = ready[index]
                let handler = handlers.withLock { $0.removeValue(forKey: fd) }
                if handler != nil { _ = keyway_epoll_unwatch(epollFD, fd) }
                handler?.run()
            }
        }
    }
}
