import KeywayHTTP

/// Session middleware: any handler can load the session named by the
/// request's session cookie (refreshed when sliding). A missing cookie is
/// 401 UNAUTHORIZED; an id of the wrong shape, unknown or expired is 401
/// SESSION_EXPIRED with a `Set-Cookie` that clears it, never someone
/// else's session: ids are checked for shape before the store is touched.
enum SessionMiddleware {
    /// The cookie's session id, once it has the shape of one.
    static func sessionID(_ request: HTTPRequest, _ configuration: SessionConfiguration) -> Result<String, HTTPResponse> {
        guard let raw = SessionCookie.value(in: request, name: configuration.cookieName) else {
            return .failure(Problem.response(401, code: "UNAUTHORIZED", detail: "no session: the request has no '\(configuration.cookieName)' cookie"))
        }
        guard RandomToken.isWellFormed(raw) else { return .failure(expired(request, configuration)) }
        return .success(String(decoding: raw, as: UTF8.self))
    }

    /// 401 for a session cookie that names no live session.
    static func expired(_ request: HTTPRequest, _ configuration: SessionConfiguration) -> HTTPResponse {
        Problem.response(401, code: "SESSION_EXPIRED", detail: "the session has expired or does not exist; sign in again",
                         headers: [SessionCookie.clear(request: request, configuration)])
    }
}

extension Gateway {
    /// The session of the request's cookie, for handlers that need one:
    /// the loaded session, or the 401 problem to answer with.
    func currentSession(_ request: HTTPRequest) -> Result<Session, HTTPResponse> {
        switch SessionMiddleware.sessionID(request, sessions) {
        case .failure(let problem): return .failure(problem)
        case .success(let id):
            switch SessionStore(gateway: self).load(id) {
            case .failure(let problem): return .failure(problem)
            case .success(nil): return .failure(SessionMiddleware.expired(request, sessions))
            case .success(let session?): return .success(session)
            }
        }
    }
}
