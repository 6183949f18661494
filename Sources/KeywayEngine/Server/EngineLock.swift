#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The engine's one lock around its state.
///
/// A pthread mutex rather than `Synchronization.Mutex` because a waiter must
/// be able to stop waiting: while a script runs past `lua-time-limit`,
/// clients are answered BUSY instead of queueing behind it, and the few HTTP
/// threads stay free to carry SCRIPT KILL. Uncontended it costs the same; a
/// contended waiter sleeps in the kernel and wakes on unlock as before, only
/// looking up every few milliseconds to see whether it should give up.
final class EngineLock<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let value: Value
    /// How long a waiter sleeps before checking again whether to give up.
    private static var recheckNanoseconds: Int { 5_000_000 }

    init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<R>(_ body: (Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(value)
    }

    /// Runs `body` under the lock, or returns nil without running it if
    /// `giveUp` turns true while waiting for the lock.
    func withLock<R>(unless giveUp: () -> Bool, _ body: (Value) throws -> R) rethrows -> R? {
        if pthread_mutex_trylock(mutex) != 0 {
            while true {
                if giveUp() { return nil }
                var deadline = timespec()
                clock_gettime(CLOCK_REALTIME, &deadline)
                deadline.tv_nsec += Self.recheckNanoseconds
                if deadline.tv_nsec >= 1_000_000_000 {
                    deadline.tv_sec += 1
                    deadline.tv_nsec -= 1_000_000_000
                }
                if pthread_mutex_timedlock(mutex, &deadline) == 0 { break }
            }
        }
        defer { pthread_mutex_unlock(mutex) }
        return try body(value)
    }
}
