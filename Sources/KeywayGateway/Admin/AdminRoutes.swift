import KeywayEngine
import KeywayHTTP

/// `/v1/admin`: snapshots and append-only file rewrites on demand.
enum AdminRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("POST", "/v1/admin/save", gateway.route(.resource) { _, _ in save(gateway) })
        router.add("POST", "/v1/admin/bgsave", gateway.route(.resource) { request, _ in bgsave(request, gateway) })
        router.add("GET", "/v1/admin/lastsave", gateway.route(.resource) { _, _ in lastsave(gateway) })
        router.add("POST", "/v1/admin/bgrewriteaof", gateway.route(.resource) { _, _ in bgrewriteaof(gateway) })
    }

    static func lastSaveTime(_ gateway: Gateway) -> Int64 {
        if case .integer(let time) = gateway.executor.execute(Command("LASTSAVE")) { return time }
        return 0
    }

    /// A save already running is a conflict with the request, not a bad request.
    static func problem(_ error: CommandError) -> HTTPResponse {
        if error.message.contains("already in progress") {
            if error.message.contains("append only") {
                return Problem.response(409, code: "REWRITE_IN_PROGRESS", detail: error.message)
            }
            return Problem.response(409, code: "SAVE_IN_PROGRESS", detail: error.message)
        }
        return Problem.from(error)
    }

    /// SAVE: 200 once the snapshot is on disk.
    static func save(_ gateway: Gateway) -> HTTPResponse {
        if case .error(let error) = gateway.executor.execute(Command("SAVE")) { return problem(error) }
        let time = lastSaveTime(gateway)
        return KeyRoutes.json(200) { o in
            o.member("saved") { $0.bool(true) }
            o.member("lastSave") { $0.integer(time) }
        }
    }

    /// BGSAVE (`?schedule=true` for BGSAVE SCHEDULE): 202, the save runs on.
    static func bgsave(_ request: HTTPRequest, _ gateway: Gateway) -> HTTPResponse {
        var arguments: [Bytes] = []
        switch request.queryString("schedule")?.lowercased() {
        case nil, "false": break
        case "true": arguments.append("SCHEDULE")
        default: return Problem.badRequest("'schedule' must be true or false")
        }
        let reply = gateway.executor.execute(Command("BGSAVE", arguments))
        guard case .status(let status) = reply else {
            if case .error(let error) = reply { return problem(error) }
            return Problem.badRequest("unexpected reply")
        }
        return KeyRoutes.json(202) { o in o.member("status") { $0.string(status) } }
    }

    /// BGREWRITEAOF: 202, the rewrite runs on while writes continue.
    static func bgrewriteaof(_ gateway: Gateway) -> HTTPResponse {
        let reply = gateway.executor.execute(Command("BGREWRITEAOF"))
        guard case .status(let status) = reply else {
            if case .error(let error) = reply { return problem(error) }
            return Problem.badRequest("unexpected reply")
        }
        return KeyRoutes.json(202) { o in o.member("status") { $0.string(status) } }
    }

    static func lastsave(_ gateway: Gateway) -> HTTPResponse {
        let time = lastSaveTime(gateway)
        return KeyRoutes.json(200) { o in o.member("lastSave") { $0.integer(time) } }
    }
}
