import KeywayEngine
import KeywayHTTP

/// Cross-origin requests from browsers (`cors-allow-origins`).
///
/// The outermost middleware, so that every answer below it, 401, 403,
/// 415, 429 and 503 included, carries the headers a browser needs to let
/// the page read it. For an allowed `Origin` it answers `OPTIONS`
/// preflights itself, before authentication (a preflight carries no
/// token), with the methods the path accepts, and adds
/// `Access-Control-Allow-Origin` and the exposed headers to every other
/// answer, event streams and parked requests included. A request whose
/// `Origin` is not allowed is refused with 403 ORIGIN_NOT_ALLOWED: a page
/// of another site can send a "simple" request (a form POST, a text/plain
/// fetch) without a preflight, and the server, not the browser, must stop
/// it. Listed origins get `Access-Control-Allow-Credentials: true` (the
/// session cookie); `*` never does.
struct CORSMiddleware: Middleware {
    let policy: BrowserPolicy

    /// The request headers the routes read.
    static let allowedHeaders = [
        "Authorization", "Content-Type", "Accept", "Upstash-Encoding", "Upstash-Response-Format", "Upstash-Sync-Token",
        "Upstash-Telemetry-Sdk", "Upstash-Telemetry-Platform", "Upstash-Telemetry-Runtime",
        "Last-Event-ID", "Cache-Purge", "If-Match",
    ].joined(separator: ", ")
    /// The response headers clients read.
    static let exposedHeaders = [
        "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy", "Retry-After",
        "Upstash-Sync-Token", "Location", "ETag", "Keyway-TTL-Milliseconds", "X-Cache", "Age", "Warning", "WWW-Authenticate",
    ].joined(separator: ", ")
    /// How long a browser may cache a preflight, in seconds.
    static let maxAge = "600"

    func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
        let request = context.request
        if let origin = request.header("origin"), !policy.allows(origin: origin), !request.isSameOrigin {
            let hint = policy.corsEnabled ? "it is not listed in cors-allow-origins" : "cors-allow-origins lists no origins"
            return .response(context.refusal(403, code: "ORIGIN_NOT_ALLOWED",
                                             message: "requests from the origin '\(origin)' are not allowed: \(hint)",
                                             headers: [("Vary", "Origin")]))
        }
        guard let allowed = context.allowedMethods else { return next(context).adding(Self.headers(for: request, policy: policy)) }
        // OPTIONS: answered here, before authentication.
        var headers: [(String, String)] = policy.corsEnabled && !policy.anyOrigin ? [("Vary", "Origin")] : []
        if let origin = request.header("origin") {
            headers.append(("Access-Control-Allow-Origin", policy.anyOrigin ? "*" : origin))
            if !policy.anyOrigin { headers.append(("Access-Control-Allow-Credentials", "true")) }
            headers += [
                ("Access-Control-Allow-Methods", allowed.joined(separator: ", ")),
                ("Access-Control-Allow-Headers", Self.allowedHeaders),
                ("Access-Control-Max-Age", Self.maxAge),
                ("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers"),
            ]
            // Chromium's Private Network Access: a public page calling a
            // loopback Keyway asks first.
            if request.header("access-control-request-private-network")?.lowercased() == "true" {
                headers.append(("Access-Control-Allow-Private-Network", "true"))
            }
        }
        return .response(Self.optionsResponse(context, headers: headers))
    }

    /// The CORS headers of an ordinary answer to `request` (none when its
    /// Origin is absent or not allowed): for the router's own 404 and 405.
    static func headers(for request: HTTPRequest, policy: BrowserPolicy) -> [(String, String)] {
        var headers: [(String, String)] = policy.corsEnabled && !policy.anyOrigin ? [("Vary", "Origin")] : []
        guard let origin = request.header("origin"), policy.allows(origin: origin) else { return headers }
        headers.append(("Access-Control-Allow-Origin", policy.anyOrigin ? "*" : origin))
        if !policy.anyOrigin { headers.append(("Access-Control-Allow-Credentials", "true")) }
        headers.append(("Access-Control-Expose-Headers", exposedHeaders))
        return headers
    }

    /// 204 with `Allow`: the answer to OPTIONS.
    static func optionsResponse(_ context: RequestContext, headers: [(String, String)]) -> HTTPResponse {
        HTTPResponse(status: 204, headers: [("Allow", (context.allowedMethods ?? []).joined(separator: ", "))] + headers)
    }
}

/// Refuses a request whose `Host` is not a name of this server: a page
/// of another site whose name was rebound to 127.0.0.1 (DNS rebinding) is
/// same-origin with itself, so no CORS rule stops it; its requests say
/// `Host: evil.example:7379`. Installed when the policy lists hosts
/// (loopback listeners by default). A request without `Host` (HTTP/1.0)
/// comes from no browser and passes.
struct HostMiddleware: Middleware {
    let policy: BrowserPolicy

    func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
        guard let host = context.request.header("host"), !policy.allows(host: host) else { return next(context) }
        return .response(context.refusal(421, code: "HOST_NOT_ALLOWED",
                                         message: "this server does not answer to the host '\(host)'; list it in allowed-hosts"))
    }
}

/// The command API's JSON bodies (`POST /`, `/pipeline`, `/multi-exec`)
/// must say they are JSON when a browser sends them: `text/plain`,
/// `multipart/form-data` and `application/x-www-form-urlencoded` are what a
/// page of another site can send without a preflight. Clients that are
/// not browsers (no `Origin`) may also send no Content-Type or curl's
/// `-d` default, `application/x-www-form-urlencoded`. Anything else is
/// 415 UNSUPPORTED_MEDIA_TYPE.
struct JSONBodyMiddleware: Middleware {
    func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
        let request = context.request
        guard !request.body.isEmpty, !Self.accepts(request) else { return next(context) }
        let sent = request.contentType.map { "'\($0)'" } ?? "no Content-Type"
        let message = "the body must be JSON with Content-Type: application/json (got \(sent))"
        return .response(context.refusal(415, code: "UNSUPPORTED_MEDIA_TYPE",
                                         message: context.face == .command ? "ERR " + message : message))
    }

    static func accepts(_ request: HTTPRequest) -> Bool {
        switch request.contentType {
        case "application/json"?: return true
        case let type? where type.hasSuffix("+json"): return true
        case nil, "application/x-www-form-urlencoded"?: return request.header("origin") == nil
        default: return false
        }
    }
}

/// A GET a browser sent for another site's page (an `<img>` tag, a link)
/// may not run a command with side effects through the path form
/// (`GET /set/k/v`, `GET /flushall`): only commands the table flags
/// read-only, and the informational ones that answer while loading
/// (PING, ECHO, TIME, INFO), unless `allow-get-writes yes`. curl, the SDKs
/// and a URL typed into the address bar send neither `Origin` nor
/// `Sec-Fetch-Site: cross-site`/`same-site`, and are not affected.
///
/// A HEAD of the path form runs only such commands too, from anyone: a
/// HEAD is sent to look at a resource (link checkers, prefetchers, caches)
/// and must not change it (RFC 9110, 9.2.1), so `HEAD /set/k/v` is 405 with
/// `Allow: GET, POST` instead of a write.
struct GetWriteMiddleware: Middleware {
    let policy: BrowserPolicy

    func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
        let request = context.request
        if request.method == "HEAD", let name = context.parameters["command"],
           let flags = context.gateway.executor.commandFlags(Bytes(name)), Self.hasSideEffects(flags) {
            let command = String(decoding: name, as: UTF8.self).uppercased()
            return .response(context.refusal(405, code: "METHOD_NOT_ALLOWED",
                                             message: "ERR HEAD may not run \(command), which has side effects; use GET or POST",
                                             headers: [("Allow", "GET, POST")]))
        }
        guard !policy.allowGetWrites, request.method == "GET",
              request.isCrossSiteBrowserRequest, let name = context.parameters["command"],
              let flags = context.gateway.executor.commandFlags(Bytes(name)), Self.hasSideEffects(flags) else { return next(context) }
        let command = String(decoding: name, as: UTF8.self).uppercased()
        return .response(context.refusal(403, code: "GET_WRITE_REFUSED",
                                         message: "ERR a browser may not run \(command) with GET; use POST with a JSON body (or allow-get-writes yes)"))
    }

    static func hasSideEffects(_ flags: CommandFlags) -> Bool {
        if flags.contains(.readonly) { return false }
        return !(flags.contains(.loading) && flags.isDisjoint(with: [.write, .admin]))
    }
}
