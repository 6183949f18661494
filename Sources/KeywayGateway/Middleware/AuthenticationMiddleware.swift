import KeywayEngine
import KeywayHTTP

/// Authenticates each request as one ACL user (see `Authentication`) and
/// hands the user on in the context: every Command the route runs carries
/// it, and the engine checks each against the user's rules. A request that
/// does not authenticate is 401 with a `WWW-Authenticate` challenge, in the
/// face's error shape, and an `auth` entry in ACL LOG.
struct AuthenticationMiddleware: Middleware {
    let authentication: Authentication

    func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
        let detail: String
        switch authentication.authenticate(context.request, allowQueryToken: context.face.acceptsQueryToken) {
        case .user(let user):
            if let connection = context.request.connection {
                connection.markAuthenticated()
                if let user { connection.noteUser(user.name) }
            }
            var context = context
            context.user = user
            return next(context)
        case .missing:
            detail = "missing bearer token"
            authentication.access?.recordFailedAuthentication(username: "default", client: ACLLog.clientInfo(id: context.client.connectionID, address: context.client.address),
                                                              nowMilliseconds: Authentication.nowMilliseconds())
        case .invalid(let username, let basic):
            detail = basic ? "invalid username-password pair or user is disabled" : "invalid token"
            authentication.access?.recordFailedAuthentication(username: username, client: ACLLog.clientInfo(id: context.client.connectionID, address: context.client.address),
                                                              nowMilliseconds: Authentication.nowMilliseconds())
        }
        let message = context.face == .command ? "Unauthorized: \(detail)" : detail
        return .response(context.refusal(401, code: "UNAUTHORIZED", message: message, headers: [Authentication.challenge]))
    }
}
