import Foundation
import KeywayEngine
import KeywayHTTP

/// `/v1/streams`: event logs with consumer groups as resources. Every route
/// builds XADD/XRANGE/XINFO/XGROUP/XPENDING/XCLAIM/XAUTOCLAIM/XACK commands;
/// Server-Sent Events delivery lives elsewhere.
enum StreamRoutes {
    static func register(_ routes: Routes) {
        let stream = routes.resource.group("/v1/streams/{key}")
        stream.get(info)
        stream.delete { context throws(HTTPResponse) in try context.deleteKey(ofType: "stream") }
        stream.post("/entries", append)
        stream.get("/entries", range)
        stream.get("/groups", groups)
        stream.post("/groups", createGroup)
        let group = stream.group("/groups/{group}")
        group.delete(destroyGroup)
        group.get("/pending", pending)
        group.post("/claim", claim)
        group.post("/ack", ack)
    }

    // MARK: - Rendering

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
                            fields.member(field) { JSONResponse.writeBytes(value, base64: base64, into: &$0) }
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
            JSONResponse.writeBytes(bytes, base64: base64 && !bytes.isValidUTF8, into: &json)
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

    /// A reply of a shape the command never gives.
    static let unexpected = Problem.response(500, code: "ERR", detail: "unexpected reply")

    /// The `{group}` segment.
    static func groupName(_ context: ResourceContext) -> Bytes { context.parameter("group") }

    /// `"key"` and `"group"` members.
    static func writeKeyAndGroup(_ context: ResourceContext, into o: inout ObjectWriter) {
        JSONResponse.writeKey(context.key, into: &o)
        o.member("group") { $0.string(bytes: groupName(context).storage) }
    }

    /// XGROUP's error for a missing stream, which the routes answer as 404 NO_SUCH_KEY.
    static func isMissingStream(_ error: CommandError) -> Bool {
        error.message.hasPrefix("ERR The XGROUP subcommand requires the key to exist")
    }

    /// A JSON object body; 400 naming `example` otherwise.
    static func jsonBody(_ context: ResourceContext, example: String) throws(HTTPResponse) -> JSONValue {
        try context.jsonObject(hint: "send a JSON body such as \(example)")
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
    static func info(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let reply = try context.execute("XINFO", ["STREAM", context.key])
        guard case .map = reply else { throw unexpected }
        let base64 = context.wantsBase64
        return context.json { o in
            JSONResponse.writeKey(context.key, into: &o)
            o.member("info") { writeInfo(reply, base64: base64, into: &$0) }
        }
    }

    // MARK: - Entries

    /// `{"fields": {...}, "id": "*", "maxlen": n, "minid": "id", "approximate":
    /// true, "limit": n, "nomkstream": false, "encoding": "base64"}` → XADD.
    static func append(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let object = try jsonBody(context, example: #"{"fields": {"type": "order.created"}}"#)
        let fields = Fields(json: object, request: context.request)
        let (arguments, noCreate) = try context.reading { () throws(FieldError) in
            var arguments: [Bytes] = [context.key]
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
            let noCreate = try fields.bool("nomkstream")
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
            return (arguments + flat, noCreate)
        }
        switch try context.execute("XADD", arguments) {
        case .bulk(let id):
            return context.json(201) { o in
                JSONResponse.writeKey(context.key, into: &o)
                o.member("id") { $0.string(bytes: id.storage) }
            }
        case .null where noCreate:
            throw context.noSuchKey
        default:
            throw unexpected
        }
    }

    /// `?start=-&end=+&count=&reverse=false` → XRANGE/XREVRANGE; 404 when missing.
    static func range(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let request = context.request, key = context.key
        let start = idParameter(request, "start", default: "-")
        let end = idParameter(request, "end", default: "+")
        let reverse = try context.reading { () throws(FieldError) in try Fields(json: nil, request: request).bool("reverse") }
        var arguments = reverse ? [key, end, start] : [key, start, end]
        if let count = request.queryValue("count") {
            guard let n = Parse.strictInt64(Bytes(count)), n > 0 else { throw Problem.badRequest("'count' must be a positive integer") }
            arguments += ["COUNT", Bytes(String(n))]
        }
        var batch = CommandBatch()
        let existed = batch.flag("EXISTS", [key])
        let read = batch.reply(reverse ? "XREVRANGE" : "XRANGE", arguments)
        let replies = try context.atomically(&batch)
        guard try replies[existed] else { throw context.noSuchKey }
        guard case .array(let entries) = try replies[read] else { throw unexpected }
        let base64 = context.wantsBase64 || needsBase64(entries)
        return context.json { o in
            JSONResponse.writeKey(key, into: &o)
            o.member("entries") { writeEntries(entries, base64: base64, into: &$0) }
            o.member("encoding") { $0.string(base64 ? "base64" : "utf-8") }
        }
    }

    // MARK: - Groups

    static func groups(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let reply = try context.execute("XINFO", ["GROUPS", context.key])
        guard case .array = reply else { throw unexpected }
        return context.json { o in
            JSONResponse.writeKey(context.key, into: &o)
            o.member("groups") { writeInfo(reply, base64: false, into: &$0) }
        }
    }

    /// `{"group": "g", "id": "$", "mkstream": true, "entriesRead": n}` → XGROUP CREATE:
    /// 201; 409 BUSYGROUP when it exists; 404 when the stream is missing without mkstream.
    static func createGroup(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let object = try jsonBody(context, example: #"{"group": "g", "id": "$", "mkstream": true}"#)
        let fields = Fields(json: object, request: context.request)
        let (name, arguments) = try context.reading { () throws(FieldError) in
            guard let group = try fields.string("group"), !group.isEmpty else { throw FieldError("'group' (a string) is required") }
            var arguments: [Bytes] = ["CREATE", context.key, Bytes(group), Bytes(try fields.string("id") ?? "$")]
            if try fields.bool("mkstream") { arguments.append("MKSTREAM") }
            if let read = try fields.number("entriesRead") {
                guard Int64(read) != nil else { throw FieldError("'entriesRead' must be an integer") }
                arguments += ["ENTRIESREAD", Bytes(read)]
            }
            return (group, arguments)
        }
        switch context.replyOrError("XGROUP", arguments) {
        case .status("OK"):
            return context.json(201) { o in
                JSONResponse.writeKey(context.key, into: &o)
                o.member("group") { $0.string(name) }
            }
        case .error(let error) where isMissingStream(error): throw context.noSuchKey
        case .error(let error): throw Problem.from(error)
        default: throw unexpected
        }
    }

    /// XGROUP DESTROY: 204, 404 (no stream, or no such group).
    static func destroyGroup(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let group = groupName(context)
        switch context.replyOrError("XGROUP", ["DESTROY", context.key, group]) {
        case .integer(1): return HTTPResponse(status: 204)
        case .integer(0):
            throw Problem.response(404, code: "NOGROUP", detail: "no consumer group '\(group.text)' on stream '\(context.key.text)'")
        case .error(let error) where isMissingStream(error): throw context.noSuchKey
        case .error(let error): throw Problem.from(error)
        default: throw unexpected
        }
    }

    /// XPENDING: the summary, or with any of `count`, `start`, `end`,
    /// `idle`, `consumer` the entries (count defaults to 10).
    static func pending(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let request = context.request
        let consumer = request.queryValue("consumer").map(Bytes.init)
        let idle = request.queryString("idle")
        let extended = ["count", "start", "end", "idle", "consumer"].contains { request.queryValue($0) != nil }
        var arguments: [Bytes] = [context.key, groupName(context)]
        if extended {
            if let idle {
                guard let ms = Int64(idle), ms >= 0 else { throw Problem.badRequest("'idle' must be a number of milliseconds") }
                arguments += ["IDLE", Bytes(String(ms))]
            }
            let count = request.queryString("count") ?? "10"
            guard let n = Int64(count), n > 0 else { throw Problem.badRequest("'count' must be a positive integer") }
            arguments += [idParameter(request, "start", default: "-"), idParameter(request, "end", default: "+"), Bytes(String(n))]
            if let consumer { arguments.append(consumer) }
        }
        guard case .array(let parts) = try context.execute("XPENDING", arguments) else { throw unexpected }
        if !extended {
            guard parts.count == 4, case .integer(let total) = parts[0] else { throw unexpected }
            return context.json { o in
                writeKeyAndGroup(context, into: &o)
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
        return context.json { o in
            writeKeyAndGroup(context, into: &o)
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
    static func claim(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let object = try jsonBody(context, example: #"{"consumer": "c2", "minIdle": 60000, "ids": ["1-0"]}"#)
        let fields = Fields(json: object, request: context.request)
        let (command, automatic, justID) = try context.reading { () throws(FieldError) in
            guard let consumer = try fields.string("consumer"), !consumer.isEmpty else { throw FieldError("'consumer' (a string) is required") }
            guard let minIdle = try fields.number("minIdle"), let idle = Int64(minIdle), idle >= 0 else {
                throw FieldError("'minIdle' (milliseconds, >= 0) is required")
            }
            let justID = try fields.bool("justId")
            let head: [Bytes] = [context.key, groupName(context), Bytes(consumer), Bytes(String(idle))]
            if object["ids"] != nil {
                return (Command("XCLAIM", head + (try ids(object, "ids")) + (justID ? ["JUSTID"] : [])), false, justID)
            }
            var arguments = head + [Bytes(try fields.string("start") ?? "0-0")]
            if let count = try fields.number("count") {
                guard let n = Int64(count), n > 0 else { throw FieldError("'count' must be a positive integer") }
                arguments += ["COUNT", Bytes(String(n))]
            }
            if justID { arguments.append("JUSTID") }
            return (Command("XAUTOCLAIM", arguments), true, justID)
        }
        guard case .array(let parts) = try context.execute(command) else { throw unexpected }
        let claimed: [Reply]
        if automatic {
            guard parts.count == 3, case .array(let list) = parts[1] else { throw unexpected }
            claimed = list
        } else {
            claimed = parts
        }
        let base64 = context.wantsBase64 || needsBase64(claimed)
        return context.json { o in
            writeKeyAndGroup(context, into: &o)
            if automatic { o.member("next") { writeInfo(parts[0], base64: false, into: &$0) } }
            o.member("claimed") { writeEntries(claimed, base64: base64, into: &$0) }
            if automatic { o.member("deleted") { writeInfo(parts[2], base64: false, into: &$0) } }
            if !justID { o.member("encoding") { $0.string(base64 ? "base64" : "utf-8") } }
        }
    }

    /// `{"ids": [...]}` → XACK: `{"acked": n}`; 404 when the stream or group is missing.
    static func ack(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let object = try jsonBody(context, example: #"{"ids": ["1-0"]}"#)
        let list = try context.reading { () throws(FieldError) in try ids(object, "ids") }
        let key = context.key, group = groupName(context)
        var batch = CommandBatch()
        // XPENDING first: it answers NOGROUP (404) for a missing stream or group.
        batch.run("XPENDING", [key, group])
        let acked = batch.integer("XACK", [key, group] + list)
        let count = try context.atomically(&batch)[acked]
        return context.json { o in
            writeKeyAndGroup(context, into: &o)
            o.member("acked") { $0.integer(count) }
        }
    }
}
