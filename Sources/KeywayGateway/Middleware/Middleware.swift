import KeywayEngine
import KeywayHTTP

/// Which shape a route's errors take and how it may authenticate.
enum Face: Sendable, Equatable {
    /// The Upstash-compatible command API: `{"error": "..."}` bodies, the
    /// token may come as `?_token=`.
    case command
    /// The `/v1` resource API: RFC 9457 problem bodies.
    case resource
    /// Server-Sent Event routes: resource-style errors, but the token may
    /// come as `?_token=` because a browser's EventSource cannot set headers.
    case eventStream
    /// Probes (`/healthz`, `/readyz`): no middleware at all.
    case open

    /// Whether a `?_token=` query parameter may stand in for the header.
    var acceptsQueryToken: Bool { self == .command || self == .eventStream }
}

/// What middleware and handlers know of one request besides its bytes.
struct RequestContext: Sendable {
    /// What stays the same along the chain, in one box: passing the context
    /// from middleware to middleware copies one reference, not the request.
    private final class Fixed: Sendable {
        let request: HTTPRequest
        let parameters: RouteParameters
        let gateway: Gateway
        let client: ClientIdentity

        init(request: HTTPRequest, parameters: RouteParameters, gateway: Gateway) {
            self.request = request
            self.parameters = parameters
            self.gateway = gateway
            self.client = ClientIdentity(address: request.remoteAddress, connectionID: request.connection?.id)
        }
    }

    private let fixed: Fixed
    let face: Face
    var request: HTTPRequest { _read { yield fixed.request } }
    var parameters: RouteParameters { _read { yield fixed.parameters } }
    var gateway: Gateway { _read { yield fixed.gateway } }
    /// The address and connection id every Command of this request carries,
    /// so MONITOR and CLIENT LIST name who sent it.
    var client: ClientIdentity {
        var client = fixed.client
        client.user = user
        return client
    }
    /// The ACL user the request authenticated as (nil before
    /// `AuthenticationMiddleware`, and for an executor without users).
    var user: ACLUser?
    /// The session of the request's cookie, once `SessionMiddleware` loaded it.
    var session: Session?
    /// For an `OPTIONS` request the router handed to the chain (a CORS
    /// preflight, or a plain OPTIONS): the methods the path accepts.
    var allowedMethods: [String]?

    init(request: HTTPRequest, parameters: RouteParameters, face: Face, gateway: Gateway) {
        fixed = Fixed(request: request, parameters: parameters, gateway: gateway)
        self.face = face
    }

    /// A refusal in this face's error shape: problem+json on the resource
    /// API and event streams, `{"error": message}` on the command API.
    func refusal(_ status: Int, code: String, message: String, headers: [(String, String)] = []) -> HTTPResponse {
        if face == .command {
            return CommandReplyEncoding.errorResponse(message, status: status, headers: headers)
        }
        return Problem.response(status, code: code, detail: message, headers: headers)
    }
}

/// Who sent a request, stamped on every Command it runs.
struct ClientIdentity: Sendable {
    let address: String
    let connectionID: Int64?
    /// Whose rules the engine checks the commands against.
    var user: ACLUser? = nil

    func stamp(_ command: inout Command) {
        command.client = address
        command.clientID = connectionID
        command.user = user
    }
}

/// One cross-cutting concern (authentication, rate limiting, LOADING, the
/// durability wait, sessions) applied around a route: it may answer itself,
/// pass a changed context on, or change what `next` answered.
protocol Middleware: Sendable {
    func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult
}

/// The middleware a route runs through, outermost first.
struct MiddlewareChain: Sendable {
    let middleware: [any Middleware]

    func run(_ context: RequestContext, endpoint: (RequestContext) -> HTTPResult) -> HTTPResult {
        step(0, context, endpoint)
    }

    private func step(_ index: Int, _ context: RequestContext, _ endpoint: (RequestContext) -> HTTPResult) -> HTTPResult {
        guard index < middleware.count else { return endpoint(context) }
        return middleware[index].handle(context) { step(index + 1, $0, endpoint) }
    }

    func appending(_ more: [any Middleware]) -> MiddlewareChain {
        MiddlewareChain(middleware: middleware + more)
    }
}

extension Gateway {
    /// The order every request passes the gateway-wide middleware, stated
    /// once. CORS comes first, so every answer below it (401, 403, 415,
    /// 429, 503) carries the headers a browser needs to read it, a
    /// preflight is answered without a token, and an Origin that is not
    /// allowed is refused before anything else; then the Host check against
    /// DNS rebinding, before anything reads or counts. The rate limit comes
    /// next so refused and unauthenticated requests count too;
    /// authentication before anything reads data; LOADING before a handler
    /// runs; the durability wait closest to the handler, so it sees exactly
    /// the writes the handler made.
    func standardMiddleware(for face: Face) -> MiddlewareChain {
        guard face != .open else { return MiddlewareChain(middleware: []) }
        var chain: [any Middleware] = []
        chain.append(CORSMiddleware(policy: browserPolicy))
        if browserPolicy.allowedHosts != nil { chain.append(HostMiddleware(policy: browserPolicy)) }
        if let rateLimiter { chain.append(RateLimitMiddleware(limiter: rateLimiter, authentication: authentication)) }
        chain.append(AuthenticationMiddleware(authentication: authentication))
        chain.append(LoadingMiddleware())
        chain.append(DurabilityMiddleware())
        return MiddlewareChain(middleware: chain)
    }
}
