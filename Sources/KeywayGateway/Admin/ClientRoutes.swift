import KeywayEngine
import KeywayHTTP

/// `GET /v1/clients` (CLIENT LIST as JSON) and `DELETE /v1/clients/{id}`
/// (CLIENT KILL ID). Both run the CLIENT command and reshape its answer, so
/// the JSON view can never disagree with the command API.
enum ClientRoutes {
    static func register(_ routes: Routes) {
        let clients = routes.resource.group("/v1/clients")
        clients.get(list)
        clients.delete("/{id}", kill)
    }

    /// `?type=normal|pubsub` and repeated `?id=` filter as CLIENT LIST's
    /// TYPE and ID do → `{"clients":[{...}], "count": n}`.
    static func list(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        var arguments: [Bytes] = ["LIST"]
        let ids = context.request.queryValues("id")
        if let type = context.request.queryValue("type") {
            guard ids.isEmpty else { throw Problem.badRequest("use either type or id, not both (as CLIENT LIST does)") }
            arguments += ["TYPE", Bytes(type)]
        } else if !ids.isEmpty {
            arguments += ["ID"] + ids.map(Bytes.init)
        }
        guard case .bulk(let text) = try context.execute("CLIENT", arguments) else {
            throw Problem.badRequest("unexpected reply")
        }
        let clients = parse(text.text)
        return context.json { o in
            o.member("clients") { json in
                json.array(clients) { json, fields in
                    json.object { c in
                        for (name, value) in fields {
                            if integerFields.contains(name), let number = Int64(value) {
                                c.member(jsonName(name)) { $0.integer(number) }
                            } else if name == "cmd" && value == "NULL" {
                                c.member("cmd") { $0.null() }
                            } else {
                                c.member(jsonName(name)) { $0.string(value) }
                            }
                        }
                    }
                }
            }
            o.member("count") { $0.integer(Int64(clients.count)) }
        }
    }

    /// Closes a connection: 204, or 404 when no such client is open.
    static func kill(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let id = context.parameter("id")
        guard let number = Int64(id.text), number > 0 else {
            throw Problem.badRequest("the client id must be a positive integer")
        }
        guard case .integer(let killed) = try context.execute("CLIENT", ["KILL", "ID", id, "SKIPME", "no"]), killed > 0 else {
            throw Problem.response(404, code: "NOT_FOUND", detail: "no such client: \(number)")
        }
        return HTTPResponse(status: 204)
    }

    static let integerFields: Set<String> = [
        "id", "fd", "age", "idle", "db", "sub", "psub", "ssub", "multi", "watch", "tot-net-in", "tot-net-out",
    ]

    /// `tot-net-in` → `totNetIn`, as the rest of the JSON API spells names.
    static func jsonName(_ field: String) -> String {
        let parts = field.split(separator: "-")
        return parts.enumerated().map { index, part in index == 0 ? String(part) : part.prefix(1).uppercased() + part.dropFirst() }.joined()
    }

    /// CLIENT LIST's lines as ordered `name=value` pairs. Values hold no
    /// spaces (client names may not), so splitting on spaces is exact.
    static func parse(_ text: String) -> [[(String, String)]] {
        text.split(separator: "\n").map { line in
            line.split(separator: " ").map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            }
        }
    }
}
