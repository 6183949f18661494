import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the engine reads the time. Injected so tests can move time by hand.
public protocol EngineClock: Sendable {
    /// Microseconds since the Unix epoch.
    func nowMicroseconds() -> Int64
}

extension EngineClock {
    /// Milliseconds since the Unix epoch, the unit of every expiry.
    public func nowMilliseconds() -> Int64 { nowMicroseconds() / 1000 }
}

/// The wall clock.
public struct SystemClock: EngineClock {
    public init() {}
    public func nowMicroseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
    }
}

/// A clock that only moves when told to: expiry tests without sleeping.
public final class ManualClock: EngineClock {
    private let micros: Atomic<Int64>

    public init(milliseconds: Int64 = 1_700_000_000_000) {
        micros = Atomic(milliseconds * 1000)
    }

    public func nowMicroseconds() -> Int64 { micros.load(ordering: .relaxed) }

    public func advance(milliseconds: Int64) {
        micros.add(milliseconds * 1000, ordering: .relaxed)
    }

    public func set(milliseconds: Int64) {
        micros.store(milliseconds * 1000, ordering: .relaxed)
    }
}

/// Monotonic milliseconds, for measuring durations (never for expiry).
func monotonicMicroseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
}
