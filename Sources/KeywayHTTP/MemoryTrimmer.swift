import CMicroHTTPD
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Gives the memory of closed connections back to the system.
///
/// libmicrohttpd takes each connection's pool (`client-header-buffer`, a
/// few KiB) from malloc. glibc keeps freed blocks of that size in its free
/// lists, and returns memory by itself only from the top of a heap; pools
/// freed between blocks that stay (keys written meanwhile, other
/// connections) stay resident. So once `thresholdBytes` of pools have been
/// freed, `malloc_trim(0)` runs on a background queue, a second later (one
/// trim for a wave of closes) and at most every `minimumInterval` seconds:
/// it hands every whole free page inside the heaps back (madvise), leaving
/// the blocks themselves free for reuse.
final class MemoryTrimmer: Sendable {
    let thresholdBytes: Int
    let minimumInterval: Double
    private let freed = Atomic<Int>(0)
    private let scheduled = Atomic<Bool>(false)
    private let trims = Atomic<Int64>(0)

    init(thresholdBytes: Int = 4 * 1024 * 1024, minimumInterval: Double = 5) {
        self.thresholdBytes = thresholdBytes
        self.minimumInterval = minimumInterval
    }

    /// How many times memory was trimmed.
    var trimCount: Int64 { trims.load(ordering: .relaxed) }

    /// A connection holding `bytes` of pool closed.
    func released(_ bytes: Int) {
        let total = freed.add(bytes, ordering: .relaxed).newValue
        guard total >= thresholdBytes,
              scheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + 1) { [self] in
            freed.store(0, ordering: .relaxed)
            malloc_trim(0)
            trims.add(1, ordering: .relaxed)
            DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + minimumInterval) { [self] in
                scheduled.store(false, ordering: .releasing)
                // Closes that came in meanwhile are trimmed now.
                if freed.load(ordering: .relaxed) >= thresholdBytes { released(0) }
            }
        }
    }
}
