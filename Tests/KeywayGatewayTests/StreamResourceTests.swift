import Foundation
import KeywayEngine
import KeywayTestSupport
import Testing

/// `/v1/streams`: entries, stream info, consumer groups, pending, claim, ack,
/// and the events pattern through the command API too.
@Suite struct StreamResourceTests {
    func ids(_ response: TestHTTPClient.Response, _ member: String = "entries") -> [String] {
        (response.json?[member]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
    }

    @Test func appendAndRange() throws {
        let server = try TestServer()
        let client = try server.client()
        let added = try client.request("POST", "/v1/streams/events/entries", json: #"{"fields":{"type":"order.created","orderId":"123"},"id":"1-1"}"#)
        #expect(added.status == 201)
        #expect(added.json?["key"] == .string("events"))
        #expect(added.json?["id"] == .string("1-1"))
        for i in 2...5 {
            _ = try client.request("POST", "/v1/streams/events/entries", json: "{\"fields\":{\"n\":\"\(i)\"},\"id\":\"\(i)-0\"}")
        }
        let all = try client.request("GET", "/v1/streams/events/entries")
        #expect(all.status == 200)
        #expect(ids(all) == ["1-1", "2-0", "3-0", "4-0", "5-0"])
        #expect(all.json?["entries"]?.arrayValue?.first == .object([("id", .string("1-1")), ("fields", .object([("type", .string("order.created")), ("orderId", .string("123"))]))]))
        #expect(ids(try client.request("GET", "/v1/streams/events/entries?start=(2-0&end=4&count=2")) == ["3-0", "4-0"])
        #expect(ids(try client.request("GET", "/v1/streams/events/entries?reverse=true&count=2")) == ["5-0", "4-0"])
        #expect(try client.request("GET", "/v1/streams/missing/entries").status == 404)
        let bad = try client.request("GET", "/v1/streams/events/entries?start=nope")
        #expect(bad.status == 400)
        #expect(bad.json?["detail"] == .string("ERR Invalid stream ID specified as stream command argument"))
        #expect(try client.request("GET", "/v1/streams/events/entries?count=0").status == 400)
        // A smaller explicit ID is a 400 with Redis's text.
        let small = try client.request("POST", "/v1/streams/events/entries", json: #"{"fields":{"a":"b"},"id":"1-0"}"#)
        #expect(small.status == 400)
        #expect(small.json?["detail"] == .string("ERR The ID specified in XADD is equal or smaller than the target stream top item"))
    }

    @Test func appendOptionsAndBodyProblems() throws {
        let server = try TestServer()
        let client = try server.client()
        for i in 1...20 {
            let r = try client.request("POST", "/v1/streams/log/entries", json: "{\"fields\":{\"i\":\"\(i)\"},\"maxlen\":5}")
            #expect(r.status == 201)
        }
        #expect(server.engine.execute(Command("XLEN", "log")) == .integer(5))
        _ = try client.request("POST", "/v1/streams/log/entries", json: #"{"fields":{"i":"x"},"maxlen":1000,"approximate":true,"limit":100}"#)
        #expect(server.engine.execute(Command("XLEN", "log")) == .integer(6))
        let missing = try client.request("POST", "/v1/streams/none/entries", json: #"{"fields":{"a":"b"},"nomkstream":true}"#)
        #expect(missing.status == 404)
        #expect(missing.json?["code"] == .string("NO_SUCH_KEY"))
        #expect(try client.request("POST", "/v1/streams/log/entries", json: #"{"fields":{}}"#).status == 400)
        #expect(try client.request("POST", "/v1/streams/log/entries", json: #"{"fields":{"a":1}}"#).status == 400)
        #expect(try client.request("POST", "/v1/streams/log/entries", json: #"{"fields":{"a":"b"},"maxlen":1,"minid":"1"}"#).status == 400)
        #expect(try client.request("POST", "/v1/streams/log/entries", json: "[1]").status == 400)
        #expect(try client.request("POST", "/v1/streams/log/entries").status == 400)
        // Binary field values in base64 both ways.
        let binary = try client.request("POST", "/v1/streams/bin/entries", json: #"{"fields":{"Zg==":"AP8="},"encoding":"base64","id":"1-0"}"#)
        #expect(binary.status == 201)
        let read = try client.request("GET", "/v1/streams/bin/entries")
        #expect(read.json?["encoding"] == .string("base64"))
        #expect(read.json?["entries"]?.arrayValue?.first?["fields"] == .object([("Zg==", .string("AP8="))]))
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        let wrong = try client.request("POST", "/v1/streams/str/entries", json: #"{"fields":{"a":"b"}}"#)
        #expect(wrong.status == 409)
        #expect(wrong.json?["code"] == .string("WRONGTYPE"))
        #expect(try client.request("GET", "/v1/streams/str/entries").status == 409)
    }

    @Test func infoAndDelete() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/streams/s/entries", json: #"{"fields":{"a":"1"},"id":"1-0"}"#)
        _ = try client.request("POST", "/v1/streams/s/entries", json: #"{"fields":{"b":"2"},"id":"2-0"}"#)
        let info = try client.request("GET", "/v1/streams/s")
        #expect(info.status == 200)
        let body = info.json?["info"]
        #expect(body?["length"] == .number("2"))
        #expect(body?["lastGeneratedId"] == .string("2-0"))
        #expect(body?["entriesAdded"] == .number("2"))
        #expect(body?["groups"] == .number("0"))
        #expect(body?["firstEntry"] == .object([("id", .string("1-0")), ("fields", .object([("a", .string("1"))]))]))
        #expect(try client.request("GET", "/v1/streams/nope").status == 404)
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        #expect(try client.request("DELETE", "/v1/streams/str").status == 409)
        #expect(try client.request("GET", "/v1/keys/str").status == 200)
        #expect(try client.request("DELETE", "/v1/streams/s").status == 204)
        #expect(try client.request("DELETE", "/v1/streams/s").status == 404)
    }

    @Test func groupsLifecycle() throws {
        let server = try TestServer()
        let client = try server.client()
        let notThere = try client.request("POST", "/v1/streams/events/groups", json: #"{"group":"mygroup","id":"$"}"#)
        #expect(notThere.status == 404)
        let created = try client.request("POST", "/v1/streams/events/groups", json: #"{"group":"mygroup","id":"$","mkstream":true}"#)
        #expect(created.status == 201)
        #expect(created.json?["group"] == .string("mygroup"))
        let busy = try client.request("POST", "/v1/streams/events/groups", json: #"{"group":"mygroup","id":"$"}"#)
        #expect(busy.status == 409)
        #expect(busy.json?["code"] == .string("BUSYGROUP"))
        #expect(busy.json?["detail"] == .string("BUSYGROUP Consumer Group name already exists"))
        #expect(try client.request("POST", "/v1/streams/events/groups", json: #"{"id":"$"}"#).status == 400)
        #expect(try client.request("POST", "/v1/streams/events/groups", json: #"{"group":"x","id":"bad"}"#).status == 400)
        let groups = try client.request("GET", "/v1/streams/events/groups")
        #expect(groups.status == 200)
        #expect(groups.json?["groups"]?.arrayValue?.first?["name"] == .string("mygroup"))
        #expect(groups.json?["groups"]?.arrayValue?.first?["lag"] == .number("0"))
        #expect(groups.json?["groups"]?.arrayValue?.first?["lastDeliveredId"] == .string("0-0"))
        #expect(try client.request("GET", "/v1/streams/nope/groups").status == 404)
        #expect(try client.request("DELETE", "/v1/streams/events/groups/mygroup").status == 204)
        let gone = try client.request("DELETE", "/v1/streams/events/groups/mygroup")
        #expect(gone.status == 404)
        #expect(gone.json?["code"] == .string("NOGROUP"))
        #expect(try client.request("DELETE", "/v1/streams/nope/groups/g").json?["code"] == .string("NO_SUCH_KEY"))
    }

    @Test func pendingClaimAndAck() throws {
        let clock = ManualClock()
        let server = try TestServer(clock: clock)
        let client = try server.client()
        for i in 1...3 { _ = try client.request("POST", "/v1/streams/jobs/entries", json: "{\"fields\":{\"job\":\"\(i)\"},\"id\":\"\(i)-0\"}") }
        _ = try client.request("POST", "/v1/streams/jobs/groups", json: #"{"group":"workers","id":"0"}"#)
        _ = server.engine.execute(Command("XREADGROUP", "GROUP", "workers", "c1", "STREAMS", "jobs", ">"))
        clock.advance(milliseconds: 61_000)
        let summary = try client.request("GET", "/v1/streams/jobs/groups/workers/pending")
        #expect(summary.status == 200)
        #expect(summary.json?["pending"] == .number("3"))
        #expect(summary.json?["smallestId"] == .string("1-0"))
        #expect(summary.json?["greatestId"] == .string("3-0"))
        #expect(summary.json?["consumers"] == .array([.object([("name", .string("c1")), ("pending", .number("3"))])]))
        let entries = try client.request("GET", "/v1/streams/jobs/groups/workers/pending?start=-&end=+&count=2&consumer=c1&idle=60000")
        #expect(try client.request("GET", "/v1/streams/jobs/groups/workers/pending?end=%2B&count=1").json?["entries"]?.arrayValue?.count == 1)
        #expect(entries.json?["entries"]?.arrayValue?.first == .object([("id", .string("1-0")), ("consumer", .string("c1")), ("idleMs", .number("61000")), ("deliveryCount", .number("1"))]))
        #expect(ids(entries) == ["1-0", "2-0"])
        let claimed = try client.request("POST", "/v1/streams/jobs/groups/workers/claim", json: #"{"consumer":"c2","minIdle":60000,"ids":["1-0"]}"#)
        #expect(claimed.status == 200)
        #expect(claimed.json?["claimed"]?.arrayValue?.first == .object([("id", .string("1-0")), ("fields", .object([("job", .string("1"))]))]))
        let auto = try client.request("POST", "/v1/streams/jobs/groups/workers/claim", json: #"{"consumer":"c3","minIdle":60000,"start":"0-0","count":1,"justId":true}"#)
        #expect(auto.json?["next"] == .string("3-0"))
        #expect(auto.json?["claimed"] == .array([.string("2-0")]))
        #expect(auto.json?["deleted"] == .array([]))
        #expect(try client.request("POST", "/v1/streams/jobs/groups/workers/claim", json: #"{"minIdle":1,"ids":["1-0"]}"#).status == 400)
        #expect(try client.request("POST", "/v1/streams/jobs/groups/nope/claim", json: #"{"consumer":"c","minIdle":1,"ids":["1-0"]}"#).json?["code"] == .string("NOGROUP"))
        let acked = try client.request("POST", "/v1/streams/jobs/groups/workers/ack", json: #"{"ids":["1-0","2-0","9-0"]}"#)
        #expect(acked.json?["acked"] == .number("2"))
        let noGroup = try client.request("POST", "/v1/streams/jobs/groups/nope/ack", json: #"{"ids":["1-0"]}"#)
        #expect(noGroup.status == 404)
        #expect(noGroup.json?["code"] == .string("NOGROUP"))
        #expect(try client.request("POST", "/v1/streams/jobs/groups/workers/ack", json: #"{"ids":[]}"#).status == 400)
        #expect(try client.request("POST", "/v1/streams/jobs/groups/workers/ack", json: #"{"ids":["x"]}"#).status == 400)
        #expect(try client.request("GET", "/v1/streams/jobs/groups/nope/pending").status == 404)
        #expect(try client.request("GET", "/v1/streams/jobs/groups/workers/pending?count=x").status == 400)
        #expect(try client.request("GET", "/v1/streams/jobs/groups/workers/pending").json?["pending"] == .number("1"))
    }

    @Test func theEventsPatternThroughTheCommandAPI() throws {
        let server = try TestServer()
        let client = try server.client()
        #expect(try client.request("POST", "/", json: #"["XGROUP","CREATE","events","mygroup","$","MKSTREAM"]"#).json?["result"] == .string("OK"))
        let id = try client.request("POST", "/", json: #"["XADD","events","*","type","order.created","orderId","123","amount","49.99"]"#).json?["result"]?.stringValue ?? ""
        #expect(id.contains("-"))
        let read = try client.request("POST", "/", json: #"["XREADGROUP","GROUP","mygroup","consumer1","COUNT","10","BLOCK","5000","STREAMS","events",">"]"#)
        #expect(read.json?["result"] == .array([.array([.string("events"), .array([.array([.string(id), .array([
            .string("type"), .string("order.created"), .string("orderId"), .string("123"), .string("amount"), .string("49.99"),
        ])])])])]))
        let pending = try client.request("POST", "/", json: #"["XPENDING","events","mygroup"]"#)
        #expect(pending.json?["result"] == .array([.number("1"), .string(id), .string(id), .array([.array([.string("consumer1"), .string("1")])])]))
        #expect(try client.request("POST", "/", json: "[\"XACK\",\"events\",\"mygroup\",\"\(id)\"]").json?["result"] == .number("1"))
        // XINFO replies are flat arrays in the command API (RESP2).
        let info = try client.request("POST", "/", json: #"["XINFO","GROUPS","events"]"#)
        #expect(info.json?["result"]?.arrayValue?.first?.arrayValue?.prefix(2) == [.string("name"), .string("mygroup")])
        let busy = try client.request("POST", "/", json: #"["XGROUP","CREATE","events","mygroup","$"]"#)
        #expect(busy.status == 400)
        #expect(busy.json?["error"] == .string("BUSYGROUP Consumer Group name already exists"))
    }

    @Test func blockingXreadgroupIsServedByALaterXadd() throws {
        let server = try TestServer()
        let setup = try server.client()
        _ = try setup.request("POST", "/v1/streams/events/groups", json: #"{"group":"g","id":"$","mkstream":true}"#)
        let reader = try server.client()
        try reader.send("POST", "/", headers: ["Content-Type": "application/json"],
                        body: Array(#"["XREADGROUP","GROUP","g","c1","BLOCK","5000","STREAMS","events",">"]"#.utf8))
        var waited = 0
        while server.engine.blockedClientCount == 0 && waited < 400 {
            usleep(5_000)
            waited += 1
        }
        #expect(server.engine.blockedClientCount == 1)
        _ = try setup.request("POST", "/v1/streams/events/entries", json: #"{"fields":{"type":"order.created"},"id":"7-0"}"#)
        let served = try reader.readResponse()
        #expect(served.status == 200)
        #expect(served.json?["result"] == .array([.array([.string("events"), .array([.array([.string("7-0"), .array([.string("type"), .string("order.created")])])])])]))
    }

    /// `DELETE /v1/streams/{key}` deletes streams only, checking the type
    /// and deleting in one step: a key of another type is refused with 409
    /// and left as it was.
    @Test func deleteIsTypeChecked() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/v1/streams/s/entries", json: #"{"fields":{"a":"1"},"id":"1-0"}"#)
        _ = try client.request("POST", "/v1/streams/s/groups", json: #"{"group":"g","id":"0"}"#)
        _ = try client.request("PUT", "/v1/keys/str", json: #"{"value":"v"}"#)
        _ = try client.request("POST", "/v1/leaderboards/z", json: #"{"scores":{"a":1}}"#)
        #expect(try client.request("DELETE", "/v1/streams/s").status == 204)
        #expect(try client.request("POST", "/", json: #"["EXISTS","s"]"#).json?["result"] == .number("0"))
        let missing = try client.request("DELETE", "/v1/streams/s")
        #expect(missing.status == 404)
        #expect(missing.json?["code"] == .string("NO_SUCH_KEY"))
        let string = try client.request("DELETE", "/v1/streams/str")
        #expect(string.status == 409)
        #expect(string.json?["code"] == .string("WRONGTYPE"))
        #expect(try client.request("GET", "/v1/keys/str").json?["value"] == .string("v"))
        let zset = try client.request("DELETE", "/v1/streams/z")
        #expect(zset.status == 409)
        #expect(zset.json?["code"] == .string("WRONGTYPE"))
        #expect(try client.request("GET", "/v1/leaderboards/z/members/a").json?["score"] == .number("1"))
    }
}
