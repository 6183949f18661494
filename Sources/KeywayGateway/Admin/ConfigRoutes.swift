import KeywayEngine
import KeywayHTTP

/// `/v1/config`: CONFIG GET as a JSON object, CONFIG SET from one.
enum ConfigRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("GET", "/v1/config", gateway.route(.resource) { request, _ in get(request, gateway) })
        router.add("PATCH", "/v1/config", gateway.route(.resource) { request, _ in patch(request, gateway) })
    }

    /// `?name=pattern` (repeatable, globs; default `*`) → `{"config": {...}}`.
    static func get(_ request: HTTPRequest, _ gateway: Gateway) -> HTTPResponse {
        let patterns = request.queryValues("name").map(Bytes.init)
        let reply = gateway.executor.execute(Command("CONFIG", ["GET"] + (patterns.isEmpty ? ["*"] : patterns)))
        guard case .map(let pairs) = reply else {
            if case .error(let error) = reply { return Problem.from(error) }
            return Problem.badRequest("unexpected reply")
        }
        return render(pairs)
    }

    static func render(_ pairs: [Reply]) -> HTTPResponse {
        KeyRoutes.json(200) { o in
            o.member("config") { json in
                json.object { config in
                    var index = 0
                    while index + 1 < pairs.count {
                        if case .bulk(let name) = pairs[index], case .bulk(let value) = pairs[index + 1] {
                            config.member(name.text) { $0.string(bytes: value.storage) }
                        }
                        index += 2
                    }
                }
            }
        }
    }

    /// `{"save": "3600 1", "notify-keyspace-events": "Ex"}` → one CONFIG SET
    /// (all or nothing), answered with the new values.
    static func patch(_ request: HTTPRequest, _ gateway: Gateway) -> HTTPResponse {
        guard case .success(.json(let object)) = RequestBody.read(request, allowRaw: false),
              case .object(let members) = object, !members.isEmpty else {
            if case .failure(let problem) = RequestBody.read(request, allowRaw: false) { return problem }
            return Problem.badRequest("send an object of parameters, e.g. {\"save\": \"3600 1\"}")
        }
        var arguments: [Bytes] = ["SET"]
        for (name, value) in members {
            switch value {
            case .string(let text): arguments += [Bytes(name), Bytes(text)]
            case .number(let text): arguments += [Bytes(name), Bytes(text)]
            case .bool(let flag): arguments += [Bytes(name), flag ? "yes" : "no"]
            default: return Problem.badRequest("'\(name)' must be a string, number or boolean")
            }
        }
        let reply = gateway.executor.execute(Command("CONFIG", arguments))
        if case .error(let error) = reply { return Problem.from(error) }
        let names = members.map { Bytes($0.0) }
        guard case .map(let pairs) = gateway.executor.execute(Command("CONFIG", ["GET"] + names)) else {
            return Problem.badRequest("unexpected reply")
        }
        return render(pairs)
    }
}
