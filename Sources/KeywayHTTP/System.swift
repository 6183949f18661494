import CMicroHTTPD
#if canImport(Glibc)
import Glibc
#endif

/// Process-level facts the server needs.
public enum System {
    public static var coreCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Raises the soft open-file limit to the hard limit, so the connection
    /// limit is not capped by the default of 1024 descriptors.
    @discardableResult
    public static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(limit.rlim_cur)
    }

    /// Caps glibc's malloc arenas at `count` unless `MALLOC_ARENA_MAX` is set.
    ///
    /// glibc gives each thread that allocates under contention an arena of
    /// its own (up to 8 per core), and memory freed in one arena is not
    /// reused by another: the HTTP threads, the batch workers and the
    /// engine then keep several partly empty heaps (1.5x the resident memory
    /// of one, loading 100-member sorted sets). Small blocks still come from
    /// per-thread caches without taking an arena's lock.
    public static func limitMallocArenas(to count: Int32) {
        guard getenv("MALLOC_ARENA_MAX") == nil else { return }
        _ = mallopt(M_ARENA_MAX, count)
    }
}
