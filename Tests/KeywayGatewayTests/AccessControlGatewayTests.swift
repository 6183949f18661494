import Foundation
import JWTKit
import KeywayEngine
import KeywayGateway
import KeywayHTTP
import Testing

/// Authentication and authorization through the whole gateway, in-process:
/// each credential kind picks its user, and each face answers a refusal in
/// its own shape.
@Suite struct AccessControlGatewayTests {
    static let jwtSecret = "gateway-tests-jwt-secret-0123456789"

    static func gateway(jwt: Bool = false) throws -> InProcessGateway {
        var configuration = GatewayConfiguration(token: "admin")
        if jwt { configuration.jwt = try JWTAuthenticator(JWTSettings(key: jwtSecret)) }
        let keyway = InProcessGateway(configuration: configuration)
        for rules in [["reader", "on", ">readerpw", "~*", "&*", "+@read"], ["app-user", "on", "~user:{sub}:*", "+@all"]] {
            _ = keyway.engine.execute(Command(([ "ACL", "SETUSER"] + rules).map { Bytes($0) }))
        }
        return keyway
    }

    static func basic(_ name: String, _ password: String) -> [String: String] {
        ["Authorization": "Basic " + Data("\(name):\(password)".utf8).base64EncodedString()]
    }

    @Test func eachCredentialPicksItsUser() throws {
        let keyway = try Self.gateway()
        #expect(keyway.send("GET", "/v1/acl/whoami", headers: ["Authorization": "Bearer admin"])?.jsonBody?["user"] == .string("default"))
        #expect(keyway.send("GET", "/v1/acl/whoami", headers: Self.basic("reader", "readerpw"))?.jsonBody?["user"] == .string("reader"))
        #expect(keyway.send("GET", "/v1/acl/whoami", headers: Self.basic("reader", "wrong"))?.status == 401)
        #expect(keyway.send("GET", "/v1/acl/whoami", headers: ["Authorization": "Basic !!!"])?.status == 401)
        #expect(keyway.send("GET", "/v1/acl/whoami", headers: ["Authorization": "Digest x"])?.status == 401)
        #expect(keyway.send("GET", "/v1/acl/whoami")?.status == 401)
        // The scheme is case-insensitive; the token is trimmed.
        #expect(keyway.send("GET", "/v1/acl/whoami", headers: ["Authorization": "bEaReR   admin  "])?.status == 200)
    }

    @Test func refusalsTakeEachFacesShape() throws {
        let keyway = try Self.gateway()
        let reader = Self.basic("reader", "readerpw")
        let command = try #require(keyway.send("POST", "/", headers: reader.merging(["Content-Type": "application/json"]) { $1 },
                                               body: #"["SET","k","v"]"#))
        #expect(command.status == 403)
        #expect(command.jsonBody?["error"] == .string("NOPERM User reader has no permissions to run the 'set' command"))
        let resource = try #require(keyway.send("PUT", "/v1/keys/k", headers: reader.merging(["Content-Type": "application/json"]) { $1 },
                                                body: #"{"value":"v"}"#))
        #expect(resource.status == 403)
        #expect(resource.headerValue("Content-Type") == "application/problem+json")
        #expect(resource.jsonBody?["code"] == .string("NOPERM"))
        #expect(keyway.engine.execute(Command("EXISTS", ["k"])) == .integer(0))
        #expect(keyway.send("GET", "/v1/keys/k", headers: reader)?.status == 404, "reading is allowed; the key is missing")
    }

    @Test func aJWTConfinesItsSubjectToItsKeys() async throws {
        let keyway = try Self.gateway(jwt: true)
        let keys = await JWTKeyCollection().add(hmac: HMACKey(from: Self.jwtSecret), digestAlgorithm: .sha256)
        struct Claims: JWTPayload {
            var role: String
            var sub: String
            var exp: ExpirationClaim
            func verify(using algorithm: some JWTAlgorithm) async throws {}
        }
        let alice = try await keys.sign(Claims(role: "app-user", sub: "alice", exp: .init(value: Date().addingTimeInterval(60))))
        let expired = try await keys.sign(Claims(role: "app-user", sub: "alice", exp: .init(value: Date().addingTimeInterval(-60))))
        let headers = ["Authorization": "Bearer " + alice, "Content-Type": "application/json"]
        #expect(keyway.send("PUT", "/v1/keys/user:alice:cart", headers: headers, body: #"{"value":"3"}"#)?.status == 201)
        #expect(keyway.send("GET", "/v1/keys/user:bob:cart", headers: headers)?.status == 403)
        #expect(keyway.send("GET", "/v1/keys/user:alice:cart", headers: ["Authorization": "Bearer " + expired])?.status == 401)
        let log = keyway.engine.execute(Command("ACL", ["LOG"]))
        #expect("\(log)".contains("user:bob:cart"))
    }
}
