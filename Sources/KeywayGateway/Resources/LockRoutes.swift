import Foundation
import KeywayEngine
import KeywayHTTP

/// `/v1/locks/{name}`: distributed locks with owner tokens and fencing.
///
/// The lock is the key `lock:<name>` holding the owner's token with a PX
/// TTL (the `SET lock:<name> token NX PX ttl` pattern, so plain Redis
/// clients interoperate) and `lock:<name>:fencing` counts acquisitions.
/// On a cluster backend the name is a hash tag, `lock:{<name>}` and
/// `lock:{<name>}:fencing`, so both keys are in one slot.
/// A request that waits (`"wait": seconds`) is parked without holding a
/// thread and served in arrival order when the lock is released or lapses.
enum LockRoutes {
    static func register(_ routes: Routes) {
        let lock = routes.resource.group("/v1/locks/{name}")
        lock.addResult("POST", "", acquire)
        lock.get(status)
        lock.patch(extend)
        lock.delete(release)
    }

    /// Longest lock TTL: one day. Longest wait: five minutes.
    static let maxTTLSeconds: Int64 = 86_400
    static let maxWaitSeconds: Int64 = 300
    static let maxNameLength = 256

    /// The lock's key and its fencing counter's key.
    struct Keys {
        let name: String
        /// Whether the name is written as a hash tag (a cluster backend).
        var tagged = false
        var lock: Bytes { Bytes(tagged ? "lock:{" + name + "}" : "lock:" + name) }
        var fencing: Bytes { Bytes(tagged ? "lock:{" + name + "}:fencing" : "lock:" + name + ":fencing") }
    }

    /// The route's lock name once it is valid: 1-256 bytes of UTF-8 text
    /// with no `/` (even as `%2F`) and no control characters, not ending in
    /// `:fencing` (that lock's key would be another lock's counter, which a
    /// release could then delete).
    static func keys(_ context: ResourceContext) throws(HTTPResponse) -> Keys {
        let raw = context.parameter("name").storage
        guard !raw.isEmpty, raw.count <= maxNameLength, raw.allSatisfy({ $0 >= 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "/") }),
              let name = String(validating: raw, as: UTF8.self) else {
            throw Problem.badRequest("a lock name is 1-\(maxNameLength) bytes of UTF-8 text without '/' or control characters")
        }
        guard !name.hasSuffix(":fencing") else {
            throw Problem.badRequest("a lock name can't end in ':fencing' (lock:{name}:fencing is a lock's counter)")
        }
        let tagged = context.executor.requiresHashTags
        // `lock:{}x}`: an empty tag, so Redis would hash the whole key, and
        // the lock and its counter could land in different slots.
        if tagged && name.hasPrefix("}") {
            throw Problem.badRequest("on a cluster, a lock name can't start with '}' (the name is the keys' hash tag)")
        }
        return Keys(name: name, tagged: tagged)
    }

    static func notHeld(_ name: String) -> HTTPResponse {
        Problem.response(404, code: "NO_SUCH_LOCK", detail: "lock '\(name)' is not held")
    }

    static func notOwner(_ name: String) -> HTTPResponse {
        Problem.conditionNotMet("lock '\(name)' is held with another token")
    }

    /// Seconds (fractional allowed, millisecond precision) as milliseconds:
    /// nil unless more than 0 and at most `max` seconds.
    static func milliseconds(_ text: String, max: Int64) -> Int64? {
        guard let seconds = Double(text), seconds.isFinite, seconds > 0, seconds <= Double(max) else { return nil }
        let milliseconds = (seconds * 1000).rounded()
        return milliseconds >= 1 ? Int64(milliseconds) : nil
    }

    /// A duration in ms written as seconds: an integer when whole.
    static func writeSeconds(_ milliseconds: Int64, into json: inout JSONWriter) {
        if milliseconds % 1000 == 0 { json.integer(milliseconds / 1000) } else { json.double(Double(milliseconds) / 1000) }
    }

    /// The JSON object body, or {} for an empty one.
    static func body(_ context: ResourceContext) throws(HTTPResponse) -> JSONValue {
        if case .json(let object) = try context.body() { return object }
        return .object([])
    }

    /// A positive number of seconds from the body, or `fallback` when absent.
    static func seconds(_ object: JSONValue, _ field: String, max: Int64, fallback: Int64?) throws(HTTPResponse) -> Int64 {
        switch object[field] {
        case nil, .null?:
            guard let fallback else { throw Problem.badRequest("'\(field)' (seconds) is required") }
            return fallback
        case .number(let text)?:
            guard let value = milliseconds(text, max: max) else {
                throw Problem.badRequest("'\(field)' must be seconds, more than 0 and at most \(max)")
            }
            return value
        default:
            throw Problem.badRequest("'\(field)' must be a number of seconds")
        }
    }

    /// The owner token: `{"token": "..."}` in the body, or `If-Match: "<token>"`.
    static func token(_ request: HTTPRequest, _ object: JSONValue) throws(HTTPResponse) -> String {
        switch object["token"] {
        case .string(let token)? where !token.isEmpty: return token
        case nil, .null?: break
        default: throw Problem.badRequest("'token' must be a non-empty string")
        }
        if var header = request.header("if-match")?.trimmingCharacters(in: .whitespaces), !header.isEmpty {
            if header.hasPrefix("W/") { header.removeFirst(2) }
            if header.count >= 2, header.hasPrefix("\""), header.hasSuffix("\"") { header = String(header.dropFirst().dropLast()) }
            if !header.isEmpty, header != "*" { return header }
        }
        throw Problem.badRequest("the lock token is required: {\"token\": \"...\"} or an If-Match header")
    }

    /// The fencing counter's value: 0 before the first acquisition.
    static func fencing(_ value: Bytes?) -> Int64 {
        value.flatMap { Parse.strictInt64($0) } ?? 0
    }

    // MARK: - Handlers

    /// `{"ttl": 30, "wait": 5}` -> 201 `{"name","token","fencing","ttl"}`,
    /// or 409 LOCK_HELD when still held after `wait` seconds (default 0).
    static func acquire(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResult {
        let keys = try keys(context)
        let name = keys.name
        let object = try body(context)
        let ttl = try seconds(object, "ttl", max: maxTTLSeconds, fallback: 30_000)
        let wait: Int64
        switch object["wait"] {
        case nil, .null?: wait = 0
        case .number(let text)? where Double(text) == 0: wait = 0
        case .number?: wait = try seconds(object, "wait", max: maxWaitSeconds, fallback: 0)
        default: throw Problem.badRequest("'wait' must be a number of seconds")
        }
        let token = RandomToken.make()
        let command = context.command("KEYWAY.LOCK", [keys.lock, keys.fencing, Bytes(token), Parse.bytes(ttl), Parse.bytes(wait)])
        let render: @Sendable (Reply) -> HTTPResponse = { reply in
            switch reply {
            case .error(let error): return Problem.from(error)
            case .array(let parts) where parts.count == 2:
                guard case .integer(let fencing) = parts[0], case .integer(let granted) = parts[1] else { break }
                return JSONResponse.object(201) { o in
                    o.member("name") { $0.string(name) }
                    o.member("token") { $0.string(token) }
                    o.member("fencing") { $0.integer(fencing) }
                    o.member("ttl") { writeSeconds(granted, into: &$0) }
                }
            case .null:
                return Problem.response(409, code: "LOCK_HELD", detail: "lock '\(name)' is held by someone else",
                                        headers: [("Retry-After", "1")])
            default: break
            }
            return Problem.response(500, code: "ERR", detail: "unexpected KEYWAY.LOCK reply")
        }
        // A wait of 0 never parks: it answers at once, held or not.
        if wait == 0 { return .response(render(try context.execute(command))) }
        return context.submitBlocking(command, render: render)
    }

    /// `{"name","held","ttl","fencing"}`: never the token.
    static func status(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let keys = try keys(context)
        var batch = CommandBatch()
        let pttl = batch.integer("PTTL", [keys.lock])
        let counter = batch.bulk("GET", [keys.fencing])
        let replies = try context.atomically(&batch)
        let remaining = try replies[pttl]
        let fencing = fencing(try replies[counter])
        return context.json { o in
            o.member("name") { $0.string(keys.name) }
            o.member("held") { $0.bool(remaining != -2) }
            o.member("ttl") { json in remaining >= 0 ? writeSeconds(remaining, into: &json) : json.null() }
            o.member("fencing") { $0.integer(fencing) }
        }
    }

    /// `{"token", "ttl"}` -> 200 with the new TTL; 412 for another token.
    static func extend(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let keys = try keys(context)
        let object = try body(context)
        let token = try token(context.request, object)
        let ttl = try seconds(object, "ttl", max: maxTTLSeconds, fallback: nil)
        var batch = CommandBatch()
        let outcome = batch.integer("KEYWAY.EXTEND", [keys.lock, Bytes(token), Parse.bytes(ttl)])
        let counter = batch.bulk("GET", [keys.fencing])
        let replies = try context.atomically(&batch)
        switch try replies[outcome] {
        case 1:
            let fencing = fencing(try replies[counter])
            return context.json { o in
                o.member("name") { $0.string(keys.name) }
                o.member("fencing") { $0.integer(fencing) }
                o.member("ttl") { writeSeconds(ttl, into: &$0) }
            }
        case 0: throw notOwner(keys.name)
        default: throw notHeld(keys.name)
        }
    }

    /// Compare-and-delete: 204 released, 412 another token, 404 not held.
    static func release(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let keys = try keys(context)
        let token = try token(context.request, try body(context))
        switch try context.execute("KEYWAY.UNLOCK", [keys.lock, Bytes(token)]) {
        case .integer(1): return HTTPResponse(status: 204)
        case .integer(0): throw notOwner(keys.name)
        default: throw notHeld(keys.name)
        }
    }
}
