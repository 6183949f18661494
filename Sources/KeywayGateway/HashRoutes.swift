import Foundation
import KeywayEngine
import KeywayHTTP

/// `/v1/hashes`: a hash as a JSON object of fields, each field as a
/// sub-resource with its own value, counter and TTL.
///
/// Fields and values are bytes. They travel as JSON strings when every one of
/// them is UTF-8, and all base64 (`"encoding":"base64"`) when one is not or
/// when `?encoding=base64` is asked for; request bodies say which they use
/// with the same `"encoding"` member. Path segments are percent-decoded, so
/// `/fields/a%00b` names the field `a\0b`.
enum HashRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("GET", "/v1/hashes/{key}", gateway.route(.resource) { request, p in get(request, key(p), gateway) })
        router.add("PUT", "/v1/hashes/{key}", gateway.route(.resource) { request, p in write(request, key(p), replace: true, gateway) })
        router.add("PATCH", "/v1/hashes/{key}", gateway.route(.resource) { request, p in write(request, key(p), replace: false, gateway) })
        router.add("DELETE", "/v1/hashes/{key}", gateway.route(.resource) { _, p in delete(key(p), gateway) })
        router.add("GET", "/v1/hashes/{key}/fields/{field}", gateway.route(.resource) { request, p in getField(request, key(p), field(p), gateway) })
        router.add("PUT", "/v1/hashes/{key}/fields/{field}", gateway.route(.resource) { request, p in putField(request, key(p), field(p), gateway) })
        router.add("DELETE", "/v1/hashes/{key}/fields/{field}", gateway.route(.resource) { _, p in deleteField(key(p), field(p), gateway) })
        router.add("POST", "/v1/hashes/{key}/fields/{field}/incr", gateway.route(.resource) { request, p in increment(request, key(p), field(p), gateway) })
        router.add("GET", "/v1/hashes/{key}/fields/{field}/ttl", gateway.route(.resource) { _, p in getTTL(key(p), field(p), gateway) })
        router.add("PUT", "/v1/hashes/{key}/fields/{field}/ttl", gateway.route(.resource) { request, p in putTTL(request, key(p), field(p), gateway) })
        router.add("DELETE", "/v1/hashes/{key}/fields/{field}/ttl", gateway.route(.resource) { _, p in deleteTTL(key(p), field(p), gateway) })
    }

    static func key(_ parameters: RouteParameters) -> Bytes { Bytes(parameters["key"] ?? []) }
    static func field(_ parameters: RouteParameters) -> Bytes { Bytes(parameters["field"] ?? []) }

    static func noSuchField(_ field: Bytes) -> HTTPResponse {
        Problem.response(404, code: "NO_SUCH_FIELD", detail: "no such field: \(field.text)")
    }

    /// 404 for a field that is not there: NO_SUCH_KEY when the whole hash is
    /// missing, NO_SUCH_FIELD otherwise.
    static func missing(_ key: Bytes, _ field: Bytes, keyExists: Bool) -> HTTPResponse {
        keyExists ? noSuchField(field) : Problem.noSuchKey(key.storage)
    }

    /// Writes `name: "text"` as a JSON string, base64 when asked.
    static func writeBytes(_ bytes: Bytes, base64: Bool, into json: inout JSONWriter) {
        if base64 { json.string(Data(bytes.storage).base64EncodedString()) } else { json.string(bytes: bytes.storage) }
    }

    static func isUTF8(_ bytes: Bytes) -> Bool { bytes.isValidUTF8 }

    /// The key member, base64 when it is not UTF-8 (as `/v1/keys` does).
    static func writeKey(_ key: Bytes, into o: inout ObjectWriter) {
        KeyRoutes.writeKey(key, base64: false, into: &o)
    }

    // MARK: - Whole hash

    /// `{"key":"user:1","fields":{"name":"Alice"},"encoding":"utf-8"}`.
    static func get(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let reply = gateway.executor.execute(Command("HGETALL", [key]))
        if case .error(let error) = reply { return Problem.from(error) }
        guard case .map(let elements) = reply else { return Problem.response(500, code: "ERR", detail: "unexpected HGETALL reply") }
        guard !elements.isEmpty else { return Problem.noSuchKey(key.storage) }
        var pairs: [(Bytes, Bytes)] = []
        pairs.reserveCapacity(elements.count / 2)
        for i in stride(from: 0, to: elements.count - 1, by: 2) {
            guard case .bulk(let field) = elements[i], case .bulk(let value) = elements[i + 1] else { continue }
            pairs.append((field, value))
        }
        let base64 = ValueEncoding.wantsBase64(request) || !pairs.allSatisfy { isUTF8($0.0) && isUTF8($0.1) }
        return KeyRoutes.json(200) { o in
            writeKey(key, into: &o)
            o.member("fields") { json in
                json.object { fields in
                    for (field, value) in pairs {
                        let name = base64 ? Data(field.storage).base64EncodedString() : field.text
                        fields.member(name) { writeBytes(value, base64: base64, into: &$0) }
                    }
                }
            }
            o.member("encoding") { $0.string(base64 ? "base64" : "utf-8") }
        }
    }

    /// The `"fields"` object of a body as (field, value) arguments. Values
    /// may be strings or numbers (written as their text).
    static func parseFields(_ object: JSONValue) -> Result<[Bytes], HTTPResponse> {
        let encoding: String?
        switch object["encoding"] {
        case nil, .null?: encoding = nil
        case .string(let text)?: encoding = text
        default: return .failure(Problem.badRequest("'encoding' must be utf-8 or base64"))
        }
        guard case .object(let members)? = object["fields"] else {
            return .failure(Problem.badRequest("'fields' (an object of field: value) is required"))
        }
        guard !members.isEmpty else { return .failure(Problem.badRequest("'fields' must name at least one field")) }
        var arguments: [Bytes] = []
        arguments.reserveCapacity(members.count * 2)
        do throws(FieldError) {
            for (name, value) in members {
                let text: String
                switch value {
                case .string(let s): text = s
                case .number(let n): text = n
                default: throw FieldError("the value of field '\(name)' must be a string")
                }
                arguments.append(Bytes(try ValueEncoding.decode(name, encoding: encoding)))
                arguments.append(Bytes(try ValueEncoding.decode(text, encoding: encoding)))
            }
        } catch {
            return .failure(Problem.badRequest(error.message.replacingOccurrences(of: "'value'", with: "a field or value")))
        }
        return .success(arguments)
    }

    /// PATCH merges fields into the hash (HSET); PUT replaces the whole hash
    /// (DEL + HSET in one transaction, whatever the key held). 201 when the
    /// key was created, else 200; `added` counts new fields.
    static func write(_ request: HTTPRequest, _ key: Bytes, replace: Bool, _ gateway: Gateway) -> HTTPResponse {
        let object: JSONValue
        switch RequestBody.read(request, allowRaw: false) {
        case .failure(let problem): return problem
        case .success(.json(let value)): object = value
        case .success: return Problem.badRequest("send {\"fields\": {\"name\": \"value\", ...}}")
        }
        let arguments: [Bytes]
        switch parseFields(object) {
        case .failure(let problem): return problem
        case .success(let parsed): arguments = parsed
        }
        var commands = [Command("EXISTS", [key])]
        if replace { commands.append(Command("DEL", [key])) }
        commands.append(Command("HSET", [key] + arguments))
        switch gateway.runAtomically(commands) {
        case .failure(let problem): return problem
        case .success(let replies):
            let existed = replies[0] == Reply.integer(1)
            guard case .integer(let added) = replies[replies.count - 1] else { return Problem.badRequest("unexpected reply") }
            return KeyRoutes.json(existed ? 200 : 201) { o in
                writeKey(key, into: &o)
                o.member("created") { $0.bool(!existed) }
                o.member("added") { $0.integer(added) }
            }
        }
    }

    /// Deletes a hash. A key of another type is refused with 409, not
    /// deleted (checked just before the DEL).
    static func delete(_ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let length = gateway.executor.execute(Command("HLEN", [key]))
        if case .error(let error) = length { return Problem.from(error) }
        if length == Reply.integer(0) { return Problem.noSuchKey(key.storage) }
        let reply = gateway.executor.execute(Command("DEL", [key]))
        if case .error(let error) = reply { return Problem.from(error) }
        return reply == Reply.integer(1) ? HTTPResponse(status: 204) : Problem.noSuchKey(key.storage)
    }

    // MARK: - One field

    /// `{"key":"user:1","field":"name","value":"Alice","encoding":"utf-8","ttl":null}`,
    /// or the raw value under `Accept: application/octet-stream`.
    static func getField(_ request: HTTPRequest, _ key: Bytes, _ field: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let commands = [
            Command("HGET", [key, field]), Command("HPTTL", [key, "FIELDS", "1", field]), Command("EXISTS", [key]),
        ]
        switch gateway.runAtomically(commands) {
        case .failure(let problem): return problem
        case .success(let replies):
            guard case .bulk(let value) = replies[0] else {
                return missing(key, field, keyExists: replies[2] == Reply.integer(1))
            }
            let pttl: Int64? = if case .array(let codes) = replies[1], case .integer(let ms)? = codes.first, ms >= 0 { ms } else { nil }
            if request.header("accept")?.contains("application/octet-stream") == true {
                var headers = [("Content-Type", "application/octet-stream")]
                if let pttl { headers.append(("Keyway-TTL-Milliseconds", String(pttl))) }
                return HTTPResponse(status: 200, headers: headers, body: value.storage)
            }
            let base64 = ValueEncoding.wantsBase64(request) || !isUTF8(field)
            return KeyRoutes.json(200) { o in
                writeKey(key, into: &o)
                o.member("field") { writeBytes(field, base64: base64, into: &$0) }
                ValueEncoding.writeValue(value.storage, forceBase64: base64, into: &o)
                o.member("ttl") { json in
                    if let pttl { json.double(Double(pttl) / 1000) } else { json.null() }
                }
            }
        }
    }

    /// `{"value":"Alice","encoding":"utf-8"?,"nx":true?}` or a raw
    /// `application/octet-stream` body (`?nx=true`). HSET, or HSETNX with
    /// `nx`: 201 created, 200 replaced, 412 when `nx` and the field exists.
    static func putField(_ request: HTTPRequest, _ key: Bytes, _ field: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let value: [UInt8]
        let fields: Fields
        switch RequestBody.value(request) {
        case .failure(let problem): return problem
        case .success(let body): (value, fields) = body
        }
        let nx: Bool
        do throws(FieldError) { nx = try fields.bool("nx") } catch { return Problem.badRequest(error.message) }
        let set = Command(nx ? "HSETNX" : "HSET", [key, field, Bytes(value)])
        switch gateway.runAtomically([Command("HEXISTS", [key, field]), set]) {
        case .failure(let problem): return problem
        case .success(let replies):
            let existed = replies[0] == Reply.integer(1)
            if nx && existed { return Problem.conditionNotMet("the field already exists (nx)") }
            return KeyRoutes.json(existed ? 200 : 201) { o in
                writeKey(key, into: &o)
                o.member("field") { writeBytes(field, base64: !isUTF8(field), into: &$0) }
                o.member("created") { $0.bool(!existed) }
            }
        }
    }

    static func deleteField(_ key: Bytes, _ field: Bytes, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically([Command("HDEL", [key, field]), Command("EXISTS", [key])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            if replies[0] == Reply.integer(1) { return HTTPResponse(status: 204) }
            return missing(key, field, keyExists: replies[1] == Reply.integer(1))
        }
    }

    /// `{"by": 5}` → HINCRBY, `{"by": 0.5}` → HINCRBYFLOAT, no body → +1.
    /// `200 {"key","field","value": 6}`.
    static func increment(_ request: HTTPRequest, _ key: Bytes, _ field: Bytes, _ gateway: Gateway) -> HTTPResponse {
        var command = Command("HINCRBY", [key, field, "1"])
        switch RequestBody.read(request, allowRaw: false) {
        case .failure(let problem): return problem
        case .success(.json(let object)):
            do throws(FieldError) {
                if let by = try Fields(json: object, request: request).number("by") {
                    let isInteger = !by.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
                    command = Command(isInteger ? "HINCRBY" : "HINCRBYFLOAT", [key, field, Bytes(by)])
                }
            } catch {
                return Problem.badRequest(error.message)
            }
        case .success: break
        }
        let reply = gateway.executor.execute(command)
        return KeyRoutes.json(200) { o in
            writeKey(key, into: &o)
            o.member("field") { writeBytes(field, base64: !isUTF8(field), into: &$0) }
            switch reply {
            case .integer(let value): o.member("value") { $0.integer(value) }
            case .bulk(let text): o.member("value") { $0.raw(text.text) }
            default: break
            }
        }.replacingIfError(reply)
    }

    // MARK: - Field TTL

    /// The first per-field code of an HTTL-family reply.
    static func firstCode(_ reply: Reply) -> Int64? {
        if case .array(let codes) = reply, case .integer(let code)? = codes.first { return code }
        return nil
    }

    static func ttlBody(_ key: Bytes, _ field: Bytes, pttl: Int64, expiresAt: Int64) -> HTTPResponse {
        KeyRoutes.json(200) { o in
            writeKey(key, into: &o)
            o.member("field") { writeBytes(field, base64: !isUTF8(field), into: &$0) }
            KeyRoutes.writeTTL(pttl: pttl, expiresAt: expiresAt, into: &o)
        }
    }

    static func ttlQueries(_ key: Bytes, _ field: Bytes) -> [Command] {
        [Command("HPTTL", [key, "FIELDS", "1", field]), Command("HPEXPIRETIME", [key, "FIELDS", "1", field]), Command("EXISTS", [key])]
    }

    static func getTTL(_ key: Bytes, _ field: Bytes, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically(ttlQueries(key, field)) {
        case .failure(let problem): return problem
        case .success(let replies):
            guard let pttl = firstCode(replies[0]), let at = firstCode(replies[1]), pttl != -2 else {
                return missing(key, field, keyExists: replies[2] == Reply.integer(1))
            }
            return ttlBody(key, field, pttl: pttl, expiresAt: at)
        }
    }

    /// `{"ttl": s}` | `{"pttl": ms}` | `{"expiresAt": unix-ms}`, optional
    /// `"condition": "nx"|"xx"|"gt"|"lt"` → HPEXPIRE / HPEXPIREAT. 200 with
    /// the new TTL, 204 when a deadline already past deleted the field, 404,
    /// 412 when the condition was not met.
    static func putTTL(_ request: HTTPRequest, _ key: Bytes, _ field: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let expiry: ExpiryRequest
        switch ExpiryRequest.read(request) {
        case .failure(let problem): return problem
        case .success(let parsed): expiry = parsed
        }
        var expire = Command(expiry.absolute ? "HPEXPIREAT" : "HPEXPIRE", [key, expiry.milliseconds])
        if let condition = expiry.condition { expire.arguments.append(condition) }
        expire.arguments += ["FIELDS", "1", field]
        switch gateway.runAtomically([expire] + ttlQueries(key, field)) {
        case .failure(let problem): return problem
        case .success(let replies):
            switch firstCode(replies[0]) ?? 1 {
            case -2: return missing(key, field, keyExists: replies[3] == Reply.integer(1))
            case 0: return Problem.conditionNotMet("the expiry condition was not met")
            case 2: return HTTPResponse(status: 204)
            default:
                guard let pttl = firstCode(replies[1]), let at = firstCode(replies[2]) else { return Problem.badRequest("unexpected reply") }
                return ttlBody(key, field, pttl: pttl, expiresAt: at)
            }
        }
    }

    /// HPERSIST: 204 (also when the field had no TTL), 404.
    static func deleteTTL(_ key: Bytes, _ field: Bytes, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically([Command("HPERSIST", [key, "FIELDS", "1", field]), Command("EXISTS", [key])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            if firstCode(replies[0]) == -2 { return missing(key, field, keyExists: replies[1] == Reply.integer(1)) }
            return HTTPResponse(status: 204)
        }
    }
}
