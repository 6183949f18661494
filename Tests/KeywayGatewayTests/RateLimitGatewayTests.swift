import Dispatch
import Foundation
import KeywayEngine
@testable import KeywayGateway
import KeywayHTTP
import KeywayTestSupport
import Logging
import Synchronization
import Testing

/// A server with the gateway's rate limit on, on a manual clock that starts
/// on a minute boundary (a fresh sliding window).
private final class LimitedServer: Sendable {
    static let start: Int64 = 1_700_000_040_000
    let engine: Engine
    let clock = ManualClock(milliseconds: LimitedServer.start)
    let gateway: Gateway
    let server: HTTPServer

    init(limit: Int64, seconds: Int64 = 60, token: String? = nil, systemClock: Bool = false) throws {
        engine = systemClock ? Engine() : Engine(clock: clock)
        var configuration = GatewayConfiguration(token: token)
        configuration.rateLimit = GatewayRateLimit(limit: limit, windowSeconds: seconds)
        gateway = Gateway(executor: engine, configuration: configuration)
        var http = HTTPServerConfiguration()
        http.port = 0
        http.threads = 2
        var logger = Logger(label: "keyway.test")
        logger.logLevel = .warning
        server = HTTPServer(configuration: http, router: gateway.makeRouter(), logger: logger)
        try server.start()
    }

    deinit { server.stop() }

    func client() throws -> TestHTTPClient { try TestHTTPClient(port: server.port) }
}

/// Calls a route directly, as a client at `address` would, to tell clients
/// apart by address without needing several source addresses.
private func call(_ router: Router, _ method: String, _ path: String, from address: String,
                  headers: [String: String] = [:], body: String = "") -> HTTPResponse? {
    let segments = path.split(separator: "/").map { Array($0.utf8) }
    guard case .found(let handler, let parameters, _) = router.match(method: method, segments: segments) else { return nil }
    let request = HTTPRequest(method: method, rawPath: path, segments: segments, headers: headers, body: Array(body.utf8), remoteAddress: address)
    guard case .response(let response) = handler(request, parameters) else { return nil }
    return response
}

private extension HTTPResponse {
    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    func count(of name: String) -> Int { headers.filter { $0.0.lowercased() == name.lowercased() }.count }
}

@Suite struct RateLimitGatewayTests {
    @Test func everyResponseCarriesTheHeadersAndTheLimitEndsIn429() throws {
        let server = try LimitedServer(limit: 5)
        let client = try server.client()
        let notFound = try client.request("GET", "/v1/keys/a")
        #expect(notFound.status == 404)
        #expect(notFound.header("ratelimit-limit") == "5")
        #expect(notFound.header("ratelimit-remaining") == "4")
        #expect(notFound.header("ratelimit-policy") == "5;w=60")
        let command = try client.request("POST", "/", json: #"["SET","a","1"]"#)
        #expect(command.status == 200)
        #expect(command.header("ratelimit-remaining") == "3")
        let malformed = try client.request("PUT", "/v1/keys/a", json: "{nope")
        #expect(malformed.status == 400)
        #expect(malformed.header("ratelimit-remaining") == "2")
        // Health checks are exempt: no headers, no budget spent.
        for path in ["/healthz", "/readyz"] {
            for _ in 0..<10 {
                let health = try client.request("GET", path)
                #expect(health.status == 200)
                #expect(health.header("ratelimit-limit") == nil)
            }
        }
        #expect(try client.request("GET", "/v1/keys/a").header("ratelimit-remaining") == "1")
        #expect(try client.request("GET", "/get/a").header("ratelimit-remaining") == "0")

        let refused = try client.request("GET", "/v1/keys/a")
        #expect(refused.status == 429)
        #expect(refused.header("content-type") == "application/problem+json")
        #expect(refused.json?["code"] == .string("RATE_LIMITED"))
        #expect(refused.json?["status"] == .number("429"))
        // Five in this minute: the sliding window lets one more through once
        // the next minute is a fifth gone (5 * 80% = 4), 72 s from now.
        #expect(refused.header("retry-after") == "72")
        #expect(refused.header("ratelimit-remaining") == "0")
        #expect(refused.header("ratelimit-reset") == "72")
        // The command API's refusal also carries Upstash's `error` member.
        let refusedCommand = try client.request("POST", "/", json: #"["GET","a"]"#)
        #expect(refusedCommand.status == 429)
        #expect(refusedCommand.json?["code"] == .string("RATE_LIMITED"))
        #expect(refusedCommand.json?["error"]?.stringValue?.hasPrefix("RATE_LIMITED") == true)
        #expect(try client.request("GET", "/healthz").status == 200)

        server.clock.advance(milliseconds: 72_000)
        let again = try client.request("GET", "/v1/keys/a")
        #expect(again.status == 200)
        #expect(again.header("ratelimit-remaining") == "0")
    }

    @Test func theStateIsAnOrdinaryKey() throws {
        let server = try LimitedServer(limit: 5)
        let client = try server.client()
        _ = try client.request("GET", "/v1/keys/a")
        let keys = server.engine.execute(Command("KEYS", [Bytes("ratelimit:*")]))
        #expect(keys == .array([.bulk(Bytes("ratelimit:@gateway:addr:127.0.0.1"))]))
        #expect(server.engine.execute(Command("HGET", [Bytes("ratelimit:@gateway:addr:127.0.0.1"), Bytes("current")])) == .bulk(Bytes("1")))
        #expect(server.engine.execute(Command("PTTL", [Bytes("ratelimit:@gateway:addr:127.0.0.1")])) == .integer(119_999))
    }

    @Test func clientsAreToldApartByAddressWithoutATokenAndByTokenWithOne() throws {
        let open = try LimitedServer(limit: 2)
        let router = open.gateway.makeRouter()
        for expected in ["1", "0"] {
            #expect(call(router, "GET", "/v1/keys/a", from: "10.0.0.1")?.header("RateLimit-Remaining") == expected)
        }
        #expect(call(router, "GET", "/v1/keys/a", from: "10.0.0.1")?.status == 429)
        #expect(call(router, "GET", "/v1/keys/a", from: "10.0.0.2")?.header("RateLimit-Remaining") == "1")
        #expect(call(router, "GET", "/v1/keys/a", from: "2001:db8::1")?.header("RateLimit-Remaining") == "1")

        let guarded = try LimitedServer(limit: 2, token: "s3cret")
        let guardedRouter = guarded.gateway.makeRouter()
        let bearer = ["authorization": "Bearer s3cret"]
        #expect(call(guardedRouter, "GET", "/v1/keys/a", from: "10.0.0.1", headers: bearer)?.header("RateLimit-Remaining") == "1")
        // The same token from another address shares the budget.
        #expect(call(guardedRouter, "GET", "/v1/keys/a", from: "10.0.0.2", headers: bearer)?.header("RateLimit-Remaining") == "0")
        #expect(call(guardedRouter, "GET", "/v1/keys/a", from: "10.0.0.3", headers: bearer)?.status == 429)
        // Requests without the right token count against their address,
        // and their 401 carries the headers too.
        let unauthorized = call(guardedRouter, "GET", "/v1/keys/a", from: "10.0.0.1", headers: ["authorization": "Bearer wrong"])
        #expect(unauthorized?.status == 401)
        #expect(unauthorized?.header("RateLimit-Remaining") == "1")
        #expect(call(guardedRouter, "GET", "/v1/keys/a", from: "10.0.0.1")?.header("RateLimit-Remaining") == "0")
        #expect(call(guardedRouter, "GET", "/v1/keys/a", from: "10.0.0.1")?.status == 429)
        // The token itself is never stored in a key name.
        guard case .array(let keys) = guarded.engine.execute(Command("KEYS", [Bytes("*")])) else { Issue.record("no keys"); return }
        let names = keys.compactMap { reply -> String? in if case .bulk(let bytes) = reply { return bytes.text } else { return nil } }
        #expect(names.sorted() == ["ratelimit:@gateway:addr:10.0.0.1", "ratelimit:@gateway:token:" + GatewayRateLimiter.fingerprint("s3cret")])
        #expect(!names.contains { $0.contains("s3cret") })
    }

    @Test func parkedRequestsGetTheHeadersWhenTheyAreAnswered() throws {
        let server = try LimitedServer(limit: 10)
        let waiter = try server.client()
        try waiter.send("POST", "/", headers: ["Content-Type": "application/json"], body: Array(#"["BLPOP","q","0"]"#.utf8))
        var parked = false
        for _ in 0..<200 where !parked {
            parked = server.server.parkedCount == 1
            if !parked { usleep(5_000) }
        }
        #expect(parked)
        let pusher = try server.client()
        #expect(try pusher.request("POST", "/", json: #"["RPUSH","q","job"]"#).header("ratelimit-remaining") == "8")
        let answer = try waiter.readResponse()
        #expect(answer.status == 200)
        #expect(answer.header("ratelimit-remaining") == "9")
    }

    @Test func offByDefault() throws {
        let server = try TestServer()
        let response = try server.client().request("GET", "/v1/keys/a")
        #expect(response.header("ratelimit-limit") == nil)
        #expect(GatewayConfiguration().rateLimit == nil)
    }

    @Test func settingsParse() {
        #expect(GatewayRateLimit(parsing: "100/60") == GatewayRateLimit(limit: 100, windowSeconds: 60))
        #expect(GatewayRateLimit(parsing: "100 60") == GatewayRateLimit(limit: 100, windowSeconds: 60))
        for bad in ["", "100", "0/60", "100/0", "-1/60", "100/-5", "a/b", "100/60/1", "100/999999999999"] {
            #expect(GatewayRateLimit(parsing: bad) == nil, "\(bad)")
        }
    }
}

/// `/v1/ratelimits/{name}`: the limiter as an API.
@Suite struct RateLimitRouteTests {
    @Test func checksConsumeAndRefusalsAnswer200() throws {
        let server = try TestServer(clock: ManualClock(milliseconds: LimitedServer.start))
        let client = try server.client()
        let body = #"{"key": "user:123", "limit": 2, "window": 60, "algorithm": "sliding-log"}"#
        let first = try client.request("POST", "/v1/ratelimits/api", json: body)
        #expect(first.status == 200)
        #expect(first.json?["allowed"] == .bool(true))
        #expect(first.json?["remaining"] == .number("1"))
        #expect(first.json?["limit"] == .number("2"))
        #expect(first.json?["reset"] == .number("60"))
        #expect(first.json?["reset_ms"] == .number("60000"))
        #expect(first.header("ratelimit-limit") == "2")
        #expect(first.header("ratelimit-remaining") == "1")
        #expect(first.header("ratelimit-reset") == "60")
        #expect(try client.request("POST", "/v1/ratelimits/api", json: body).json?["remaining"] == .number("0"))
        let refused = try client.request("POST", "/v1/ratelimits/api", json: body)
        #expect(refused.status == 200)
        #expect(refused.json?["allowed"] == .bool(false))
        #expect(refused.json?["retry_after"] == .number("60"))
        #expect(refused.json?["retry_after_ms"] == .number("60000"))
        // Stored under ratelimit:{name}:{key}.
        let card = try client.request("POST", "/", json: #"["ZCARD","ratelimit:api:user:123"]"#)
        #expect(card.json?["result"] == .number("2"))
        // Another key has its own budget.
        #expect(try client.request("POST", "/v1/ratelimits/api", json: #"{"key": "user:124", "limit": 2, "window": 60, "algorithm": "sliding-log"}"#).json?["allowed"] == .bool(true))
    }

    @Test func getPeeksAndDeleteResets() throws {
        let server = try TestServer(clock: ManualClock(milliseconds: LimitedServer.start))
        let client = try server.client()
        let body = #"{"key": "k", "limit": 3, "window": 10, "algorithm": "token-bucket", "cost": 2}"#
        #expect(try client.request("POST", "/v1/ratelimits/login", json: body).json?["remaining"] == .number("1"))
        for _ in 0..<3 {
            let peek = try client.request("GET", "/v1/ratelimits/login?key=k&limit=3&window=10&algorithm=token-bucket")
            #expect(peek.status == 200)
            #expect(peek.json?["allowed"] == .bool(true))
            #expect(peek.json?["remaining"] == .number("1"))
        }
        let peekTwo = try client.request("GET", "/v1/ratelimits/login?key=k&limit=3&window=10&algorithm=token-bucket&cost=2")
        #expect(peekTwo.json?["allowed"] == .bool(false))
        #expect(peekTwo.json?["retry_after_ms"] == .number("3334"))
        #expect(try client.request("DELETE", "/v1/ratelimits/login?key=k").status == 204)
        #expect(try client.request("DELETE", "/v1/ratelimits/login?key=k").status == 204)
        #expect(try client.request("GET", "/v1/ratelimits/login?key=k&limit=3&window=10&algorithm=token-bucket").json?["remaining"] == .number("3"))
        #expect(try client.request("DELETE", "/v1/ratelimits/login", json: #"{"key": "k"}"#).status == 204)
        #expect(try client.request("DELETE", "/v1/ratelimits/login").status == 400)
    }

    @Test func badInputIsA400() throws {
        let server = try TestServer()
        let client = try server.client()
        func problem(_ json: String, path: String = "/v1/ratelimits/api") throws -> (Int, String?, String?) {
            let response = try client.request("POST", path, json: json)
            return (response.status, response.json?["code"]?.stringValue, response.json?["detail"]?.stringValue)
        }
        let cases: [(String, String)] = [
            (#"{"key": "k", "limit": 5, "window": 60, "algorithm": "leaky-bucket"}"#, "unknown algorithm 'leaky-bucket'"),
            (#"{"key": "k", "limit": 0, "window": 60}"#, "'limit' must be an integer from 1"),
            (#"{"key": "k", "limit": -3, "window": 60}"#, "'limit' must be an integer from 1"),
            (#"{"key": "k", "limit": 2.5, "window": 60}"#, "'limit' must be an integer from 1"),
            (#"{"key": "k", "limit": 1e30, "window": 60}"#, "'limit' must be an integer from 1"),
            (#"{"key": "k", "limit": "5", "window": 60}"#, "'limit' must be a number"),
            (#"{"key": "k", "window": 60}"#, "'limit' (a positive integer) is required"),
            (#"{"key": "k", "limit": 5, "window": 0}"#, "'window' must be a number of seconds"),
            (#"{"key": "k", "limit": 5, "window": -1}"#, "'window' must be a number of seconds"),
            (#"{"key": "k", "limit": 5, "window": 1e300}"#, "'window' must be a number of seconds"),
            (#"{"key": "k", "limit": 5}"#, "'window' (seconds) is required"),
            (#"{"limit": 5, "window": 60}"#, "'key' (a string) is required"),
            (#"{"key": "", "limit": 5, "window": 60}"#, "'key' must not be empty"),
            (#"{"key": 7, "limit": 5, "window": 60}"#, "'key' must be a string"),
            (#"{"key": "k", "limit": 5, "window": 60, "cost": 6}"#, "'cost' must be an integer from 1 to the limit"),
            (#"{"key": "k", "limit": 5, "window": 60, "cost": 99999999999999999999999}"#, "'cost' must be an integer from 1 to the limit"),
            (#"{"key": "k", "limit": 5, "window": 60, "cost": 0}"#, "'cost' must be an integer from 1 to the limit"),
            (#"{"key": "k", "limit": 200000, "window": 60, "algorithm": "sliding-log"}"#, "'limit' must be an integer from 1 to 100000"),
            (#"{"key": "k", "limit": 5"#, "malformed JSON"),
            (#"[1, 2]"#, "the body must be a JSON object"),
        ]
        for (json, detail) in cases {
            let (status, code, message) = try problem(json)
            #expect(status == 400, "\(json)")
            #expect(code == "BAD_REQUEST", "\(json)")
            #expect(message?.hasPrefix(detail) == true, "\(json): \(message ?? "nil")")
        }
        for name in ["%40gateway", "a:b"] {
            let (status, _, message) = try problem(#"{"key": "k", "limit": 5, "window": 60}"#, path: "/v1/ratelimits/\(name)")
            #expect(status == 400)
            #expect(message?.contains("may not contain ':' or start with '@'") == true)
        }
        #expect(try client.request("POST", "/v1/ratelimits/api").status == 400)
        #expect(try client.request("GET", "/v1/ratelimits/api?key=k&limit=5").status == 400)
        #expect(try client.request("GET", "/v1/ratelimits/api?key=k&limit=five&window=60").status == 400)
        // State of another type under the key: 409 WRONGTYPE, as for any key.
        _ = try client.request("POST", "/", json: #"["RPUSH","ratelimit:api:k","x"]"#)
        let wrongType = try client.request("POST", "/v1/ratelimits/api", json: #"{"key": "k", "limit": 5, "window": 60}"#)
        #expect(wrongType.status == 409)
        #expect(wrongType.json?["code"] == .string("WRONGTYPE"))
        // Nothing was written by the refused requests.
        let keys = try client.request("POST", "/", json: #"["KEYS","*"]"#)
        #expect(keys.json?["result"] == .array([.string("ratelimit:api:k")]))
    }

    @Test func manyClientsAtOnceGetExactlyTheLimit() throws {
        let server = try TestServer()
        let limit = 50, threads = 8, perThread = 20
        let allowed = Atomic<Int>(0), failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            guard let client = try? server.client() else { failures.add(1, ordering: .relaxed); return }
            for _ in 0..<perThread {
                guard let response = try? client.request("POST", "/v1/ratelimits/burst",
                                                         json: #"{"key": "shared", "limit": \#(limit), "window": 3600, "algorithm": "sliding-window"}"#),
                      response.status == 200 else {
                    failures.add(1, ordering: .relaxed)
                    continue
                }
                if response.json?["allowed"] == .bool(true) { allowed.add(1, ordering: .relaxed) }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(allowed.load(ordering: .relaxed) == limit)
    }

    @Test func theRoutesOwnHeadersWinOverTheGatewaysOnes() throws {
        let server = try LimitedServer(limit: 100)
        let router = server.gateway.makeRouter()
        let response = call(router, "POST", "/v1/ratelimits/api", from: "10.0.0.1",
                            headers: ["content-type": "application/json"], body: #"{"key": "k", "limit": 3, "window": 60}"#)
        #expect(response?.status == 200)
        #expect(response?.count(of: "RateLimit-Limit") == 1)
        #expect(response?.header("RateLimit-Limit") == "3")
        // It still counted against the gateway's limit.
        #expect(call(router, "GET", "/v1/keys/a", from: "10.0.0.1")?.header("RateLimit-Remaining") == "98")
    }
}
