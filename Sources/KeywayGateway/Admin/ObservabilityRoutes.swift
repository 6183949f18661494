import KeywayEngine
import KeywayHTTP

/// `/v1/slowlog` (SLOWLOG as JSON) and `/readyz` (ready to serve: the data
/// has loaded, and writes are not refused for maxmemory).
enum ObservabilityRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("GET", "/v1/slowlog", gateway.route(.resource) { request, _ in slowlog(request, gateway) })
        router.add("DELETE", "/v1/slowlog", gateway.route(.resource) { _, _ in
            let reply = gateway.executor.execute(Command("SLOWLOG", ["RESET"]))
            if case .error(let error) = reply { return Problem.from(error) }
            return HTTPResponse(status: 204)
        })
        router.add("GET", "/readyz", gateway.route(.open) { _, _ in
            if gateway.executor.isLoading {
                return HTTPResponse(status: 503, headers: [("Content-Type", "application/json"), ("Retry-After", "1")],
                                    body: Array(#"{"status":"loading"}"#.utf8))
            }
            // Writes that need memory are refused (OOM) until memory is freed.
            if gateway.executor.isOutOfMemory {
                return HTTPResponse(status: 503, contentType: "application/json", body: Array(#"{"status":"oom"}"#.utf8))
            }
            return HTTPResponse(status: 200, contentType: "application/json", body: Array(#"{"status":"ready"}"#.utf8))
        })
    }

    /// `?count=n` (default 10, -1 for all) → `{"entries":[{"id","time","durationMicros","command":[...]}], "length": n}`.
    static func slowlog(_ request: HTTPRequest, _ gateway: Gateway) -> HTTPResponse {
        let count = request.queryValue("count").map(Bytes.init) ?? "10"
        let reply = gateway.executor.execute(Command("SLOWLOG", ["GET", count]))
        guard case .array(let entries) = reply else {
            if case .error(let error) = reply { return Problem.from(error) }
            return Problem.badRequest("unexpected reply")
        }
        let length = gateway.executor.execute(Command("SLOWLOG", ["LEN"]))
        return KeyRoutes.json(200) { o in
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
                    }
                }
            }
            if case .integer(let n) = length { o.member("length") { $0.integer(n) } }
        }
    }
}
