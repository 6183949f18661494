import KeywayEngine
import KeywayHTTP

/// `/v1/sessions`: server-side sessions with opaque random ids, and
/// `/v1/session`: the session named by the request's session cookie, which
/// `SessionMiddleware` loads (or answers 401) before these handlers run.
///
/// Field values are bytes in the hash. A JSON string is stored as its text;
/// any other JSON value (number, boolean, array, object) is stored as its
/// compact JSON text, and every value comes back as a string, exactly what
/// `HGETALL` shows. In a PATCH, `null` removes the field.
enum SessionRoutes {
    static func register(_ routes: Routes) {
        let sessions = routes.resource.group("/v1/sessions")
        sessions.post(create)
        let byID = sessions.group("/{id}")
        byID.get(get)
        byID.patch(patch)
        byID.delete(delete)
        let current = routes.resource.group("/v1/session", middleware: [SessionMiddleware(configuration: routes.resource.gateway.sessions)])
        current.get(get)
        current.patch(patch)
        current.delete(delete)
    }

    /// The session a route names: the path's id on `/v1/sessions/{id}`, the
    /// cookie's (already loaded) on `/v1/session`.
    struct Target {
        let id: String
        /// The session the middleware loaded from the cookie.
        let viaCookie: Session?
    }

    /// The route's session; 400 for a path id that is not of the shape of one.
    static func target(_ context: ResourceContext) throws(HTTPResponse) -> Target {
        if let session = context.session { return Target(id: session.id, viaCookie: session) }
        let raw = context.parameter("id").storage
        guard RandomToken.isWellFormed(raw) else {
            throw Problem.badRequest("a session id is \(RandomToken.length) base64url characters")
        }
        return Target(id: String(decoding: raw, as: UTF8.self), viaCookie: nil)
    }

    /// 404 NO_SUCH_SESSION by id; 401 SESSION_EXPIRED (clearing the cookie) by cookie.
    static func missing(_ context: ResourceContext, _ target: Target) -> HTTPResponse {
        guard target.viaCookie != nil else {
            return Problem.response(404, code: "NO_SUCH_SESSION", detail: "no such session: \(target.id) (never created, expired or deleted)")
        }
        return SessionMiddleware.expired(context.request, context.gateway.sessions)
    }

    // MARK: - Handlers

    /// `{"data": {...}, "ttl": 3600, "cookie": true}` -> 201 with the id.
    static func create(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let object = try context.jsonObject(hint: "send {\"data\": {\"field\": \"value\", ...}, \"ttl\": seconds}")
        let configuration = context.gateway.sessions
        var ttl = configuration.ttlSeconds * 1000
        switch object["ttl"] {
        case nil, .null?: break
        case .number(let text)?:
            guard let milliseconds = LockRoutes.milliseconds(text, max: SessionConfiguration.maxTTLSeconds) else {
                throw Problem.badRequest("'ttl' must be seconds, more than 0 and at most \(SessionConfiguration.maxTTLSeconds)")
            }
            ttl = milliseconds
        default: throw Problem.badRequest("'ttl' must be a number of seconds")
        }
        var setCookie = true
        switch object["cookie"] {
        case nil, .null?: break
        case .bool(let flag)?: setCookie = flag
        default: throw Problem.badRequest("'cookie' must be true or false")
        }
        let sets = try parseData(object, allowNull: false).sets
        guard !sets.isEmpty else { throw Problem.badRequest("'data' must hold at least one field") }
        let session = try SessionStore(context).create(fields: sets, ttlMilliseconds: ttl)
        var headers = [("Location", "/v1/sessions/\(session.id)")]
        if setCookie { headers.append(SessionCookie.set(session.id, maxAge: session.ttlSeconds, request: context.request, configuration)) }
        return render(session, status: 201, headers: headers)
    }

    static func get(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let target = try target(context)
        if let session = target.viaCookie { return render(session, status: 200, headers: refreshedCookie(context, session)) }
        guard let session = try SessionStore(context).load(target.id) else { throw missing(context, target) }
        return render(session, status: 200, headers: [])
    }

    /// `{"data": {"field": "value", "gone": null}}`: merges fields.
    static func patch(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let target = try target(context)
        let object = try context.jsonObject(hint: "send {\"data\": {\"field\": \"value\", \"removed\": null}}")
        let parsed = try parseData(object, allowNull: true)
        switch try SessionStore(context).patch(target.id, sets: parsed.sets, deletions: parsed.deletions) {
        case .missing: throw missing(context, target)
        case .wouldEmpty: throw Problem.badRequest("a session keeps at least one field; DELETE the session to end it")
        case .patched(let session):
            return render(session, status: 200, headers: target.viaCookie == nil ? [] : refreshedCookie(context, session))
        }
    }

    /// 204, clearing the cookie when the request carried it.
    static func delete(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let target = try target(context)
        guard try SessionStore(context).delete(target.id) else { throw missing(context, target) }
        let configuration = context.gateway.sessions
        let cookie = SessionCookie.value(in: context.request, name: configuration.cookieName)
        let headers = cookie == Array(target.id.utf8) ? [SessionCookie.clear(request: context.request, configuration)] : []
        return HTTPResponse(status: 204, headers: headers)
    }

    /// A sliding session read through its cookie renews the cookie's Max-Age too.
    static func refreshedCookie(_ context: ResourceContext, _ session: Session) -> [(String, String)] {
        let configuration = context.gateway.sessions
        guard configuration.sliding else { return [] }
        return [SessionCookie.set(session.id, maxAge: session.ttlSeconds, request: context.request, configuration)]
    }

    // MARK: - Bodies

    /// The `"data"` object as HSET arguments and fields to delete (`null`).
    static func parseData(_ object: JSONValue, allowNull: Bool) throws(HTTPResponse) -> (sets: [Bytes], deletions: [Bytes]) {
        guard case .object(let members)? = object["data"] else {
            throw Problem.badRequest("'data' (an object of field: value) is required")
        }
        var sets: [Bytes] = [], deletions: [Bytes] = []
        // A field named twice: the last one wins, as when a JSON object is read.
        let last = Dictionary(members.enumerated().map { ($1.0, $0) }, uniquingKeysWith: max)
        for (index, (name, value)) in members.enumerated() where last[name] == index {
            switch value {
            case .null:
                guard allowNull else { throw Problem.badRequest("field '\(name)' is null; leave it out instead") }
                deletions.append(Bytes(name))
            case .string(let text):
                sets += [Bytes(name), Bytes(text)]
            default:
                var json = JSONWriter(capacity: 32)
                json.value(value)
                sets += [Bytes(name), Bytes(json.bytes)]
            }
        }
        return (sets, deletions)
    }

    /// `{"id": "...", "data": {...}, "ttl": seconds}` (`ttl` -1: no expiry).
    static func render(_ session: Session, status: Int, headers: [(String, String)]) -> HTTPResponse {
        JSONResponse.object(status, headers: headers) { o in
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
    }
}
