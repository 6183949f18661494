import Foundation
import KeywayEngine
import KeywayGateway
import KeywayTestSupport
import Testing

/// `/v1/leaderboards`: status codes, bodies and problems.
@Suite struct LeaderboardResourceTests {
    func entries(_ response: TestHTTPClient.Response) -> [(member: String, score: String, rank: String)] {
        (response.json?["entries"]?.arrayValue ?? []).map { entry in
            (entry["member"]?.stringValue ?? "?", entry["score"]?.numberText ?? entry["score"]?.stringValue ?? "?", entry["rank"]?.numberText ?? "?")
        }
    }

    @Test func submitThenReadTheTop() throws {
        let server = try TestServer()
        let client = try server.client()
        let created = try client.request("POST", "/v1/leaderboards/game", json: #"{"scores":{"player1":1500,"player2":2300,"player3":1800}}"#)
        #expect(created.status == 201)
        #expect(created.json?["added"] == .number("3"))
        #expect(created.json?["changed"] == .number("3"))
        #expect(created.json?["key"] == .string("game"))
        let again = try client.request("POST", "/v1/leaderboards/game", json: #"{"scores":{"player1":1600,"player2":2300,"player4":10}}"#)
        #expect(again.status == 200)
        #expect(again.json?["added"] == .number("1"))
        #expect(again.json?["changed"] == .number("2"))

        let top = try client.request("GET", "/v1/leaderboards/game")
        #expect(top.status == 200)
        #expect(top.json?["total"] == .number("4"))
        let rows = entries(top)
        #expect(rows.map(\.member) == ["player2", "player3", "player1", "player4"])
        #expect(rows.map(\.score) == ["2300", "1800", "1600", "10"])
        #expect(rows.map(\.rank) == ["0", "1", "2", "3"])

        let page = try client.request("GET", "/v1/leaderboards/game?offset=1&limit=2")
        #expect(entries(page).map(\.member) == ["player3", "player1"])
        #expect(entries(page).map(\.rank) == ["1", "2"])
        let ascending = try client.request("GET", "/v1/leaderboards/game?order=asc&limit=1")
        #expect(entries(ascending).map(\.member) == ["player4"])
        #expect(entries(ascending).map(\.rank) == ["0"])
        #expect(entries(try client.request("GET", "/v1/leaderboards/game?limit=0")).isEmpty)
        #expect(entries(try client.request("GET", "/v1/leaderboards/game?offset=10")).isEmpty)
    }

    @Test func scoreWindows() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/leaderboards/g", json: #"{"scores":{"a":1000,"b":1500,"c":2000,"d":2500,"e":500}}"#)
        let window = try client.request("GET", "/v1/leaderboards/g?min=1000&max=2000")
        #expect(entries(window).map(\.member) == ["c", "b", "a"])
        #expect(entries(window).map(\.rank) == ["1", "2", "3"])
        let exclusive = try client.request("GET", "/v1/leaderboards/g?min=(1000&max=(2500&order=asc")
        #expect(entries(exclusive).map(\.member) == ["b", "c"])
        #expect(entries(exclusive).map(\.rank) == ["2", "3"])
        let open = try client.request("GET", "/v1/leaderboards/g?min=2000&max=%2Binf")
        #expect(entries(open).map(\.member) == ["d", "c"])
        #expect(entries(open).map(\.rank) == ["0", "1"])
        let onlyMax = try client.request("GET", "/v1/leaderboards/g?max=(1000&order=asc")
        #expect(entries(onlyMax).map(\.member) == ["e"])
        let paged = try client.request("GET", "/v1/leaderboards/g?min=-inf&max=%2Binf&offset=3&limit=5")
        #expect(entries(paged).map(\.member) == ["a", "e"])
        #expect(entries(paged).map(\.rank) == ["3", "4"])
        let bad = try client.request("GET", "/v1/leaderboards/g?min=abc")
        #expect(bad.status == 400)
        #expect(bad.json?["detail"] == .string("ERR min or max is not a float"))
    }

    @Test func modes() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/leaderboards/g", json: #"{"scores":{"a":100}}"#)
        let nx = try client.request("POST", "/v1/leaderboards/g", json: #"{"scores":{"a":5,"b":7},"mode":"nx"}"#)
        #expect(nx.json?["added"] == .number("1"))
        #expect(nx.json?["changed"] == .number("1"))
        let gt = try client.request("POST", "/v1/leaderboards/g", json: #"{"scores":{"a":50,"b":70},"mode":"gt"}"#)
        #expect(gt.json?["changed"] == .number("1"))
        let xx = try client.request("POST", "/v1/leaderboards/g", json: #"{"scores":{"a":1,"zz":1},"mode":"XX"}"#)
        #expect(xx.json?["added"] == .number("0"))
        #expect(xx.json?["changed"] == .number("1"))
        let lt = try client.request("POST", "/v1/leaderboards/g", json: #"{"scores":{"a":2},"mode":"lt"}"#)
        #expect(lt.json?["changed"] == .number("0"))
        let scores = try client.request("GET", "/v1/leaderboards/g")
        #expect(entries(scores).map(\.member) == ["b", "a"])
        #expect(entries(scores).map(\.score) == ["70", "1"])
        let badMode = try client.request("POST", "/v1/leaderboards/g", json: #"{"scores":{"a":2},"mode":"maybe"}"#)
        #expect(badMode.status == 400)
        #expect(badMode.json?["code"] == .string("BAD_REQUEST"))
    }

    @Test func badSubmissions() throws {
        let server = try TestServer()
        let client = try server.client()
        for body in ["{", "[1]", "{}", #"{"scores":{}}"#, #"{"scores":[1]}"#, #"{"scores":{"a":"high"}}"#, #"{"scores":{"a":1},"mode":5}"#] {
            let response = try client.request("POST", "/v1/leaderboards/g", json: body)
            #expect(response.status == 400, "body \(body)")
            #expect(response.header("content-type") == "application/problem+json", "body \(body)")
        }
        #expect(try client.request("POST", "/v1/leaderboards/g").status == 400)
        let huge = try client.request("POST", "/v1/leaderboards/g", json: #"{"scores":{"a":1e400}}"#)
        #expect(huge.status == 400)
        #expect(huge.json?["code"] == .string("NOT_FLOAT"))
        #expect(try client.request("GET", "/v1/leaderboards/g").status == 404)
        let xml = try client.request("POST", "/v1/leaderboards/g", headers: ["Content-Type": "application/xml"], body: Array("<a/>".utf8))
        #expect(xml.status == 415)
        for query in ["order=up", "offset=-1", "limit=x"] {
            #expect(try client.request("GET", "/v1/leaderboards/g?\(query)").status == 400, "query \(query)")
        }
    }

    @Test func wrongTypeIs409() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        for (method, path, body) in [
            ("GET", "/v1/leaderboards/str", nil), ("POST", "/v1/leaderboards/str", #"{"scores":{"a":1}}"#),
            ("DELETE", "/v1/leaderboards/str", nil), ("GET", "/v1/leaderboards/str/members/a", nil),
            ("PUT", "/v1/leaderboards/str/members/a", #"{"score":1}"#), ("DELETE", "/v1/leaderboards/str/members/a", nil),
            ("POST", "/v1/leaderboards/str/members/a/incr", #"{"by":1}"#),
        ] as [(String, String, String?)] {
            let response = try body.map { try client.request(method, path, json: $0) } ?? client.request(method, path)
            #expect(response.status == 409, "\(method) \(path)")
            #expect(response.json?["code"] == .string("WRONGTYPE"), "\(method) \(path)")
        }
        #expect(try client.request("GET", "/v1/keys/str").json?["value"] == .string("v"))
    }

    @Test func deleteAnswers204Then404() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/leaderboards/g", json: #"{"scores":{"a":1,"b":2}}"#)
        #expect(try client.request("DELETE", "/v1/leaderboards/g").status == 204)
        let again = try client.request("DELETE", "/v1/leaderboards/g")
        #expect(again.status == 404)
        #expect(again.json?["code"] == .string("NO_SUCH_KEY"))
        #expect(try client.request("GET", "/v1/leaderboards/g").status == 404)
    }

    @Test func memberStanding() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/leaderboards/g", json: #"{"scores":{"player1":1500,"player2":2300,"player3":1800}}"#)
        let one = try client.request("GET", "/v1/leaderboards/g/members/player1")
        #expect(one.status == 200)
        #expect(one.json?["member"] == .string("player1"))
        #expect(one.json?["score"] == .number("1500"))
        #expect(one.json?["rank"] == .number("0"))
        #expect(one.json?["reverseRank"] == .number("2"))
        let desc = try client.request("GET", "/v1/leaderboards/g/members/player1?order=desc")
        #expect(desc.json?["rank"] == .number("2"))
        #expect(desc.json?["reverseRank"] == .number("0"))
        let absent = try client.request("GET", "/v1/leaderboards/g/members/nobody")
        #expect(absent.status == 404)
        #expect(absent.json?["code"] == .string("NO_SUCH_MEMBER"))
        #expect(try client.request("GET", "/v1/leaderboards/none/members/x").status == 404)
        #expect(try client.request("GET", "/v1/leaderboards/g/members/player1?order=sideways").status == 400)
    }

    @Test func putScore() throws {
        let server = try TestServer()
        let client = try server.client()
        let created = try client.request("PUT", "/v1/leaderboards/g/members/p1", json: #"{"score":1500}"#)
        #expect(created.status == 201)
        #expect(created.json?["score"] == .number("1500"))
        let updated = try client.request("PUT", "/v1/leaderboards/g/members/p1", json: #"{"score":2.5}"#)
        #expect(updated.status == 200)
        #expect(updated.json?["score"] == .number("2.5"))
        let refused = try client.request("PUT", "/v1/leaderboards/g/members/p1", json: #"{"score":1,"mode":"gt"}"#)
        #expect(refused.status == 412)
        #expect(refused.json?["code"] == .string("CONDITION_NOT_MET"))
        #expect(try client.request("PUT", "/v1/leaderboards/g/members/p2", json: #"{"score":1,"mode":"xx"}"#).status == 412)
        #expect(try client.request("PUT", "/v1/leaderboards/g/members/p1", json: #"{"score":10,"mode":"gt"}"#).status == 200)
        #expect(try client.request("GET", "/v1/leaderboards/g/members/p1").json?["score"] == .number("10"))
        #expect(try client.request("PUT", "/v1/leaderboards/g/members/p1", json: #"{}"#).status == 400)
        #expect(try client.request("PUT", "/v1/leaderboards/g/members/p1", json: #"{"score":"high"}"#).status == 400)
        #expect(try client.request("PUT", "/v1/leaderboards/g/members/p1").status == 400)
    }

    @Test func deleteMember() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/leaderboards/g", json: #"{"scores":{"a":1,"b":2}}"#)
        #expect(try client.request("DELETE", "/v1/leaderboards/g/members/a").status == 204)
        let again = try client.request("DELETE", "/v1/leaderboards/g/members/a")
        #expect(again.status == 404)
        #expect(again.json?["code"] == .string("NO_SUCH_MEMBER"))
        #expect(try client.request("DELETE", "/v1/leaderboards/g/members/b").status == 204)
        #expect(try client.request("GET", "/v1/leaderboards/g").status == 404)
    }

    @Test func incrementMember() throws {
        let server = try TestServer()
        let client = try server.client()
        let first = try client.request("POST", "/v1/leaderboards/g/members/p1/incr", json: #"{"by":100}"#)
        #expect(first.status == 200)
        #expect(first.json?["member"] == .string("p1"))
        #expect(first.json?["score"] == .number("100"))
        #expect(try client.request("POST", "/v1/leaderboards/g/members/p1/incr", json: #"{"by":-0.5}"#).json?["score"] == .number("99.5"))
        #expect(try client.request("POST", "/v1/leaderboards/g/members/p1/incr").json?["score"] == .number("100.5"))
        #expect(try client.request("POST", "/v1/leaderboards/g/members/p1/incr", json: #"{"by":"x"}"#).status == 400)
        #expect(try client.request("POST", "/v1/leaderboards/g/members/p1/incr", json: #"{"by":1e300}"#).json?["score"] == .number("1e+300"))
    }

    @Test func infinitiesTravelAsStrings() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/", json: #"["ZADD","g","inf","top","-inf","bottom","0","mid"]"#)
        let top = try client.request("GET", "/v1/leaderboards/g")
        #expect(entries(top).map(\.score) == ["inf", "0", "-inf"])
        #expect(try client.request("GET", "/v1/leaderboards/g/members/top").json?["score"] == .string("inf"))
    }

    @Test func binaryKeysAndMembers() throws {
        let server = try TestServer()
        let client = try server.client()
        let put = try client.request("PUT", "/v1/leaderboards/b%00%FF/members/m%00%FF", json: #"{"score":7}"#)
        #expect(put.status == 201)
        #expect(put.json?["member"] == .string(Data([109, 0, 255]).base64EncodedString()))
        #expect(put.json?["encoding"] == .string("base64"))
        let top = try client.request("GET", "/v1/leaderboards/b%00%FF")
        #expect(top.status == 200)
        let entry = top.json?["entries"]?.arrayValue?.first
        #expect(entry?["member"] == .string(Data([109, 0, 255]).base64EncodedString()))
        #expect(entry?["encoding"] == .string("base64"))
        #expect(top.json?["key"] == .string(Data([98, 0, 255]).base64EncodedString()))
        let one = try client.request("GET", "/v1/leaderboards/b%00%FF/members/m%00%FF")
        #expect(one.json?["score"] == .number("7"))
        #expect(try client.request("POST", "/v1/leaderboards/b%00%FF/members/m%00%FF/incr", json: #"{"by":1}"#).json?["score"] == .number("8"))
        // Base64 member names in a submission.
        let submitted = try client.request("POST", "/v1/leaderboards/b%00%FF", json: #"{"scores":{"bQD/":9},"encoding":"base64"}"#)
        #expect(submitted.json?["added"] == .number("0"))
        #expect(submitted.json?["changed"] == .number("1"))
        #expect(try client.request("GET", "/v1/leaderboards/b%00%FF/members/m%00%FF").json?["score"] == .number("9"))
        let plain = try client.request("GET", "/v1/leaderboards/b%00%FF?encoding=base64")
        #expect(plain.json?["entries"]?.arrayValue?.first?["member"] == .string("bQD/"))
        #expect(try client.request("DELETE", "/v1/leaderboards/b%00%FF/members/m%00%FF").status == 204)
        #expect(try client.request("GET", "/v1/leaderboards/b%00%FF").status == 404)
    }

    /// The pattern users know, through the command API.
    @Test func redisPatternThroughTheCommandAPI() throws {
        let server = try TestServer()
        let client = try server.client()
        #expect(try client.request("POST", "/", json: #"["ZADD","leaderboard",1500,"player1",2300,"player2",1800,"player3"]"#).json?["result"] == .number("3"))
        let top = try client.request("POST", "/", json: #"["ZREVRANGE","leaderboard","0","9","WITHSCORES"]"#)
        #expect(top.json?["result"] == .array(["player2", "2300", "player3", "1800", "player1", "1500"].map { JSONValue.string($0) }))
        #expect(try client.request("GET", "/zrank/leaderboard/player1").json?["result"] == .number("0"))
        #expect(try client.request("GET", "/zincrby/leaderboard/100/player1").json?["result"] == .string("1600"))
        let window = try client.request("GET", "/zrangebyscore/leaderboard/1000/2000")
        #expect(window.json?["result"] == .array([.string("player1"), .string("player3")]))
        #expect(try client.request("GET", "/v1/leaderboards/leaderboard/members/player1?order=desc").json?["rank"] == .number("2"))
    }

    /// `DELETE /v1/leaderboards/{key}` deletes sorted sets only: a key of
    /// another type is refused with 409 and left as it was.
    @Test func deleteIsTypeChecked() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/leaderboards/g", json: #"{"scores":{"a":1,"b":2}}"#)
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        _ = try client.request("POST", "/v1/sets/s", json: #"{"members":["m"]}"#)
        #expect(try client.request("DELETE", "/v1/leaderboards/g").status == 204)
        #expect(try client.request("POST", "/", json: #"["EXISTS","g"]"#).json?["result"] == .number("0"))
        let missing = try client.request("DELETE", "/v1/leaderboards/g")
        #expect(missing.status == 404)
        #expect(missing.json?["code"] == .string("NO_SUCH_KEY"))
        let string = try client.request("DELETE", "/v1/leaderboards/str")
        #expect(string.status == 409)
        #expect(string.json?["code"] == .string("WRONGTYPE"))
        #expect(try client.request("GET", "/v1/keys/str").json?["value"] == .string("v"))
        let set = try client.request("DELETE", "/v1/leaderboards/s")
        #expect(set.status == 409)
        #expect(set.json?["code"] == .string("WRONGTYPE"))
        #expect(try client.request("GET", "/v1/sets/s/members/m").status == 200)
    }
}
