import KeywayTestSupport
import Testing

@Suite struct AuthenticationTests {
    @Test func commandAPIRequiresTheToken() throws {
        let server = try TestServer(token: "s3cret")
        let client = try server.client()
        let missing = try client.request("POST", "/", json: #"["PING"]"#)
        #expect(missing.status == 401)
        #expect(missing.header("www-authenticate")?.hasPrefix("Bearer") == true)
        #expect(missing.json?["error"]?.stringValue?.contains("Unauthorized") == true)
        let wrong = try client.request("POST", "/", headers: ["Authorization": "Bearer nope"], json: #"["PING"]"#)
        #expect(wrong.status == 401)
        let notBearer = try client.request("POST", "/", headers: ["Authorization": "Basic czNjcmV0"], json: #"["PING"]"#)
        #expect(notBearer.status == 401)
        let right = try client.request("POST", "/", headers: ["Authorization": "Bearer s3cret"], json: #"["PING"]"#)
        #expect(right.status == 200)
        #expect(try client.request("GET", "/ping?_token=s3cret").status == 200)
    }

    @Test func resourceAPIAnswersWithAProblem() throws {
        let server = try TestServer(token: "s3cret")
        let client = try server.client()
        let missing = try client.request("GET", "/v1/keys/a")
        #expect(missing.status == 401)
        #expect(missing.header("content-type") == "application/problem+json")
        #expect(missing.json?["code"] == .string("UNAUTHORIZED"))
        // The query token is a command-API convenience only.
        #expect(try client.request("GET", "/v1/keys/a?_token=s3cret").status == 401)
        #expect(try client.request("GET", "/v1/keys/a", headers: ["Authorization": "Bearer s3cret"]).status == 404)
    }

    @Test func healthCheckNeedsNoToken() throws {
        let server = try TestServer(token: "s3cret")
        #expect(try server.client().request("GET", "/healthz").status == 200)
    }
}
