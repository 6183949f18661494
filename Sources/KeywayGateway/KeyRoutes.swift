import Foundation
import KeywayEngine
import KeywayHTTP

/// `/v1/keys`: strings, TTLs and counters as resources.
enum KeyRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("GET", "/v1/keys", gateway.route(.resource) { request, _ in scan(request, gateway) })
        router.add("GET", "/v1/keys/{key}", gateway.route(.resource) { request, p in get(request, key(p), gateway) })
        router.add("PUT", "/v1/keys/{key}", gateway.route(.resource) { request, p in put(request, key(p), gateway) })
        router.add("DELETE", "/v1/keys/{key}", gateway.route(.resource) { request, p in delete(key(p), gateway) })
        router.add("GET", "/v1/keys/{key}/ttl", gateway.route(.resource) { request, p in getTTL(key(p), gateway) })
        router.add("PUT", "/v1/keys/{key}/ttl", gateway.route(.resource) { request, p in putTTL(request, key(p), gateway) })
        router.add("DELETE", "/v1/keys/{key}/ttl", gateway.route(.resource) { request, p in deleteTTL(key(p), gateway) })
        router.add("POST", "/v1/keys/{key}/incr", gateway.route(.resource) { request, p in increment(request, key(p), gateway) })
    }

    static func key(_ parameters: RouteParameters) -> Bytes { Bytes(parameters["key"] ?? []) }

    static func json(_ status: Int, _ body: (inout ObjectWriter) -> Void) -> HTTPResponse {
        var json = JSONWriter(capacity: 128)
        json.object(body)
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: json.bytes)
    }

    static func writeKey(_ key: Bytes, base64: Bool, into o: inout ObjectWriter) {
        if !base64, key.isValidUTF8 {
            o.member("key") { $0.string(validUTF8: key.storage) }
        } else {
            o.member("key") { $0.string(Data(key.storage).base64EncodedString()) }
        }
    }

    // MARK: - Collection

    /// One SCAN step: `{"cursor": "17", "keys": [...]}`.
    static func scan(_ request: HTTPRequest, _ gateway: Gateway) -> HTTPResponse {
        var arguments: [Bytes] = ["SCAN", Bytes(request.queryValue("cursor") ?? Array("0".utf8))]
        if let match = request.queryValue("match") { arguments += ["MATCH", Bytes(match)] }
        if let count = request.queryValue("count") { arguments += ["COUNT", Bytes(count)] }
        if let type = request.queryValue("type") { arguments += ["TYPE", Bytes(type)] }
        let reply = gateway.executor.execute(Command(arguments))
        guard case .array(let parts) = reply, parts.count == 2,
              case .bulk(let cursor) = parts[0], case .array(let keys) = parts[1] else {
            if case .error(let error) = reply { return Problem.from(error) }
            return Problem.response(500, code: "ERR", detail: "unexpected SCAN reply")
        }
        let base64 = ValueEncoding.wantsBase64(request)
        return json(200) { o in
            o.member("cursor") { $0.string(bytes: cursor.storage) }
            o.member("keys") { json in
                json.array(keys) { json, key in
                    guard case .bulk(let bytes) = key else { json.null(); return }
                    if base64 { json.string(Data(bytes.storage).base64EncodedString()) } else { json.string(bytes: bytes.storage) }
                }
            }
        }
    }

    // MARK: - One key

    /// The value, type and TTL; raw bytes under `Accept: application/octet-stream`.
    static func get(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically([Command("GET", [key]), Command("PTTL", [key])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            guard case .bulk(let value) = replies[0] else { return Problem.noSuchKey(key.storage) }
            let pttl: Int64? = if case .integer(let ms) = replies[1], ms >= 0 { ms } else { nil }
            if request.header("accept")?.contains("application/octet-stream") == true {
                var headers = [("Content-Type", "application/octet-stream")]
                if let pttl { headers.append(("Keyway-TTL-Milliseconds", String(pttl))) }
                return HTTPResponse(status: 200, headers: headers, body: value.storage)
            }
            let base64 = ValueEncoding.wantsBase64(request)
            return json(200) { o in
                writeKey(key, base64: base64, into: &o)
                o.member("type") { $0.string("string") }
                ValueEncoding.writeValue(value.storage, forceBase64: base64, into: &o)
                o.member("ttl") { json in
                    if let pttl { json.double(Double(pttl) / 1000) } else { json.null() }
                }
            }
        }
    }

    /// SET with its options from a JSON body, or a raw body with options in
    /// the query. 201 when created, 200 when replaced, 412 when NX/XX refused.
    static func put(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let value: [UInt8]
        let fields: Fields
        switch RequestBody.value(request) {
        case .failure(let problem): return problem
        case .success(let body): (value, fields) = body
        }
        var set: [Bytes] = [key, Bytes(value)]
        let nx: Bool, xx: Bool, get: Bool
        do throws(FieldError) {
            nx = try fields.bool("nx")
            xx = try fields.bool("xx")
            get = try fields.bool("get")
            if nx { set.append("NX") }
            if xx { set.append("XX") }
            if get { set.append("GET") }
            let keepTTL = try fields.bool("keepttl")
            var expiryOptions = keepTTL ? 1 : 0
            for name in ["ttl", "px", "expiresAt"] where try fields.number(name) != nil { expiryOptions += 1 }
            if expiryOptions > 1 {
                throw FieldError("give at most one of 'ttl', 'px', 'expiresAt' and 'keepttl'")
            }
            if nx && xx { throw FieldError("'nx' and 'xx' exclude each other") }
            if keepTTL { set.append("KEEPTTL") }
            if let ttl = try fields.number("ttl") {
                guard let seconds = Double(ttl), seconds.isFinite else { return Problem.badRequest("'ttl' must be a number of seconds") }
                set += ["PX", Bytes(String(clampedMilliseconds(seconds)))]
            }
            if let px = try fields.number("px") { set += ["PX", Bytes(px)] }
            if let at = try fields.number("expiresAt") { set += ["PXAT", Bytes(at)] }
        } catch {
            return Problem.badRequest(error.message)
        }
        switch gateway.runAtomically([Command("EXISTS", [key]), Command("SET", set)]) {
        case .failure(let problem): return problem
        case .success(let replies):
            let existed = replies[0] == Reply.integer(1)
            if (nx && existed) || (xx && !existed) {
                return Problem.conditionNotMet(nx ? "the key already exists (nx)" : "the key does not exist (xx)")
            }
            return json(existed ? 200 : 201) { o in
                writeKey(key, base64: false, into: &o)
                o.member("created") { $0.bool(!existed) }
                if get {
                    if case .bulk(let previous) = replies[1] {
                        ValueEncoding.writeValue(previous.storage, forceBase64: ValueEncoding.wantsBase64(request), into: &o, name: "previous")
                    } else {
                        o.member("previous") { $0.null() }
                    }
                }
            }
        }
    }

    static func delete(_ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let reply = gateway.executor.execute(Command("DEL", [key]))
        if case .error(let error) = reply { return Problem.from(error) }
        return reply == Reply.integer(1) ? HTTPResponse(status: 204) : Problem.noSuchKey(key.storage)
    }

    // MARK: - TTL

    /// `"ttl"` (seconds), `"pttl"` and `"expiresAt"` (Unix ms), all null
    /// without an expiry (`pttl` < 0): the TTL body of keys and hash fields.
    static func writeTTL(pttl: Int64, expiresAt: Int64, into o: inout ObjectWriter) {
        let hasExpiry = pttl >= 0
        o.member("ttl") { hasExpiry ? $0.double(Double(pttl) / 1000) : $0.null() }
        o.member("pttl") { hasExpiry ? $0.integer(pttl) : $0.null() }
        o.member("expiresAt") { hasExpiry ? $0.integer(expiresAt) : $0.null() }
    }

    static func ttlBody(_ key: Bytes, pttl: Int64, expiresAt: Int64) -> HTTPResponse {
        json(200) { o in
            writeKey(key, base64: false, into: &o)
            KeyRoutes.writeTTL(pttl: pttl, expiresAt: expiresAt, into: &o)
        }
    }

    static func getTTL(_ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically([Command("PTTL", [key]), Command("PEXPIRETIME", [key])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            guard case .integer(let pttl) = replies[0], case .integer(let at) = replies[1], pttl != -2 else {
                return Problem.noSuchKey(key.storage)
            }
            return ttlBody(key, pttl: pttl, expiresAt: at)
        }
    }

    /// `{"ttl": s}` | `{"pttl": ms}` | `{"expiresAt": unix-ms}`, optional
    /// `"condition": "nx"|"xx"|"gt"|"lt"`. A deadline in the past deletes
    /// the key, as EXPIRE does (204).
    static func putTTL(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let expiry: ExpiryRequest
        switch ExpiryRequest.read(request) {
        case .failure(let problem): return problem
        case .success(let parsed): expiry = parsed
        }
        var expire = Command(expiry.absolute ? "PEXPIREAT" : "PEXPIRE", [key, expiry.milliseconds])
        if let condition = expiry.condition { expire.arguments.append(condition) }
        switch gateway.runAtomically([Command("EXISTS", [key]), expire, Command("PTTL", [key]), Command("PEXPIRETIME", [key])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            if replies[0] == Reply.integer(0) { return Problem.noSuchKey(key.storage) }
            if replies[1] == Reply.integer(0) { return Problem.conditionNotMet("the expiry condition was not met") }
            guard case .integer(let pttl) = replies[2], case .integer(let at) = replies[3] else { return Problem.badRequest("unexpected reply") }
            if pttl == -2 { return HTTPResponse(status: 204) }
            return ttlBody(key, pttl: pttl, expiresAt: at)
        }
    }

    static func deleteTTL(_ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically([Command("EXISTS", [key]), Command("PERSIST", [key])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            return replies[0] == Reply.integer(0) ? Problem.noSuchKey(key.storage) : HTTPResponse(status: 204)
        }
    }

    // MARK: - Counters

    /// `{"by": 5}` → INCRBY, `{"by": 0.5}` → INCRBYFLOAT, no body → INCR.
    static func increment(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        var command = Command("INCR", [key])
        switch RequestBody.read(request, allowRaw: false) {
        case .failure(let problem): return problem
        case .success(.json(let object)):
            do throws(FieldError) {
                if let by = try Fields(json: object, request: request).number("by") {
                    let isInteger = !by.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
                    command = Command(isInteger ? "INCRBY" : "INCRBYFLOAT", [key, Bytes(by)])
                }
            } catch {
                return Problem.badRequest(error.message)
            }
        case .success: break
        }
        let reply = gateway.executor.execute(command)
        return json(200) { o in
            writeKey(key, base64: false, into: &o)
            switch reply {
            case .integer(let value): o.member("value") { $0.integer(value) }
            case .bulk(let text): o.member("value") { $0.raw(text.text) }
            default: break
            }
        }.replacingIfError(reply)
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
