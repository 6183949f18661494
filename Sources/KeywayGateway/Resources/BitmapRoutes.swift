import KeywayEngine
import KeywayHTTP

/// `/v1/bitmaps`: bit flags and counts on string values (daily actives,
/// feature flags). Each route is one bitmap command; offsets, bits and
/// ranges go to the engine as given, so their errors are Redis's own. A
/// missing bitmap reads as all zeros, as in Redis, so reads answer 200.
enum BitmapRoutes {
    static func register(_ routes: Routes) {
        let bitmap = routes.resource.group("/v1/bitmaps/{key}")
        bitmap.get("/bits/{offset}", getBit)
        bitmap.put("/bits/{offset}", setBit)
        bitmap.get("/count", count)
        bitmap.get("/position", position)
        bitmap.post("/op", combine)
    }

    /// Runs a bitmap command, whose reply is always an integer.
    static func integer(_ context: ResourceContext, _ name: String, _ arguments: [Bytes]) throws(HTTPResponse) -> Int64 {
        guard case .integer(let value) = try context.execute(name, arguments) else {
            throw Problem.response(500, code: "INTERNAL", detail: "\(name) answered a non-integer")
        }
        return value
    }

    /// GETBIT: `{"key", "offset", "bit"}`.
    static func getBit(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let offset = try context.textParameter("offset")
        let bit = try integer(context, "GETBIT", [context.key, Bytes(offset)])
        return bitBody(context, offset: offset, bit: bit)
    }

    /// SETBIT with `{"bit": 0|1}` (or `?bit=`): `{"key", "offset", "bit",
    /// "previous"}`.
    static func setBit(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let offset = try context.textParameter("offset")
        let fields = try context.fields()
        let bit = try context.reading { () throws(FieldError) in
            guard let bit = try fields.number("bit") else { throw FieldError("'bit' (0 or 1) is required") }
            return bit
        }
        let previous = try integer(context, "SETBIT", [context.key, Bytes(offset), Bytes(bit)])
        return bitBody(context, offset: offset, bit: Int64(bit) ?? 0) { o in o.member("previous") { $0.integer(previous) } }
    }

    static func bitBody(_ context: ResourceContext, offset: String, bit: Int64,
                        _ more: (inout ObjectWriter) -> Void = { _ in }) -> HTTPResponse {
        context.json { o in
            JSONResponse.writeKey(context.key, into: &o)
            o.member("offset") { $0.integer(Int64(offset) ?? 0) }  // the engine accepted it: an integer
            o.member("bit") { $0.integer(bit) }
            more(&o)
        }
    }

    /// The `start`, `end` and `unit` query parameters as BITCOUNT/BITPOS
    /// arguments: `end` needs `start`; `unit` (`byte` or `bit`) needs both.
    static func range(_ context: ResourceContext, endNeedsStart: Bool) throws(HTTPResponse) -> [Bytes] {
        let request = context.request
        let start = request.queryString("start"), end = request.queryString("end"), unit = request.queryString("unit")
        if end != nil && start == nil { throw Problem.badRequest("'end' needs 'start'") }
        if !endNeedsStart && start != nil && end == nil { throw Problem.badRequest("'start' needs 'end'") }
        if unit != nil && end == nil { throw Problem.badRequest("'unit' needs 'start' and 'end'") }
        return [start, end, unit].compactMap { $0.map { Bytes($0) } }
    }

    /// BITCOUNT, over `?start=&end=&unit=byte|bit` when given: `{"key", "count"}`.
    static func count(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let arguments = try range(context, endNeedsStart: false)
        let count = try integer(context, "BITCOUNT", [context.key] + arguments)
        return context.json { o in
            JSONResponse.writeKey(context.key, into: &o)
            o.member("count") { $0.integer(count) }
        }
    }

    /// BITPOS `?bit=0|1` (required), within `start`/`end`/`unit` when
    /// given: `{"key", "bit", "position"}`, `position` null when no bit in
    /// the range matches (Redis's -1).
    static func position(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        guard let bit = context.request.queryString("bit") else { throw Problem.badRequest("'bit' (0 or 1) is required: ?bit=1") }
        let arguments = try range(context, endNeedsStart: true)
        let position = try integer(context, "BITPOS", [context.key, Bytes(bit)] + arguments)
        return context.json { o in
            JSONResponse.writeKey(context.key, into: &o)
            o.member("bit") { $0.integer(bit == "1" ? 1 : 0) }
            o.member("position") { position < 0 ? $0.null() : $0.integer(position) }
        }
    }

    /// BITOP into the route's key, with `{"operation": "and", "keys": [...],
    /// "encoding": "base64"?}`: `{"key", "length"}`, the length of the
    /// result (0 when it is empty and the key was deleted).
    static func combine(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let object = try context.jsonObject(hint: "send {\"operation\": \"and\", \"keys\": [\"a\", \"b\"]}")
        let (operation, keys) = try context.reading { () throws(FieldError) in
            let fields = Fields(json: object, request: context.request)
            guard let operation = try fields.string("operation"), !operation.isEmpty else {
                throw FieldError("'operation' (and, or, xor, not, diff, diff1, andor or one) is required")
            }
            guard let keys = try SetRoutes.byteStrings(object, "keys", encoding: fields.string("encoding")), !keys.isEmpty else {
                throw FieldError("'keys' (a non-empty array of strings) is required")
            }
            return (operation, keys)
        }
        let length = try integer(context, "BITOP", [Bytes(operation), context.key] + keys)
        return context.json { o in
            JSONResponse.writeKey(context.key, into: &o)
            o.member("length") { $0.integer(length) }
        }
    }
}
