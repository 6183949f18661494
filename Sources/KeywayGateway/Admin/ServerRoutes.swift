import KeywayEngine
import KeywayHTTP

/// `/healthz` and `/v1/info`.
enum ServerRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("GET", "/healthz", gateway.route(.open) { _, _ in
            HTTPResponse(status: 200, contentType: "application/json", body: Array(#"{"status":"ok"}"#.utf8))
        })
        router.add("GET", "/v1/info", gateway.route(.resource) { request, _ in info(request, gateway) })
    }

    /// INFO as JSON: `{"server": {"redis_version": "7.2.0", ...}, ...}`.
    /// Numeric values become numbers; `k=v,k=v` values (keyspace) objects.
    static func info(_ request: HTTPRequest, _ gateway: Gateway) -> HTTPResponse {
        var arguments = [Bytes("INFO")]
        for section in request.queryValues("section") { arguments.append(Bytes(section)) }
        let reply = gateway.executor.execute(Command(arguments))
        guard case .bulk(let text) = reply else {
            if case .error(let error) = reply { return Problem.from(error) }
            return Problem.response(500, code: "ERR", detail: "unexpected INFO reply")
        }
        var json = JSONWriter(capacity: 1024)
        let sections = parseInfo(text.text)
        json.object { o in
            for (name, fields) in sections {
                o.member(name) { section in
                    section.object { fieldWriter in
                        for (key, value) in fields {
                            fieldWriter.member(key) { writeInfoValue(value, into: &$0) }
                        }
                    }
                }
            }
        }
        return HTTPResponse(status: 200, contentType: "application/json", body: json.bytes)
    }

    static func parseInfo(_ text: String) -> [(String, [(String, String)])] {
        var sections: [(String, [(String, String)])] = []
        for line in text.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
            if line.hasPrefix("# ") {
                sections.append((line.dropFirst(2).lowercased(), []))
            } else if let colon = line.firstIndex(of: ":"), !sections.isEmpty {
                sections[sections.count - 1].1.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        return sections
    }

    static func writeInfoValue(_ value: String, into json: inout JSONWriter) {
        if let integer = Int64(value) {
            json.integer(integer)
        } else if let double = Double(value), value.contains(".") {
            json.double(double)
        } else if value.contains("="), value.split(separator: ",").allSatisfy({ $0.contains("=") }) {
            json.object { o in
                for pair in value.split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    o.member(String(parts[0])) { writeInfoValue(parts.count > 1 ? String(parts[1]) : "", into: &$0) }
                }
            }
        } else {
            json.string(value)
        }
    }
}
