import Foundation
import KeywayEngine
@testable import KeywayGateway
import KeywayHTTP
import Testing

/// CORS and the refusals of cross-site requests, driven in-process.
@Suite struct BrowserSecurityTests {
    static let app = "http://localhost:3000"
    static let bearer = ["Authorization": "Bearer s3cret"]

    static func gateway(origins: [String] = [app], token: String? = "s3cret", rateLimit: GatewayRateLimit? = nil,
                        allowGetWrites: Bool = false, hosts: [String]? = BrowserPolicy.loopbackHosts) -> InProcessGateway {
        var configuration = GatewayConfiguration(token: token)
        configuration.browser = BrowserPolicy(allowedOrigins: origins, allowGetWrites: allowGetWrites, allowedHosts: hosts)
        configuration.rateLimit = rateLimit
        return InProcessGateway(configuration: configuration)
    }

    static func methods(_ response: HTTPResponse?) -> Set<String> {
        Set((response?.headerValue("Access-Control-Allow-Methods") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }

    static func preflight(_ keyway: InProcessGateway, _ path: String, method: String = "GET", origin: String = app) -> HTTPResponse? {
        keyway.send("OPTIONS", path, headers: ["Origin": origin, "Access-Control-Request-Method": method,
                                               "Access-Control-Request-Headers": "authorization, content-type"])
    }

    @Test func preflightsListTheMethodsOfEachRouteWithoutAToken() throws {
        let keyway = Self.gateway()
        let cases: [(String, Set<String>)] = [
            ("/", ["POST", "OPTIONS"]),
            ("/pipeline", ["POST", "OPTIONS"]),
            ("/set/k/v", ["GET", "HEAD", "POST", "OPTIONS"]),
            ("/v1/keys/a", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]),
            ("/v1/keys/a/incr", ["POST", "OPTIONS"]),
            ("/v1/subscribe", ["GET", "HEAD", "OPTIONS"]),
        ]
        for (path, expected) in cases {
            let response = try #require(Self.preflight(keyway, path))
            #expect(response.status == 204, "\(path)")
            #expect(Self.methods(response) == expected, "\(path)")
            #expect(Set((response.headerValue("Allow") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) == expected)
            #expect(response.headerValue("Access-Control-Allow-Origin") == Self.app)
            #expect(response.headerValue("Access-Control-Allow-Credentials") == "true")
            let headers = response.headerValue("Access-Control-Allow-Headers") ?? ""
            for name in ["Authorization", "Content-Type", "Upstash-Encoding", "Last-Event-ID", "Cache-Purge", "If-Match"] {
                #expect(headers.contains(name), "\(name) in \(headers)")
            }
            #expect(response.headerValue("Access-Control-Max-Age") == "600")
            #expect(response.headers.contains { $0.0 == "Vary" && $0.1.contains("Origin") })
        }
        // A path no route has is still a 404; OPTIONS without Origin is a plain 204 with Allow.
        #expect(Self.preflight(keyway, "/v1/nothing")?.status == 404)
        let plain = try #require(keyway.send("OPTIONS", "/v1/keys/a"))
        #expect(plain.status == 204)
        #expect(plain.headerValue("Allow")?.contains("PUT") == true)
        #expect(plain.headerValue("Access-Control-Allow-Origin") == nil)
    }

    @Test func withoutCORSAnOptionsRequestIsNoLongerA405() throws {
        let keyway = InProcessGateway()
        let response = try #require(keyway.send("OPTIONS", "/"))
        #expect(response.status == 204)
        #expect(response.headerValue("Allow") == "POST, OPTIONS")
        // Probes run no middleware, but OPTIONS still answers.
        #expect(keyway.send("OPTIONS", "/healthz")?.status == 204)
    }

    @Test func normalAnd401And429AnswersCarryTheHeaders() throws {
        let keyway = Self.gateway(rateLimit: GatewayRateLimit(limit: 2, windowSeconds: 60))
        let origin = ["Origin": Self.app]
        let ok = try #require(keyway.send("GET", "/get/a", headers: origin.merging(Self.bearer) { a, _ in a }))
        #expect(ok.status == 200)
        #expect(ok.headerValue("Access-Control-Allow-Origin") == Self.app)
        let exposed = ok.headerValue("Access-Control-Expose-Headers") ?? ""
        for name in ["RateLimit-Remaining", "Retry-After", "Upstash-Sync-Token", "Location", "ETag", "Keyway-TTL-Milliseconds", "X-Cache", "Age"] {
            #expect(exposed.contains(name), "\(name) exposed")
        }
        #expect(ok.headerValue("RateLimit-Remaining") == "1")
        let unauthorized = try #require(keyway.send("GET", "/v1/keys/a", headers: origin))
        #expect(unauthorized.status == 401)
        #expect(unauthorized.headerValue("Access-Control-Allow-Origin") == Self.app)
        // Unauthenticated requests count by address: the second is the last allowed.
        #expect(keyway.send("GET", "/v1/keys/a", headers: origin)?.status == 401)
        let limited = try #require(keyway.send("GET", "/v1/keys/a", headers: origin))
        #expect(limited.status == 429)
        #expect(limited.headerValue("Access-Control-Allow-Origin") == Self.app)
        #expect(limited.headerValue("Retry-After") != nil)
        // Requests without Origin (curl, the SDKs) get no CORS headers, only Vary.
        let plain = try #require(keyway.send("GET", "/get/a", headers: Self.bearer, from: "10.1.1.1"))
        #expect(plain.headerValue("Access-Control-Allow-Origin") == nil)
        #expect(plain.headerValue("Vary") == "Origin")
    }

    @Test func eventStreamsCarryTheHeaders() throws {
        let keyway = Self.gateway()
        let request = HTTPRequest(method: "GET", target: "/v1/subscribe?channel=c&_token=s3cret", headers: ["Origin": Self.app])
        guard case .stream(let stream, let headers) = keyway.router.respond(to: request).result else {
            Issue.record("expected an event stream")
            return
        }
        defer { stream.finish() }
        #expect(headers.contains { $0.0 == "Access-Control-Allow-Origin" && $0.1 == Self.app })
        #expect(headers.contains { $0.0 == "Access-Control-Allow-Credentials" && $0.1 == "true" })
    }

    @Test func theRoutersOwn404And405AreReadableByAnAllowedOrigin() throws {
        let keyway = Self.gateway()
        let missing = try #require(keyway.send("GET", "/v1/nothing", headers: ["Origin": Self.app]))
        #expect(missing.status == 404)
        #expect(missing.headerValue("Access-Control-Allow-Origin") == Self.app)
        let wrongMethod = try #require(keyway.send("PATCH", "/v1/keys/a", headers: ["Origin": Self.app]))
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.headerValue("Access-Control-Allow-Origin") == Self.app)
        #expect(keyway.send("GET", "/v1/nothing", headers: ["Origin": "https://evil.example"])?.headerValue("Access-Control-Allow-Origin") == nil)
    }

    @Test func aWildcardNeverAllowsCredentials() throws {
        let keyway = Self.gateway(origins: ["*"])
        let response = try #require(keyway.send("GET", "/get/a", headers: ["Origin": "https://anywhere.example"].merging(Self.bearer) { a, _ in a }))
        #expect(response.status == 200)
        #expect(response.headerValue("Access-Control-Allow-Origin") == "*")
        #expect(response.headerValue("Access-Control-Allow-Credentials") == nil)
        let preflight = try #require(Self.preflight(keyway, "/", method: "POST", origin: "https://anywhere.example"))
        #expect(preflight.headerValue("Access-Control-Allow-Origin") == "*")
        #expect(preflight.headerValue("Access-Control-Allow-Credentials") == nil)
    }

    @Test func anOriginNotListedIsRefusedInTheFacesShape() throws {
        let keyway = Self.gateway()
        let command = try #require(keyway.send("POST", "/", headers: ["Origin": "https://evil.example", "Content-Type": "text/plain"],
                                               body: #"["SET","k","v"]"#))
        #expect(command.status == 403)
        #expect(command.jsonBody?["error"]?.stringValue?.contains("not allowed") == true)
        #expect(command.headerValue("Access-Control-Allow-Origin") == nil)
        let resource = try #require(keyway.send("GET", "/v1/keys/k", headers: ["Origin": "https://evil.example"]))
        #expect(resource.status == 403)
        #expect(resource.jsonBody?["code"] == .string("ORIGIN_NOT_ALLOWED"))
        #expect(Self.preflight(keyway, "/", method: "POST", origin: "https://evil.example")?.status == 403)
        // With no origins configured, any Origin is refused.
        let closed = InProcessGateway()
        #expect(closed.send("POST", "/", headers: ["Origin": Self.app], body: #"["PING"]"#)?.status == 403)
        #expect(keyway.engine.execute(Command("EXISTS", ["k"])) == .integer(0))
    }

    @Test func theHostMustNameThisServer() throws {
        let keyway = Self.gateway(token: nil)
        for host in ["localhost:7379", "127.0.0.1", "[::1]:7379", "LOCALHOST:1"] {
            #expect(keyway.send("GET", "/get/a", headers: ["Host": host])?.status == 200, "\(host)")
        }
        let rebound = try #require(keyway.send("GET", "/get/a", headers: ["Host": "evil.example:7379"]))
        #expect(rebound.status == 421)
        #expect(rebound.jsonBody?["error"]?.stringValue?.contains("evil.example") == true)
        let resource = try #require(keyway.send("GET", "/v1/keys/a", headers: ["Host": "evil.example"]))
        #expect(resource.jsonBody?["code"] == .string("HOST_NOT_ALLOWED"))
        // allowed-hosts adds names; without a list (not loopback) any Host passes.
        #expect(Self.gateway(token: nil, hosts: BrowserPolicy.loopbackHosts + ["keyway.internal"])
            .send("GET", "/get/a", headers: ["Host": "keyway.internal:80"])?.status == 200)
        #expect(Self.gateway(token: nil, hosts: nil).send("GET", "/get/a", headers: ["Host": "evil.example"])?.status == 200)
    }

    @Test func commandBodiesMustBeJSONWhenABrowserSendsThem() throws {
        let keyway = Self.gateway()
        let origin = ["Origin": Self.app].merging(Self.bearer) { a, _ in a }
        for path in ["/", "/pipeline", "/multi-exec"] {
            let body = path == "/" ? #"["SET","k","v"]"# : #"[["SET","k","v"]]"#
            for type in ["text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"] {
                let refused = try #require(keyway.send("POST", path, headers: origin.merging(["Content-Type": type]) { a, _ in a }, body: body))
                #expect(refused.status == 415, "\(path) \(type)")
                #expect(refused.jsonBody?["error"]?.stringValue?.hasPrefix("ERR the body must be JSON") == true)
                #expect(refused.headerValue("Access-Control-Allow-Origin") == Self.app)
            }
            #expect(keyway.send("POST", path, headers: origin, body: body)?.status == 415, "no Content-Type from a browser")
            #expect(keyway.send("POST", path, headers: origin.merging(["Content-Type": "application/json; charset=utf-8"]) { a, _ in a },
                                body: body)?.status == 200)
            // Without Origin: curl's -d default and no Content-Type pass; text/plain does not.
            #expect(keyway.send("POST", path, headers: Self.bearer.merging(["Content-Type": "application/x-www-form-urlencoded"]) { a, _ in a },
                                body: body)?.status == 200)
            #expect(keyway.send("POST", path, headers: Self.bearer, body: body)?.status == 200)
            #expect(keyway.send("POST", path, headers: Self.bearer.merging(["Content-Type": "text/plain"]) { a, _ in a }, body: body)?.status == 415)
        }
    }

    @Test func aBrowsersCrossSiteGetMayNotWrite() throws {
        let keyway = Self.gateway(token: nil)
        for headers in [["Sec-Fetch-Site": "cross-site"], ["Sec-Fetch-Site": "same-site"], ["Origin": Self.app]] {
            let refused = try #require(keyway.send("GET", "/set/k/v", headers: headers))
            #expect(refused.status == 403, "\(headers)")
            #expect(refused.jsonBody?["error"]?.stringValue?.contains("SET") == true)
            #expect(keyway.send("GET", "/flushall", headers: headers)?.status == 403)
            #expect(keyway.send("GET", "/publish/c/m", headers: headers)?.status == 403)
            // Reads and PING still answer.
            #expect(keyway.send("GET", "/get/k", headers: headers)?.status == 200)
            #expect(keyway.send("GET", "/ping", headers: headers)?.status == 200)
        }
        #expect(keyway.engine.execute(Command("EXISTS", ["k"])) == .integer(0))
        // curl, the SDKs and a typed URL (Sec-Fetch-Site: none) may; so may POST.
        #expect(keyway.send("GET", "/set/k/v")?.status == 200)
        #expect(keyway.send("GET", "/set/k/w", headers: ["Sec-Fetch-Site": "none"])?.status == 200)
        #expect(keyway.send("POST", "/set/k/x", headers: ["Origin": Self.app])?.status == 200)
        // allow-get-writes yes lets browsers write with GET.
        let permissive = Self.gateway(token: nil, allowGetWrites: true)
        #expect(permissive.send("GET", "/set/k/v", headers: ["Sec-Fetch-Site": "cross-site"])?.status == 200)
    }
}
