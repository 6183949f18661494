import Foundation
import KeywayEngine
import KeywayHTTP

/// `/v1/streams`: event logs with consumer groups as resources. Every route
/// builds XADD/XRANGE/XINFO/XGROUP/XPENDING/XCLAIM/XAUTOCLAIM/XACK commands;
/// Server-Sent Events delivery lives elsewhere.
enum StreamRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("GET", "/v1/streams/{key}", gateway.route(.resource) { request, p in info(request, key(p), gateway) })
        router.add("DELETE", "/v1/streams/{key}", gateway.route(.resource) { _, p in delete(key(p), gateway) })
        router.add("POST", "/v1/streams/{key}/entries", gateway.route(.resource) { request, p in append(request, key(p), gateway) })
        router.add("GET", "/v1/streams/{key}/entries", gateway.route(.resource) { request, p in range(request, key(p), gateway) })
        router.add("GET", "/v1/streams/{key}/groups", gateway.route(.resource) { request, p in groups(request, key(p), gateway) })
        router.add("POST", "/v1/streams/{key}/groups", gateway.route(.resource) { request, p in createGroup(request, key(p), gateway) })
        router.add("DELETE", "/v1/streams/{key}/groups/{group}", gateway.route(.resource) { _, p in destroyGroup(key(p), group(p), gateway) })
        router.add("GET", "/v1/streams/{key}/groups/{group}/pending", gateway.route(.resource) { request, p in pending(request, key(p), group(p), gateway) })
        router.add("POST", "/v1/streams/{key}/groups/{group}/claim", gateway.route(.resource) { request, p in claim(request, key(p), group(p), gateway) })
        router.add("POST", "/v1/streams/{key}/groups/{group}/ack", gateway.route(.resource) { request, p in ack(request, key(p), group(p), gateway) })
    }

    static func key(_ parameters: RouteParameters) -> Bytes { Bytes(parameters["key"] ?? []) }
    static func group(_ parameters: RouteParameters) -> Bytes { Bytes(parameters["group"] ?? []) }

    // MARK: - Rendering

    /// Writes bytes as a JSON string, base64 when `base64`.
    static func writeBytes(_ bytes: Bytes, base64: Bool, into json: inout JSONWriter) {
        if base64 { json.string(Data(bytes.storage).base64EncodedString()) } else { json.string(bytes: bytes.storage) }
    }

    /// `[id, [field, value, ...]]` replies as `{"id": ..., "fields": {...}}`
    /// (a deleted entry's nil fields as `null`).
    static func writeEntries(_ replies: [Reply], base64: Bool, into json: inout JSONWriter) {
        json.array(replies) { json, reply in writeEntry(reply, base64: base64, into: &json) }
    }

    static func writeEntry(_ reply: Reply, base64: Bool, into json: inout JSONWriter) {
        guard case .array(let parts) = reply, parts.count == 2, case .bulk(let id) = parts[0] else {
            if case .bulk(let id) = reply { json.string(bytes: id.storage) } else { json.null() }
            return
        }
        json.object { o in
            o.member("id") { $0.string(bytes: id.storage) }
            o.member("fields") { json in
                guard case .array(let flat) = parts[1] else { json.null(); return }
                json.object { fields in
                    var i = 0
                    while i + 1 < flat.count {
                        if case .bulk(let name) = flat[i], case .bulk(let value) = flat[i + 1] {
                            let field = base64 ? Data(name.storage).base64EncodedString() : name.text
                            fields.member(field) { writeBytes(value, base64: base64, into: &$0) }
                        }
                        i += 2
                    }
                }
            }
        }
    }

    /// Whether any field name or value in these entries is not UTF-8
    /// (then the whole response is base64, as for lists).
    static func needsBase64(_ replies: [Reply]) -> Bool {
        func check(_ reply: Reply) -> Bool {
            switch reply {
            case .bulk(let bytes): return !bytes.isValidUTF8
            case .array(let items), .map(let items): return items.contains(where: check)
            default: return false
            }
        }
        return replies.contains(where: check)
    }

    /// `last-generated-id` → `lastGeneratedId`.
    static func camelCase(_ name: String) -> String {
        let parts = name.split(separator: "-")
        guard let first = parts.first else { return name }
        return String(first) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// An XINFO map as a JSON object with camelCase names; entries as entry
    /// objects, nested maps and arrays recursively.
    static func writeInfo(_ reply: Reply, base64: Bool, into json: inout JSONWriter) {
        switch reply {
        case .map(let pairs):
            json.object { o in
                var i = 0
                while i + 1 < pairs.count {
                    guard case .bulk(let name) = pairs[i] else { i += 2; continue }
                    let value = pairs[i + 1]
                    let isEntry = name == "first-entry" || name == "last-entry"
                    o.member(camelCase(name.text)) { json in
                        if isEntry { writeEntry(value, base64: base64, into: &json) }
                        else if name == "entries", case .array(let items) = value { writeEntries(items, base64: base64, into: &json) }
                        else { writeInfo(value, base64: base64, into: &json) }
                    }
                    i += 2
                }
            }
        case .array(let items):
            json.array(items) { json, item in writeInfo(item, base64: base64, into: &json) }
        case .bulk(let bytes):
            writeBytes(bytes, base64: base64 && !bytes.isValidUTF8, into: &json)
        case .integer(let value): json.integer(value)
        case .double(let value): json.double(value)
        case .status(let text): json.string(text)
        case .null, .error: json.null()
        }
    }

    /// An ID query parameter. A bare `+` arrives as a space (form
    /// encoding turns `+` into one), so a lone space reads as `+`.
    static func idParameter(_ request: HTTPRequest, _ name: String, default fallback: String) -> Bytes {
        guard let raw = request.queryValue(name) else { return Bytes(fallback) }
        return raw == [0x20] ? "+" : Bytes(raw)
    }

    static func unexpected(_ reply: Reply) -> HTTPResponse {
        if case .error(let error) = reply { return Problem.from(error) }
        return Problem.response(500, code: "ERR", detail: "unexpected reply")
    }

    static func noGroup(_ key: Bytes, _ group: Bytes) -> HTTPResponse {
        Problem.response(404, code: "NOGROUP", detail: "no consumer group '\(group.text)' on stream '\(key.text)'")
    }

    /// A JSON object body, or the problem to answer with.
    static func jsonBody(_ request: HTTPRequest, example: String) -> Result<JSONValue, HTTPResponse> {
        switch RequestBody.read(request, allowRaw: false) {
        case .failure(let problem): return .failure(problem)
        case .success(.json(let object)): return .success(object)
        case .success: return .failure(Problem.badRequest("send a JSON body such as \(example)"))
        }
    }

    /// A JSON array of ID strings under `name`.
    static func ids(_ object: JSONValue, _ name: String) throws(FieldError) -> [Bytes] {
        guard case .array(let items)? = object[name], !items.isEmpty else {
            throw FieldError("'\(name)' must be a non-empty array of entry IDs")
        }
        var result: [Bytes] = []
        for item in items {
            guard case .string(let text) = item else { throw FieldError("'\(name)' must be a non-empty array of entry IDs") }
            result.append(Bytes(text))
        }
        return result
    }

    // MARK: - The stream

    /// XINFO STREAM as JSON; 404 when missing.
    static func info(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let reply = gateway.executor.execute(Command("XINFO", ["STREAM", key]))
        guard case .map = reply else { return unexpected(reply) }
        let base64 = ValueEncoding.wantsBase64(request)
        var json = JSONWriter(capacity: 512)
        json.object { o in
            KeyRoutes.writeKey(key, base64: false, into: &o)
            o.member("info") { writeInfo(reply, base64: base64, into: &$0) }
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: json.bytes)
    }

    /// Deletes the key only when it holds a stream (409 otherwise, 404 when
    /// missing). TYPE then DEL: a write landing in between is the only race.
    static func delete(_ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let type = gateway.executor.execute(Command("TYPE", [key]))
        switch type {
        case .status("none"): return Problem.noSuchKey(key.storage)
        case .status("stream"): return KeyRoutes.delete(key, gateway)
        case .error(let error): return Problem.from(error)
        default: return Problem.from(.wrongType)
        }
    }

    // MARK: - Entries

    /// `{"fields": {...}, "id": "*", "maxlen": n, "minid": "id", "approximate":
    /// true, "limit": n, "nomkstream": false, "encoding": "base64"}` → XADD.
    static func append(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let object: JSONValue
        switch jsonBody(request, example: #"{"fields": {"type": "order.created"}}"#) {
        case .failure(let problem): return problem
        case .success(let body): object = body
        }
        let fields = Fields(json: object, request: request)
        var arguments: [Bytes] = [key]
        let noCreate: Bool
        do throws(FieldError) {
            guard case .object(let pairs)? = object["fields"], !pairs.isEmpty else {
                throw FieldError("'fields' must be a non-empty object of strings")
            }
            let encoding = try fields.string("encoding")
            var flat: [Bytes] = []
            for (name, value) in pairs {
                guard case .string(let text) = value else { throw FieldError("'fields' must be a non-empty object of strings") }
                flat.append(Bytes(try ValueEncoding.decode(name, encoding: encoding)))
                flat.append(Bytes(try ValueEncoding.decode(text, encoding: encoding)))
            }
            noCreate = try fields.bool("nomkstream")
            if noCreate { arguments.append("NOMKSTREAM") }
            let maxlen = try fields.number("maxlen")
            let minid = try fields.string("minid")
            if maxlen != nil && minid != nil { throw FieldError("give 'maxlen' or 'minid', not both") }
            let approximate = try fields.bool("approximate")
            let limit = try fields.number("limit")
            if let maxlen {
                guard Int64(maxlen) != nil else { throw FieldError("'maxlen' must be an integer") }
                arguments += ["MAXLEN", approximate ? "~" : "=", Bytes(maxlen)]
            } else if let minid {
                arguments += ["MINID", approximate ? "~" : "=", Bytes(minid)]
            }
            if let limit {
                guard maxlen != nil || minid != nil else { throw FieldError("'limit' needs 'maxlen' or 'minid'") }
                guard Int64(limit) != nil else { throw FieldError("'limit' must be an integer") }
                arguments += ["LIMIT", Bytes(limit)]
            }
            arguments.append(Bytes(try fields.string("id") ?? "*"))
            arguments += flat
        } catch {
            return Problem.badRequest(error.message)
        }
        let reply = gateway.executor.execute(Command("XADD", arguments))
        switch reply {
        case .bulk(let id):
            return KeyRoutes.json(201) { o in
                KeyRoutes.writeKey(key, base64: false, into: &o)
                o.member("id") { $0.string(bytes: id.storage) }
            }
        case .null where noCreate:
            return Problem.noSuchKey(key.storage)
        default:
            return unexpected(reply)
        }
    }

    /// `?start=-&end=+&count=&reverse=false` → XRANGE/XREVRANGE; 404 when missing.
    static func range(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let start = idParameter(request, "start", default: "-")
        let end = idParameter(request, "end", default: "+")
        let reverse: Bool
        do throws(FieldError) {
            reverse = try Fields(json: nil, request: request).bool("reverse")
        } catch {
            return Problem.badRequest(error.message)
        }
        var command = reverse ? Command("XREVRANGE", [key, end, start]) : Command("XRANGE", [key, start, end])
        if let count = request.queryValue("count") {
            guard let n = Parse.strictInt64(Bytes(count)), n > 0 else { return Problem.badRequest("'count' must be a positive integer") }
            command.arguments += ["COUNT", Bytes(String(n))]
        }
        switch gateway.runAtomically([Command("EXISTS", [key]), command]) {
        case .failure(let problem): return problem
        case .success(let replies):
            if replies[0] == .integer(0) { return Problem.noSuchKey(key.storage) }
            guard case .array(let entries) = replies[1] else { return unexpected(replies[1]) }
            let base64 = ValueEncoding.wantsBase64(request) || needsBase64(entries)
            return KeyRoutes.json(200) { o in
                KeyRoutes.writeKey(key, base64: false, into: &o)
                o.member("entries") { writeEntries(entries, base64: base64, into: &$0) }
                o.member("encoding") { $0.string(base64 ? "base64" : "utf-8") }
            }
        }
    }

    // MARK: - Groups

    static func groups(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let reply = gateway.executor.execute(Command("XINFO", ["GROUPS", key]))
        guard case .array = reply else { return unexpected(reply) }
        return KeyRoutes.json(200) { o in
            KeyRoutes.writeKey(key, base64: false, into: &o)
            o.member("groups") { writeInfo(reply, base64: false, into: &$0) }
        }
    }

    /// `{"group": "g", "id": "$", "mkstream": true, "entriesRead": n}` → XGROUP CREATE:
    /// 201; 409 BUSYGROUP when it exists; 404 when the stream is missing without mkstream.
    static func createGroup(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let object: JSONValue
        switch jsonBody(request, example: #"{"group": "g", "id": "$", "mkstream": true}"#) {
        case .failure(let problem): return problem
        case .success(let body): object = body
        }
        let fields = Fields(json: object, request: request)
        var arguments: [Bytes] = ["CREATE", key]
        let name: String
        do throws(FieldError) {
            guard let group = try fields.string("group"), !group.isEmpty else { throw FieldError("'group' (a string) is required") }
            name = group
            arguments += [Bytes(group), Bytes(try fields.string("id") ?? "$")]
            if try fields.bool("mkstream") { arguments.append("MKSTREAM") }
            if let read = try fields.number("entriesRead") {
                guard Int64(read) != nil else { throw FieldError("'entriesRead' must be an integer") }
                arguments += ["ENTRIESREAD", Bytes(read)]
            }
        } catch {
            return Problem.badRequest(error.message)
        }
        let reply = gateway.executor.execute(Command("XGROUP", arguments))
        switch reply {
        case .status("OK"):
            return KeyRoutes.json(201) { o in
                KeyRoutes.writeKey(key, base64: false, into: &o)
                o.member("group") { $0.string(name) }
            }
        case .error(let error) where error.message.hasPrefix("ERR The XGROUP subcommand requires the key to exist"):
            return Problem.noSuchKey(key.storage)
        default:
            return unexpected(reply)
        }
    }

    /// XGROUP DESTROY: 204, 404 (no stream, or no such group).
    static func destroyGroup(_ key: Bytes, _ group: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let reply = gateway.executor.execute(Command("XGROUP", ["DESTROY", key, group]))
        switch reply {
        case .integer(1): return HTTPResponse(status: 204)
        case .integer(0): return noGroup(key, group)
        case .error(let error) where error.message.hasPrefix("ERR The XGROUP subcommand requires the key to exist"):
            return Problem.noSuchKey(key.storage)
        default: return unexpected(reply)
        }
    }

    /// XPENDING: the summary, or with any of `count`, `start`, `end`,
    /// `idle`, `consumer` the entries (count defaults to 10).
    static func pending(_ request: HTTPRequest, _ key: Bytes, _ group: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let consumer = request.queryValue("consumer").map(Bytes.init)
        let idle = request.queryString("idle")
        let extended = ["count", "start", "end", "idle", "consumer"].contains { request.queryValue($0) != nil }
        var arguments: [Bytes] = [key, group]
        if extended {
            if let idle {
                guard let ms = Int64(idle), ms >= 0 else { return Problem.badRequest("'idle' must be a number of milliseconds") }
                arguments += ["IDLE", Bytes(String(ms))]
            }
            let count = request.queryString("count") ?? "10"
            guard let n = Int64(count), n > 0 else { return Problem.badRequest("'count' must be a positive integer") }
            arguments += [idParameter(request, "start", default: "-"), idParameter(request, "end", default: "+"), Bytes(String(n))]
            if let consumer { arguments.append(consumer) }
        }
        let reply = gateway.executor.execute(Command("XPENDING", arguments))
        guard case .array(let parts) = reply else { return unexpected(reply) }
        if !extended {
            guard parts.count == 4, case .integer(let total) = parts[0] else { return unexpected(reply) }
            return KeyRoutes.json(200) { o in
                KeyRoutes.writeKey(key, base64: false, into: &o)
                o.member("group") { $0.string(bytes: group.storage) }
                o.member("pending") { $0.integer(total) }
                o.member("smallestId") { writeInfo(parts[1], base64: false, into: &$0) }
                o.member("greatestId") { writeInfo(parts[2], base64: false, into: &$0) }
                o.member("consumers") { json in
                    let owners: [Reply] = if case .array(let list) = parts[3] { list } else { [] }
                    json.array(owners) { json, owner in
                        guard case .array(let pair) = owner, pair.count == 2, case .bulk(let name) = pair[0],
                              case .bulk(let count) = pair[1] else { json.null(); return }
                        json.object { o in
                            o.member("name") { $0.string(bytes: name.storage) }
                            o.member("pending") { $0.raw(count.text) }
                        }
                    }
                }
            }
        }
        return KeyRoutes.json(200) { o in
            KeyRoutes.writeKey(key, base64: false, into: &o)
            o.member("group") { $0.string(bytes: group.storage) }
            o.member("entries") { json in
                json.array(parts) { json, row in
                    guard case .array(let cells) = row, cells.count == 4, case .bulk(let id) = cells[0], case .bulk(let owner) = cells[1],
                          case .integer(let idle) = cells[2], case .integer(let deliveries) = cells[3] else { json.null(); return }
                    json.object { o in
                        o.member("id") { $0.string(bytes: id.storage) }
                        o.member("consumer") { $0.string(bytes: owner.storage) }
                        o.member("idleMs") { $0.integer(idle) }
                        o.member("deliveryCount") { $0.integer(deliveries) }
                    }
                }
            }
        }
    }

    /// `{"consumer": "c2", "minIdle": 60000, "ids": [...]}` → XCLAIM, or
    /// `{"consumer": "c2", "minIdle": 60000, "start": "0-0", "count": 10}` →
    /// XAUTOCLAIM (`next` is the cursor for the following call, `"0-0"` at the
    /// end; `deleted` lists pending IDs dropped because their entries are gone).
    /// `"justId": true` answers IDs instead of entries.
    static func claim(_ request: HTTPRequest, _ key: Bytes, _ group: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let object: JSONValue
        switch jsonBody(request, example: #"{"consumer": "c2", "minIdle": 60000, "ids": ["1-0"]}"#) {
        case .failure(let problem): return problem
        case .success(let body): object = body
        }
        let fields = Fields(json: object, request: request)
        let command: Command
        let automatic: Bool
        let justID: Bool
        do throws(FieldError) {
            guard let consumer = try fields.string("consumer"), !consumer.isEmpty else { throw FieldError("'consumer' (a string) is required") }
            guard let minIdle = try fields.number("minIdle"), let idle = Int64(minIdle), idle >= 0 else {
                throw FieldError("'minIdle' (milliseconds, >= 0) is required")
            }
            justID = try fields.bool("justId")
            let head: [Bytes] = [key, group, Bytes(consumer), Bytes(String(idle))]
            if object["ids"] != nil {
                automatic = false
                command = Command("XCLAIM", head + (try ids(object, "ids")) + (justID ? ["JUSTID"] : []))
            } else {
                automatic = true
                var arguments = head + [Bytes(try fields.string("start") ?? "0-0")]
                if let count = try fields.number("count") {
                    guard let n = Int64(count), n > 0 else { throw FieldError("'count' must be a positive integer") }
                    arguments += ["COUNT", Bytes(String(n))]
                }
                if justID { arguments.append("JUSTID") }
                command = Command("XAUTOCLAIM", arguments)
            }
        } catch {
            return Problem.badRequest(error.message)
        }
        let reply = gateway.executor.execute(command)
        guard case .array(let parts) = reply else { return unexpected(reply) }
        let claimed: [Reply]
        if automatic {
            guard parts.count == 3, case .array(let list) = parts[1] else { return unexpected(reply) }
            claimed = list
        } else {
            claimed = parts
        }
        let base64 = ValueEncoding.wantsBase64(request) || needsBase64(claimed)
        return KeyRoutes.json(200) { o in
            KeyRoutes.writeKey(key, base64: false, into: &o)
            o.member("group") { $0.string(bytes: group.storage) }
            if automatic { o.member("next") { writeInfo(parts[0], base64: false, into: &$0) } }
            o.member("claimed") { writeEntries(claimed, base64: base64, into: &$0) }
            if automatic { o.member("deleted") { writeInfo(parts[2], base64: false, into: &$0) } }
            if !justID { o.member("encoding") { $0.string(base64 ? "base64" : "utf-8") } }
        }
    }

    /// `{"ids": [...]}` → XACK: `{"acked": n}`; 404 when the stream or group is missing.
    static func ack(_ request: HTTPRequest, _ key: Bytes, _ group: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let object: JSONValue
        switch jsonBody(request, example: #"{"ids": ["1-0"]}"#) {
        case .failure(let problem): return problem
        case .success(let body): object = body
        }
        let list: [Bytes]
        do throws(FieldError) {
            list = try ids(object, "ids")
        } catch {
            return Problem.badRequest(error.message)
        }
        // XPENDING first: it answers NOGROUP (404) for a missing stream or group.
        switch gateway.runAtomically([Command("XPENDING", [key, group]), Command("XACK", [key, group] + list)]) {
        case .failure(let problem): return problem
        case .success(let replies):
            guard case .integer(let acked) = replies[1] else { return unexpected(replies[1]) }
            return KeyRoutes.json(200) { o in
                KeyRoutes.writeKey(key, base64: false, into: &o)
                o.member("group") { $0.string(bytes: group.storage) }
                o.member("acked") { $0.integer(acked) }
            }
        }
    }
}
