import Foundation
import KeywayTestSupport
import Testing

/// `/v1/lists`: push, range, pop, trim, item access, problems.
@Suite struct ListResourceTests {
    @Test func pushRangeAndLength() throws {
        let server = try TestServer()
        let client = try server.client()
        #expect(try client.request("POST", "/v1/lists/recent", json: #"{"values":["a","b"]}"#).json?["length"] == .number("2"))
        #expect(try client.request("POST", "/v1/lists/recent", json: #"{"values":["z"],"end":"left"}"#).json?["length"] == .number("3"))
        let all = try client.request("GET", "/v1/lists/recent")
        #expect(all.status == 200)
        #expect(all.json?["values"] == .array([.string("z"), .string("a"), .string("b")]))
        #expect(all.json?["length"] == .number("3"))
        let some = try client.request("GET", "/v1/lists/recent?start=1&stop=1")
        #expect(some.json?["values"] == .array([.string("a")]))
        #expect(try client.request("GET", "/v1/lists/missing").status == 404)
        #expect(try client.request("GET", "/v1/lists/recent?start=x").status == 400)
    }

    @Test func recentActivityWithTrim() throws {
        let server = try TestServer()
        let client = try server.client()
        for i in 0..<120 {
            _ = try client.request("POST", "/v1/lists/user:123:activity", json: "{\"values\":[\"event \(i)\"],\"end\":\"left\"}")
        }
        let trimmed = try client.request("POST", "/v1/lists/user:123:activity/trim", json: #"{"start":0,"stop":99}"#)
        #expect(trimmed.json?["length"] == .number("100"))
        let latest = try client.request("GET", "/v1/lists/user:123:activity?start=0&stop=9")
        #expect(latest.json?["values"]?.arrayValue?.first == .string("event 119"))
        #expect(latest.json?["values"]?.arrayValue?.count == 10)
        #expect(try client.request("POST", "/v1/lists/none/trim", json: #"{"start":0,"stop":1}"#).status == 404)
        #expect(try client.request("POST", "/v1/lists/user:123:activity/trim", json: #"{"start":"a","stop":1}"#).status == 400)
    }

    @Test func popWithoutTimeoutAnswers204WhenEmpty() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/lists/q", json: #"{"values":["1","2","3"]}"#)
        #expect(try client.request("POST", "/v1/lists/q/pop").json?["value"] == .string("3"))
        #expect(try client.request("POST", "/v1/lists/q/pop?end=left").json?["value"] == .string("1"))
        let many = try client.request("POST", "/v1/lists/q/pop?count=5")
        #expect(many.json?["values"] == .array([.string("2")]))
        #expect(try client.request("POST", "/v1/lists/q/pop").status == 204)
        #expect(try client.request("POST", "/v1/lists/q/pop?end=middle").status == 400)
        #expect(try client.request("POST", "/v1/lists/q/pop?timeout=-1").status == 400)
    }

    @Test func itemsByIndex() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/lists/l", json: #"{"values":["a","b"]}"#)
        #expect(try client.request("GET", "/v1/lists/l/items/-1").json?["value"] == .string("b"))
        let outside = try client.request("GET", "/v1/lists/l/items/5")
        #expect(outside.status == 404)
        #expect(outside.json?["code"] == .string("NO_SUCH_ITEM"))
        #expect(try client.request("PUT", "/v1/lists/l/items/0", json: #"{"value":"A"}"#).status == 200)
        #expect(try client.request("GET", "/v1/lists/l/items/0").json?["value"] == .string("A"))
        #expect(try client.request("PUT", "/v1/lists/l/items/9", json: #"{"value":"A"}"#).status == 404)
        #expect(try client.request("PUT", "/v1/lists/nope/items/0", json: #"{"value":"A"}"#).json?["code"] == .string("NO_SUCH_KEY"))
        #expect(try client.request("GET", "/v1/lists/l/items/first").status == 400)
    }

    @Test func binaryValuesAndWrongTypes() throws {
        let server = try TestServer()
        let client = try server.client()
        let push = try client.request("POST", "/v1/lists/b%00in", json: #"{"values":["AP8="],"encoding":"base64"}"#)
        #expect(push.status == 200)
        let read = try client.request("GET", "/v1/lists/b%00in")
        #expect(read.json?["encoding"] == .string("base64"))
        #expect(read.json?["values"] == .array([.string("AP8=")]))
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        let wrong = try client.request("POST", "/v1/lists/str", json: #"{"values":["x"]}"#)
        #expect(wrong.status == 409)
        #expect(wrong.json?["code"] == .string("WRONGTYPE"))
        #expect(try client.request("GET", "/v1/lists/str").status == 409)
        #expect(try client.request("POST", "/v1/lists/str/pop").status == 409)
        // WRONGTYPE through the command API too.
        let command = try client.request("POST", "/", json: #"["LPUSH","str","x"]"#)
        #expect(command.status == 400)
        #expect(command.json?["error"] == .string("WRONGTYPE Operation against a key holding the wrong kind of value"))
        for body in [#"{"values":[]}"#, #"{"values":"a"}"#, #"{"values":[1]}"#, #"{"values":["a"],"end":"up"}"#, "nope"] {
            #expect(try client.request("POST", "/v1/lists/l2", json: body).status == 400, "\(body)")
        }
        #expect(try client.request("POST", "/v1/lists/absent", json: #"{"values":["a"],"onlyIfExists":true}"#).status == 404)
    }

    @Test func deleteAList() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/lists/l", json: #"{"values":["a"]}"#)
        #expect(try client.request("DELETE", "/v1/lists/l").status == 204)
        #expect(try client.request("DELETE", "/v1/lists/l").status == 404)
    }

    /// `DELETE /v1/lists/{key}` deletes lists only: a key of another type
    /// is refused with 409 and left as it was.
    @Test func deleteIsTypeChecked() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/lists/l", json: #"{"values":["a","b"]}"#)
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        _ = try client.request("PATCH", "/v1/hashes/h", json: #"{"fields":{"f":"1"}}"#)
        #expect(try client.request("DELETE", "/v1/lists/l").status == 204)
        #expect(try client.request("POST", "/", json: #"["EXISTS","l"]"#).json?["result"] == .number("0"))
        let missing = try client.request("DELETE", "/v1/lists/l")
        #expect(missing.status == 404)
        #expect(missing.json?["code"] == .string("NO_SUCH_KEY"))
        let string = try client.request("DELETE", "/v1/lists/str")
        #expect(string.status == 409)
        #expect(string.json?["code"] == .string("WRONGTYPE"))
        #expect(try client.request("GET", "/v1/keys/str").json?["value"] == .string("v"))
        let hash = try client.request("DELETE", "/v1/lists/h")
        #expect(hash.status == 409)
        #expect(hash.json?["code"] == .string("WRONGTYPE"))
        #expect(try client.request("GET", "/v1/hashes/h/fields/f").json?["value"] == .string("1"))
    }
}
