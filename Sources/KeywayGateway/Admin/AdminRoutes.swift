import KeywayEngine
import KeywayHTTP

/// `/v1/admin`: snapshots and append-only file rewrites on demand.
enum AdminRoutes {
    static func register(_ routes: Routes) {
        let admin = routes.resource.group("/v1/admin")
        admin.post("/save", save)
        admin.post("/bgsave", bgsave)
        admin.get("/lastsave", lastsave)
        admin.post("/bgrewriteaof", bgrewriteaof)
    }

    /// LASTSAVE after a save the request ran: the gateway's own read.
    static func lastSaveTime(_ context: ResourceContext) -> Int64 {
        if case .integer(let time) = context.executor.execute(context.serverCommand("LASTSAVE", [])) { return time }
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
    static func save(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        try context.execute("SAVE", [], onError: problem)
        let time = lastSaveTime(context)
        return context.json { o in
            o.member("saved") { $0.bool(true) }
            o.member("lastSave") { $0.integer(time) }
        }
    }

    /// BGSAVE (`?schedule=true` for BGSAVE SCHEDULE): 202, the save runs on.
    static func bgsave(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        var arguments: [Bytes] = []
        switch context.request.queryString("schedule")?.lowercased() {
        case nil, "false": break
        case "true": arguments.append("SCHEDULE")
        default: throw Problem.badRequest("'schedule' must be true or false")
        }
        return try started(context, "BGSAVE", arguments)
    }

    /// BGREWRITEAOF: 202, the rewrite runs on while writes continue.
    static func bgrewriteaof(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        try started(context, "BGREWRITEAOF", [])
    }

    /// A background job the command started: 202 with its status line.
    static func started(_ context: ResourceContext, _ name: String, _ arguments: [Bytes]) throws(HTTPResponse) -> HTTPResponse {
        guard case .status(let status) = try context.execute(name, arguments, onError: problem) else {
            throw Problem.badRequest("unexpected reply")
        }
        return context.json(202) { o in o.member("status") { $0.string(status) } }
    }

    static func lastsave(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        guard case .integer(let time) = try context.execute("LASTSAVE", []) else {
            throw Problem.response(500, code: "ERR", detail: "unexpected reply")
        }
        return context.json { o in o.member("lastSave") { $0.integer(time) } }
    }
}
