import KeywayHTTP

/// Refuses a request without the configured bearer token: 401 with a
/// `WWW-Authenticate` challenge, in the face's error shape.
struct AuthenticationMiddleware: Middleware {
    let authentication: Authentication

    func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
        let outcome = authentication.check(context.request, allowQueryToken: context.face.acceptsQueryToken)
        guard outcome == .allowed else {
            let detail = outcome == .missing ? "missing bearer token" : "invalid token"
            let message = context.face == .command ? "Unauthorized: \(detail)" : detail
            return .response(context.refusal(401, code: "UNAUTHORIZED", message: message, headers: [Authentication.challenge]))
        }
        return next(context)
    }
}
