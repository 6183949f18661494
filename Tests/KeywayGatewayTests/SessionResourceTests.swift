import KeywayEngine
@testable import KeywayGateway
import KeywayHTTP
import KeywayTestSupport
import Logging
import Testing

/// A server whose gateway has the given session settings.
final class SessionTestServer: Sendable {
    let engine: Engine
    let server: HTTPServer
    var port: UInt16 { server.port }

    init(sessions: SessionConfiguration = SessionConfiguration(), clock: any EngineClock = SystemClock()) throws {
        engine = Engine(clock: clock)
        var gatewayConfiguration = GatewayConfiguration()
        gatewayConfiguration.sessions = sessions
        let gateway = Gateway(executor: engine, configuration: gatewayConfiguration)
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = 2
        var logger = Logger(label: "keyway.test")
        logger.logLevel = .warning
        server = HTTPServer(configuration: configuration, router: gateway.makeRouter(), logger: logger)
        try server.start()
    }

    deinit { server.stop() }

    func client() throws -> TestHTTPClient { try TestHTTPClient(port: port) }
}

/// `/v1/sessions` and `/v1/session`: hashes `session:{id}` with a TTL,
/// cookies, sliding expiry, and 401 for a cookie naming no session.
@Suite struct SessionResourceTests {
    func create(_ client: TestHTTPClient, _ json: String = #"{"data":{"user":"alice","role":"admin"}}"#) throws -> (TestHTTPClient.Response, String) {
        let response = try client.request("POST", "/v1/sessions", json: json)
        return (response, response.json?["id"]?.stringValue ?? "")
    }

    @Test func createReadPatchDelete() throws {
        let server = try SessionTestServer()
        let client = try server.client()
        let (created, id) = try create(client)
        #expect(created.status == 201)
        #expect(id.count == 22)
        #expect(RandomToken.isWellFormed(Array(id.utf8)))  // 22 base64url characters, no padding
        #expect(created.header("Location") == "/v1/sessions/\(id)")
        #expect(created.json?["data"] == .object([("user", .string("alice")), ("role", .string("admin"))]))
        #expect(created.json?["ttl"] == .number("86400"))

        let read = try client.request("GET", "/v1/sessions/\(id)")
        #expect(read.status == 200)
        #expect(read.json?["data"]?["user"] == .string("alice"))

        let patched = try client.request("PATCH", "/v1/sessions/\(id)", json: #"{"data":{"role":null,"cart":3,"prefs":{"dark":true}}}"#)
        #expect(patched.status == 200)
        #expect(patched.json?["data"] == .object([("user", .string("alice")), ("cart", .string("3")), ("prefs", .string(#"{"dark":true}"#))]))

        // The plain Redis view of the same session.
        let hgetall = try client.request("POST", "/", json: #"["HGETALL","session:\#(id)"]"#)
        #expect(hgetall.json?["result"] == .array([.string("user"), .string("alice"), .string("cart"), .string("3"), .string("prefs"), .string(#"{"dark":true}"#)]))
        let ttl = try client.request("POST", "/", json: #"["TTL","session:\#(id)"]"#)
        #expect(ttl.json?["result"]?.numberText.flatMap { Int($0) }.map { $0 > 86_000 } == true)

        #expect(try client.request("DELETE", "/v1/sessions/\(id)").status == 204)
        #expect(try client.request("GET", "/v1/sessions/\(id)").json?["code"] == .string("NO_SUCH_SESSION"))
        #expect(try client.request("DELETE", "/v1/sessions/\(id)").status == 404)
        #expect(try client.request("PATCH", "/v1/sessions/\(id)", json: #"{"data":{"a":"1"}}"#).status == 404)
        // A PATCH never recreates it.
        #expect(try client.request("POST", "/", json: #"["EXISTS","session:\#(id)"]"#).json?["result"] == .number("0"))
    }

    @Test func idsAreRandomAndUnique() throws {
        let server = try SessionTestServer()
        let client = try server.client()
        var ids = Set<String>()
        for _ in 0..<50 { ids.insert(try create(client).1) }
        #expect(ids.count == 50)
    }

    @Test func theCookieHasTheRightAttributes() throws {
        var settings = SessionConfiguration()
        settings.cookieName = "sid"
        let server = try SessionTestServer(sessions: settings)
        let client = try server.client()
        let (created, id) = try create(client, #"{"data":{"u":"1"},"ttl":120}"#)
        #expect(created.header("Set-Cookie") == "sid=\(id); Path=/; Max-Age=120; HttpOnly; SameSite=Lax")
        let proxied = try client.request("POST", "/v1/sessions", headers: ["X-Forwarded-Proto": "https"], json: #"{"data":{"u":"1"}}"#)
        #expect(proxied.header("Set-Cookie")?.hasSuffix("; Secure") == true)
        let none = try client.request("POST", "/v1/sessions", json: #"{"data":{"u":"1"},"cookie":false}"#)
        #expect(none.status == 201)
        #expect(none.header("Set-Cookie") == nil)

        settings.cookieSecure = true
        let secure = try SessionTestServer(sessions: settings)
        #expect(try create(try secure.client()).0.header("Set-Cookie")?.hasSuffix("; Secure") == true)
    }

    @Test func theCookieRoutesLoadTheSessionOrAnswer401() throws {
        let server = try SessionTestServer()
        let client = try server.client()
        let (_, id) = try create(client)
        let cookie = ["Cookie": "other=1; keyway_session=\(id); x=y"]
        let mine = try client.request("GET", "/v1/session", headers: cookie)
        #expect(mine.status == 200)
        #expect(mine.json?["id"] == .string(id))
        #expect(mine.json?["data"]?["user"] == .string("alice"))

        let patched = try client.request("PATCH", "/v1/session", headers: cookie, json: #"{"data":{"step":"2"}}"#)
        #expect(patched.json?["data"]?["step"] == .string("2"))

        let noCookie = try client.request("GET", "/v1/session")
        #expect(noCookie.status == 401)
        #expect(noCookie.json?["code"] == .string("UNAUTHORIZED"))

        let unknown = try client.request("GET", "/v1/session", headers: ["Cookie": "keyway_session=AAAAAAAAAAAAAAAAAAAAAA"])
        #expect(unknown.status == 401)
        #expect(unknown.json?["code"] == .string("SESSION_EXPIRED"))
        #expect(unknown.header("Set-Cookie")?.contains("Max-Age=0") == true)
        for odd in ["..%2F..", "a", "session:x", "\(id)x", "\(id.dropLast())*"] {
            let response = try client.request("GET", "/v1/session", headers: ["Cookie": "keyway_session=\(odd)"])
            #expect(response.status == 401, "cookie \(odd)")
        }

        let logout = try client.request("DELETE", "/v1/session", headers: cookie)
        #expect(logout.status == 204)
        #expect(logout.header("Set-Cookie")?.hasPrefix("keyway_session=; Path=/; Max-Age=0") == true)
        let after = try client.request("GET", "/v1/session", headers: cookie)
        #expect(after.status == 401)
        #expect(after.json?["code"] == .string("SESSION_EXPIRED"))
    }

    @Test func expiryAndSlidingRefreshUnderTheManualClock() throws {
        let clock = ManualClock()
        var settings = SessionConfiguration()
        settings.sliding = true
        settings.ttlSeconds = 60
        let server = try SessionTestServer(sessions: settings, clock: clock)
        let client = try server.client()
        let (_, id) = try create(client, #"{"data":{"u":"1"}}"#)
        clock.advance(milliseconds: 50_000)
        let read = try client.request("GET", "/v1/session", headers: ["Cookie": "keyway_session=\(id)"])
        #expect(read.json?["ttl"] == .number("60"))
        #expect(read.header("Set-Cookie")?.contains("Max-Age=60") == true)
        clock.advance(milliseconds: 50_000)
        #expect(try client.request("GET", "/v1/sessions/\(id)").status == 200)
        clock.advance(milliseconds: 60_001)
        #expect(try client.request("GET", "/v1/sessions/\(id)").status == 404)
    }

    @Test func withoutSlidingReadsDoNotExtend() throws {
        let clock = ManualClock()
        let server = try SessionTestServer(clock: clock)
        let client = try server.client()
        let (_, id) = try create(client, #"{"data":{"u":"1"},"ttl":10}"#)
        clock.advance(milliseconds: 6000)
        #expect(try client.request("GET", "/v1/sessions/\(id)").json?["ttl"] == .number("4"))
        clock.advance(milliseconds: 4001)
        #expect(try client.request("GET", "/v1/sessions/\(id)").status == 404)
    }

    @Test func badInput() throws {
        let server = try SessionTestServer()
        let client = try server.client()
        let bodies = [
            #"{"data":"#, #"[]"#, #"{}"#, #"{"data":{}}"#, #"{"data":[1]}"#, #"{"data":{"a":null}}"#,
            #"{"data":{"a":"1"},"ttl":0}"#, #"{"data":{"a":"1"},"ttl":-5}"#, #"{"data":{"a":"1"},"ttl":"60"}"#,
            #"{"data":{"a":"1"},"ttl":1e300}"#, #"{"data":{"a":"1"},"cookie":"yes"}"#,
        ]
        for body in bodies {
            let response = try client.request("POST", "/v1/sessions", json: body)
            #expect(response.status == 400, "body \(body)")
            #expect(response.header("Content-Type") == "application/problem+json")
        }
        for id in ["short", "AAAAAAAAAAAAAAAAAAAAA%2F", "AAAAAAAAAAAAAAAAAAAA%00A", "AAAAAAAAAAAAAAAAAAAAAAA"] {
            #expect(try client.request("GET", "/v1/sessions/\(id)").status == 400, "id \(id)")
        }
        let (_, id) = try create(client, #"{"data":{"only":"1"}}"#)
        let emptied = try client.request("PATCH", "/v1/sessions/\(id)", json: #"{"data":{"only":null}}"#)
        #expect(emptied.status == 400)
        #expect(try client.request("PATCH", "/v1/sessions/\(id)", json: #"{"data":5}"#).status == 400)
        #expect(try client.request("GET", "/v1/sessions/\(id)").json?["data"] == .object([("only", .string("1"))]))
        // Something else stored under the session's key is not a session.
        _ = try client.request("POST", "/", json: #"["SET","session:BBBBBBBBBBBBBBBBBBBBBB","x"]"#)
        #expect(try client.request("GET", "/v1/sessions/BBBBBBBBBBBBBBBBBBBBBB").status == 409)
    }
}
