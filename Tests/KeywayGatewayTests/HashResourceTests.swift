import Foundation
import KeywayEngine
import KeywayGateway
import KeywayTestSupport
import Testing

/// `/v1/hashes` and the hash commands through `POST /`: status codes, bodies,
/// problems, binary fields.
@Suite struct HashResourceTests {
    private func fields(_ response: TestHTTPClient.Response) -> [String: String]? {
        guard case .object(let members)? = response.json?["fields"] else { return nil }
        var result: [String: String] = [:]
        for (name, value) in members { result[name] = value.stringValue }
        return result
    }

    @Test func userProfileThroughTheCommandAPI() throws {
        let server = try TestServer()
        let client = try server.client()
        let set = try client.request("POST", "/", json: #"["HSET","user:123","name","Alice","email","alice@example.com","role","admin"]"#)
        #expect(set.status == 200)
        #expect(set.json?["result"] == .number("3"))
        #expect(try client.request("POST", "/", json: #"["HGET","user:123","name"]"#).json?["result"] == .string("Alice"))
        let all = try client.request("POST", "/", json: #"["HGETALL","user:123"]"#).json?["result"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(all.count == 6)
        var map: [String: String] = [:]
        for i in stride(from: 0, to: all.count - 1, by: 2) { map[all[i]] = all[i + 1] }
        #expect(map == ["name": "Alice", "email": "alice@example.com", "role": "admin"])
        #expect(try client.request("POST", "/", json: #"["HINCRBY","user:123","login_count",1]"#).json?["result"] == .number("1"))
        let wrong = try client.request("POST", "/", json: #"["HINCRBY","user:123","name",1]"#)
        #expect(wrong.status == 400)
        #expect(wrong.json?["error"] == .string("ERR hash value is not an integer"))
        // The resource view of the same hash.
        let resource = try client.request("GET", "/v1/hashes/user:123")
        #expect(resource.status == 200)
        #expect(resource.json?["key"] == .string("user:123"))
        #expect(resource.json?["encoding"] == .string("utf-8"))
        #expect(fields(resource) == ["name": "Alice", "email": "alice@example.com", "role": "admin", "login_count": "1"])
    }

    @Test func patchMergesAndPutReplaces() throws {
        let server = try TestServer()
        let client = try server.client()
        let created = try client.request("PATCH", "/v1/hashes/u", json: #"{"fields":{"name":"Alice","age":30}}"#)
        #expect(created.status == 201)
        #expect(created.json?["created"] == .bool(true))
        #expect(created.json?["added"] == .number("2"))
        let merged = try client.request("PATCH", "/v1/hashes/u", json: #"{"fields":{"age":"31","role":"admin"}}"#)
        #expect(merged.status == 200)
        #expect(merged.json?["added"] == .number("1"))
        #expect(fields(try client.request("GET", "/v1/hashes/u")) == ["name": "Alice", "age": "31", "role": "admin"])
        let replaced = try client.request("PUT", "/v1/hashes/u", json: #"{"fields":{"only":"this"}}"#)
        #expect(replaced.status == 200)
        #expect(replaced.json?["added"] == .number("1"))
        #expect(fields(try client.request("GET", "/v1/hashes/u")) == ["only": "this"])
        // PUT replaces whatever the key held.
        _ = try client.request("PUT", "/v1/keys/s", json: #"{"value":"string"}"#)
        #expect(try client.request("PUT", "/v1/hashes/s", json: #"{"fields":{"a":"1"}}"#).status == 200)
        #expect(try client.request("GET", "/v1/hashes/s").status == 200)
        #expect(try client.request("PUT", "/v1/hashes/fresh", json: #"{"fields":{"a":"1"}}"#).status == 201)
    }

    @Test func wholeHashProblems() throws {
        let server = try TestServer()
        let client = try server.client()
        let missing = try client.request("GET", "/v1/hashes/none")
        #expect(missing.status == 404)
        #expect(missing.json?["code"] == .string("NO_SUCH_KEY"))
        #expect(missing.header("content-type") == "application/problem+json")
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        let wrongType = try client.request("GET", "/v1/hashes/str")
        #expect(wrongType.status == 409)
        #expect(wrongType.json?["code"] == .string("WRONGTYPE"))
        let patchWrongType = try client.request("PATCH", "/v1/hashes/str", json: #"{"fields":{"a":"1"}}"#)
        #expect(patchWrongType.status == 409)
        let deleteWrongType = try client.request("DELETE", "/v1/hashes/str")
        #expect(deleteWrongType.status == 409)
        #expect(try client.request("GET", "/v1/keys/str").status == 200)
        for body in ["{", "[]", #"{"fields":{}}"#, #"{"fields":{"a":true}}"#, #"{"fields":"a"}"#, #"{"nothing":1}"#,
                     #"{"fields":{"a":"***"},"encoding":"base64"}"#, #"{"fields":{"a":"1"},"encoding":"hex"}"#] {
            let response = try client.request("PATCH", "/v1/hashes/h", json: body)
            #expect(response.status == 400, "body \(body)")
            #expect(response.json?["code"] == .string("BAD_REQUEST"), "body \(body)")
        }
        #expect(try client.request("PUT", "/v1/hashes/h").status == 400)
        #expect(try client.request("GET", "/v1/hashes/h").status == 404)
    }

    @Test func deleteAnswers204Then404() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("PATCH", "/v1/hashes/h", json: #"{"fields":{"a":"1"}}"#)
        #expect(try client.request("DELETE", "/v1/hashes/h").status == 204)
        let again = try client.request("DELETE", "/v1/hashes/h")
        #expect(again.status == 404)
        #expect(again.json?["code"] == .string("NO_SUCH_KEY"))
    }

    @Test func binaryKeysFieldsAndValuesUseBase64() throws {
        let server = try TestServer()
        let client = try server.client()
        // Key "b\0\xFF", field "f\0/", raw value bytes.
        let value: [UInt8] = [0, 255, 10, 0x80]
        let put = try client.request("PUT", "/v1/hashes/b%00%FF/fields/f%00%2F", headers: ["Content-Type": "application/octet-stream"], body: value)
        #expect(put.status == 201)
        #expect(put.json?["field"] == .string("f\u{0}/"))  // NUL is valid UTF-8
        let invalid = try client.request("PUT", "/v1/hashes/b%00%FF/fields/%C3%28", json: #"{"value":"x"}"#)
        #expect(invalid.json?["field"] == .string(Data([0xC3, 0x28]).base64EncodedString()))
        #expect(try client.request("DELETE", "/v1/hashes/b%00%FF/fields/%C3%28").status == 204)
        let raw = try client.request("GET", "/v1/hashes/b%00%FF/fields/f%00%2F", headers: ["Accept": "application/octet-stream"])
        #expect(raw.status == 200)
        #expect(raw.body == value)
        let whole = try client.request("GET", "/v1/hashes/b%00%FF")
        #expect(whole.json?["encoding"] == .string("base64"))
        #expect(whole.json?["key"] == .string(Data([98, 0, 255]).base64EncodedString()))
        #expect(fields(whole) == [Data([102, 0, 47]).base64EncodedString(): Data(value).base64EncodedString()])
        // A base64 PATCH body, read back as UTF-8 once every byte is text.
        let patch = try client.request("PATCH", "/v1/hashes/t", json: #"{"fields":{"bmFtZQ==":"QWxpY2U="},"encoding":"base64"}"#)
        #expect(patch.status == 201)
        #expect(fields(try client.request("GET", "/v1/hashes/t")) == ["name": "Alice"])
        let forced = try client.request("GET", "/v1/hashes/t?encoding=base64")
        #expect(forced.json?["encoding"] == .string("base64"))
        #expect(fields(forced) == ["bmFtZQ==": "QWxpY2U="])
    }

    @Test func fieldGetPutDelete() throws {
        let server = try TestServer()
        let client = try server.client()
        let created = try client.request("PUT", "/v1/hashes/user:1/fields/name", json: #"{"value":"Alice"}"#)
        #expect(created.status == 201)
        #expect(created.json?["created"] == .bool(true))
        let replaced = try client.request("PUT", "/v1/hashes/user:1/fields/name", json: #"{"value":"Bob"}"#)
        #expect(replaced.status == 200)
        #expect(replaced.json?["created"] == .bool(false))
        let refused = try client.request("PUT", "/v1/hashes/user:1/fields/name", json: #"{"value":"Carol","nx":true}"#)
        #expect(refused.status == 412)
        #expect(refused.json?["code"] == .string("CONDITION_NOT_MET"))
        #expect(try client.request("PUT", "/v1/hashes/user:1/fields/email", json: #"{"value":"b@example.com","nx":true}"#).status == 201)
        let read = try client.request("GET", "/v1/hashes/user:1/fields/name")
        #expect(read.status == 200)
        #expect(read.json?["field"] == .string("name"))
        #expect(read.json?["value"] == .string("Bob"))
        #expect(read.json?["ttl"] == .null)
        let noField = try client.request("GET", "/v1/hashes/user:1/fields/age")
        #expect(noField.status == 404)
        #expect(noField.json?["code"] == .string("NO_SUCH_FIELD"))
        let noKey = try client.request("GET", "/v1/hashes/user:2/fields/age")
        #expect(noKey.status == 404)
        #expect(noKey.json?["code"] == .string("NO_SUCH_KEY"))
        #expect(try client.request("DELETE", "/v1/hashes/user:1/fields/name").status == 204)
        #expect(try client.request("DELETE", "/v1/hashes/user:1/fields/name").json?["code"] == .string("NO_SUCH_FIELD"))
        #expect(try client.request("DELETE", "/v1/hashes/user:1/fields/email").status == 204)
        let gone = try client.request("DELETE", "/v1/hashes/user:1/fields/email")
        #expect(gone.status == 404)
        #expect(gone.json?["code"] == .string("NO_SUCH_KEY"))
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        #expect(try client.request("GET", "/v1/hashes/str/fields/a").status == 409)
        #expect(try client.request("PUT", "/v1/hashes/str/fields/a", json: #"{"value":"v"}"#).status == 409)
        #expect(try client.request("DELETE", "/v1/hashes/str/fields/a").status == 409)
        #expect(try client.request("PUT", "/v1/hashes/h/fields/a", json: #"{"nothing":1}"#).status == 400)
        #expect(try client.request("PUT", "/v1/hashes/h/fields/a").status == 400)
    }

    @Test func fieldIncrement() throws {
        let server = try TestServer()
        let client = try server.client()
        let first = try client.request("POST", "/v1/hashes/user:123/fields/login_count/incr")
        #expect(first.status == 200)
        #expect(first.json?["value"] == .number("1"))
        #expect(first.json?["field"] == .string("login_count"))
        #expect(try client.request("POST", "/v1/hashes/user:123/fields/login_count/incr", json: #"{"by":41}"#).json?["value"] == .number("42"))
        #expect(try client.request("POST", "/v1/hashes/user:123/fields/score/incr", json: #"{"by":2.5}"#).json?["value"] == .number("2.5"))
        #expect(try client.request("POST", "/v1/hashes/user:123/fields/score/incr", json: #"{"by":0.5}"#).json?["value"] == .number("3"))
        _ = try client.request("PUT", "/v1/hashes/user:123/fields/name", json: #"{"value":"Alice"}"#)
        let notInteger = try client.request("POST", "/v1/hashes/user:123/fields/name/incr")
        #expect(notInteger.status == 400)
        #expect(notInteger.json?["code"] == .string("NOT_INTEGER"))
        #expect(notInteger.json?["detail"] == .string("ERR hash value is not an integer"))
        let notFloat = try client.request("POST", "/v1/hashes/user:123/fields/name/incr", json: #"{"by":1.5}"#)
        #expect(notFloat.json?["code"] == .string("NOT_FLOAT"))
        _ = try client.request("PUT", "/v1/hashes/user:123/fields/max", json: #"{"value":"9223372036854775807"}"#)
        #expect(try client.request("POST", "/v1/hashes/user:123/fields/max/incr").json?["code"] == .string("OVERFLOW"))
        #expect(try client.request("POST", "/v1/hashes/user:123/fields/x/incr", json: #"{"by":"x"}"#).status == 400)
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        #expect(try client.request("POST", "/v1/hashes/str/fields/x/incr").status == 409)
    }

    @Test func fieldTTLLifecycle() throws {
        let clock = ManualClock()
        let server = try TestServer(clock: clock)
        let client = try server.client()
        _ = try client.request("PATCH", "/v1/hashes/s", json: #"{"fields":{"token":"abc","user":"alice"}}"#)
        let none = try client.request("GET", "/v1/hashes/s/fields/token/ttl")
        #expect(none.status == 200)
        #expect(none.json?["ttl"] == .null)
        let set = try client.request("PUT", "/v1/hashes/s/fields/token/ttl", json: #"{"ttl":1.5}"#)
        #expect(set.status == 200)
        #expect(set.json?["pttl"] == .number("1500"))
        #expect(set.json?["ttl"] == .number("1.5"))
        #expect(set.json?["expiresAt"] == .number(String(clock.nowMilliseconds() + 1500)))
        #expect(try client.request("GET", "/v1/hashes/s/fields/token").json?["ttl"] == .number("1.5"))
        let extended = try client.request("PUT", "/v1/hashes/s/fields/token/ttl", json: #"{"pttl":100000,"condition":"gt"}"#)
        #expect(extended.status == 200)
        #expect(extended.json?["pttl"] == .number("100000"))
        let refused = try client.request("PUT", "/v1/hashes/s/fields/token/ttl", json: #"{"ttl":5,"condition":"gt"}"#)
        #expect(refused.status == 412)
        #expect(refused.json?["code"] == .string("CONDITION_NOT_MET"))
        let at = clock.nowMilliseconds() + 2000
        let absolute = try client.request("PUT", "/v1/hashes/s/fields/token/ttl", json: "{\"expiresAt\":\(at)}")
        #expect(absolute.json?["expiresAt"] == .number(String(at)))
        #expect(try client.request("DELETE", "/v1/hashes/s/fields/token/ttl").status == 204)
        #expect(try client.request("GET", "/v1/hashes/s/fields/token/ttl").json?["pttl"] == .null)
        // Expiry under the manual clock: the field goes, the hash stays.
        _ = try client.request("PUT", "/v1/hashes/s/fields/token/ttl", json: #"{"pttl":10}"#)
        clock.advance(milliseconds: 10)
        #expect(try client.request("GET", "/v1/hashes/s/fields/token").json?["code"] == .string("NO_SUCH_FIELD"))
        #expect(try client.request("GET", "/v1/hashes/s/fields/token/ttl").json?["code"] == .string("NO_SUCH_FIELD"))
        #expect(fields(try client.request("GET", "/v1/hashes/s")) == ["user": "alice"])
        // A deadline in the past deletes the field (204); the last field takes the key.
        #expect(try client.request("PUT", "/v1/hashes/s/fields/user/ttl", json: #"{"expiresAt":1}"#).status == 204)
        #expect(try client.request("GET", "/v1/hashes/s").status == 404)
        #expect(try client.request("PUT", "/v1/hashes/s/fields/user/ttl", json: #"{"ttl":5}"#).json?["code"] == .string("NO_SUCH_KEY"))
        #expect(try client.request("DELETE", "/v1/hashes/s/fields/user/ttl").status == 404)
        _ = try client.request("PATCH", "/v1/hashes/s", json: #"{"fields":{"a":"1"}}"#)
        for body in [#"{"ttl":-1}"#, #"{"pttl":0}"#, #"{}"#, #"{"ttl":5,"condition":"maybe"}"#, #"{"ttl":"soon"}"#] {
            #expect(try client.request("PUT", "/v1/hashes/s/fields/a/ttl", json: body).status == 400, "body \(body)")
        }
        #expect(try client.request("PUT", "/v1/hashes/s/fields/b/ttl", json: #"{"ttl":5}"#).json?["code"] == .string("NO_SUCH_FIELD"))
    }

    @Test func fieldTTLCommandsThroughTheCommandAPI() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/", json: #"["HSET","h","a","1","b","2"]"#)
        let expire = try client.request("POST", "/", json: #"["HEXPIRE","h",100,"FIELDS",2,"a","zz"]"#)
        #expect(expire.json?["result"] == .array([.number("1"), .number("-2")]))
        #expect(try client.request("POST", "/", json: #"["HTTL","h","FIELDS",2,"a","b"]"#).json?["result"] == .array([.number("100"), .number("-1")]))
        let setex = try client.request("POST", "/", json: #"["HSETEX","h","FNX","EX",50,"FIELDS",1,"c","3"]"#)
        #expect(setex.json?["result"] == .number("1"))
        let getdel = try client.request("POST", "/", json: #"["HGETDEL","h","FIELDS",2,"c","nope"]"#)
        #expect(getdel.json?["result"] == .array([.string("3"), .null]))
        let bad = try client.request("POST", "/", json: #"["HEXPIRE","h",100,"FIELDS",3,"a"]"#)
        #expect(bad.status == 400)
        #expect(bad.json?["error"] == .string("ERR The `numfields` parameter must match the number of arguments"))
    }
}
