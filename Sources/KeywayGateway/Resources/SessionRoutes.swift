import KeywayEngine
import KeywayHTTP

/// `/v1/sessions`: server-side sessions with opaque random ids, and
/// `/v1/session`: the session named by the request's session cookie.
///
/// Field values are bytes in the hash. A JSON string is stored as its text;
/// any other JSON value (number, boolean, array, object) is stored as its
/// compact JSON text, and every value comes back as a string, exactly what
/// `HGETALL` shows. In a PATCH, `null` removes the field.
enum SessionRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("POST", "/v1/sessions", gateway.route(.resource) { request, _ in create(request, gateway) })
        router.add("GET", "/v1/sessions/{id}", gateway.route(.resource) { request, p in
            byID(p) { get(request, $0, viaCookie: false, gateway) }
        })
        router.add("PATCH", "/v1/sessions/{id}", gateway.route(.resource) { request, p in
            byID(p) { patch(request, $0, viaCookie: false, gateway) }
        })
        router.add("DELETE", "/v1/sessions/{id}", gateway.route(.resource) { request, p in
            byID(p) { delete(request, $0, viaCookie: false, gateway) }
        })
        router.add("GET", "/v1/session", gateway.route(.resource) { request, _ in
            switch gateway.currentSession(request) {
            case .failure(let problem): return problem
            case .success(let session): return render(session, status: 200, headers: refreshedCookie(request, session, true, gateway))
            }
        })
        router.add("PATCH", "/v1/session", gateway.route(.resource) { request, _ in
            byCookie(request, gateway) { patch(request, $0, viaCookie: true, gateway) }
        })
        router.add("DELETE", "/v1/session", gateway.route(.resource) { request, _ in
            byCookie(request, gateway) { delete(request, $0, viaCookie: true, gateway) }
        })
    }

    static func noSuchSession(_ id: String) -> HTTPResponse {
        Problem.response(404, code: "NO_SUCH_SESSION", detail: "no such session: \(id) (never created, expired or deleted)")
    }

    /// Runs `body` with the path's id once it has the shape of an id.
    static func byID(_ parameters: RouteParameters, _ body: (String) -> HTTPResponse) -> HTTPResponse {
        let raw = parameters["id"] ?? []
        guard RandomToken.isWellFormed(raw) else {
            return Problem.badRequest("a session id is \(RandomToken.length) base64url characters")
        }
        return body(String(decoding: raw, as: UTF8.self))
    }

    /// Runs `body` with the cookie's session id; 401 without a cookie, and
    /// 401 SESSION_EXPIRED (clearing the cookie) for one of the wrong shape.
    static func byCookie(_ request: HTTPRequest, _ gateway: Gateway, _ body: (String) -> HTTPResponse) -> HTTPResponse {
        switch SessionMiddleware.sessionID(request, gateway.sessions) {
        case .failure(let problem): return problem
        case .success(let id): return body(id)
        }
    }

    // MARK: - Handlers

    /// `{"data": {...}, "ttl": 3600, "cookie": true}` -> 201 with the id.
    static func create(_ request: HTTPRequest, _ gateway: Gateway) -> HTTPResponse {
        let object: JSONValue
        switch RequestBody.read(request, allowRaw: false) {
        case .failure(let problem): return problem
        case .success(.json(let value)): object = value
        case .success: return Problem.badRequest("send {\"data\": {\"field\": \"value\", ...}, \"ttl\": seconds}")
        }
        let configuration = gateway.sessions
        var ttl = configuration.ttlSeconds * 1000
        switch object["ttl"] {
        case nil, .null?: break
        case .number(let text)?:
            guard let milliseconds = LockRoutes.milliseconds(text, max: SessionConfiguration.maxTTLSeconds) else {
                return Problem.badRequest("'ttl' must be seconds, more than 0 and at most \(SessionConfiguration.maxTTLSeconds)")
            }
            ttl = milliseconds
        default: return Problem.badRequest("'ttl' must be a number of seconds")
        }
        var setCookie = true
        switch object["cookie"] {
        case nil, .null?: break
        case .bool(let flag)?: setCookie = flag
        default: return Problem.badRequest("'cookie' must be true or false")
        }
        let sets: [Bytes]
        switch parseData(object, allowNull: false) {
        case .failure(let problem): return problem
        case .success(let parsed): sets = parsed.sets
        }
        guard !sets.isEmpty else { return Problem.badRequest("'data' must hold at least one field") }
        switch SessionStore(gateway: gateway).create(fields: sets, ttlMilliseconds: ttl) {
        case .failure(let problem): return problem
        case .success(let session):
            var headers = [("Location", "/v1/sessions/\(session.id)")]
            if setCookie { headers.append(SessionCookie.set(session.id, maxAge: session.ttlSeconds, request: request, configuration)) }
            return render(session, status: 201, headers: headers)
        }
    }

    static func get(_ request: HTTPRequest, _ id: String, viaCookie: Bool, _ gateway: Gateway) -> HTTPResponse {
        switch SessionStore(gateway: gateway).load(id) {
        case .failure(let problem): return problem
        case .success(nil): return viaCookie ? SessionMiddleware.expired(request, gateway.sessions) : noSuchSession(id)
        case .success(let session?): return render(session, status: 200, headers: refreshedCookie(request, session, viaCookie, gateway))
        }
    }

    /// `{"data": {"field": "value", "gone": null}}`: merges fields.
    static func patch(_ request: HTTPRequest, _ id: String, viaCookie: Bool, _ gateway: Gateway) -> HTTPResponse {
        let object: JSONValue
        switch RequestBody.read(request, allowRaw: false) {
        case .failure(let problem): return problem
        case .success(.json(let value)): object = value
        case .success: return Problem.badRequest("send {\"data\": {\"field\": \"value\", \"removed\": null}}")
        }
        let parsed: (sets: [Bytes], deletions: [Bytes])
        switch parseData(object, allowNull: true) {
        case .failure(let problem): return problem
        case .success(let result): parsed = result
        }
        switch SessionStore(gateway: gateway).patch(id, sets: parsed.sets, deletions: parsed.deletions) {
        case .failure(let problem): return problem
        case .success(.missing): return viaCookie ? SessionMiddleware.expired(request, gateway.sessions) : noSuchSession(id)
        case .success(.wouldEmpty):
            return Problem.badRequest("a session keeps at least one field; DELETE the session to end it")
        case .success(.patched(let session)):
            return render(session, status: 200, headers: refreshedCookie(request, session, viaCookie, gateway))
        }
    }

    /// 204, clearing the cookie when the request carried it.
    static func delete(_ request: HTTPRequest, _ id: String, viaCookie: Bool, _ gateway: Gateway) -> HTTPResponse {
        switch SessionStore(gateway: gateway).delete(id) {
        case .failure(let problem): return problem
        case .success(false): return viaCookie ? SessionMiddleware.expired(request, gateway.sessions) : noSuchSession(id)
        case .success(true):
            let cookie = SessionCookie.value(in: request, name: gateway.sessions.cookieName)
            let headers = cookie == Array(id.utf8) ? [SessionCookie.clear(request: request, gateway.sessions)] : []
            return HTTPResponse(status: 204, headers: headers)
        }
    }

    /// A sliding session read through its cookie renews the cookie's Max-Age too.
    static func refreshedCookie(_ request: HTTPRequest, _ session: Session, _ viaCookie: Bool, _ gateway: Gateway) -> [(String, String)] {
        guard viaCookie, gateway.sessions.sliding else { return [] }
        return [SessionCookie.set(session.id, maxAge: session.ttlSeconds, request: request, gateway.sessions)]
    }

    // MARK: - Bodies

    /// The `"data"` object as HSET arguments and fields to delete (`null`).
    static func parseData(_ object: JSONValue, allowNull: Bool) -> Result<(sets: [Bytes], deletions: [Bytes]), HTTPResponse> {
        guard case .object(let members)? = object["data"] else {
            return .failure(Problem.badRequest("'data' (an object of field: value) is required"))
        }
        var sets: [Bytes] = [], deletions: [Bytes] = []
        // A field named twice: the last one wins, as when a JSON object is read.
        let last = Dictionary(members.enumerated().map { ($1.0, $0) }, uniquingKeysWith: max)
        for (index, (name, value)) in members.enumerated() where last[name] == index {
            switch value {
            case .null:
                guard allowNull else { return .failure(Problem.badRequest("field '\(name)' is null; leave it out instead")) }
                deletions.append(Bytes(name))
            case .string(let text):
                sets += [Bytes(name), Bytes(text)]
            default:
                var json = JSONWriter(capacity: 32)
                json.value(value)
                sets += [Bytes(name), Bytes(json.bytes)]
            }
        }
        return .success((sets, deletions))
    }

    /// `{"id": "...", "data": {...}, "ttl": seconds}` (`ttl` -1: no expiry).
    static func render(_ session: Session, status: Int, headers: [(String, String)]) -> HTTPResponse {
        var response = KeyRoutes.json(status) { o in
            o.member("id") { $0.string(session.id) }
            o.member("data") { json in
                json.object { data in
                    for (field, value) in session.fields {
                        data.member(field.text) { $0.string(bytes: value.storage) }
                    }
                }
            }
            o.member("ttl") { $0.integer(session.ttlSeconds) }
        }
        response.headers += headers
        return response
    }
}
