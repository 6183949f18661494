import KeywayEngine
import KeywayHTTP

/// `/v1/acl`: users, issued tokens and the ACL log as JSON. Each route runs
/// the ACL command it stands for, as the request's user, so the same rules
/// decide who may manage access (`acl` is `@admin`); only `whoami` answers
/// any authenticated user (and says which commands that user may run).
enum ACLRoutes {
    static func register(_ routes: Routes) {
        let acl = routes.resource.group("/v1/acl")
        acl.get("/whoami", whoami)
        acl.get("/users", listUsers)
        acl.get("/users/{name}", getUser)
        acl.put("/users/{name}", setUser)
        acl.delete("/users/{name}", deleteUser)
        acl.post("/tokens", createToken)
        acl.get("/tokens", listTokens)
        acl.delete("/tokens/{id}", revokeToken)
        acl.get("/log", log)
        acl.delete("/log", resetLog)
    }

    /// `{"user": "alice"}`: who the request authenticated as. With
    /// `?command=set&command=config|get`, also whether the user's rules
    /// allow each command (keys aside): `"commands": {"set": true, ...}`,
    /// so a client such as the dashboard offers only what will work.
    static func whoami(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let asked = context.request.queryValues("command").map { String(decoding: $0, as: UTF8.self).lowercased() }
        let executor = context.gateway.executor
        return context.json { o in
            o.member("user") { $0.string(context.user?.name ?? "default") }
            guard !asked.isEmpty else { return }
            o.member("commands") { json in
                json.object { commands in
                    for name in asked {
                        let words = name.split(separator: "|", maxSplits: 1).map { Bytes(String($0)) }
                        let allowed = words.first.flatMap { executor.commandSpec($0) }.map { spec in
                            context.user?.denial(for: spec, words) == nil
                        } ?? false
                        commands.member(name) { $0.bool(allowed) }
                    }
                }
            }
        }
    }

    /// `{"users": [{"name": ..., "rules": "on #... ~* +@all"}]}`, as ACL LIST.
    static func listUsers(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        guard case .array(let lines) = try context.execute("ACL", ["LIST"]) else { throw unexpected }
        let users = lines.compactMap { line -> (String, String)? in
            guard case .bulk(let text) = line else { return nil }
            let words = text.text.split(separator: " ", maxSplits: 2).map(String.init)
            return words.count == 3 ? (words[1], words[2]) : nil
        }
        return context.json { o in
            o.member("users") { json in
                json.array(users) { json, user in
                    json.object { u in
                        u.member("name") { $0.string(user.0) }
                        u.member("rules") { $0.string(user.1) }
                    }
                }
            }
        }
    }

    /// ACL GETUSER as an object; 404 for no such user.
    static func getUser(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let name = try context.textParameter("name")
        let reply = try context.execute("ACL", ["GETUSER", Bytes(name)])
        guard reply != .null else { throw noSuchUser(name) }
        return render(reply)
    }

    /// `{"rules": ["on", ">secret", "~app:*", "+@read"]}` (or one string)
    /// applied as ACL SETUSER: 200 with the user as it now is.
    static func setUser(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let name = try context.textParameter("name")
        let body = try context.jsonObject(hint: #"send {"rules": ["on", ">password", "~key:*", "+@read"]}"#)
        let rules: [String]
        switch body["rules"] {
        case .string(let text)?: rules = text.split(separator: " ").map(String.init)
        case .array(let items)?:
            rules = try items.map { item throws(HTTPResponse) -> String in
                guard case .string(let rule) = item else { throw Problem.badRequest("'rules' must hold strings") }
                return rule
            }
        default: throw Problem.badRequest("'rules' must be an array of strings or one string")
        }
        try context.execute("ACL", ["SETUSER", Bytes(name)] + rules.map { Bytes($0) })
        return render(try context.execute("ACL", ["GETUSER", Bytes(name)]))
    }

    /// 204, or 404 for no such user.
    static func deleteUser(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let name = try context.textParameter("name")
        guard try context.execute("ACL", ["DELUSER", Bytes(name)]) == .integer(1) else { throw noSuchUser(name) }
        return HTTPResponse(status: 204)
    }

    /// `{"user": "svc", "ttl": 3600, "label": "ci"}` → 201 with the token,
    /// shown this once.
    static func createToken(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let fields = try context.fields()
        let (user, ttl, label) = try context.reading { () throws(FieldError) in
            (try fields.string("user"), try fields.number("ttl"), try fields.string("label"))
        }
        guard let user, !user.isEmpty else { throw Problem.badRequest("'user' is required") }
        var arguments: [Bytes] = ["TOKEN", "CREATE", Bytes(user)]
        if let ttl {
            guard Int64(ttl) != nil else { throw Problem.badRequest("'ttl' must be whole seconds") }
            arguments += ["TTL", Bytes(ttl)]
        }
        if let label { arguments += ["LABEL", Bytes(label)] }
        var response = render(try context.execute("ACL", arguments))
        response.status = 201
        return response
    }

    /// `{"tokens": [...]}`, without secrets; `?user=` filters.
    static func listTokens(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        var arguments: [Bytes] = ["TOKEN", "LIST"]
        if let user = context.request.queryString("user") { arguments.append(Bytes(user)) }
        let reply = try context.execute("ACL", arguments)
        var json = JSONWriter()
        json.object { o in o.member("tokens") { StreamRoutes.writeInfo(reply, base64: false, into: &$0) } }
        return JSONResponse.ok(json)
    }

    /// 204, or 404 for no such token.
    static func revokeToken(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let id = context.parameter("id")
        guard try context.execute("ACL", ["TOKEN", "REVOKE", id]) == .integer(1) else {
            throw Problem.response(404, code: "NOT_FOUND", detail: "no such token: \(id.text)")
        }
        return HTTPResponse(status: 204)
    }

    /// `{"entries": [...]}`, newest first; `?count=` limits.
    static func log(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        var arguments: [Bytes] = ["LOG"]
        if let count = context.request.queryString("count") {
            guard let number = Int(count), number >= 0 else { throw Problem.badRequest("'count' must be a whole number") }
            arguments.append(Bytes(String(number)))
        }
        let reply = try context.execute("ACL", arguments)
        var json = JSONWriter()
        json.object { o in o.member("entries") { StreamRoutes.writeInfo(reply, base64: false, into: &$0) } }
        return JSONResponse.ok(json)
    }

    static func resetLog(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        try context.execute("ACL", ["LOG", "RESET"])
        return HTTPResponse(status: 204)
    }

    static func render(_ reply: Reply) -> HTTPResponse {
        var json = JSONWriter()
        StreamRoutes.writeInfo(reply, base64: false, into: &json)
        return JSONResponse.ok(json)
    }

    static func noSuchUser(_ name: String) -> HTTPResponse {
        Problem.response(404, code: "NO_SUCH_USER", detail: "no such user: \(name)")
    }

    static let unexpected = Problem.response(500, code: "ERR", detail: "unexpected reply")
}
