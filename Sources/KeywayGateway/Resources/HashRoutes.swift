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
    static func register(_ routes: Routes) {
        let hash = routes.resource.group("/v1/hashes/{key}")
        hash.get(get)
        hash.put { context throws(HTTPResponse) in try write(context, replace: true) }
        hash.patch { context throws(HTTPResponse) in try write(context, replace: false) }
        hash.delete { context throws(HTTPResponse) in try context.deleteKey(ofType: "hash") }
        let field = hash.group("/fields/{field}")
        field.get(getField)
        field.put(putField)
        field.delete(deleteField)
        field.post("/incr", increment)
        field.get("/ttl", getTTL)
        field.put("/ttl", putTTL)
        field.delete("/ttl", deleteTTL)
    }

    /// 404 for a field that is not there: NO_SUCH_KEY when the whole hash is
    /// missing, NO_SUCH_FIELD otherwise.
    static func missing(_ context: ResourceContext, keyExists: Bool) -> HTTPResponse {
        keyExists ? Problem.response(404, code: "NO_SUCH_FIELD", detail: "no such field: \(context.field.text)") : context.noSuchKey
    }

    /// `"key"` and `"field"` members, each base64 when not UTF-8.
    static func writeKeyAndField(_ context: ResourceContext, into o: inout ObjectWriter) {
        JSONResponse.writeKey(context.key, into: &o)
        JSONResponse.writeBytesMember("field", context.field, into: &o)
    }

    // MARK: - Whole hash

    /// `{"key":"user:1","fields":{"name":"Alice"},"encoding":"utf-8"}`.
    static func get(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        guard case .map(let elements) = try context.execute("HGETALL", [context.key]) else {
            throw Problem.response(500, code: "ERR", detail: "unexpected HGETALL reply")
        }
        guard !elements.isEmpty else { throw context.noSuchKey }
        var pairs: [(Bytes, Bytes)] = []
        pairs.reserveCapacity(elements.count / 2)
        for i in stride(from: 0, to: elements.count - 1, by: 2) {
            guard case .bulk(let field) = elements[i], case .bulk(let value) = elements[i + 1] else { continue }
            pairs.append((field, value))
        }
        let base64 = context.wantsBase64 || !pairs.allSatisfy { $0.0.isValidUTF8 && $0.1.isValidUTF8 }
        return context.json { o in
            JSONResponse.writeKey(context.key, into: &o)
            o.member("fields") { json in
                json.object { fields in
                    for (field, value) in pairs {
                        let name = base64 ? Data(field.storage).base64EncodedString() : field.text
                        fields.member(name) { JSONResponse.writeBytes(value, base64: base64, into: &$0) }
                    }
                }
            }
            o.member("encoding") { $0.string(base64 ? "base64" : "utf-8") }
        }
    }

    /// The `"fields"` object of a body as (field, value) arguments. Values
    /// may be strings or numbers (written as their text).
    static func parseFields(_ object: JSONValue) throws(HTTPResponse) -> [Bytes] {
        let encoding: String?
        switch object["encoding"] {
        case nil, .null?: encoding = nil
        case .string(let text)?: encoding = text
        default: throw Problem.badRequest("'encoding' must be utf-8 or base64")
        }
        guard case .object(let members)? = object["fields"] else {
            throw Problem.badRequest("'fields' (an object of field: value) is required")
        }
        guard !members.isEmpty else { throw Problem.badRequest("'fields' must name at least one field") }
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
            throw Problem.badRequest(error.message.replacingOccurrences(of: "'value'", with: "a field or value"))
        }
        return arguments
    }

    /// PATCH merges fields into the hash (HSET); PUT replaces the whole hash
    /// (DEL + HSET in one transaction, whatever the key held). 201 when the
    /// key was created, else 200; `added` counts new fields.
    static func write(_ context: ResourceContext, replace: Bool) throws(HTTPResponse) -> HTTPResponse {
        let object = try context.jsonObject(hint: "send {\"fields\": {\"name\": \"value\", ...}}")
        let arguments = try parseFields(object)
        let key = context.key
        var batch = CommandBatch()
        let existed = batch.flag("EXISTS", [key])
        if replace { batch.run("DEL", [key]) }
        let added = batch.integer("HSET", [key] + arguments)
        let replies = try context.atomically(&batch)
        let didExist = try replies[existed]
        let addedCount = try replies[added]
        return context.json(didExist ? 200 : 201) { o in
            JSONResponse.writeKey(key, into: &o)
            o.member("created") { $0.bool(!didExist) }
            o.member("added") { $0.integer(addedCount) }
        }
    }

    // MARK: - One field

    /// `{"key":"user:1","field":"name","value":"Alice","encoding":"utf-8","ttl":null}`,
    /// or the raw value under `Accept: application/octet-stream`.
    static func getField(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let key = context.key, field = context.field
        var batch = CommandBatch()
        let value = batch.bulk("HGET", [key, field])
        let ttl = batch.firstCode("HPTTL", [key, "FIELDS", "1", field])
        let exists = batch.flag("EXISTS", [key])
        let replies = try context.atomically(&batch)
        guard let value = try replies[value] else { throw missing(context, keyExists: try replies[exists]) }
        let pttl: Int64? = if let ms = try replies[ttl], ms >= 0 { ms } else { nil }
        if context.wantsOctetStream { return JSONResponse.octetStream(value, pttl: pttl) }
        let base64 = context.wantsBase64 || !field.isValidUTF8
        return context.json { o in
            JSONResponse.writeKey(key, into: &o)
            o.member("field") { JSONResponse.writeBytes(field, base64: base64, into: &$0) }
            ValueEncoding.writeValue(value.storage, forceBase64: base64, into: &o)
            JSONResponse.writeSecondsTTL(pttl: pttl, into: &o)
        }
    }

    /// `{"value":"Alice","encoding":"utf-8"?,"nx":true?}` or a raw
    /// `application/octet-stream` body (`?nx=true`). HSET, or HSETNX with
    /// `nx`: 201 created, 200 replaced, 412 when `nx` and the field exists.
    static func putField(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let key = context.key, field = context.field
        let (value, fields) = try context.value()
        let nx = try context.reading { () throws(FieldError) in try fields.bool("nx") }
        var batch = CommandBatch()
        let existed = batch.flag("HEXISTS", [key, field])
        batch.run(nx ? "HSETNX" : "HSET", [key, field, Bytes(value)])
        let didExist = try context.atomically(&batch)[existed]
        if nx && didExist { throw Problem.conditionNotMet("the field already exists (nx)") }
        return context.json(didExist ? 200 : 201) { o in
            writeKeyAndField(context, into: &o)
            o.member("created") { $0.bool(!didExist) }
        }
    }

    static func deleteField(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        var batch = CommandBatch()
        let removed = batch.flag("HDEL", [context.key, context.field])
        let exists = batch.flag("EXISTS", [context.key])
        let replies = try context.atomically(&batch)
        guard try replies[removed] else { throw missing(context, keyExists: try replies[exists]) }
        return HTTPResponse(status: 204)
    }

    /// `{"by": 5}` → HINCRBY, `{"by": 0.5}` → HINCRBYFLOAT, no body → +1.
    /// `200 {"key","field","value": 6}`.
    static func increment(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let by = try context.incrementAmount()
        let reply = try context.execute(by?.isInteger == false ? "HINCRBYFLOAT" : "HINCRBY",
                                        [context.key, context.field, Bytes(by?.text ?? "1")])
        return context.json { o in
            writeKeyAndField(context, into: &o)
            JSONResponse.writeCounter(reply, into: &o)
        }
    }

    // MARK: - Field TTL

    static func ttlBody(_ context: ResourceContext, pttl: Int64, expiresAt: Int64) -> HTTPResponse {
        context.json { o in
            writeKeyAndField(context, into: &o)
            JSONResponse.writeTTL(pttl: pttl, expiresAt: expiresAt, into: &o)
        }
    }

    /// HPTTL, HPEXPIRETIME and EXISTS of the route's field, added to `batch`.
    static func ttlQueries(_ context: ResourceContext, into batch: inout CommandBatch)
        -> (pttl: ReplySlot<Int64?>, expiresAt: ReplySlot<Int64?>, exists: ReplySlot<Bool>) {
        let key = context.key, field = context.field
        return (batch.firstCode("HPTTL", [key, "FIELDS", "1", field]),
                batch.firstCode("HPEXPIRETIME", [key, "FIELDS", "1", field]),
                batch.flag("EXISTS", [key]))
    }

    static func getTTL(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        var batch = CommandBatch()
        let query = ttlQueries(context, into: &batch)
        let replies = try context.atomically(&batch)
        guard let pttl = try replies[query.pttl], let at = try replies[query.expiresAt], pttl != -2 else {
            throw missing(context, keyExists: try replies[query.exists])
        }
        return ttlBody(context, pttl: pttl, expiresAt: at)
    }

    /// `{"ttl": s}` | `{"pttl": ms}` | `{"expiresAt": unix-ms}`, optional
    /// `"condition": "nx"|"xx"|"gt"|"lt"` → HPEXPIRE / HPEXPIREAT. 200 with
    /// the new TTL, 204 when a deadline already past deleted the field, 404,
    /// 412 when the condition was not met.
    static func putTTL(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let expiry = try context.expiry()
        var arguments = [context.key, expiry.milliseconds]
        if let condition = expiry.condition { arguments.append(condition) }
        arguments += ["FIELDS", "1", context.field]
        var batch = CommandBatch()
        let outcome = batch.firstCode(expiry.absolute ? "HPEXPIREAT" : "HPEXPIRE", arguments)
        let query = ttlQueries(context, into: &batch)
        let replies = try context.atomically(&batch)
        switch try replies[outcome] ?? 1 {
        case -2: throw missing(context, keyExists: try replies[query.exists])
        case 0: throw Problem.conditionNotMet("the expiry condition was not met")
        case 2: return HTTPResponse(status: 204)
        default:
            guard let pttl = try replies[query.pttl], let at = try replies[query.expiresAt] else {
                throw Problem.badRequest("unexpected reply")
            }
            return ttlBody(context, pttl: pttl, expiresAt: at)
        }
    }

    /// HPERSIST: 204 (also when the field had no TTL), 404.
    static func deleteTTL(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        var batch = CommandBatch()
        let outcome = batch.firstCode("HPERSIST", [context.key, "FIELDS", "1", context.field])
        let exists = batch.flag("EXISTS", [context.key])
        let replies = try context.atomically(&batch)
        if try replies[outcome] == -2 { throw missing(context, keyExists: try replies[exists]) }
        return HTTPResponse(status: 204)
    }
}
