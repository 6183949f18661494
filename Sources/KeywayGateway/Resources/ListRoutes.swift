import Foundation
import KeywayEngine
import KeywayHTTP

/// `/v1/lists`: queues and recent-item lists as resources, including the
/// blocking pop job queues use (`POST .../pop?timeout=30`).
enum ListRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("GET", "/v1/lists/{key}", gateway.route(.resource) { request, p in range(request, key(p), gateway) })
        router.add("POST", "/v1/lists/{key}", gateway.route(.resource) { request, p in push(request, key(p), gateway) })
        router.add("DELETE", "/v1/lists/{key}", gateway.route(.resource) { _, p in KeyRoutes.delete(key(p), gateway) })
        router.add("POST", "/v1/lists/{key}/pop", gateway.routeResult(.resource) { request, p in pop(request, key(p), gateway) })
        router.add("POST", "/v1/lists/{key}/trim", gateway.route(.resource) { request, p in trim(request, key(p), gateway) })
        router.add("GET", "/v1/lists/{key}/items/{index}", gateway.route(.resource) { request, p in item(request, key(p), p, gateway) })
        router.add("PUT", "/v1/lists/{key}/items/{index}", gateway.route(.resource) { request, p in setItem(request, key(p), p, gateway) })
    }

    static func key(_ parameters: RouteParameters) -> Bytes { Bytes(parameters["key"] ?? []) }

    static func writeValues(_ values: [Bytes], base64: Bool, into o: inout ObjectWriter) {
        let encodeAll = base64 || values.contains { !$0.isValidUTF8 }
        o.member("values") { json in
            json.array(values) { json, value in
                if encodeAll { json.string(Data(value.storage).base64EncodedString()) } else { json.string(bytes: value.storage) }
            }
        }
        o.member("encoding") { $0.string(encodeAll ? "base64" : "utf-8") }
    }

    /// `?start=0&stop=-1` (LRANGE), with the length; 404 when missing.
    static func range(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let start = request.queryValue("start").map(Bytes.init) ?? "0"
        let stop = request.queryValue("stop").map(Bytes.init) ?? "-1"
        switch gateway.runAtomically([Command("LLEN", [key]), Command("LRANGE", [key, start, stop])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            guard case .integer(let length) = replies[0], length > 0, case .array(let items) = replies[1] else {
                return Problem.noSuchKey(key.storage)
            }
            let values = items.compactMap { reply -> Bytes? in if case .bulk(let b) = reply { return b } else { return nil } }
            return KeyRoutes.json(200) { o in
                KeyRoutes.writeKey(key, base64: false, into: &o)
                o.member("length") { $0.integer(length) }
                writeValues(values, base64: ValueEncoding.wantsBase64(request), into: &o)
            }
        }
    }

    /// `{"values": [...], "end": "left"|"right", "onlyIfExists": false}`.
    static func push(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        guard case .success(.json(let object)) = RequestBody.read(request, allowRaw: false) else {
            if case .failure(let problem) = RequestBody.read(request, allowRaw: false) { return problem }
            return Problem.badRequest("send {\"values\": [\"a\", \"b\"]}")
        }
        let fields = Fields(json: object, request: request)
        var values: [Bytes] = []
        let left: Bool, onlyIfExists: Bool
        do throws(FieldError) {
            guard case .array(let items)? = object["values"], !items.isEmpty else {
                throw FieldError("'values' must be a non-empty array of strings")
            }
            let encoding = try fields.string("encoding")
            for item in items {
                guard case .string(let text) = item else { throw FieldError("'values' must be a non-empty array of strings") }
                values.append(Bytes(try ValueEncoding.decode(text, encoding: encoding)))
            }
            switch try fields.string("end")?.lowercased() {
            case nil, "right": left = false
            case "left": left = true
            default: throw FieldError("'end' must be left or right")
            }
            onlyIfExists = try fields.bool("onlyIfExists")
        } catch {
            return Problem.badRequest(error.message)
        }
        let name = (left ? "LPUSH" : "RPUSH") + (onlyIfExists ? "X" : "")
        let reply = gateway.executor.execute(Command(name, [key] + values))
        guard case .integer(let length) = reply else {
            if case .error(let error) = reply { return Problem.from(error) }
            return Problem.badRequest("unexpected reply")
        }
        if onlyIfExists && length == 0 { return Problem.noSuchKey(key.storage) }
        return KeyRoutes.json(200) { o in
            KeyRoutes.writeKey(key, base64: false, into: &o)
            o.member("length") { $0.integer(length) }
        }
    }

    /// `?end=right&count=n&timeout=s`: 200 with the element(s), 204 when the
    /// list is empty or the wait timed out. With a timeout the request parks
    /// (BLPOP/BRPOP/BLMPOP) without holding a server thread.
    static func pop(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResult {
        let left: Bool
        switch request.queryString("end")?.lowercased() {
        case nil, "right": left = false
        case "left": left = true
        default: return .response(Problem.badRequest("'end' must be left or right"))
        }
        let count = request.queryValue("count").map(Bytes.init)
        let timeout = request.queryValue("timeout").map(Bytes.init)
        let base64 = ValueEncoding.wantsBase64(request)
        guard let timeout else {
            var arguments = [key]
            if let count { arguments.append(count) }
            let reply = gateway.executor.execute(Command(left ? "LPOP" : "RPOP", arguments))
            return .response(popResponse(reply, shape: count == nil ? .element : .elements, key: key, base64: base64))
        }
        if let count {
            let command = Command("BLMPOP", [timeout, "1", key, left ? "LEFT" : "RIGHT", "COUNT", count])
            return gateway.submitBlocking(command) { popResponse($0, shape: .keyAndElements, key: key, base64: base64) }
        }
        let command = Command(left ? "BLPOP" : "BRPOP", [key, timeout])
        return gateway.submitBlocking(command) { popResponse($0, shape: .keyAndElement, key: key, base64: base64) }
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
        KeyRoutes.json(200) { o in
            KeyRoutes.writeKey(key, base64: false, into: &o)
            ValueEncoding.writeValue(value.storage, forceBase64: base64, into: &o)
        }
    }

    static func many(_ key: Bytes, _ values: [Bytes], base64: Bool) -> HTTPResponse {
        KeyRoutes.json(200) { o in
            KeyRoutes.writeKey(key, base64: false, into: &o)
            writeValues(values, base64: base64, into: &o)
        }
    }

    /// `{"start": 0, "stop": 99}` keeps that range (LTRIM), answering the new length.
    static func trim(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        guard case .success(.json(let object)) = RequestBody.read(request, allowRaw: false) else {
            if case .failure(let problem) = RequestBody.read(request, allowRaw: false) { return problem }
            return Problem.badRequest("send {\"start\": 0, \"stop\": 99}")
        }
        let fields = Fields(json: object, request: request)
        let start: String, stop: String
        do throws(FieldError) {
            guard let s = try fields.number("start"), let e = try fields.number("stop"), Int64(s) != nil, Int64(e) != nil else {
                throw FieldError("'start' and 'stop' must be integers")
            }
            start = s
            stop = e
        } catch {
            return Problem.badRequest(error.message)
        }
        switch gateway.runAtomically([Command("EXISTS", [key]), Command("LTRIM", [key, Bytes(start), Bytes(stop)]), Command("LLEN", [key])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            if replies[0] == Reply.integer(0) { return Problem.noSuchKey(key.storage) }
            guard case .integer(let length) = replies[2] else { return Problem.badRequest("unexpected reply") }
            return KeyRoutes.json(200) { o in
                KeyRoutes.writeKey(key, base64: false, into: &o)
                o.member("length") { $0.integer(length) }
            }
        }
    }

    static func index(_ parameters: RouteParameters) -> Bytes? {
        guard let raw = parameters["index"], Parse.strictInt64(Bytes(raw)) != nil else { return nil }
        return Bytes(raw)
    }

    static func item(_ request: HTTPRequest, _ key: Bytes, _ parameters: RouteParameters, _ gateway: Gateway) -> HTTPResponse {
        guard let index = index(parameters) else { return Problem.badRequest("the index must be an integer") }
        switch gateway.runAtomically([Command("EXISTS", [key]), Command("LINDEX", [key, index])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            if replies[0] == Reply.integer(0) { return Problem.noSuchKey(key.storage) }
            guard case .bulk(let value) = replies[1] else {
                return Problem.response(404, code: "NO_SUCH_ITEM", detail: "index \(index.text) is outside the list")
            }
            return KeyRoutes.json(200) { o in
                o.member("index") { $0.raw(index.text) }
                ValueEncoding.writeValue(value.storage, forceBase64: ValueEncoding.wantsBase64(request), into: &o)
            }
        }
    }

    static func setItem(_ request: HTTPRequest, _ key: Bytes, _ parameters: RouteParameters, _ gateway: Gateway) -> HTTPResponse {
        guard let index = index(parameters) else { return Problem.badRequest("the index must be an integer") }
        let value: [UInt8]
        switch RequestBody.value(request) {
        case .failure(let problem): return problem
        case .success(let body): value = body.value
        }
        let reply = gateway.executor.execute(Command("LSET", [key, index, Bytes(value)]))
        switch reply {
        case .error(let error) where error.code == .noSuchKey: return Problem.noSuchKey(key.storage)
        case .error(let error) where error.message == "ERR index out of range":
            return Problem.response(404, code: "NO_SUCH_ITEM", detail: "index \(index.text) is outside the list")
        case .error(let error): return Problem.from(error)
        default:
            return KeyRoutes.json(200) { o in
                o.member("index") { $0.raw(index.text) }
                ValueEncoding.writeValue(value, forceBase64: ValueEncoding.wantsBase64(request), into: &o)
            }
        }
    }
}
