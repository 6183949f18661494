import Foundation

/// MEMORY USAGE / STATS / DOCTOR / PURGE / MALLOC-STATS / HELP.
///
/// Figures are the byte estimates of MemoryAccounting.swift, the same the
/// `maxmemory` limit is checked against; only `used_memory_rss` comes from
/// the operating system.
enum MemoryCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("memory", arity: -2, flags: [.readonly], keys: (2, 2, 1), handler: memory),
    ]

    static func memory(_ c: CommandContext) throws(CommandError) -> Reply {
        let sub = c[1]
        if sub.equalsIgnoringCase("usage") && c.argumentCount >= 3 {
            return try usage(c)
        }
        if sub.equalsIgnoringCase("stats") && c.argumentCount == 2 {
            return .map(MemoryReport.stats(c.db).flatMap { [.bulk(Bytes($0.0)), $0.1] })
        }
        if sub.equalsIgnoringCase("doctor") && c.argumentCount == 2 {
            return .bulk(Bytes(MemoryReport.doctor(c.db)))
        }
        if sub.equalsIgnoringCase("purge") && c.argumentCount == 2 {
            return .ok
        }
        if sub.equalsIgnoringCase("malloc-stats") && c.argumentCount == 2 {
            return .bulk("Stats not supported for the current allocator")
        }
        if sub.equalsIgnoringCase("help") && c.argumentCount == 2 {
            return .array([
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return memory problems reports.",
                "MALLOC-STATS",
                "    Return internal statistics report from the memory allocator.",
                "PURGE",
                "    Attempt to purge dirty pages for reclamation by the allocator.",
                "STATS",
                "    Return information about the memory usage of the server.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP",
                "    Print this help.",
            ].map { Reply.status($0) })
        }
        throw CommandError(.syntax, "ERR unknown subcommand or wrong number of arguments for '\(sub.text)'. Try MEMORY HELP.")
    }

    /// MEMORY USAGE key [SAMPLES n]: the key's bytes, nil when missing.
    /// The estimate is kept exactly, so SAMPLES is validated but not needed.
    static func usage(_ c: CommandContext) throws(CommandError) -> Reply {
        var i = 3
        while i < c.argumentCount {
            guard c[i].equalsIgnoringCase("samples"), i + 1 < c.argumentCount else { throw .syntax }
            let samples = try c.integer(at: i + 1)
            if samples < 0 { throw .syntax }
            i += 2
        }
        guard let slot = c.db.liveSlot(c[2], touch: false) else { return .null }
        return .integer(Int64(c.db.keyspace.memoryUsage(atSlot: slot)))
    }
}

/// The memory figures INFO and MEMORY STATS report.
enum MemoryReport {
    /// Bytes for keys' own slots and expiries: the part that is not data.
    static func overhead(_ db: Database) -> Int {
        db.keyspace.count * MemoryCost.keyEntry + db.keyspace.volatileCount * MemoryCost.expiryEntry
    }

    static func infoFields(_ db: Database) -> [(String, String)] {
        let used = db.usedMemory
        let peak = max(db.eviction.peakMemory, used)
        let rss = residentBytes()
        let maxMemory = db.eviction.maxMemory
        let fragmentation = used > 0 ? Double(rss) / Double(used) : 0
        let overhead = overhead(db)
        return [
            ("used_memory", String(used)),
            ("used_memory_human", MemorySize.human(Int64(used))),
            ("used_memory_rss", String(rss)),
            ("used_memory_rss_human", MemorySize.human(Int64(rss))),
            ("used_memory_peak", String(peak)),
            ("used_memory_peak_human", MemorySize.human(Int64(peak))),
            ("used_memory_peak_perc", percentage(used, of: peak)),
            ("used_memory_overhead", String(overhead)),
            ("used_memory_startup", "0"),
            ("used_memory_dataset", String(used - overhead)),
            ("used_memory_dataset_perc", percentage(used - overhead, of: used)),
            ("maxmemory", String(maxMemory)),
            ("maxmemory_human", MemorySize.human(maxMemory)),
            ("maxmemory_policy", db.eviction.policy.rawValue),
            ("mem_fragmentation_ratio", String(format: "%.2f", fragmentation)),
            ("mem_allocator", "libc"),
        ]
    }

    static func percentage(_ part: Int, of whole: Int) -> String {
        String(format: "%.2f%%", whole > 0 ? Double(part) * 100 / Double(whole) : 0)
    }

    static func stats(_ db: Database) -> [(String, Reply)] {
        let used = db.usedMemory
        let peak = max(db.eviction.peakMemory, used)
        let overhead = overhead(db)
        let keys = db.keyspace.count
        let rss = residentBytes()
        return [
            ("peak.allocated", .integer(Int64(peak))),
            ("total.allocated", .integer(Int64(used))),
            ("startup.allocated", .integer(0)),
            ("replication.backlog", .integer(0)),
            ("clients.slaves", .integer(0)),
            ("clients.normal", .integer(0)),
            ("aof.buffer", .integer(0)),
            ("db.0", .map([
                .bulk("overhead.hashtable.main"), .integer(Int64(keys * MemoryCost.keyEntry)),
                .bulk("overhead.hashtable.expires"), .integer(Int64(db.keyspace.volatileCount * MemoryCost.expiryEntry)),
            ])),
            ("overhead.total", .integer(Int64(overhead))),
            ("keys.count", .integer(Int64(keys))),
            ("keys.bytes-per-key", .integer(keys > 0 ? Int64(used / keys) : 0)),
            ("dataset.bytes", .integer(Int64(used - overhead))),
            ("dataset.percentage", .double(used > 0 ? Double(used - overhead) * 100 / Double(used) : 0)),
            ("peak.percentage", .double(peak > 0 ? Double(used) * 100 / Double(peak) : 0)),
            ("fragmentation", .double(used > 0 ? Double(rss) / Double(used) : 0)),
            ("fragmentation.bytes", .integer(Int64(rss - used))),
        ]
    }

    static func doctor(_ db: Database) -> String {
        if db.keyspace.count == 0 {
            return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting."
        }
        let limit = db.eviction.maxMemory
        if limit > 0 && db.usedMemory > limit && db.eviction.policy == .noEviction {
            return "Sam, I detected a few issues in this Keyway instance memory implants:\n\n * Used memory is above maxmemory and the policy is noeviction: commands that may grow memory are refused (OOM). Raise maxmemory, delete keys, or choose an eviction policy.\n"
        }
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."
    }

    /// Resident set size from /proc/self/statm (0 where unavailable).
    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
