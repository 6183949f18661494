import Foundation
/// INFO's sections, gathered as ordered name/value pairs so the gateway can
/// render them as JSON and the command API as Redis's text.
public enum Info {
    public typealias Section = (name: String, fields: [(String, String)])

    /// The version Keyway reports itself compatible with, for clients that check.
    public static let redisCompatibleVersion = "7.2.0"
    public static let keywayVersion = "0.1.0"

    static let defaultSections = ["server", "clients", "memory", "persistence", "stats", "keyspace"]
    /// `INFO all` / `everything` adds the per-command and per-error counters.
    static let allSections = ["server", "clients", "memory", "persistence", "stats", "commandstats", "errorstats", "keyspace"]

    /// Sections named in `requested` (empty, "default", "all" or "everything"
    /// mean all of them), in Redis's order.
    public static func collect(db: Database, server: ServerState, statistics: CommandStatistics, requested: [String]) -> [Section] {
        let everything = !Set(requested).isDisjoint(with: ["all", "everything"])
        let defaults = requested.isEmpty || requested.contains("default")
        let wanted = everything ? allSections : allSections.filter { requested.contains($0) || (defaults && defaultSections.contains($0)) }
        return wanted.map { name in (name, fields(of: name, db: db, server: server, statistics: statistics)) }
    }

    static func fields(of section: String, db: Database, server: ServerState, statistics: CommandStatistics) -> [(String, String)] {
        let uptimeSeconds = max(0, (db.clock.nowMilliseconds() - server.startedAt) / 1000)
        switch section {
        case "server":
            return [
                ("redis_version", redisCompatibleVersion),
                ("keyway_version", keywayVersion),
                ("redis_mode", "standalone"),
                ("os", osName()),
                ("arch_bits", String(MemoryLayout<Int>.size * 8)),
                ("process_id", String(server.processID)),
                ("uptime_in_seconds", String(uptimeSeconds)),
                ("uptime_in_days", String(uptimeSeconds / 86400)),
                ("hz", ConfigTable.engine.value("hz", in: EngineSettings(db: db, server: server)) ?? ""),
            ] + server.serverFields
        case "stats":
            return [
                ("total_commands_processed", String(db.stats.totalCommands)),
                ("instantaneous_ops_per_sec", String(statistics.instantaneousOpsPerSecond)),
                ("total_error_replies", String(db.stats.totalErrors)),
                ("expired_keys", String(db.stats.expiredKeys)),
                ("evicted_keys", String(db.eviction.evictedKeys)),
                ("keyspace_hits", String(db.stats.keyspaceHits)),
                ("keyspace_misses", String(db.stats.keyspaceMisses)),
            ] + (server.infoSections["stats"]?() ?? [])
        case "persistence":
            let snapshots = server.snapshots
            return [
                ("loading", db.datasetLoading ? "1" : "0"),
                ("rdb_changes_since_last_save", String(db.dirty)),
                ("rdb_bgsave_in_progress", snapshots.inProgress ? "1" : "0"),
                ("rdb_last_save_time", String(snapshots.lastSaveTime)),
                ("rdb_last_bgsave_status", snapshots.lastSaveSucceeded ? "ok" : "err"),
                ("rdb_last_bgsave_time_sec", String(snapshots.lastDurationSeconds)),
                ("rdb_last_bgsave_error", snapshots.lastError ?? ""),
                ("rdb_last_bgsave_error_time", String(snapshots.lastErrorTime)),
                ("aof_enabled", server.appendOnly.enabled ? "1" : "0"),
                ("aof_rewrite_in_progress", server.appendOnly.rewriteInProgress ? "1" : "0"),
                ("aof_rewrite_scheduled", server.appendOnly.rewriteRequested ? "1" : "0"),
                ("aof_last_bgrewrite_status", server.appendOnly.lastRewriteSucceeded ? "ok" : "err"),
                ("aof_last_write_status", (server.appendOnly.writer?.failure != nil || server.appendOnly.lastWriteFailed) ? "err" : "ok"),
                ("aof_last_write_error", server.appendOnly.writer?.lastError?.message ?? ""),
                ("aof_last_write_error_time", String(server.appendOnly.writer?.lastError?.unixSeconds ?? 0)),
            ] + (server.appendOnly.enabled ? [
                ("aof_current_size", String(AppendOnlyState.fileSize(server.appendOnly.path(in: server.snapshots.directory)))),
                ("aof_base_size", String(server.appendOnly.baseSize)),
            ] : [])
        case "memory":
            let scripts = server.scripts
            return MemoryReport.infoFields(db) + [
                ("used_memory_lua", String(scripts.interpreterBytes)),
                ("used_memory_scripts", String(scripts.bodyBytes)),
                ("number_of_cached_scripts", String(scripts.bodies.count)),
            ]
        case "commandstats":
            return statistics.byCommand.sorted { $0.key < $1.key }.map { name, counters in
                let perCall = counters.calls > 0 ? Double(counters.microseconds) / Double(counters.calls) : 0
                return ("cmdstat_\(name)", "calls=\(counters.calls),usec=\(counters.microseconds),usec_per_call=\(String(format: "%.2f", perCall)),rejected_calls=0,failed_calls=\(counters.failedCalls)")
            }
        case "errorstats":
            return statistics.byError.sorted { $0.key < $1.key }.map { ("errorstat_\($0.key)", "count=\($0.value)") }
        case "keyspace":
            let keys = db.keyspace.count
            guard keys > 0 else { return [] }
            return [("db0", "keys=\(keys),expires=\(db.keyspace.volatileCount),avg_ttl=0")]
        default:
            return server.infoSections[section]?() ?? []
        }
    }

    /// Redis's text: `# Server\r\nkey:value\r\n`, sections separated by a blank line.
    public static func render(_ sections: [Section]) -> String {
        sections.map { section in
            "# " + section.name.prefix(1).uppercased() + section.name.dropFirst() + "\r\n"
                + section.fields.map { "\($0.0):\($0.1)\r\n" }.joined()
        }.joined(separator: "\r\n")
    }

    private static func osName() -> String {
        var name = utsname()
        uname(&name)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        }
        return "\(text(name.sysname)) \(text(name.release)) \(text(name.machine))"
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
