import KeywayEngine
import KeywayHTTP

/// `GET /v1/clients` (CLIENT LIST as JSON) and `DELETE /v1/clients/{id}`
/// (CLIENT KILL ID). Both run the CLIENT command and reshape its answer, so
/// the JSON view can never disagree with the command API.
enum ClientRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("GET", "/v1/clients", gateway.route(.resource) { request, _ in list(request, gateway) })
        router.add("DELETE", "/v1/clients/{id}", gateway.route(.resource) { request, parameters in
            kill(request, Bytes(parameters["id"] ?? []), gateway)
        })
    }

    /// `?type=normal|pubsub` and repeated `?id=` filter as CLIENT LIST's
    /// TYPE and ID do → `{"clients":[{...}], "count": n}`.
    static func list(_ request: HTTPRequest, _ gateway: Gateway) -> HTTPResponse {
        var arguments: [Bytes] = ["LIST"]
        let ids = request.queryValues("id")
        if let type = request.queryValue("type") {
            guard ids.isEmpty else { return Problem.badRequest("use either type or id, not both (as CLIENT LIST does)") }
            arguments += ["TYPE", Bytes(type)]
        } else if !ids.isEmpty {
            arguments += ["ID"] + ids.map(Bytes.init)
        }
        var command = Command("CLIENT", arguments)
        command.clientID = request.connection?.id
        let reply = gateway.executor.execute(command)
        guard case .bulk(let text) = reply else {
            if case .error(let error) = reply { return Problem.from(error) }
            return Problem.badRequest("unexpected reply")
        }
        let clients = parse(text.text)
        return KeyRoutes.json(200) { o in
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
    static func kill(_ request: HTTPRequest, _ id: Bytes, _ gateway: Gateway) -> HTTPResponse {
        guard let number = Int64(id.text), number > 0 else {
            return Problem.badRequest("the client id must be a positive integer")
        }
        var command = Command("CLIENT", ["KILL", "ID", id, "SKIPME", "no"])
        command.clientID = request.connection?.id
        switch gateway.executor.execute(command) {
        case .integer(let killed) where killed > 0: return HTTPResponse(status: 204)
        case .error(let error): return Problem.from(error)
        default: return Problem.response(404, code: "NOT_FOUND", detail: "no such client: \(number)")
        }
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
