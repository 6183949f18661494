import KeywayEngine
import KeywayHTTP

/// `/v1/slowlog` (SLOWLOG as JSON) and `/readyz` (ready to serve: the data
/// has loaded, and writes are not refused for maxmemory).
enum ObservabilityRoutes {
    static func register(_ routes: Routes) {
        let slowlog = routes.resource.group("/v1/slowlog")
        slowlog.get(get)
        slowlog.delete(reset)
        routes.open.get("/readyz", ready)
    }

    /// Ready to serve: 503 while the data loads, while writes are refused
    /// for maxmemory (OOM) until memory is freed, or while they are refused
    /// because the data cannot be persisted (MISCONF: `persistence_failed`).
    static func ready(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        if context.executor.isLoading {
            return HTTPResponse(status: 503, headers: [("Content-Type", "application/json"), ("Retry-After", "1")],
                                body: Array(#"{"status":"loading"}"#.utf8))
        }
        if context.executor.isOutOfMemory {
            return HTTPResponse(status: 503, contentType: "application/json", body: Array(#"{"status":"oom"}"#.utf8))
        }
        if let failure = context.executor.persistenceFailure {
            return context.json(503) { o in
                o.member("status") { $0.string("persistence_failed") }
                o.member("detail") { $0.string(failure) }
            }
        }
        if let problem = context.executor.backendProblem {
            return context.json(503) { o in
                o.member("status") { $0.string("cluster_unavailable") }
                o.member("detail") { $0.string(problem) }
            }
        }
        return HTTPResponse(status: 200, contentType: "application/json", body: Array(#"{"status":"ready"}"#.utf8))
    }

    static func reset(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        try context.execute("SLOWLOG", ["RESET"])
        return HTTPResponse(status: 204)
    }

    /// `?count=n` (default 10, -1 for all) → `{"entries":[{"id","time","durationMicros","command":[...],"client","clientName"}], "length": n}`.
    static func get(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let count = context.request.queryValue("count").map(Bytes.init) ?? "10"
        guard case .array(let entries) = try context.execute("SLOWLOG", ["GET", count]) else {
            throw Problem.badRequest("unexpected reply")
        }
        let length = context.executor.execute(context.command("SLOWLOG", ["LEN"]))
        return context.json { o in
            o.member("entries") { json in
                json.array(entries) { json, entry in
                    guard case .array(let fields) = entry, fields.count >= 4,
                          case .integer(let id) = fields[0], case .integer(let time) = fields[1],
                          case .integer(let micros) = fields[2], case .array(let words) = fields[3] else { json.null(); return }
                    json.object { e in
                        e.member("id") { $0.integer(id) }
                        e.member("time") { $0.integer(time) }
                        e.member("durationMicros") { $0.integer(micros) }
                        e.member("command") { json in
                            json.array(words) { json, word in
                                if case .bulk(let bytes) = word { json.string(bytes: bytes.storage) } else { json.null() }
                            }
                        }
                        if fields.count >= 6, case .bulk(let address) = fields[4], case .bulk(let name) = fields[5] {
                            e.member("client") { $0.string(bytes: address.storage) }
                            e.member("clientName") { $0.string(bytes: name.storage) }
                        }
                    }
                }
            }
            if case .integer(let n) = length { o.member("length") { $0.integer(n) } }
        }
    }
}
