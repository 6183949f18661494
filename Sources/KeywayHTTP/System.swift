import CMicroHTTPD
#if canImport(Glibc)
import Glibc
#endif

/// Process-level facts the server needs.
public enum System {
    public static var coreCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Makes room for `needed` open files, as Redis does for `maxclients`:
    /// the soft limit is raised to `needed`, and the hard limit with it
    /// where the process may (root, or CAP_SYS_RESOURCE); otherwise the soft
    /// limit goes as high as the hard one allows. Returns the limit now in
    /// force, which the caller compares with `needed`.
    @discardableResult
    public static func raiseOpenFileLimit(to needed: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let wanted = rlim_t(needed)
        if limit.rlim_cur >= wanted { return Int(clamping: limit.rlim_cur) }
        var raised = rlimit(rlim_cur: wanted, rlim_max: max(limit.rlim_max, wanted))
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return needed }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return Int(clamping: limit.rlim_cur)
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
