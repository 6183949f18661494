import Foundation
import KeywayEngine
import KeywayGateway
import KeywayTestSupport
import Testing

/// `/v1/keys`: status codes, bodies and problems.
@Suite struct KeysResourceTests {
    @Test func putCreatesThenReplaces() throws {
        let server = try TestServer()
        let client = try server.client()
        let created = try client.request("PUT", "/v1/keys/user:1", json: #"{"value":"alice"}"#)
        #expect(created.status == 201)
        #expect(created.json?["created"] == .bool(true))
        let replaced = try client.request("PUT", "/v1/keys/user:1", json: #"{"value":"bob","get":true}"#)
        #expect(replaced.status == 200)
        #expect(replaced.json?["previous"] == .string("alice"))
        let read = try client.request("GET", "/v1/keys/user:1")
        #expect(read.status == 200)
        #expect(read.json?["value"] == .string("bob"))
        #expect(read.json?["type"] == .string("string"))
        #expect(read.json?["ttl"] == .null)
    }

    @Test func ttlIsSetReadAndRemoved() throws {
        let clock = ManualClock()
        let server = try TestServer(clock: clock)
        let client = try server.client()
        #expect(try client.request("PUT", "/v1/keys/session", json: #"{"value":"x","ttl":1.5}"#).status == 201)
        let ttl = try client.request("GET", "/v1/keys/session/ttl")
        #expect(ttl.json?["pttl"] == .number("1500"))
        #expect(ttl.json?["ttl"] == .number("1.5"))
        #expect(ttl.json?["expiresAt"] == .number(String(clock.nowMilliseconds() + 1500)))
        let extended = try client.request("PUT", "/v1/keys/session/ttl", json: #"{"ttl":100,"condition":"gt"}"#)
        #expect(extended.status == 200)
        #expect(extended.json?["pttl"] == .number("100000"))
        let refused = try client.request("PUT", "/v1/keys/session/ttl", json: #"{"ttl":5,"condition":"gt"}"#)
        #expect(refused.status == 412)
        #expect(refused.json?["code"] == .string("CONDITION_NOT_MET"))
        #expect(try client.request("DELETE", "/v1/keys/session/ttl").status == 204)
        #expect(try client.request("GET", "/v1/keys/session/ttl").json?["ttl"] == .null)
        // Expiry under the manual clock, no sleeping.
        _ = try client.request("PUT", "/v1/keys/session/ttl", json: #"{"pttl":10}"#)
        clock.advance(milliseconds: 11)
        #expect(try client.request("GET", "/v1/keys/session").status == 404)
        #expect(try client.request("GET", "/v1/keys/session/ttl").status == 404)
        #expect(try client.request("DELETE", "/v1/keys/session/ttl").status == 404)
    }

    @Test func nxAndXXFailWith412() throws {
        let server = try TestServer()
        let client = try server.client()
        #expect(try client.request("PUT", "/v1/keys/lock", json: #"{"value":"w1","nx":true,"ttl":30}"#).status == 201)
        let taken = try client.request("PUT", "/v1/keys/lock", json: #"{"value":"w2","nx":true,"ttl":30}"#)
        #expect(taken.status == 412)
        #expect(taken.json?["code"] == .string("CONDITION_NOT_MET"))
        #expect(try client.request("GET", "/v1/keys/lock").json?["value"] == .string("w1"))
        #expect(try client.request("PUT", "/v1/keys/absent", json: #"{"value":"v","xx":true}"#).status == 412)
        #expect(try client.request("GET", "/v1/keys/absent").status == 404)
    }

    @Test func deleteAnswers204Then404() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("PUT", "/v1/keys/k", json: #"{"value":"v"}"#)
        #expect(try client.request("DELETE", "/v1/keys/k").status == 204)
        let again = try client.request("DELETE", "/v1/keys/k")
        #expect(again.status == 404)
        #expect(again.json?["code"] == .string("NO_SUCH_KEY"))
    }

    @Test func rawBytesRoundTripWithOctetStream() throws {
        let server = try TestServer()
        let client = try server.client()
        let value: [UInt8] = [0, 255, 10, 13, 0x80, 0x22]
        let put = try client.request("PUT", "/v1/keys/blob%00%FF?ttl=60", headers: ["Content-Type": "application/octet-stream"], body: value)
        #expect(put.status == 201)
        let raw = try client.request("GET", "/v1/keys/blob%00%FF", headers: ["Accept": "application/octet-stream"])
        #expect(raw.body == value)
        #expect(raw.header("content-type") == "application/octet-stream")
        let asJSON = try client.request("GET", "/v1/keys/blob%00%FF")
        #expect(asJSON.json?["encoding"] == .string("base64"))
        #expect(asJSON.json?["value"] == .string(Data(value).base64EncodedString()))
        #expect(asJSON.json?["key"] == .string(Data([98, 108, 111, 98, 0, 255]).base64EncodedString()))
        let ttl = asJSON.json?["ttl"]?.numberText.flatMap(Double.init) ?? 0
        #expect(ttl > 59 && ttl <= 60)
    }

    @Test func base64ValuesInJSONBodies() throws {
        let server = try TestServer()
        let client = try server.client()
        #expect(try client.request("PUT", "/v1/keys/b", json: #"{"value":"AAEC","encoding":"base64"}"#).status == 201)
        #expect(try client.request("GET", "/v1/keys/b", headers: ["Accept": "application/octet-stream"]).body == [0, 1, 2])
        let bad = try client.request("PUT", "/v1/keys/b", json: #"{"value":"***","encoding":"base64"}"#)
        #expect(bad.status == 400)
        #expect(bad.json?["code"] == .string("BAD_REQUEST"))
    }

    @Test func badBodiesGetProblems() throws {
        let server = try TestServer()
        let client = try server.client()
        for body in ["{", "[1]", #"{"value":5}"#, #"{"value":"v","ttl":"soon"}"#, #"{"value":"v","nx":"yes"}"#, #"{"nothing":1}"#] {
            let response = try client.request("PUT", "/v1/keys/k", json: body)
            #expect(response.status == 400, "body \(body)")
            #expect(response.header("content-type") == "application/problem+json", "body \(body)")
        }
        let negative = try client.request("PUT", "/v1/keys/k", json: #"{"value":"v","ttl":-5}"#)
        #expect(negative.status == 400)
        #expect(negative.json?["code"] == .string("INVALID_EXPIRE"))
        let xml = try client.request("PUT", "/v1/keys/k", headers: ["Content-Type": "application/xml"], body: Array("<v/>".utf8))
        #expect(xml.status == 415)
        #expect(try client.request("GET", "/v1/keys/k").status == 404)
    }

    @Test func incrementByIntegerFloatAndDefault() throws {
        let server = try TestServer()
        let client = try server.client()
        #expect(try client.request("POST", "/v1/keys/views/incr").json?["value"] == .number("1"))
        #expect(try client.request("POST", "/v1/keys/views/incr", json: #"{"by":50}"#).json?["value"] == .number("51"))
        #expect(try client.request("POST", "/v1/keys/views/incr", json: #"{"by":-1}"#).json?["value"] == .number("50"))
        #expect(try client.request("POST", "/v1/keys/price/incr", json: #"{"by":2.5}"#).json?["value"] == .number("2.5"))
        _ = try client.request("PUT", "/v1/keys/name", json: #"{"value":"alice"}"#)
        let notInteger = try client.request("POST", "/v1/keys/name/incr")
        #expect(notInteger.status == 400)
        #expect(notInteger.json?["code"] == .string("NOT_INTEGER"))
        _ = try client.request("PUT", "/v1/keys/max", json: #"{"value":"9223372036854775807"}"#)
        let overflow = try client.request("POST", "/v1/keys/max/incr")
        #expect(overflow.status == 400)
        #expect(overflow.json?["code"] == .string("OVERFLOW"))
        #expect(try client.request("POST", "/v1/keys/views/incr", json: #"{"by":"x"}"#).status == 400)
    }

    @Test func scanPagesThroughEveryKey() throws {
        let server = try TestServer()
        let client = try server.client()
        for i in 0..<120 { _ = try client.request("GET", "/set/user:\(i)/v") }
        _ = try client.request("GET", "/set/other/v")
        var cursor = "0"
        var seen: [String] = []
        repeat {
            let page = try client.request("GET", "/v1/keys?cursor=\(cursor)&match=user:*&count=25")
            #expect(page.status == 200)
            cursor = page.json?["cursor"]?.stringValue ?? "0"
            seen += page.json?["keys"]?.arrayValue?.compactMap(\.stringValue) ?? []
        } while cursor != "0"
        #expect(Set(seen).count == 120)
        #expect(seen.count == 120)
        #expect(!seen.contains("other"))
        #expect(try client.request("GET", "/v1/keys?cursor=abc").status == 400)
    }

    @Test func infoAndHealth() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("GET", "/set/a/1")
        let info = try client.request("GET", "/v1/info")
        #expect(info.status == 200)
        #expect(info.json?["server"]?["redis_version"] == .string("7.2.0"))
        #expect(info.json?["keyspace"]?["db0"]?["keys"] == .number("1"))
        let stats = try client.request("GET", "/v1/info?section=stats")
        #expect(stats.json?["server"] == nil)
        #expect(stats.json?["stats"]?["total_commands_processed"]?.numberText != nil)
        #expect(try client.request("GET", "/healthz").json?["status"] == .string("ok"))
    }
}
