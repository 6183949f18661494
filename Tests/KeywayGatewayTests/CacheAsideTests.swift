import KeywayEngine
import KeywayGateway
import KeywayHTTP
import KeywayTestSupport
import Logging
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A local origin for the cache tests: Keyway's own HTTP server answering
/// every path with whatever the test scripts, counting requests.
final class TestOrigin: Sendable {
    struct Seen: Sendable {
        var method: String
        var segments: [String]
        var query: [String: String]
        var contentType: String?
        var body: String
    }

    let server: HTTPServer
    let seen = Mutex<[Seen]>([])
    let answer: Mutex<@Sendable (HTTPRequest, Int) -> HTTPResult>
    /// Requests parked by `holdAnswers`, released by `release`.
    let held = Mutex<[ParkedResponse]>([])

    init() throws {
        answer = Mutex({ _, count in
            .response(HTTPResponse(status: 200, contentType: "application/json", body: Array(#"{"count":\#(count)}"#.utf8)))
        })
        var router = Router()
        let box = Box()
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            router.add(method, "/{path...}") { request, _ in box.origin!.handle(request) }
        }
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = 2
        server = HTTPServer(configuration: configuration, router: router, logger: quietTestLogger)
        box.origin = self
        try server.start()
    }

    /// Lets the router's handlers reach the origin built after them.
    final class Box: @unchecked Sendable { weak var origin: TestOrigin? }

    deinit { stop() }

    private let stopped = Atomic<Bool>(false)

    /// Stops answering (connections are refused); safe to call twice.
    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        for parked in held.withLock({ $0 }) { parked.resolve(HTTPResponse(status: 503)) }
        server.stop()
    }

    var url: String { "http://127.0.0.1:\(server.port)" }
    var count: Int { seen.withLock { $0.count } }
    var last: Seen? { seen.withLock { $0.last } }

    func handle(_ request: HTTPRequest) -> HTTPResult {
        let count = seen.withLock { seen in
            var query: [String: String] = [:]
            for (name, value) in request.query { query[name] = String(decoding: value, as: UTF8.self) }
            seen.append(Seen(method: request.method, segments: request.segments.map { String(decoding: $0, as: UTF8.self) },
                             query: query, contentType: request.header("content-type"),
                             body: String(decoding: request.body, as: UTF8.self)))
            return seen.count
        }
        return answer.withLock { $0 }(request, count)
    }

    func respond(_ handler: @escaping @Sendable (HTTPRequest, Int) -> HTTPResult) {
        answer.withLock { $0 = handler }
    }

    /// Answers 200 with `body` and the given Cache-Control.
    func respond(status: Int = 200, cacheControl: String?, body: String = "payload") {
        respond { _, _ in
            var headers = [("Content-Type", "text/plain")]
            if let cacheControl { headers.append(("Cache-Control", cacheControl)) }
            return .response(HTTPResponse(status: status, headers: headers, body: Array(body.utf8)))
        }
    }

    /// Parks every request until `release`.
    func holdAnswers() {
        respond { [weak self] _, _ in
            let parked = ParkedResponse()
            self?.held.withLock { $0.append(parked) }
            return .parked(parked)
        }
    }

    func release(body: String) {
        for parked in held.withLock({ held in defer { held = [] }; return held }) {
            parked.resolve(HTTPResponse(status: 200, contentType: "text/plain", body: Array(body.utf8)))
        }
    }
}

let quietTestLogger: Logger = {
    var logger = Logger(label: "keyway.test")
    logger.logLevel = .warning
    return logger
}()

/// Keyway with cache origins configured, on a manual clock.
final class CacheServer: Sendable {
    let clock = ManualClock()
    let engine: Engine
    let server: HTTPServer

    init(origins: [CacheOrigin], threads: Int = 2, requestTimeout: Double = 10) throws {
        engine = Engine(clock: clock)
        var gatewayConfiguration = GatewayConfiguration()
        gatewayConfiguration.cache = CacheSettings(origins: origins, connectTimeout: 2, requestTimeout: requestTimeout)
        let gateway = Gateway(executor: engine, configuration: gatewayConfiguration)
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = threads
        server = HTTPServer(configuration: configuration, router: gateway.makeRouter(), logger: quietTestLogger)
        try server.start()
    }

    deinit { server.stop() }

    func client() throws -> TestHTTPClient { try TestHTTPClient(port: server.port) }

    func advance(seconds: Int64) { clock.advance(milliseconds: seconds * 1000) }

    func hash(_ key: String) -> [String: String] {
        let items: [Reply]
        switch engine.execute(Command("HGETALL", [Bytes(key)])) {
        case .array(let flat), .map(let flat): items = flat
        default: return [:]
        }
        var fields: [String: String] = [:]
        var index = 0
        while index + 1 < items.count {
            if case .bulk(let name) = items[index], case .bulk(let value) = items[index + 1] { fields[name.text] = value.text }
            index += 2
        }
        return fields
    }

    func pttl(_ key: String) -> Int64 {
        if case .integer(let value) = engine.execute(Command("PTTL", [Bytes(key)])) { return value }
        return -3
    }
}

func waitUntil(_ condition: () -> Bool) -> Bool {
    for _ in 0..<4000 {
        if condition() { return true }
        usleep(5_000)
    }
    return false
}

@Suite struct CacheAsideTests {
    func setUp(ttl: Int = 3600, staleIfError: Int = 0, threads: Int = 2, requestTimeout: Double = 10) throws -> (TestOrigin, CacheServer) {
        let origin = try TestOrigin()
        let cache = try CacheServer(origins: [try CacheOrigin(name: "users", baseURL: origin.url, ttl: ttl, staleIfError: staleIfError)],
                                    threads: threads, requestTimeout: requestTimeout)
        return (origin, cache)
    }

    @Test func aMissFetchesStoresAndTheNextRequestIsAHitWithItsAge() throws {
        let (origin, cache) = try setUp(ttl: 3600)
        let client = try cache.client()
        let miss = try client.request("GET", "/v1/cache/users/42")
        #expect(miss.status == 200)
        #expect(miss.header("X-Cache") == "MISS")
        #expect(miss.header("Content-Type") == "application/json")
        #expect(miss.text == #"{"count":1}"#)
        #expect(origin.count == 1)
        #expect(origin.last?.segments == ["42"])

        let hit = try client.request("GET", "/v1/cache/users/42")
        #expect(hit.status == 200)
        #expect(hit.header("X-Cache") == "HIT")
        #expect(hit.header("Age") == "0")
        #expect(hit.header("Content-Type") == "application/json")
        #expect(hit.text == #"{"count":1}"#)
        cache.advance(seconds: 125)
        #expect(try client.request("GET", "/v1/cache/users/42").header("Age") == "125")
        #expect(origin.count == 1)

        // The entry is an ordinary hash with a TTL.
        let fields = cache.hash("cache:users:/42")
        #expect(fields["status"] == "200")
        #expect(fields["type"] == "application/json")
        #expect(fields["body"] == #"{"count":1}"#)
        #expect(fields["stored-at"] == String(1_700_000_000_000))
        #expect(fields["fresh-until"] == String(1_700_000_000_000 + 3_600_000))
        #expect(cache.pttl("cache:users:/42") == 3_600_000 - 125_000)
    }

    @Test func anExpiredEntryIsFetchedAgain() throws {
        let (origin, cache) = try setUp(ttl: 10)
        let client = try cache.client()
        #expect(try client.request("GET", "/v1/cache/users/a").header("X-Cache") == "MISS")
        cache.advance(seconds: 9)
        #expect(try client.request("GET", "/v1/cache/users/a").header("X-Cache") == "HIT")
        cache.advance(seconds: 1)
        let again = try client.request("GET", "/v1/cache/users/a")
        #expect(again.header("X-Cache") == "MISS")
        #expect(again.text == #"{"count":2}"#)
        #expect(origin.count == 2)
    }

    @Test func theOriginsMaxAgeLowersTheTTLButNeverRaisesIt() throws {
        let (origin, cache) = try setUp(ttl: 60)
        let client = try cache.client()
        origin.respond(cacheControl: "public, max-age=5")
        #expect(try client.request("GET", "/v1/cache/users/short").header("X-Cache") == "MISS")
        #expect(cache.pttl("cache:users:/short") == 5000)
        cache.advance(seconds: 5)
        #expect(try client.request("GET", "/v1/cache/users/short").header("X-Cache") == "MISS")

        origin.respond(cacheControl: "max-age=86400")
        #expect(try client.request("GET", "/v1/cache/users/long").header("X-Cache") == "MISS")
        #expect(cache.pttl("cache:users:/long") == 60_000)

        // s-maxage is the shared cache's age and wins over max-age.
        origin.respond(cacheControl: "max-age=30, s-maxage=7")
        _ = try client.request("GET", "/v1/cache/users/shared")
        #expect(cache.pttl("cache:users:/shared") == 7000)
    }

    @Test(arguments: ["no-store", "private", "no-cache", "max-age=0", "Private, max-age=600"])
    func responsesTheOriginForbidsToStoreAreRelayedButNotStored(_ directive: String) throws {
        let (origin, cache) = try setUp()
        let client = try cache.client()
        origin.respond(cacheControl: directive, body: "secret")
        for _ in 0..<2 {
            let response = try client.request("GET", "/v1/cache/users/me")
            #expect(response.status == 200)
            #expect(response.header("X-Cache") == "MISS")
            #expect(response.text == "secret")
        }
        #expect(origin.count == 2)
        #expect(cache.engine.execute(Command("EXISTS", ["cache:users:/me"])) == .integer(0))
    }

    @Test func onlyCacheableStatusesAreStored() throws {
        let (origin, cache) = try setUp()
        let client = try cache.client()
        origin.respond(status: 404, cacheControl: nil, body: "gone")
        #expect(try client.request("GET", "/v1/cache/users/missing").status == 404)
        let hit = try client.request("GET", "/v1/cache/users/missing")
        #expect(hit.status == 404)
        #expect(hit.header("X-Cache") == "HIT")
        #expect(hit.text == "gone")

        for status in [201, 302, 500, 503] {
            origin.respond(status: status, cacheControl: nil, body: "s\(status)")
            let path = "/v1/cache/users/status\(status)"
            #expect(try client.request("GET", path).status == status)
            #expect(try client.request("GET", path).header("X-Cache") == "MISS")
        }
        #expect(origin.count == 1 + 4 * 2)
    }

    @Test func aWriteIsForwardedAndInvalidatesTheEntry() throws {
        let (origin, cache) = try setUp()
        let client = try cache.client()
        #expect(try client.request("GET", "/v1/cache/users/7").header("X-Cache") == "MISS")
        #expect(try client.request("GET", "/v1/cache/users/7").header("X-Cache") == "HIT")

        for method in ["PUT", "PATCH", "POST"] {
            origin.respond { request, _ in
                .response(HTTPResponse(status: request.method == "POST" ? 201 : 200,
                                       headers: [("Content-Type", "application/json"), ("Location", "/users/7")],
                                       body: Array(#"{"updated":true}"#.utf8)))
            }
            let written = try client.request(method, "/v1/cache/users/7", headers: ["Authorization": "Bearer nope"], json: #"{"name":"Ada"}"#)
            #expect(written.status == (method == "POST" ? 201 : 200))
            #expect(written.text == #"{"updated":true}"#)
            #expect(written.header("Location") == "/users/7")
            #expect(origin.last?.method == method)
            #expect(origin.last?.body == #"{"name":"Ada"}"#)
            #expect(origin.last?.contentType == "application/json")
            #expect(cache.engine.execute(Command("EXISTS", ["cache:users:/7"])) == .integer(0))
            origin.respond(cacheControl: nil, body: "fresh")
            let after = try client.request("GET", "/v1/cache/users/7")
            #expect(after.header("X-Cache") == "MISS")
            #expect(after.text == "fresh")
        }
    }

    @Test func deleteForwardsAndPurgesWhileCachePurgeOnlyLeavesTheOriginAlone() throws {
        let (origin, cache) = try setUp()
        let client = try cache.client()
        _ = try client.request("GET", "/v1/cache/users/9")
        origin.respond { _, _ in .response(HTTPResponse(status: 204)) }
        #expect(try client.request("DELETE", "/v1/cache/users/9").status == 204)
        #expect(origin.last?.method == "DELETE")
        #expect(cache.engine.execute(Command("EXISTS", ["cache:users:/9"])) == .integer(0))

        origin.respond(cacheControl: nil)
        _ = try client.request("GET", "/v1/cache/users/9")
        let before = origin.count
        #expect(try client.request("DELETE", "/v1/cache/users/9", headers: ["Cache-Purge": "only"]).status == 204)
        #expect(origin.count == before)
        #expect(cache.engine.execute(Command("EXISTS", ["cache:users:/9"])) == .integer(0))
        let again = try client.request("DELETE", "/v1/cache/users/9", headers: ["Cache-Purge": "only"])
        #expect(again.status == 404)
        #expect(again.json?["code"] == .string("NO_SUCH_KEY"))

        for (method, value) in [("POST", "only"), ("DELETE", "everything")] {
            let bad = try client.request(method, "/v1/cache/users/9", headers: ["Cache-Purge": value])
            #expect(bad.status == 400)
            #expect(bad.json?["code"] == .string("BAD_REQUEST"))
        }
        #expect(origin.count == before)
    }

    @Test func concurrentMissesMakeOneOriginRequestWithoutHoldingThreads() throws {
        // One HTTP thread: if a miss held it, the other requests could not park.
        let (origin, cache) = try setUp(threads: 1)
        origin.holdAnswers()
        let clients = try (0..<8).map { _ in try cache.client() }
        for client in clients { try client.send("GET", "/v1/cache/users/hot") }
        #expect(waitUntil { cache.server.parkedCount == 8 })
        // The one origin request is made in the background: wait for it to
        // arrive before releasing the answer (a later check shows no second).
        #expect(waitUntil { origin.count == 1 })
        // The thread is free for other work meanwhile.
        let other = try cache.client()
        #expect(try other.request("GET", "/v1/keys/unrelated").status == 404)

        origin.release(body: "hot value")
        for client in clients {
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("X-Cache") == "MISS")
            #expect(response.text == "hot value")
        }
        #expect(origin.count == 1)
        #expect(try other.request("GET", "/v1/cache/users/hot").header("X-Cache") == "HIT")
    }

    @Test func aWriteDuringAFetchKeepsTheFetchedAnswerOutOfTheStore() throws {
        let (origin, cache) = try setUp()
        origin.holdAnswers()
        let reader = try cache.client()
        try reader.send("GET", "/v1/cache/users/race")
        #expect(waitUntil { origin.count == 1 })
        origin.respond { _, _ in .response(HTTPResponse(status: 204)) }
        #expect(try cache.client().request("PUT", "/v1/cache/users/race", json: "{}").status == 204)
        origin.release(body: "old")
        #expect(try reader.readResponse().text == "old")
        #expect(cache.engine.execute(Command("EXISTS", ["cache:users:/race"])) == .integer(0))
    }

    @Test func anUnreachableOriginIsABadGateway() throws {
        let (origin, cache) = try setUp()
        origin.stop()
        let client = try cache.client()
        for method in ["GET", "PUT"] {
            let response = try client.request(method, "/v1/cache/users/1")
            #expect(response.status == 502)
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.json?["code"] == .string("BAD_GATEWAY"))
        }
    }

    @Test func aSilentOriginIsAGatewayTimeout() throws {
        let (origin, cache) = try setUp(requestTimeout: 0.3)
        origin.holdAnswers()
        let response = try cache.client().request("GET", "/v1/cache/users/slow")
        #expect(response.status == 504)
        #expect(response.json?["code"] == .string("GATEWAY_TIMEOUT"))
        origin.release(body: "late")
    }

    @Test func staleIfErrorServesTheOldCopyWhileTheOriginIsDown() throws {
        let (origin, cache) = try setUp(ttl: 10, staleIfError: 60)
        let client = try cache.client()
        #expect(try client.request("GET", "/v1/cache/users/s").header("X-Cache") == "MISS")
        #expect(cache.pttl("cache:users:/s") == 70_000)
        cache.advance(seconds: 15)

        // An origin's server error falls back to the stale copy too.
        origin.respond(status: 503, cacheControl: nil, body: "down")
        let onError = try client.request("GET", "/v1/cache/users/s")
        #expect(onError.status == 200)
        #expect(onError.header("X-Cache") == "STALE")
        #expect(onError.header("Age") == "15")
        #expect(onError.header("Warning")?.hasPrefix("111 ") == true)
        #expect(onError.text == #"{"count":1}"#)

        origin.stop()
        let stale = try client.request("GET", "/v1/cache/users/s")
        #expect(stale.header("X-Cache") == "STALE")
        #expect(stale.text == #"{"count":1}"#)

        cache.advance(seconds: 60)
        #expect(try client.request("GET", "/v1/cache/users/s").status == 502)
    }

    @Test func withoutStaleIfErrorAnOriginErrorIsRelayed() throws {
        let (origin, cache) = try setUp(ttl: 10)
        let client = try cache.client()
        _ = try client.request("GET", "/v1/cache/users/x")
        cache.advance(seconds: 11)
        origin.respond(status: 500, cacheControl: nil, body: "boom")
        let response = try client.request("GET", "/v1/cache/users/x")
        #expect(response.status == 500)
        #expect(response.text == "boom")
    }

    @Test func anUnknownOriginIsNotFound() throws {
        let (origin, cache) = try setUp()
        let client = try cache.client()
        for method in ["GET", "POST", "DELETE"] {
            let response = try client.request(method, "/v1/cache/orders/1")
            #expect(response.status == 404)
            #expect(response.json?["code"] == .string("NO_SUCH_ORIGIN"))
        }
        #expect(origin.count == 0)
        // No origins at all: every name is unknown.
        let bare = try TestServer()
        #expect(try bare.client().request("GET", "/v1/cache/users/1").json?["code"] == .string("NO_SUCH_ORIGIN"))
    }

    @Test func oddPathsAndQueriesReachTheOriginAndKeyTheEntry() throws {
        let (origin, cache) = try setUp()
        let client = try cache.client()
        let path = "/v1/cache/users/a%2Fb/c%20d/%C3%A9?q=1&tag=x%26y"
        #expect(try client.request("GET", path).header("X-Cache") == "MISS")
        #expect(origin.last?.segments == ["a/b", "c d", "é"])
        #expect(origin.last?.query == ["q": "1", "tag": "x&y"])
        #expect(cache.hash("cache:users:/a%2Fb/c%20d/%C3%A9?q=1&tag=x%26y")["status"] == "200")
        #expect(try client.request("GET", path).header("X-Cache") == "HIT")
        // Another query is another entry; spelling an unreserved byte encoded is the same one.
        #expect(try client.request("GET", "/v1/cache/users/a%2Fb/c%20d/%C3%A9?q=2&tag=x%26y").header("X-Cache") == "MISS")
        #expect(try client.request("GET", "/v1/cache/users/%7Euser").header("X-Cache") == "MISS")
        #expect(try client.request("GET", "/v1/cache/users/~user").header("X-Cache") == "HIT")
        #expect(origin.count == 3)
    }

    @Test func aKeyOfAnotherTypeIsReplaced() throws {
        let (origin, cache) = try setUp()
        defer { withExtendedLifetime(origin) {} }
        _ = cache.engine.execute(Command("SET", ["cache:users:/k", "not a hash"]))
        let client = try cache.client()
        let first = try client.request("GET", "/v1/cache/users/k")
        #expect(first.status == 200, "\(first.status) \(first.text)")
        #expect(first.header("X-Cache") == "MISS")
        #expect(try client.request("GET", "/v1/cache/users/k").header("X-Cache") == "HIT")
    }

    @Test func theCacheRoutesNeedTheToken() throws {
        let origin = try TestOrigin()
        let engine = Engine()
        var configuration = GatewayConfiguration(token: "secret")
        configuration.cache = CacheSettings(origins: [try CacheOrigin(name: "users", baseURL: origin.url, ttl: 60)])
        let gateway = Gateway(executor: engine, configuration: configuration)
        var http = HTTPServerConfiguration()
        http.port = 0
        let server = HTTPServer(configuration: http, router: gateway.makeRouter(), logger: quietTestLogger)
        try server.start()
        defer { server.stop() }
        let client = try TestHTTPClient(port: server.port)
        #expect(try client.request("GET", "/v1/cache/users/1").status == 401)
        #expect(try client.request("GET", "/v1/cache/users/1", headers: ["Authorization": "Bearer secret"]).status == 200)
        #expect(origin.count == 1)
    }
}

@Suite struct CacheSettingsTests {
    @Test func theFlagFormParses() throws {
        let origin = try CacheOrigin(flag: "users=http://127.0.0.1:9000/api/,ttl=3600,stale-if-error=600")
        #expect(origin.name == "users")
        #expect(origin.baseURL == "http://127.0.0.1:9000/api")
        #expect(origin.ttl == 3600)
        #expect(origin.staleIfError == 600)
        #expect(try CacheOrigin(flag: "users=http://127.0.0.1:9000").ttl == CacheOrigin.defaultTTL)
    }

    @Test func theDirectiveFormParses() throws {
        let origin = try CacheOrigin(directiveArguments: ["users", "http://127.0.0.1:9000", "ttl", "3600", "stale-if-error", "600"])
        #expect(origin == (try CacheOrigin(name: "users", baseURL: "http://127.0.0.1:9000", ttl: 3600, staleIfError: 600)))
    }

    @Test(arguments: [
        "users", "=http://127.0.0.1", "us/ers=http://127.0.0.1", "users=ftp://127.0.0.1", "users=http://",
        "users=http://127.0.0.1?x=1", "users=http://127.0.0.1,ttl=0", "users=http://127.0.0.1,ttl=-5",
        "users=http://127.0.0.1,ttl=ten", "users=http://127.0.0.1,stale-if-error=-1", "users=http://127.0.0.1,color=red",
        "users=http://127.0.0.1,ttl",
    ])
    func badFlagsAreRefused(_ flag: String) {
        #expect(throws: CacheOriginError.self) { try CacheOrigin(flag: flag) }
    }

    @Test func badDirectivesAreRefused() {
        for arguments in [["users"], ["users", "http://127.0.0.1", "ttl"], ["users", "http://127.0.0.1", "ttl", "99999999999999999999"]] {
            #expect(throws: CacheOriginError.self) { try CacheOrigin(directiveArguments: arguments) }
        }
    }

    @Test func aLaterDefinitionReplacesAnEarlierOne() throws {
        var settings = CacheSettings()
        settings.add(try CacheOrigin(flag: "users=http://127.0.0.1:1,ttl=5"))
        settings.add(try CacheOrigin(flag: "posts=http://127.0.0.1:2"))
        settings.add(try CacheOrigin(flag: "users=http://127.0.0.1:3,ttl=7"))
        #expect(settings.origins.map(\.name) == ["users", "posts"])
        #expect(settings.origins[0].ttl == 7)
    }
}
