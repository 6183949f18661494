import KeywayEngine
import KeywayHTTP

/// `/v1/hyperloglogs`: approximate distinct counts (unique visitors) in at
/// most 12 KB per key. Each route is one HyperLogLog command; the values
/// are Redis's own HLL strings.
enum HyperLogLogRoutes {
    static func register(_ routes: Routes) {
        let hll = routes.resource.group("/v1/hyperloglogs/{key}")
        hll.post(add)
        hll.get("/count", count)
        hll.post("/merge", merge)
    }

    /// PFADD of `{"members": [...], "encoding": "base64"?}`: 201 when this
    /// created the key, else 200; `changed` tells whether the estimate may
    /// have moved.
    static func add(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let members = try SetRoutes.membersFromBody(context)
        var batch = CommandBatch()
        let existed = batch.flag("EXISTS", [context.key])
        let changed = batch.flag("PFADD", [context.key] + members)
        let replies = try context.atomically(&batch)
        let created = try !replies[existed]
        let didChange = try replies[changed]
        return context.json(created ? 201 : 200) { o in
            JSONResponse.writeKey(context.key, into: &o)
            o.member("changed") { $0.bool(didChange) }
        }
    }

    /// PFCOUNT of the key, or of the union with `?keys=other&keys=...`:
    /// `{"key", "count"}`. A missing key counts 0.
    static func count(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let others = context.request.queryValues("keys").map { Bytes($0) }
        guard case .integer(let count) = try context.execute("PFCOUNT", [context.key] + others) else {
            throw Problem.response(500, code: "INTERNAL", detail: "PFCOUNT answered a non-integer")
        }
        return context.json { o in
            JSONResponse.writeKey(context.key, into: &o)
            if !others.isEmpty {
                JSONResponse.writeEncodedList("keys", others, forceBase64: false, into: &o)
            }
            o.member("count") { $0.integer(count) }
        }
    }

    /// PFMERGE of `{"keys": [...]}` into the route's key (its own registers
    /// included): `{"key", "count"}`, the merged estimate.
    static func merge(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let object = try context.jsonObject(hint: "send {\"keys\": [\"a\", \"b\"]}")
        let keys = try context.reading { () throws(FieldError) in
            let encoding = try Fields(json: object, request: context.request).string("encoding")
            guard let keys = try SetRoutes.byteStrings(object, "keys", encoding: encoding), !keys.isEmpty else {
                throw FieldError("'keys' (a non-empty array of strings) is required")
            }
            return keys
        }
        var batch = CommandBatch()
        _ = batch.add(Command("PFMERGE", [context.key] + keys)) { _ in () }
        let count = batch.integer("PFCOUNT", [context.key])
        let replies = try context.atomically(&batch)
        let merged = try replies[count]
        return context.json { o in
            JSONResponse.writeKey(context.key, into: &o)
            o.member("count") { $0.integer(merged) }
        }
    }
}
