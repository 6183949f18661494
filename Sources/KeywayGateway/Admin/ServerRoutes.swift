import KeywayEngine
import KeywayHTTP

/// `/healthz` and `/v1/info`.
enum ServerRoutes {
    static func register(_ routes: Routes) {
        routes.open.fixed("/healthz", healthy)
        routes.resource.get("/v1/info", info)
    }

    /// `/healthz`'s answer, made once: a probe's answer never changes, so
    /// it costs no allocation per request.
    static let healthy = HTTPResponse(status: 200, contentType: "application/json", body: Array(#"{"status":"ok"}"#.utf8))

    /// INFO as JSON: `{"server": {"redis_version": "7.2.0", ...}, ...}`.
    /// Numeric values become numbers; `k=v,k=v` values (keyspace) objects.
    static func info(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let sections = context.request.queryValues("section").map(Bytes.init)
        guard case .bulk(let text) = try context.execute("INFO", sections) else {
            throw Problem.response(500, code: "ERR", detail: "unexpected INFO reply")
        }
        return context.json { o in
            for (name, fields) in parseInfo(text.text) {
                o.member(name) { section in
                    section.object { fieldWriter in
                        for (key, value) in fields {
                            fieldWriter.member(key) { writeInfoValue(value, into: &$0) }
                        }
                    }
                }
            }
        }
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
