import Foundation
import KeywayEngine
import KeywayHTTP
import Synchronization

/// `GET /metrics`: Prometheus text exposition (format 0.0.4) of what INFO
/// and the router count: commands and their time, errors, HTTP responses by
/// route and status class, keys, expirations, clients, streams, memory and
/// persistence. Built on request from counters kept anyway, so it costs
/// nothing between scrapes.
enum MetricsRoutes {
    /// The router's counters, known once every route is registered.
    final class RouteCounters: Sendable {
        let routes = Mutex<[RouteStatistics]>([])
    }

    static func register(_ routes: Routes) -> RouteCounters {
        let counters = RouteCounters()
        // ACL: only users who may run INFO, unless `metrics-access open`.
        let group = routes.resource.gateway.metricsOpen ? routes.open : routes.resource
        group.get("/metrics") { context throws(HTTPResponse) in try metrics(context, counters) }
        return counters
    }

    static func metrics(_ context: ResourceContext, _ counters: RouteCounters) throws(HTTPResponse) -> HTTPResponse {
        guard case .bulk(let text) = try context.execute("INFO", ["all"]) else {
            throw Problem.response(500, code: "ERR", detail: "INFO failed")
        }
        let sections = ServerRoutes.parseInfo(text.text)
        let info = Dictionary(sections.flatMap { $0.1 }, uniquingKeysWith: { first, _ in first })
        var out = Exposition()

        let commands = (sections.first(where: { $0.0 == "commandstats" })?.1 ?? []).map { name, value in
            (String(name.dropFirst("cmdstat_".count)), keyValues(value))
        }
        // Each family's samples follow its own HELP/TYPE lines, as the format requires.
        out.family("keyway_commands_total", "counter", "Commands executed, by command.")
        for (command, fields) in commands { out.sample("keyway_commands_total", ["command": command], fields["calls"] ?? "0") }
        out.family("keyway_command_duration_seconds_total", "counter", "Time spent executing commands, by command.")
        for (command, fields) in commands {
            out.sample("keyway_command_duration_seconds_total", ["command": command], String(Double(fields["usec"] ?? "0").map { $0 / 1_000_000 } ?? 0))
        }
        out.family("keyway_command_failures_total", "counter", "Commands that answered an error, by command.")
        for (command, fields) in commands { out.sample("keyway_command_failures_total", ["command": command], fields["failed_calls"] ?? "0") }
        out.family("keyway_errors_total", "counter", "Error replies, by their first word.")
        for (name, value) in sections.first(where: { $0.0 == "errorstats" })?.1 ?? [] {
            out.sample("keyway_errors_total", ["prefix": String(name.dropFirst("errorstat_".count))], keyValues(value)["count"] ?? "0")
        }

        out.family("keyway_http_responses_total", "counter", "HTTP responses, by route and status class.")
        for route in counters.routes.withLock({ $0 }) {
            for statusClass in 1...5 {
                let count = route.responses(statusClass: statusClass)
                guard count > 0 else { continue }
                out.sample("keyway_http_responses_total", ["method": route.method, "route": route.pattern, "status": "\(statusClass)xx"], String(count))
            }
        }

        let keyspace = keyValues(info["db0"] ?? "")
        out.gauge("keyway_keys", "Keys in the keyspace.", keyspace["keys"] ?? "0")
        out.gauge("keyway_keys_with_expiry", "Keys with a TTL.", keyspace["expires"] ?? "0")
        out.counter("keyway_expired_keys_total", "Keys removed because their TTL passed.", info["expired_keys"])
        out.counter("keyway_keyspace_hits_total", "Key lookups that found the key.", info["keyspace_hits"])
        out.counter("keyway_keyspace_misses_total", "Key lookups that did not.", info["keyspace_misses"])
        out.gauge("keyway_instantaneous_ops_per_second", "Commands per second, recent average.", info["instantaneous_ops_per_sec"])
        out.gauge("keyway_connections", "Open client connections.", info["connected_clients"])
        out.gauge("keyway_blocked_clients", "Requests parked in a blocking command.", info["blocked_clients"])
        out.gauge("keyway_event_streams", "Open Server-Sent Event streams.", info["pubsub_clients"])
        out.gauge("keyway_resident_memory_bytes", "Resident set size of the process.", String(residentBytes()))
        out.gauge("keyway_memory_used_bytes", "Estimated bytes held by keys and values (used_memory).", info["used_memory"])
        out.gauge("keyway_memory_max_bytes", "The maxmemory limit in bytes; 0 means none.", info["maxmemory"])
        out.counter("keyway_evicted_keys_total", "Keys evicted to stay under maxmemory.", info["evicted_keys"])
        out.gauge("keyway_uptime_seconds", "Seconds since start.", info["uptime_in_seconds"])
        out.gauge("keyway_loading", "1 while the dataset loads at start-up.", info["loading"])
        out.gauge("keyway_rdb_changes_since_last_save", "Writes not yet in a snapshot.", info["rdb_changes_since_last_save"])
        out.gauge("keyway_rdb_last_save_timestamp_seconds", "Unix time of the last successful snapshot.", info["rdb_last_save_time"])
        out.gauge("keyway_rdb_last_save_success", "1 when the last snapshot succeeded.", info["rdb_last_bgsave_status"] == "ok" ? "1" : "0")
        out.gauge("keyway_aof_enabled", "1 when the append-only file is on.", info["aof_enabled"])
        out.gauge("keyway_aof_last_rewrite_success", "1 when the last AOF rewrite succeeded.", info["aof_last_bgrewrite_status"] == "ok" ? "1" : "0")
        if info["backend"] == "cluster" {
            out.gauge("keyway_cluster_masters", "Masters the slot map names.", info["cluster_masters_known"])
            out.gauge("keyway_cluster_slots_covered", "Slots some master serves (16384 when all are).", info["cluster_slots_covered"])
            out.counter("keyway_cluster_map_refreshes_total", "Slot map reloads (CLUSTER SLOTS).", info["cluster_map_refreshes"])
            out.counter("keyway_cluster_moved_total", "MOVED redirections followed.", info["cluster_moved_redirections"])
            out.counter("keyway_cluster_ask_total", "ASK redirections followed.", info["cluster_ask_redirections"])
            out.counter("keyway_cluster_connection_errors_total", "Node connections that failed or broke.", info["cluster_connection_errors"])
            out.counter("keyway_cluster_upstream_requests_total", "Round trips to cluster nodes.", info["cluster_upstream_requests"])
            out.counter("keyway_cluster_replica_reads_total", "Reads replicas served (cluster-read-from replicas).",
                        info["cluster_replica_reads"])
            out.counter("keyway_cluster_replica_fallbacks_total", "Reads meant for a replica that the master served.",
                        info["cluster_replica_fallbacks"])
            out.counter("keyway_cluster_upstream_seconds_total", "Time spent waiting for cluster nodes.",
                        String((Double(info["cluster_upstream_usec"] ?? "0") ?? 0) / 1_000_000))
        }
        return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(out.text.utf8))
    }

    static func keyValues(_ text: String) -> [String: String] {
        Dictionary(text.split(separator: ",").compactMap { pair -> (String, String)? in
            let parts = pair.split(separator: "=", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }, uniquingKeysWith: { first, _ in first })
    }

    /// The process's resident set size, from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Prometheus text format writer.
    struct Exposition {
        var text = ""

        mutating func family(_ name: String, _ type: String, _ help: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }

        mutating func sample(_ name: String, _ labels: [String: String], _ value: String) {
            let rendered = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(escape($0.value))\"" }.joined(separator: ",")
            text += labels.isEmpty ? "\(name) \(value)\n" : "\(name){\(rendered)} \(value)\n"
        }

        mutating func gauge(_ name: String, _ help: String, _ value: String?) {
            family(name, "gauge", help)
            sample(name, [:], value ?? "0")
        }

        mutating func counter(_ name: String, _ help: String, _ value: String?) {
            family(name, "counter", help)
            sample(name, [:], value ?? "0")
        }

        func escape(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
        }
    }
}
