import Foundation
import KeywayEngine
import KeywayGateway
import KeywayTestSupport
import Testing

/// The strings of a JSON array field, as a Swift set (set members have no order).
private func stringSet(_ value: JSONValue?) -> Set<String> {
    Set(value?.arrayValue?.compactMap(\.stringValue) ?? [])
}

/// `/v1/sets`: status codes, bodies and problems.
@Suite struct SetResourceTests {
    @Test func addReadAndCount() throws {
        let server = try TestServer()
        let client = try server.client()
        let created = try client.request("POST", "/v1/sets/post:123:tags", json: #"{"members":["rust","backend","axum","rust"]}"#)
        #expect(created.status == 201)
        #expect(created.json?["added"] == .number("3"))
        #expect(created.json?["cardinality"] == .number("3"))
        let more = try client.request("POST", "/v1/sets/post:123:tags", json: #"{"members":["rust","swift"]}"#)
        #expect(more.status == 200)
        #expect(more.json?["added"] == .number("1"))
        #expect(more.json?["cardinality"] == .number("4"))
        let read = try client.request("GET", "/v1/sets/post:123:tags")
        #expect(read.status == 200)
        #expect(read.json?["key"] == .string("post:123:tags"))
        #expect(read.json?["type"] == .string("set"))
        #expect(stringSet(read.json?["members"]) == ["rust", "backend", "axum", "swift"])
        #expect(read.json?["cardinality"] == .number("4"))
        #expect(read.json?["encoding"] == .string("utf-8"))
        // The same data through the command API.
        let sismember = try client.request("POST", "/", json: #"["SISMEMBER","post:123:tags","rust"]"#)
        #expect(sismember.json?["result"] == .number("1"))
    }

    @Test func missingAndWrongTypeKeys() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        let missing = try client.request("GET", "/v1/sets/nope")
        #expect(missing.status == 404)
        #expect(missing.json?["code"] == .string("NO_SUCH_KEY"))
        #expect(missing.header("content-type") == "application/problem+json")
        for (method, path, body) in [("GET", "/v1/sets/str", nil), ("POST", "/v1/sets/str", #"{"members":["a"]}"#),
                                     ("DELETE", "/v1/sets/str", nil), ("POST", "/v1/sets/str/remove", #"{"members":["a"]}"#),
                                     ("GET", "/v1/sets/str/members/a", nil), ("PUT", "/v1/sets/str/members/a", nil),
                                     ("DELETE", "/v1/sets/str/members/a", nil), ("GET", "/v1/sets/str/random", nil),
                                     ("POST", "/v1/sets/str/pop", nil), ("GET", "/v1/sets/union?keys=str", nil),
                                     ("POST", "/v1/sets/union", #"{"keys":["str"],"store":"d"}"#)] as [(String, String, String?)] {
            let response = body.map { try? client.request(method, path, json: $0) } ?? (try? client.request(method, path))
            #expect(response?.status == 409, "\(method) \(path)")
            #expect(response?.json?["code"] == .string("WRONGTYPE"), "\(method) \(path)")
        }
        // Nothing was changed by the refused requests.
        #expect(try client.request("GET", "/v1/keys/str").json?["value"] == .string("v"))
        #expect(try client.request("GET", "/v1/keys/d").status == 404)
    }

    @Test func deleteWholeSet() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/sets/s", json: #"{"members":["a","b"]}"#)
        #expect(try client.request("DELETE", "/v1/sets/s").status == 204)
        #expect(try client.request("GET", "/v1/sets/s").status == 404)
        let again = try client.request("DELETE", "/v1/sets/s")
        #expect(again.status == 404)
        #expect(again.json?["code"] == .string("NO_SUCH_KEY"))
    }

    @Test func membersOneAtATime() throws {
        let server = try TestServer()
        let client = try server.client()
        let added = try client.request("PUT", "/v1/sets/s/members/rust")
        #expect(added.status == 201)
        #expect(added.json?["member"] == .string("rust"))
        #expect(added.json?["added"] == .bool(true))
        let again = try client.request("PUT", "/v1/sets/s/members/rust")
        #expect(again.status == 200)
        #expect(again.json?["added"] == .bool(false))
        let present = try client.request("GET", "/v1/sets/s/members/rust")
        #expect(present.status == 200)
        #expect(present.json?["member"] == .string("rust"))
        #expect(present.json?["isMember"] == .bool(true))
        let absent = try client.request("GET", "/v1/sets/s/members/go")
        #expect(absent.status == 404)
        #expect(absent.json?["code"] == .string("NO_SUCH_MEMBER"))
        #expect(try client.request("GET", "/v1/sets/none/members/go").json?["code"] == .string("NO_SUCH_KEY"))
        _ = try client.request("PUT", "/v1/sets/s/members/go")
        #expect(try client.request("DELETE", "/v1/sets/s/members/rust").status == 204)
        let gone = try client.request("DELETE", "/v1/sets/s/members/rust")
        #expect(gone.status == 404)
        #expect(gone.json?["code"] == .string("NO_SUCH_MEMBER"))
        // Removing the last member deletes the set.
        #expect(try client.request("DELETE", "/v1/sets/s/members/go").status == 204)
        let noSet = try client.request("DELETE", "/v1/sets/s/members/go")
        #expect(noSet.status == 404)
        #expect(noSet.json?["code"] == .string("NO_SUCH_KEY"))
        #expect(try client.request("GET", "/exists/s").json?["result"] == .number("0"))
    }

    @Test func batchRemove() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/sets/s", json: #"{"members":["a","b","c"]}"#)
        let removed = try client.request("POST", "/v1/sets/s/remove", json: #"{"members":["a","z","b"]}"#)
        #expect(removed.status == 200)
        #expect(removed.json?["removed"] == .number("2"))
        #expect(removed.json?["cardinality"] == .number("1"))
        #expect(stringSet(try client.request("GET", "/v1/sets/s").json?["members"]) == ["c"])
        let last = try client.request("POST", "/v1/sets/s/remove", json: #"{"members":["c"]}"#)
        #expect(last.json?["cardinality"] == .number("0"))
        #expect(try client.request("POST", "/v1/sets/s/remove", json: #"{"members":["c"]}"#).status == 404)
    }

    @Test func binaryKeysAndMembers() throws {
        let server = try TestServer()
        let client = try server.client()
        #expect(try client.request("PUT", "/v1/sets/bin%00%FF/members/%00%FF%80").status == 201)
        #expect(try client.request("PUT", "/v1/sets/bin%00%FF/members/plain").status == 201)
        let member = try client.request("GET", "/v1/sets/bin%00%FF/members/%00%FF%80")
        #expect(member.status == 200)
        #expect(member.json?["member"] == .string(Data([0, 255, 128]).base64EncodedString()))
        #expect(member.json?["encoding"] == .string("base64"))
        #expect(try client.request("GET", "/v1/sets/bin%00%FF/members/%00%FF").status == 404)
        // One non-UTF-8 member switches the whole list to base64.
        let read = try client.request("GET", "/v1/sets/bin%00%FF")
        #expect(read.json?["encoding"] == .string("base64"))
        #expect(read.json?["key"] == .string(Data([98, 105, 110, 0, 255]).base64EncodedString()))
        #expect(stringSet(read.json?["members"]) == [Data([0, 255, 128]).base64EncodedString(), Data("plain".utf8).base64EncodedString()])
        // Base64 in bodies, and on request for UTF-8 members.
        let added = try client.request("POST", "/v1/sets/b64", json: #"{"members":["AP8=","aGk="],"encoding":"base64"}"#)
        #expect(added.json?["added"] == .number("2"))
        #expect(try client.request("GET", "/v1/sets/b64/members/%00%FF").status == 200)
        #expect(try client.request("GET", "/v1/sets/b64/members/hi").status == 200)
        let forced = try client.request("GET", "/v1/sets/b64/members/hi?encoding=base64")
        #expect(forced.json?["member"] == .string("aGk="))
        let removed = try client.request("POST", "/v1/sets/b64/remove", json: #"{"members":["AP8="],"encoding":"base64"}"#)
        #expect(removed.json?["removed"] == .number("1"))
        let list = try client.request("GET", "/v1/sets/b64?encoding=base64")
        #expect(list.json?["members"] == .array([.string("aGk=")]))
        #expect(try client.request("DELETE", "/v1/sets/bin%00%FF/members/%00%FF%80").status == 204)
        #expect(stringSet(try client.request("GET", "/v1/sets/bin%00%FF").json?["members"]) == ["plain"])
    }

    @Test func badBodiesGetProblems() throws {
        let server = try TestServer()
        let client = try server.client()
        for body in ["{", "[1]", #"{"members":[]}"#, #"{"members":"a"}"#, #"{"members":[1]}"#, #"{"nothing":1}"#,
                     #"{"members":["***"],"encoding":"base64"}"#, #"{"members":["a"],"encoding":"rot13"}"#] {
            for path in ["/v1/sets/s", "/v1/sets/s/remove"] {
                let response = try client.request("POST", path, json: body)
                #expect(response.status == 400, "\(path) \(body)")
                #expect(response.json?["code"] == .string("BAD_REQUEST"), "\(path) \(body)")
            }
        }
        #expect(try client.request("POST", "/v1/sets/s").status == 400)
        let xml = try client.request("POST", "/v1/sets/s", headers: ["Content-Type": "application/xml"], body: Array("<a/>".utf8))
        #expect(xml.status == 415)
        #expect(try client.request("GET", "/v1/sets/s").status == 404)
    }

    @Test func randomMembers() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/sets/s", json: #"{"members":["a","b","c","d"]}"#)
        let one = try client.request("GET", "/v1/sets/s/random")
        #expect(one.status == 200)
        #expect(one.json?["members"]?.arrayValue?.count == 1)
        let picked = stringSet(one.json?["members"])
        #expect(picked.isSubset(of: ["a", "b", "c", "d"]))
        let distinct = try client.request("GET", "/v1/sets/s/random?count=3")
        #expect(distinct.json?["members"]?.arrayValue?.count == 3)
        #expect(stringSet(distinct.json?["members"]).count == 3)
        let all = try client.request("GET", "/v1/sets/s/random?count=10")
        #expect(stringSet(all.json?["members"]) == ["a", "b", "c", "d"])
        let repeats = try client.request("GET", "/v1/sets/s/random?count=-9")
        #expect(repeats.json?["members"]?.arrayValue?.count == 9)
        let notInteger = try client.request("GET", "/v1/sets/s/random?count=many")
        #expect(notInteger.status == 400)
        #expect(notInteger.json?["code"] == .string("NOT_INTEGER"))
        #expect(try client.request("GET", "/v1/sets/none/random").status == 404)
        // Reading is not removing.
        #expect(try client.request("GET", "/v1/sets/s").json?["cardinality"] == .number("4"))
    }

    @Test func popMembers() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/sets/s", json: #"{"members":["a","b","c","d"]}"#)
        let one = try client.request("POST", "/v1/sets/s/pop")
        #expect(one.status == 200)
        let first = stringSet(one.json?["members"])
        #expect(first.count == 1)
        let two = try client.request("POST", "/v1/sets/s/pop?count=2")
        let next = stringSet(two.json?["members"])
        #expect(next.count == 2 && next.isDisjoint(with: first))
        let negative = try client.request("POST", "/v1/sets/s/pop?count=-1")
        #expect(negative.status == 400)
        #expect(negative.json?["detail"] == .string("ERR value is out of range, must be positive"))
        let zero = try client.request("POST", "/v1/sets/s/pop?count=0")
        #expect(zero.status == 200)
        #expect(zero.json?["members"] == .array([]))
        let rest = try client.request("POST", "/v1/sets/s/pop?count=10")
        #expect(first.union(next).union(stringSet(rest.json?["members"])) == ["a", "b", "c", "d"])
        #expect(try client.request("POST", "/v1/sets/s/pop").status == 404)
        #expect(try client.request("GET", "/v1/sets/s").status == 404)
    }

    @Test func algebraAcrossKeys() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/", json: #"["SADD","user:123:interests","rust","chess","hiking"]"#)
        _ = try client.request("POST", "/", json: #"["SADD","user:456:interests","hiking","rust","jazz"]"#)
        let common = try client.request("GET", "/v1/sets/intersection?keys=user:123:interests&keys=user:456:interests")
        #expect(common.status == 200)
        #expect(stringSet(common.json?["members"]) == ["rust", "hiking"])
        #expect(common.json?["cardinality"] == .number("2"))
        let union = try client.request("GET", "/v1/sets/union?keys=user:123:interests&keys=user:456:interests")
        #expect(stringSet(union.json?["members"]) == ["rust", "chess", "hiking", "jazz"])
        let difference = try client.request("GET", "/v1/sets/difference?keys=user:123:interests&keys=user:456:interests")
        #expect(stringSet(difference.json?["members"]) == ["chess"])
        let withMissing = try client.request("GET", "/v1/sets/intersection?keys=user:123:interests&keys=nobody")
        #expect(withMissing.status == 200)
        #expect(withMissing.json?["members"] == .array([]))
        // POST without store answers like GET.
        let posted = try client.request("POST", "/v1/sets/difference", json: #"{"keys":["user:456:interests","user:123:interests"]}"#)
        #expect(stringSet(posted.json?["members"]) == ["jazz"])
        let noKeys = try client.request("GET", "/v1/sets/union")
        #expect(noKeys.status == 400)
        #expect(noKeys.json?["code"] == .string("BAD_REQUEST"))
        #expect(try client.request("POST", "/v1/sets/union", json: #"{"keys":[]}"#).status == 400)
        #expect(try client.request("POST", "/v1/sets/union", json: #"{"keys":"a"}"#).status == 400)
        // Storing changes data, so GET refuses it.
        let getStore = try client.request("GET", "/v1/sets/union?keys=user:123:interests&store=dest")
        #expect(getStore.status == 400)
        #expect(try client.request("GET", "/v1/sets/dest").status == 404)
    }

    @Test func algebraStoresWithPost() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/sets/tag:rust", json: #"{"members":["post:1","post:2"]}"#)
        _ = try client.request("POST", "/v1/sets/tag:backend", json: #"{"members":["post:2","post:3"]}"#)
        _ = try client.request("PUT", "/v1/keys/dest", json: #"{"value":"a string, replaced"}"#)
        let stored = try client.request("POST", "/v1/sets/union", json: #"{"keys":["tag:rust","tag:backend"],"store":"dest"}"#)
        #expect(stored.status == 200)
        #expect(stored.json?["key"] == .string("dest"))
        #expect(stored.json?["stored"] == .number("3"))
        #expect(stringSet(try client.request("GET", "/v1/sets/dest").json?["members"]) == ["post:1", "post:2", "post:3"])
        let inter = try client.request("POST", "/v1/sets/intersection", json: #"{"keys":["tag:rust","tag:backend"],"store":"dest"}"#)
        #expect(inter.json?["stored"] == .number("1"))
        #expect(stringSet(try client.request("GET", "/v1/sets/dest").json?["members"]) == ["post:2"])
        // An empty result deletes the destination.
        let empty = try client.request("POST", "/v1/sets/difference", json: #"{"keys":["tag:rust","tag:rust"],"store":"dest"}"#)
        #expect(empty.json?["stored"] == .number("0"))
        #expect(try client.request("GET", "/v1/sets/dest").status == 404)
        // Base64 keys and destination.
        let binary = try client.request("POST", "/v1/sets/union", json: #"{"keys":["dGFnOnJ1c3Q="],"store":"AP8=","encoding":"base64"}"#)
        #expect(binary.json?["stored"] == .number("2"))
        #expect(try client.request("GET", "/v1/sets/%00%FF").json?["cardinality"] == .number("2"))
    }

    @Test func reservedWordsStayReachableThroughTheCommandAPI() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/", json: #"["SADD","union","x"]"#)
        _ = try client.request("POST", "/", json: #"["SADD","other","y"]"#)
        // `/v1/sets/union` is the algebra route, not the key "union".
        let algebra = try client.request("GET", "/v1/sets/union?keys=union&keys=other")
        #expect(stringSet(algebra.json?["members"]) == ["x", "y"])
        #expect(try client.request("GET", "/v1/sets/union").status == 400)
        // Sub-resources of such a key still work: their paths are longer.
        #expect(try client.request("GET", "/v1/sets/union/members/x").status == 200)
        #expect(try client.request("GET", "/smembers/union").json?["result"] == .array([.string("x")]))
    }

    /// `DELETE /v1/sets/{key}` deletes sets only: a key of another type is
    /// refused with 409 and left as it was.
    @Test func deleteIsTypeChecked() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/sets/s", json: #"{"members":["a","b"]}"#)
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        _ = try client.request("POST", "/v1/lists/l", json: #"{"values":["x"]}"#)
        #expect(try client.request("DELETE", "/v1/sets/s").status == 204)
        #expect(try client.request("POST", "/", json: #"["EXISTS","s"]"#).json?["result"] == .number("0"))
        let missing = try client.request("DELETE", "/v1/sets/s")
        #expect(missing.status == 404)
        #expect(missing.json?["code"] == .string("NO_SUCH_KEY"))
        let string = try client.request("DELETE", "/v1/sets/str")
        #expect(string.status == 409)
        #expect(string.json?["code"] == .string("WRONGTYPE"))
        #expect(try client.request("GET", "/v1/keys/str").json?["value"] == .string("v"))
        let list = try client.request("DELETE", "/v1/sets/l")
        #expect(list.status == 409)
        #expect(list.json?["code"] == .string("WRONGTYPE"))
        #expect(try client.request("GET", "/v1/lists/l").json?["values"] == .array([.string("x")]))
    }
}
