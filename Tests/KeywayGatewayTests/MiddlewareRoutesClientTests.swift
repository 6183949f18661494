import KeywayEngine
@testable import KeywayGateway
import KeywayHTTP
import KeywayTestSupport
import Testing

/// The lock, session, rate-limit and cache routes run every command for
/// their request's client: MONITOR names it on each one, including the
/// commands the session middleware runs and those of the cache's origin
/// fetch, which run after the handler returned.
@Suite struct MiddlewareRoutesClientTests {
    @Test func everyCommandTheseRoutesRunCarriesTheClient() throws {
        let origin = try TestOrigin()
        let cache = try CacheServer(origins: [try CacheOrigin(name: "users", baseURL: origin.url, ttl: 3600, staleIfError: 0)])
        let watcher = try cache.client(), client = try cache.client()
        try watcher.send("GET", "/v1/monitor")
        #expect(try watcher.readResponse().status == 200)
        _ = try watcher.readStream(until: "event: monitor")

        let token = try #require(try client.request("POST", "/v1/locks/orders", json: #"{"ttl":30}"#).json?["token"]?.stringValue)
        #expect(try client.request("GET", "/v1/locks/orders").status == 200)
        #expect(try client.request("PATCH", "/v1/locks/orders", json: #"{"token":"\#(token)","ttl":60}"#).status == 200)
        #expect(try client.request("DELETE", "/v1/locks/orders", json: #"{"token":"\#(token)"}"#).status == 204)

        let id = try #require(try client.request("POST", "/v1/sessions", json: #"{"data":{"u":"1"}}"#).json?["id"]?.stringValue)
        let cookie = ["Cookie": "keyway_session=\(id)"]
        #expect(try client.request("GET", "/v1/session", headers: cookie).status == 200)
        #expect(try client.request("PATCH", "/v1/session", headers: cookie, json: #"{"data":{"step":"2"}}"#).status == 200)
        #expect(try client.request("DELETE", "/v1/session", headers: cookie).status == 204)

        #expect(try client.request("POST", "/v1/ratelimits/api", json: #"{"key":"k","limit":5,"window":60}"#).status == 200)
        #expect(try client.request("DELETE", "/v1/ratelimits/api", json: #"{"key":"k"}"#).status == 204)

        #expect(try client.request("GET", "/v1/cache/users/42").header("X-Cache") == "MISS")
        #expect(try client.request("GET", "/v1/cache/users/42").header("X-Cache") == "HIT")
        #expect(try client.request("DELETE", "/v1/cache/users/42", headers: ["Cache-Purge": "only"]).status == 204)
        _ = try client.request("POST", "/", json: #"["ECHO","done"]"#)

        let stream = try watcher.readStream(until: #"["ECHO","done"]"#)
        var names: Set<String> = []
        for line in stream.split(separator: "\n") where line.hasPrefix("data: ") {
            let event = try JSONParser.parse(Array(line.dropFirst(6).utf8))
            let name = event["command"]?.arrayValue?.first?.stringValue ?? ""
            names.insert(name.uppercased())
            #expect(event["client"] == .string("127.0.0.1"), "\(name) ran without its client")
        }
        for name in ["KEYWAY.LOCK", "PTTL", "KEYWAY.EXTEND", "KEYWAY.UNLOCK", "HSET", "HGETALL", "KEYWAY.HPATCH",
                     "DEL", "RATELIMIT", "TIME", "PEXPIRE"] {
            #expect(names.contains(name), "MONITOR never showed \(name)")
        }
    }
}
