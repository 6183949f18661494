import KeywayEngine
import KeywayHTTP

/// `/v1/config`: CONFIG GET as a JSON object, CONFIG SET from one.
enum ConfigRoutes {
    static func register(_ routes: Routes) {
        let config = routes.resource.group("/v1/config")
        config.get(get)
        config.patch(patch)
    }

    /// `?name=pattern` (repeatable, globs; default `*`) → `{"config": {...}}`.
    static func get(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let patterns = context.request.queryValues("name").map(Bytes.init)
        guard case .map(let pairs) = try context.execute("CONFIG", ["GET"] + (patterns.isEmpty ? ["*"] : patterns)) else {
            throw Problem.badRequest("unexpected reply")
        }
        return render(context, pairs)
    }

    static func render(_ context: ResourceContext, _ pairs: [Reply]) -> HTTPResponse {
        context.json { o in
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
    static func patch(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let hint = "send an object of parameters, e.g. {\"save\": \"3600 1\"}"
        guard case .object(let members) = try context.jsonObject(hint: hint), !members.isEmpty else {
            throw Problem.badRequest(hint)
        }
        var arguments: [Bytes] = ["SET"]
        for (name, value) in members {
            switch value {
            case .string(let text): arguments += [Bytes(name), Bytes(text)]
            case .number(let text): arguments += [Bytes(name), Bytes(text)]
            case .bool(let flag): arguments += [Bytes(name), flag ? "yes" : "no"]
            default: throw Problem.badRequest("'\(name)' must be a string, number or boolean")
            }
        }
        try context.execute("CONFIG", arguments)
        let names = members.map { Bytes($0.0) }
        guard case .map(let pairs) = context.executor.execute(context.command("CONFIG", ["GET"] + names)) else {
            throw Problem.badRequest("unexpected reply")
        }
        return render(context, pairs)
    }
}
