import KeywayEngine
import KeywayHTTP

/// `/v1/keys`: strings, TTLs and counters as resources.
enum KeyRoutes {
    static func register(_ routes: Routes) {
        routes.resource.get("/v1/keys", scan)
        let key = routes.resource.group("/v1/keys/{key}")
        key.get(get)
        key.put(put)
        key.delete(delete)
        key.get("/ttl", getTTL)
        key.put("/ttl", putTTL)
        key.delete("/ttl", deleteTTL)
        key.post("/incr", increment)
    }

    // MARK: - Collection

    /// One SCAN step: `{"cursor": "17", "keys": [...]}`.
    static func scan(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let request = context.request
        var arguments: [Bytes] = [Bytes(request.queryValue("cursor") ?? Array("0".utf8))]
        if let match = request.queryValue("match") { arguments += ["MATCH", Bytes(match)] }
        if let count = request.queryValue("count") { arguments += ["COUNT", Bytes(count)] }
        if let type = request.queryValue("type") { arguments += ["TYPE", Bytes(type)] }
        let reply = try context.execute("SCAN", arguments)
        guard case .array(let parts) = reply, parts.count == 2,
              case .bulk(let cursor) = parts[0], case .array(let keys) = parts[1] else {
            throw Problem.response(500, code: "ERR", detail: "unexpected SCAN reply")
        }
        let base64 = context.wantsBase64
        return context.json { o in
            o.member("cursor") { $0.string(bytes: cursor.storage) }
            o.member("keys") { json in
                json.array(keys) { json, key in
                    guard case .bulk(let bytes) = key else { json.null(); return }
                    JSONResponse.writeBytes(bytes, base64: base64, into: &json)
                }
            }
        }
    }

    // MARK: - One key

    /// The value, type and TTL; raw bytes under `Accept: application/octet-stream`.
    static func get(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let key = context.key
        var batch = CommandBatch()
        let value = batch.bulk(CommandNames.get, [key])
        let ttl = batch.integer(CommandNames.pttl, [key])
        let replies = try context.atomically(&batch)
        guard let value = try replies[value] else { throw context.noSuchKey }
        let pttl: Int64? = try replies[ttl] >= 0 ? replies[ttl] : nil
        if context.wantsOctetStream { return JSONResponse.octetStream(value, pttl: pttl) }
        let base64 = context.wantsBase64
        return context.json { o in
            JSONResponse.writeKey(key, base64: base64, into: &o)
            o.member("type") { $0.string("string") }
            ValueEncoding.writeValue(value.storage, forceBase64: base64, into: &o)
            JSONResponse.writeSecondsTTL(pttl: pttl, into: &o)
        }
    }

    /// SET with its options from a JSON body, or a raw body with options in
    /// the query. 201 when created, 200 when replaced, 412 when NX/XX refused.
    static func put(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let key = context.key
        let (value, fields) = try context.value()
        let options = try context.reading { () throws(FieldError) in try SetOptions(fields) }
        var batch = CommandBatch()
        let existed = batch.flag(CommandNames.exists, [key])
        let previous = batch.bulk(CommandNames.set, [key, Bytes(value)] + options.arguments)
        let replies = try context.atomically(&batch)
        let didExist = try replies[existed]
        if (options.nx && didExist) || (options.xx && !didExist) {
            throw Problem.conditionNotMet(options.nx ? "the key already exists (nx)" : "the key does not exist (xx)")
        }
        let previousValue = options.get ? try replies[previous] : nil
        return context.json(didExist ? 200 : 201) { o in
            JSONResponse.writeKey(key, into: &o)
            o.member("created") { $0.bool(!didExist) }
            if options.get {
                if let previousValue {
                    ValueEncoding.writeValue(previousValue.storage, forceBase64: context.wantsBase64, into: &o, name: "previous")
                } else {
                    o.member("previous") { $0.null() }
                }
            }
        }
    }

    /// The options of `PUT /v1/keys/{key}` as SET arguments.
    struct SetOptions {
        var nx = false, xx = false, get = false
        var arguments: [Bytes] = []

        init(_ fields: Fields) throws(FieldError) {
            nx = try fields.bool("nx")
            xx = try fields.bool("xx")
            get = try fields.bool("get")
            if nx { arguments.append("NX") }
            if xx { arguments.append("XX") }
            if get { arguments.append("GET") }
            let keepTTL = try fields.bool("keepttl")
            var expiryOptions = keepTTL ? 1 : 0
            for name in ["ttl", "px", "expiresAt"] where try fields.number(name) != nil { expiryOptions += 1 }
            if expiryOptions > 1 {
                throw FieldError("give at most one of 'ttl', 'px', 'expiresAt' and 'keepttl'")
            }
            if nx && xx { throw FieldError("'nx' and 'xx' exclude each other") }
            if keepTTL { arguments.append("KEEPTTL") }
            if let ttl = try fields.number("ttl") {
                guard let seconds = Double(ttl), seconds.isFinite else { throw FieldError("'ttl' must be a number of seconds") }
                arguments += ["PX", Bytes(String(clampedMilliseconds(seconds)))]
            }
            if let px = try fields.number("px") { arguments += ["PX", Bytes(px)] }
            if let at = try fields.number("expiresAt") { arguments += ["PXAT", Bytes(at)] }
        }
    }

    /// DEL of any type: 204, or 404.
    static func delete(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let reply = try context.execute("DEL", [context.key])
        return reply == .integer(1) ? HTTPResponse(status: 204) : context.noSuchKey
    }

    // MARK: - TTL

    static func ttlBody(_ context: ResourceContext, pttl: Int64, expiresAt: Int64) -> HTTPResponse {
        context.json { o in
            JSONResponse.writeKey(context.key, into: &o)
            JSONResponse.writeTTL(pttl: pttl, expiresAt: expiresAt, into: &o)
        }
    }

    static func getTTL(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        var batch = CommandBatch()
        let pttl = batch.integer("PTTL", [context.key])
        let at = batch.integer("PEXPIRETIME", [context.key])
        let replies = try context.atomically(&batch)
        guard try replies[pttl] != -2 else { throw context.noSuchKey }
        return ttlBody(context, pttl: try replies[pttl], expiresAt: try replies[at])
    }

    /// `{"ttl": s}` | `{"pttl": ms}` | `{"expiresAt": unix-ms}`, optional
    /// `"condition": "nx"|"xx"|"gt"|"lt"`. A deadline in the past deletes
    /// the key, as EXPIRE does (204).
    static func putTTL(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let key = context.key
        let expiry = try context.expiry()
        var expire = [key, expiry.milliseconds]
        if let condition = expiry.condition { expire.append(condition) }
        var batch = CommandBatch()
        let existed = batch.flag(CommandNames.exists, [key])
        let applied = batch.flag(expiry.absolute ? "PEXPIREAT" : "PEXPIRE", expire)
        let pttl = batch.integer(CommandNames.pttl, [key])
        let at = batch.integer("PEXPIRETIME", [key])
        let replies = try context.atomically(&batch)
        guard try replies[existed] else { throw context.noSuchKey }
        guard try replies[applied] else { throw Problem.conditionNotMet("the expiry condition was not met") }
        if try replies[pttl] == -2 { return HTTPResponse(status: 204) }
        return ttlBody(context, pttl: try replies[pttl], expiresAt: try replies[at])
    }

    static func deleteTTL(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        var batch = CommandBatch()
        let existed = batch.flag("EXISTS", [context.key])
        batch.run("PERSIST", [context.key])
        guard try context.atomically(&batch)[existed] else { throw context.noSuchKey }
        return HTTPResponse(status: 204)
    }

    // MARK: - Counters

    /// `{"by": 5}` → INCRBY, `{"by": 0.5}` → INCRBYFLOAT, no body → INCR.
    static func increment(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let key = context.key
        let reply: Reply
        if let by = try context.incrementAmount() {
            reply = try context.execute(by.isInteger ? "INCRBY" : "INCRBYFLOAT", [key, Bytes(by.text)])
        } else {
            reply = try context.execute("INCR", [key])
        }
        return context.json { o in
            JSONResponse.writeKey(key, into: &o)
            JSONResponse.writeCounter(reply, into: &o)
        }
    }
}

extension ResourceContext {
    /// The `"by"` of an increment body: nil without one (increment by 1).
    func incrementAmount() throws(HTTPResponse) -> (text: String, isInteger: Bool)? {
        guard case .json(let object) = try body() else { return nil }
        guard let by = try reading({ () throws(FieldError) in try Fields(json: object, request: request).number("by") }) else { return nil }
        return (by, !by.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }))
    }
}

/// Seconds (fractional allowed) as whole milliseconds, clamped to Int64.
func clampedMilliseconds(_ seconds: Double) -> Int64 {
    let ms = (seconds * 1000).rounded()
    if ms >= 9.2e18 { return Int64.max }
    if ms <= -9.2e18 { return Int64.min }
    return Int64(ms)
}

extension HTTPResponse {
    /// The problem for an error reply, else this response.
    func replacingIfError(_ reply: Reply) -> HTTPResponse {
        if case .error(let error) = reply { return Problem.from(error) }
        return self
    }
}
