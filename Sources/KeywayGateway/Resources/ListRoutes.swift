import KeywayEngine
import KeywayHTTP

/// `/v1/lists`: queues and recent-item lists as resources, including the
/// blocking pop job queues use (`POST .../pop?timeout=30`).
enum ListRoutes {
    static func register(_ routes: Routes) {
        let list = routes.resource.group("/v1/lists/{key}")
        list.get(range)
        list.post(push)
        list.delete { context throws(HTTPResponse) in try context.deleteKey(ofType: "list") }
        list.addResult("POST", "/pop", pop)
        list.post("/trim", trim)
        list.get("/items/{index}", item)
        list.put("/items/{index}", setItem)
    }

    /// `"key"` and `"length"` members.
    static func lengthBody(_ context: ResourceContext, _ length: Int64) -> HTTPResponse {
        context.json { o in
            JSONResponse.writeKey(context.key, into: &o)
            o.member("length") { $0.integer(length) }
        }
    }

    /// `?start=0&stop=-1` (LRANGE), with the length; 404 when missing.
    static func range(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let request = context.request, key = context.key
        let start = request.queryValue("start").map(Bytes.init) ?? "0"
        let stop = request.queryValue("stop").map(Bytes.init) ?? "-1"
        var batch = CommandBatch()
        let length = batch.integer("LLEN", [key])
        let values = batch.bulkArray("LRANGE", [key, start, stop])
        let replies = try context.atomically(&batch)
        let total = try replies[length]
        guard total > 0 else { throw context.noSuchKey }
        let items = try replies[values]
        return context.json { o in
            JSONResponse.writeKey(key, into: &o)
            o.member("length") { $0.integer(total) }
            JSONResponse.writeEncodedList("values", items, forceBase64: context.wantsBase64, into: &o)
        }
    }

    /// `{"values": [...], "end": "left"|"right", "onlyIfExists": false}`.
    static func push(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let object = try context.jsonObject(hint: "send {\"values\": [\"a\", \"b\"]}")
        let fields = Fields(json: object, request: context.request)
        let (values, left, onlyIfExists) = try context.reading { () throws(FieldError) in
            guard case .array(let items)? = object["values"], !items.isEmpty else {
                throw FieldError("'values' must be a non-empty array of strings")
            }
            let encoding = try fields.string("encoding")
            var values: [Bytes] = []
            for item in items {
                guard case .string(let text) = item else { throw FieldError("'values' must be a non-empty array of strings") }
                values.append(Bytes(try ValueEncoding.decode(text, encoding: encoding)))
            }
            return (values, try end(fields.string("end")), try fields.bool("onlyIfExists"))
        }
        let name = (left ? "LPUSH" : "RPUSH") + (onlyIfExists ? "X" : "")
        guard case .integer(let length) = try context.execute(name, [context.key] + values) else {
            throw Problem.badRequest("unexpected reply")
        }
        if onlyIfExists && length == 0 { throw context.noSuchKey }
        return lengthBody(context, length)
    }

    /// `end=left|right` (right when absent): whether it is the left end.
    static func end(_ text: String?) throws(FieldError) -> Bool {
        switch text?.lowercased() {
        case nil, "right": return false
        case "left": return true
        default: throw FieldError("'end' must be left or right")
        }
    }

    // MARK: - Pop

    /// `?end=right&count=n&timeout=s`: 200 with the element(s), 204 when the
    /// list is empty or the wait timed out. With a timeout the request parks
    /// (BLPOP/BRPOP/BLMPOP) without holding a server thread.
    static func pop(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResult {
        let request = context.request, key = context.key
        let left = try context.reading { () throws(FieldError) in try end(request.queryString("end")) }
        let count = request.queryValue("count").map(Bytes.init)
        let timeout = request.queryValue("timeout").map(Bytes.init)
        let base64 = context.wantsBase64
        guard let timeout else {
            let reply = try context.execute(left ? "LPOP" : "RPOP", [key] + (count.map { [$0] } ?? []))
            return .response(popResponse(reply, shape: count == nil ? .element : .elements, key: key, base64: base64))
        }
        if let count {
            let command = Command("BLMPOP", [timeout, "1", key, left ? "LEFT" : "RIGHT", "COUNT", count])
            return context.submitBlocking(command) { popResponse($0, shape: .keyAndElements, key: key, base64: base64) }
        }
        let command = Command(left ? "BLPOP" : "BRPOP", [key, timeout])
        return context.submitBlocking(command) { popResponse($0, shape: .keyAndElement, key: key, base64: base64) }
    }

    /// The reply shapes of the pop commands used above.
    enum PopShape: Sendable {
        /// LPOP key: one bulk.
        case element
        /// LPOP key count: an array of bulks.
        case elements
        /// BLPOP: [key, element].
        case keyAndElement
        /// BLMPOP: [key, [elements]].
        case keyAndElements
    }

    static func popResponse(_ reply: Reply, shape: PopShape, key: Bytes, base64: Bool) -> HTTPResponse {
        func bulks(_ elements: [Reply]) -> [Bytes] {
            elements.compactMap { if case .bulk(let b) = $0 { return b } else { return nil } }
        }
        if case .error(let error) = reply { return Problem.from(error) }
        switch (shape, reply) {
        case (.element, .bulk(let value)):
            return single(key, value, base64: base64)
        case (.elements, .array(let elements)) where !elements.isEmpty:
            return many(key, bulks(elements), base64: base64)
        case (.keyAndElement, .array(let parts)) where parts.count == 2:
            if case .bulk(let value) = parts[1] { return single(key, value, base64: base64) }
        case (.keyAndElements, .array(let parts)) where parts.count == 2:
            if case .array(let elements) = parts[1] { return many(key, bulks(elements), base64: base64) }
        default:
            break
        }
        // Nil (empty list, or the wait timed out) and empty arrays.
        return HTTPResponse(status: 204)
    }

    static func single(_ key: Bytes, _ value: Bytes, base64: Bool) -> HTTPResponse {
        JSONResponse.object { o in
            JSONResponse.writeKey(key, into: &o)
            ValueEncoding.writeValue(value.storage, forceBase64: base64, into: &o)
        }
    }

    static func many(_ key: Bytes, _ values: [Bytes], base64: Bool) -> HTTPResponse {
        JSONResponse.object { o in
            JSONResponse.writeKey(key, into: &o)
            JSONResponse.writeEncodedList("values", values, forceBase64: base64, into: &o)
        }
    }

    // MARK: - Trim and items

    /// `{"start": 0, "stop": 99}` keeps that range (LTRIM), answering the new length.
    static func trim(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let object = try context.jsonObject(hint: "send {\"start\": 0, \"stop\": 99}")
        let fields = Fields(json: object, request: context.request)
        let (start, stop) = try context.reading { () throws(FieldError) in
            guard let s = try fields.number("start"), let e = try fields.number("stop"), Int64(s) != nil, Int64(e) != nil else {
                throw FieldError("'start' and 'stop' must be integers")
            }
            return (s, e)
        }
        let key = context.key
        var batch = CommandBatch()
        let existed = batch.flag("EXISTS", [key])
        batch.run("LTRIM", [key, Bytes(start), Bytes(stop)])
        let length = batch.integer("LLEN", [key])
        let replies = try context.atomically(&batch)
        guard try replies[existed] else { throw context.noSuchKey }
        return lengthBody(context, try replies[length])
    }

    /// The `{index}` segment; 400 unless it is an integer.
    static func index(_ context: ResourceContext) throws(HTTPResponse) -> Bytes {
        let raw = context.parameter("index")
        guard Parse.strictInt64(raw) != nil else { throw Problem.badRequest("the index must be an integer") }
        return raw
    }

    static func noSuchItem(_ index: Bytes) -> HTTPResponse {
        Problem.response(404, code: "NO_SUCH_ITEM", detail: "index \(index.text) is outside the list")
    }

    static func itemBody(_ context: ResourceContext, _ index: Bytes, _ value: [UInt8]) -> HTTPResponse {
        context.json { o in
            o.member("index") { $0.raw(index.text) }
            ValueEncoding.writeValue(value, forceBase64: context.wantsBase64, into: &o)
        }
    }

    static func item(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let index = try index(context)
        var batch = CommandBatch()
        let existed = batch.flag("EXISTS", [context.key])
        let value = batch.bulk("LINDEX", [context.key, index])
        let replies = try context.atomically(&batch)
        guard try replies[existed] else { throw context.noSuchKey }
        guard let value = try replies[value] else { throw noSuchItem(index) }
        return itemBody(context, index, value.storage)
    }

    /// LSET: 200, 404 NO_SUCH_KEY / NO_SUCH_ITEM.
    static func setItem(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let index = try index(context)
        let value = try context.value().value
        switch context.replyOrError("LSET", [context.key, index, Bytes(value)]) {
        case .error(let error) where error.code == .noSuchKey: throw context.noSuchKey
        case .error(let error) where error.message == "ERR index out of range": throw noSuchItem(index)
        case .error(let error): throw Problem.from(error)
        default: return itemBody(context, index, value)
        }
    }
}
