import Foundation
import KeywayEngine
import KeywayHTTP

/// `/v1/locks/{name}`: distributed locks with owner tokens and fencing.
///
/// The lock is the key `lock:{name}` holding the owner's token with a PX
/// TTL (the `SET lock:{name} token NX PX ttl` pattern, so plain Redis
/// clients interoperate) and `lock:{name}:fencing` counts acquisitions.
/// A request that waits (`"wait": seconds`) is parked without holding a
/// thread and served in arrival order when the lock is released or lapses.
enum LockRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("POST", "/v1/locks/{name}", gateway.routeResult(.resource) { request, p in
            switch name(p) {
            case .failure(let problem): return .response(problem)
            case .success(let name): return acquire(request, name, gateway)
            }
        })
        router.add("GET", "/v1/locks/{name}", gateway.route(.resource) { _, p in
            withName(p) { status($0, gateway) }
        })
        router.add("PATCH", "/v1/locks/{name}", gateway.route(.resource) { request, p in
            withName(p) { extend(request, $0, gateway) }
        })
        router.add("DELETE", "/v1/locks/{name}", gateway.route(.resource) { request, p in
            withName(p) { release(request, $0, gateway) }
        })
    }

    /// Longest lock TTL: one day. Longest wait: five minutes.
    static let maxTTLSeconds: Int64 = 86_400
    static let maxWaitSeconds: Int64 = 300
    static let maxNameLength = 256

    static func lockKey(_ name: String) -> Bytes { Bytes("lock:" + name) }
    static func fencingKey(_ name: String) -> Bytes { Bytes("lock:" + name + ":fencing") }

    /// The decoded name once it is valid: 1-256 bytes of UTF-8 text with
    /// no `/` (even as `%2F`) and no control characters, not ending in
    /// `:fencing` (that lock's key would be another lock's counter, which a
    /// release could then delete).
    static func name(_ parameters: RouteParameters) -> Result<String, HTTPResponse> {
        let raw = parameters["name"] ?? []
        guard !raw.isEmpty, raw.count <= maxNameLength, raw.allSatisfy({ $0 >= 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "/") }),
              let name = String(validating: raw, as: UTF8.self) else {
            return .failure(Problem.badRequest("a lock name is 1-\(maxNameLength) bytes of UTF-8 text without '/' or control characters"))
        }
        guard !name.hasSuffix(":fencing") else {
            return .failure(Problem.badRequest("a lock name can't end in ':fencing' (lock:{name}:fencing is a lock's counter)"))
        }
        return .success(name)
    }

    static func withName(_ parameters: RouteParameters, _ body: (String) -> HTTPResponse) -> HTTPResponse {
        switch name(parameters) {
        case .failure(let problem): return problem
        case .success(let name): return body(name)
        }
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
    static func body(_ request: HTTPRequest) -> Result<JSONValue, HTTPResponse> {
        switch RequestBody.read(request, allowRaw: false) {
        case .failure(let problem): return .failure(problem)
        case .success(.json(let value)): return .success(value)
        case .success: return .success(.object([]))
        }
    }

    /// A positive number of seconds from the body, or `fallback` when absent.
    static func seconds(_ object: JSONValue, _ field: String, max: Int64, fallback: Int64?) -> Result<Int64, HTTPResponse> {
        switch object[field] {
        case nil, .null?:
            guard let fallback else { return .failure(Problem.badRequest("'\(field)' (seconds) is required")) }
            return .success(fallback)
        case .number(let text)?:
            guard let value = milliseconds(text, max: max) else {
                return .failure(Problem.badRequest("'\(field)' must be seconds, more than 0 and at most \(max)"))
            }
            return .success(value)
        default:
            return .failure(Problem.badRequest("'\(field)' must be a number of seconds"))
        }
    }

    /// The owner token: `{"token": "..."}` in the body, or `If-Match: "<token>"`.
    static func token(_ request: HTTPRequest, _ object: JSONValue) -> Result<String, HTTPResponse> {
        switch object["token"] {
        case .string(let token)? where !token.isEmpty: return .success(token)
        case nil, .null?: break
        default: return .failure(Problem.badRequest("'token' must be a non-empty string"))
        }
        if var header = request.header("if-match")?.trimmingCharacters(in: .whitespaces), !header.isEmpty {
            if header.hasPrefix("W/") { header.removeFirst(2) }
            if header.count >= 2, header.hasPrefix("\""), header.hasSuffix("\"") { header = String(header.dropFirst().dropLast()) }
            if !header.isEmpty, header != "*" { return .success(header) }
        }
        return .failure(Problem.badRequest("the lock token is required: {\"token\": \"...\"} or an If-Match header"))
    }

    // MARK: - Handlers

    /// `{"ttl": 30, "wait": 5}` -> 201 `{"name","token","fencing","ttl"}`,
    /// or 409 LOCK_HELD when still held after `wait` seconds (default 0).
    static func acquire(_ request: HTTPRequest, _ name: String, _ gateway: Gateway) -> HTTPResult {
        let object: JSONValue
        switch body(request) {
        case .failure(let problem): return .response(problem)
        case .success(let value): object = value
        }
        let ttl: Int64, wait: Int64
        switch seconds(object, "ttl", max: maxTTLSeconds, fallback: 30_000) {
        case .failure(let problem): return .response(problem)
        case .success(let value): ttl = value
        }
        switch object["wait"] {
        case nil, .null?: wait = 0
        case .number(let text)? where Double(text) == 0: wait = 0
        case .number?:
            switch seconds(object, "wait", max: maxWaitSeconds, fallback: 0) {
            case .failure(let problem): return .response(problem)
            case .success(let value): wait = value
            }
        default: return .response(Problem.badRequest("'wait' must be a number of seconds"))
        }
        let token = RandomToken.make()
        let command = Command("KEYWAY.LOCK", [lockKey(name), fencingKey(name), Bytes(token), Parse.bytes(ttl), Parse.bytes(wait)])
        let render: @Sendable (Reply) -> HTTPResponse = { reply in
            switch reply {
            case .error(let error): return Problem.from(error)
            case .array(let parts) where parts.count == 2:
                guard case .integer(let fencing) = parts[0], case .integer(let granted) = parts[1] else { break }
                return KeyRoutes.json(201) { o in
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
        if wait == 0 { return .response(render(gateway.executor.execute(command))) }
        return gateway.submitBlocking(command, render: render)
    }

    /// `{"name","held","ttl","fencing"}`: never the token.
    static func status(_ name: String, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically([Command("PTTL", [lockKey(name)]), Command("GET", [fencingKey(name)])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            guard case .integer(let pttl) = replies[0] else { break }
            var fencing: Int64 = 0
            if case .bulk(let text) = replies[1] { fencing = Parse.strictInt64(text) ?? 0 }
            return KeyRoutes.json(200) { o in
                o.member("name") { $0.string(name) }
                o.member("held") { $0.bool(pttl != -2) }
                o.member("ttl") { json in pttl >= 0 ? writeSeconds(pttl, into: &json) : json.null() }
                o.member("fencing") { $0.integer(fencing) }
            }
        }
        return Problem.response(500, code: "ERR", detail: "unexpected lock status reply")
    }

    /// `{"token", "ttl"}` -> 200 with the new TTL; 412 for another token.
    static func extend(_ request: HTTPRequest, _ name: String, _ gateway: Gateway) -> HTTPResponse {
        let object: JSONValue, token: String, ttl: Int64
        switch body(request) {
        case .failure(let problem): return problem
        case .success(let value): object = value
        }
        switch LockRoutes.token(request, object) {
        case .failure(let problem): return problem
        case .success(let value): token = value
        }
        switch seconds(object, "ttl", max: maxTTLSeconds, fallback: nil) {
        case .failure(let problem): return problem
        case .success(let value): ttl = value
        }
        let commands = [Command("KEYWAY.EXTEND", [lockKey(name), Bytes(token), Parse.bytes(ttl)]), Command("GET", [fencingKey(name)])]
        switch gateway.runAtomically(commands) {
        case .failure(let problem): return problem
        case .success(let replies):
            var fencing: Int64 = 0
            if case .bulk(let text) = replies[1] { fencing = Parse.strictInt64(text) ?? 0 }
            switch replies[0] {
            case .integer(1):
                return KeyRoutes.json(200) { o in
                    o.member("name") { $0.string(name) }
                    o.member("fencing") { $0.integer(fencing) }
                    o.member("ttl") { writeSeconds(ttl, into: &$0) }
                }
            case .integer(0): return notOwner(name)
            default: return notHeld(name)
            }
        }
    }

    /// Compare-and-delete: 204 released, 412 another token, 404 not held.
    static func release(_ request: HTTPRequest, _ name: String, _ gateway: Gateway) -> HTTPResponse {
        let object: JSONValue, token: String
        switch body(request) {
        case .failure(let problem): return problem
        case .success(let value): object = value
        }
        switch LockRoutes.token(request, object) {
        case .failure(let problem): return problem
        case .success(let value): token = value
        }
        switch gateway.executor.execute(Command("KEYWAY.UNLOCK", [lockKey(name), Bytes(token)])) {
        case .error(let error): return Problem.from(error)
        case .integer(1): return HTTPResponse(status: 204)
        case .integer(0): return notOwner(name)
        default: return notHeld(name)
        }
    }
}
