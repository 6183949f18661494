import KeywayEngine
import KeywayHTTP

/// The gateway-wide limit: `limit` requests per `windowSeconds` per client.
/// Written `100/60` on the command line and `rate-limit 100 60` in a config file.
public struct GatewayRateLimit: Sendable, Equatable {
    public var limit: Int64
    public var windowSeconds: Int64

    public init?(limit: Int64, windowSeconds: Int64) {
        guard limit > 0, limit <= RateLimitAlgorithm.maxLimit,
              windowSeconds > 0, windowSeconds * 1000 <= RateLimitAlgorithm.maxWindowMilliseconds else { return nil }
        self.limit = limit
        self.windowSeconds = windowSeconds
    }

    /// `100/60` (or `100 60`): requests, then seconds.
    public init?(parsing text: String) {
        let parts = text.split(whereSeparator: { $0 == "/" || $0 == " " })
        guard parts.count == 2, let limit = Int64(parts[0]), let seconds = Int64(parts[1]) else { return nil }
        self.init(limit: limit, windowSeconds: seconds)
    }
}

/// The rate-limit middleware: one `RATELIMIT` command per request (one
/// engine lock acquisition), with the sliding-window algorithm, whose state
/// is O(1) per client however high the limit.
///
/// Clients are told apart by bearer token when a token is configured and
/// the request presents the right one (the key holds a hash of the token,
/// never the token), otherwise by address. The keys are
/// `ratelimit:@gateway:token:<hash>` and `ratelimit:@gateway:addr:<address>`;
/// the resource API refuses names starting with `@` so it cannot reach them.
struct GatewayRateLimiter: Sendable {
    let limit: Int64
    let windowSeconds: Int64
    /// `RATELIMIT <key> sliding-window <limit> <window-ms>`, the key filled in per request.
    let template: Command
    /// `RateLimit-Limit` and `RateLimit-Policy`, the same on every response.
    let fixedHeaders: (limit: String, policy: String)

    static let keyPrefix = "ratelimit:@gateway:"
    static let addressPrefix = Array((keyPrefix + "addr:").utf8)

    init(_ settings: GatewayRateLimit) {
        limit = settings.limit
        windowSeconds = settings.windowSeconds
        template = Command([Bytes("RATELIMIT"), Bytes(), Bytes(RateLimitAlgorithm.slidingWindow.rawValue),
                            Parse.bytes(settings.limit), Parse.bytes(settings.windowSeconds * 1000)])
        fixedHeaders = (String(settings.limit), "\(settings.limit);w=\(settings.windowSeconds)")
    }

    /// Counts the request against its client. Nil when the check itself
    /// failed (the key was overwritten with another type): the request goes
    /// through rather than locking the client out.
    func check(_ request: HTTPRequest, authenticated: Bool, executor: any CommandExecutor) -> RateLimitDecision? {
        var command = template
        command.arguments[1] = Self.clientKey(request, authenticated: authenticated)
        return RateLimitDecision(reply: executor.execute(command))
    }

    static func clientKey(_ request: HTTPRequest, authenticated: Bool) -> Bytes {
        if authenticated, let token = presentedToken(request) {
            return Bytes(keyPrefix + "token:" + fingerprint(token))
        }
        var key = addressPrefix
        key.reserveCapacity(key.count + request.remoteAddress.utf8.count)
        key.append(contentsOf: request.remoteAddress.utf8)
        return Bytes(key)
    }

    /// The token the request carries (header, else `?_token=`).
    static func presentedToken(_ request: HTTPRequest) -> String? {
        if let header = request.header("authorization") {
            let parts = header.split(separator: " ", maxSplits: 1)
            return parts.count == 2 ? String(parts[1]) : nil
        }
        return request.queryString("_token")
    }

    /// FNV-1a, 64 bits, as hex: tells tokens apart without storing them.
    static func fingerprint(_ token: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in token.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// The RateLimit-* headers and refusals, shared by the middleware and the
/// `/v1/ratelimits` routes.
enum RateLimitHeaders {
    /// Whole seconds, rounded up: a client that waits this long is not early.
    static func seconds(_ milliseconds: Int64) -> Int64 {
        milliseconds <= 0 ? 0 : (milliseconds + 999) / 1000
    }

    /// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
    /// (seconds until the limiter frees a request).
    static func headers(_ decision: RateLimitDecision) -> [(String, String)] {
        [
            ("RateLimit-Limit", String(decision.limit)),
            ("RateLimit-Remaining", String(decision.remaining)),
            ("RateLimit-Reset", String(seconds(decision.resetMilliseconds))),
        ]
    }

    /// 429 with `Retry-After`: problem+json, plus Upstash's `error` member
    /// on the command API so its SDKs show the message.
    static func refusal(_ decision: RateLimitDecision, windowSeconds: Int64, commandFace: Bool, headers: [(String, String)]) -> HTTPResponse {
        let retry = max(1, seconds(decision.retryAfterMilliseconds))
        let detail = "rate limit of \(decision.limit) requests per \(windowSeconds) s exceeded; retry in \(retry) s"
        var json = JSONWriter(capacity: 200)
        json.object { o in
            o.member("type") { $0.string("urn:keyway:error:rate_limited") }
            o.member("title") { $0.string("Too Many Requests") }
            o.member("status") { $0.integer(429) }
            o.member("detail") { $0.string(detail) }
            o.member("code") { $0.string("RATE_LIMITED") }
            if commandFace { o.member("error") { $0.string("RATE_LIMITED " + detail) } }
        }
        return HTTPResponse(status: 429, headers: [("Content-Type", "application/problem+json"), ("Retry-After", String(retry))] + headers,
                            body: json.bytes)
    }
}

/// The gateway-wide rate limit as middleware: counts every request against
/// its client (before authentication, so refused requests count too), adds
/// the `RateLimit-*` headers to whatever the route answers, and answers 429
/// itself once the client is over the limit. While the dataset loads it
/// steps aside: the limiter's state is not there yet.
struct RateLimitMiddleware: Middleware {
    let limiter: GatewayRateLimiter
    let authentication: Authentication

    func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
        let executor = context.gateway.executor
        guard !executor.isLoading else { return next(context) }
        let request = context.request
        let authenticated: Bool
        if Authentication.credential(of: request, allowQueryToken: context.face.acceptsQueryToken) == nil {
            authenticated = false
        } else if case .user = authentication.authenticate(request, allowQueryToken: context.face.acceptsQueryToken) {
            authenticated = true
        } else {
            authenticated = false
        }
        guard let decision = limiter.check(request, authenticated: authenticated, executor: executor) else { return next(context) }
        let headers = [
            ("RateLimit-Limit", limiter.fixedHeaders.limit),
            ("RateLimit-Remaining", String(decision.remaining)),
            ("RateLimit-Reset", String(RateLimitHeaders.seconds(decision.resetMilliseconds))),
            ("RateLimit-Policy", limiter.fixedHeaders.policy),
        ]
        guard decision.allowed else {
            return .response(RateLimitHeaders.refusal(decision, windowSeconds: limiter.windowSeconds,
                                                      commandFace: context.face == .command, headers: headers))
        }
        return Self.adding(headers, to: next(context))
    }

    /// Adds the middleware's headers to whatever the route answered, unless
    /// the route set its own RateLimit-* headers (`/v1/ratelimits`).
    static func adding(_ headers: [(String, String)], to result: HTTPResult) -> HTTPResult {
        switch result {
        case .response(var response):
            if !response.headers.contains(where: { $0.0 == "RateLimit-Limit" }) { response.headers += headers }
            return .response(response)
        case .parked(let parked):
            parked.addHeaders(headers)
            return result
        case .stream(let stream, let streamHeaders):
            return .stream(stream, headers: streamHeaders + headers)
        }
    }
}
