import Foundation
import KeywayEngine
import KeywayGateway
import KeywayTestSupport
import Testing

/// `/v1/json`: the document as the body both ways, status codes and problems.
@Suite struct JSONDocumentResourceTests {
    @Test func putGetPatchDelete() throws {
        let server = try TestServer()
        let client = try server.client()
        let created = try client.request("PUT", "/v1/json/user:1", json: #"{"name":"Ada","tags":["math"],"n":1}"#)
        #expect(created.status == 201)
        #expect(created.json == .object([("key", .string("user:1")), ("path", .string("$")), ("created", .bool(true))]))
        let read = try client.request("GET", "/v1/json/user:1")
        #expect(read.status == 200)
        #expect(read.header("content-type") == "application/json")
        #expect(String(decoding: read.body, as: UTF8.self) == #"{"name":"Ada","tags":["math"],"n":1}"#)
        let tags = try client.request("GET", "/v1/json/user:1?path=%24.tags")
        #expect(String(decoding: tags.body, as: UTF8.self) == #"[["math"]]"#)
        let name = try client.request("GET", "/v1/json/user:1?path=.name")
        #expect(String(decoding: name.body, as: UTF8.self) == #""Ada""#)
        let replaced = try client.request("PUT", "/v1/json/user:1?path=%24.n", json: "2")
        #expect(replaced.status == 200)
        #expect(replaced.json?["created"] == .bool(false))
        let merged = try client.request("PATCH", "/v1/json/user:1", headers: ["Content-Type": "application/merge-patch+json"],
                                        body: Array(#"{"tags":null,"city":"London"}"#.utf8))
        #expect(merged.status == 200)
        #expect(String(decoding: merged.body, as: UTF8.self) == #"{"name":"Ada","n":2,"city":"London"}"#)
        let deleted = try client.request("DELETE", "/v1/json/user:1?path=%24.city")
        #expect(deleted.json == .object([("key", .string("user:1")), ("deleted", .number("1"))]))
        let whole = try client.request("DELETE", "/v1/json/user:1")
        #expect(whole.status == 200)
        #expect(try client.request("GET", "/v1/json/user:1").status == 404)
        #expect(try client.request("DELETE", "/v1/json/user:1").status == 404)
    }

    @Test func problems() throws {
        let server = try TestServer()
        let client = try server.client()
        func code(_ response: TestHTTPClient.Response) -> String? { response.json?["code"]?.stringValue }
        let malformed = try client.request("PUT", "/v1/json/doc", json: #"{"a":"#)
        #expect(malformed.status == 400)
        #expect(code(malformed) == "INVALID_JSON")
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let tooDeep = try client.request("PUT", "/v1/json/doc", json: deep)
        #expect(tooDeep.status == 400)
        #expect(code(tooDeep) == "INVALID_JSON")
        #expect(try client.request("PUT", "/v1/json/doc", json: "").status == 400)
        let text = try client.request("PUT", "/v1/json/doc", headers: ["Content-Type": "text/plain"], body: Array("1".utf8))
        #expect(text.status == 415)
        #expect(code(try client.request("PUT", "/v1/json/doc?nx=true&xx=true", json: "1")) == "BAD_REQUEST")
        #expect(code(try client.request("PUT", "/v1/json/doc?path=%24.a", json: "1")) == "NO_SUCH_KEY")
        #expect(try client.request("PUT", "/v1/json/doc?xx=true", json: "1").status == 412)
        #expect(try client.request("PUT", "/v1/json/doc?nx=true", json: #"{"a":{}}"#).status == 201)
        #expect(try client.request("PUT", "/v1/json/doc?nx=true", json: "1").status == 412)
        let orphan = try client.request("PUT", "/v1/json/doc?path=%24.b.c", json: "1")
        #expect(orphan.status == 404)
        #expect(code(orphan) == "NO_SUCH_PATH")
        #expect(code(try client.request("GET", "/v1/json/doc?path=.missing")) == "NO_SUCH_PATH")
        #expect(String(decoding: try client.request("GET", "/v1/json/doc?path=%24.missing").body, as: UTF8.self) == "[]")
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        for method in ["GET", "PUT", "PATCH", "DELETE"] {
            let response = try client.request(method, "/v1/json/str", json: "{}")
            #expect(response.status == 409, "\(method)")
            #expect(code(response) == "WRONGTYPE", "\(method)")
        }
    }

    @Test func binaryKeys() throws {
        let server = try TestServer()
        let client = try server.client()
        let created = try client.request("PUT", "/v1/json/a%2Fb%00%FF", json: "[1]")
        #expect(created.status == 201)
        #expect(created.json?["key"] == .string(Data([0x61, 0x2F, 0x62, 0x00, 0xFF]).base64EncodedString()))
        #expect(String(decoding: try client.request("GET", "/v1/json/a%2Fb%00%FF").body, as: UTF8.self) == "[1]")
        #expect(server.engine.execute(Command([Bytes("JSON.GET"), Bytes([0x61, 0x2F, 0x62, 0x00, 0xFF])])) == .bulk("[1]"))
    }
}
