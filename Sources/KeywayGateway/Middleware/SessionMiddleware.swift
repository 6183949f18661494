import KeywayHTTP

/// Session middleware: loads the session named by the request's session
/// cookie (refreshed when sliding) and passes it on in
/// `RequestContext.session`. A missing cookie is 401 UNAUTHORIZED; an id of
/// the wrong shape, unknown or expired is 401 SESSION_EXPIRED with a
/// `Set-Cookie` that clears it, never someone else's session: ids are
/// checked for shape before the store is touched.
struct SessionMiddleware: Middleware {
    let configuration: SessionConfiguration

    func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
        do throws(HTTPResponse) {
            let id = try sessionID(context.request)
            guard let session = try SessionStore(ResourceContext(context)).load(id) else {
                return .response(Self.expired(context.request, configuration))
            }
            var context = context
            context.session = session
            return next(context)
        } catch {
            return .response(error)
        }
    }

    /// The cookie's session id, once it has the shape of one.
    func sessionID(_ request: HTTPRequest) throws(HTTPResponse) -> String {
        guard let raw = SessionCookie.value(in: request, name: configuration.cookieName) else {
            throw Problem.response(401, code: "UNAUTHORIZED", detail: "no session: the request has no '\(configuration.cookieName)' cookie")
        }
        guard RandomToken.isWellFormed(raw) else { throw Self.expired(request, configuration) }
        return String(decoding: raw, as: UTF8.self)
    }

    /// 401 for a session cookie that names no live session.
    static func expired(_ request: HTTPRequest, _ configuration: SessionConfiguration) -> HTTPResponse {
        Problem.response(401, code: "SESSION_EXPIRED", detail: "the session has expired or does not exist; sign in again",
                         headers: [SessionCookie.clear(request: request, configuration)])
    }
}
