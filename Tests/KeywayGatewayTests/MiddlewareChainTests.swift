import Foundation
import KeywayEngine
@testable import KeywayGateway
import KeywayHTTP
import Synchronization
import Testing

/// The middleware chain and the router's own answers, driven in-process:
/// no socket, the same `Router.respond(to:)` path the server runs.
@Suite struct MiddlewareChainTests {
    static let bearer = ["Authorization": "Bearer s3cret"]

    @Test func eachFaceRefusesWithoutTheTokenInItsOwnShape() throws {
        let keyway = InProcessGateway(configuration: GatewayConfiguration(token: "s3cret"))
        let command = try #require(keyway.send("POST", "/", body: #"["PING"]"#))
        #expect(command.status == 401)
        #expect(command.headerValue("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        #expect(command.jsonBody?["error"] == .string("Unauthorized: missing bearer token"))
        let resource = try #require(keyway.send("GET", "/v1/keys/a", headers: ["Authorization": "Bearer nope"]))
        #expect(resource.status == 401)
        #expect(resource.headerValue("Content-Type") == "application/problem+json")
        #expect(resource.jsonBody?["code"] == .string("UNAUTHORIZED"))
        #expect(resource.jsonBody?["detail"] == .string("invalid token"))
        // The query token stands in for the header on the command API only.
        #expect(keyway.send("GET", "/ping?_token=s3cret")?.status == 200)
        #expect(keyway.send("GET", "/v1/keys/a?_token=s3cret")?.status == 401)
        #expect(keyway.send("GET", "/v1/keys/a", headers: Self.bearer)?.status == 404)
        // Probes run no middleware at all.
        #expect(keyway.send("GET", "/healthz")?.status == 200)
    }

    /// An empty credential never matches a password. A token configured
    /// empty is Redis's `requirepass ""`: no password at all (protected
    /// mode keeps such a server on loopback).
    @Test func anEmptyTokenNeverAuthenticates() throws {
        let keyway = InProcessGateway(configuration: GatewayConfiguration(token: ""))
        #expect(keyway.send("GET", "/ping?_token=")?.status == 200)
        #expect(keyway.send("GET", "/v1/keys/a", headers: ["Authorization": "Bearer "])?.status == 401)
        let strict = InProcessGateway(configuration: GatewayConfiguration(token: "s3cret"))
        #expect(strict.send("GET", "/ping?_token=")?.status == 401)
    }

    /// `allow-query-token no`: only the header authenticates.
    @Test func theQueryTokenCanBeTurnedOff() throws {
        var configuration = GatewayConfiguration(token: "s3cret")
        configuration.allowQueryToken = false
        let keyway = InProcessGateway(configuration: configuration)
        #expect(keyway.send("GET", "/ping?_token=s3cret")?.status == 401)
        #expect(keyway.send("GET", "/ping", headers: Self.bearer)?.status == 200)
    }

    /// The query token reaches neither MONITOR nor a command's arguments.
    @Test func theQueryTokenStaysOutOfMonitor() throws {
        let keyway = InProcessGateway(configuration: GatewayConfiguration(token: "s3cret"))
        let watcher = RecordingWatcher()
        let subscription = keyway.engine.monitor(watcher)
        defer { subscription.cancel() }
        #expect(keyway.send("GET", "/set/k/v?_token=s3cret")?.status == 200)
        #expect(keyway.send("POST", "/?_token=s3cret", body: #"["GET","k"]"#)?.status == 200)
        let seen = watcher.commands.withLock { $0 }
        #expect(seen.count == 2)
        #expect(!seen.contains { $0.arguments.contains { $0.text.contains("s3cret") } })
    }

    @Test func theRateLimitRunsBeforeAuthenticationSoRefusalsCount() throws {
        var configuration = GatewayConfiguration(token: "s3cret")
        configuration.rateLimit = GatewayRateLimit(limit: 2, windowSeconds: 60)
        let keyway = InProcessGateway(configuration: configuration)
        let first = try #require(keyway.send("GET", "/v1/keys/a", from: "10.0.0.9"))
        #expect(first.status == 401)
        #expect(first.headerValue("RateLimit-Remaining") == "1")
        #expect(keyway.send("GET", "/v1/keys/a", from: "10.0.0.9")?.status == 401)
        let third = try #require(keyway.send("GET", "/v1/keys/a", from: "10.0.0.9"))
        #expect(third.status == 429)
        #expect(third.jsonBody?["code"] == .string("RATE_LIMITED"))
        // Another address has its own budget.
        #expect(keyway.send("GET", "/v1/keys/a", from: "10.0.0.10")?.status == 401)
    }

    @Test func theRouterAnswers404And405AsProblems() throws {
        let keyway = InProcessGateway()
        let missing = try #require(keyway.send("GET", "/v1/nothing"))
        #expect(missing.status == 404)
        #expect(missing.jsonBody?["code"] == .string("NOT_FOUND"))
        #expect(missing.jsonBody?["title"] == .string("Not Found"))
        let wrongMethod = try #require(keyway.send("PATCH", "/v1/keys/a"))
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.jsonBody?["code"] == .string("METHOD_NOT_ALLOWED"))
        #expect(wrongMethod.headerValue("Allow")?.contains("GET") == true)
    }

    @Test func oneErrorTableServesBothFaces() throws {
        let keyway = InProcessGateway()
        _ = keyway.engine.execute(Command("LPUSH", ["q", "job"]))
        // The same WRONGTYPE: 409 on the resource API, 400 on the command API.
        let resource = try #require(keyway.send("GET", "/v1/keys/q"))
        #expect(resource.status == 409)
        #expect(resource.jsonBody?["code"] == .string("WRONGTYPE"))
        let command = try #require(keyway.send("POST", "/", body: #"["GET","q"]"#))
        #expect(command.status == 400)
        #expect(command.jsonBody?["error"]?.stringValue?.hasPrefix("WRONGTYPE") == true)
        for code in [ErrorCode.loading, .busy, .outOfMemory] {
            #expect(ErrorStatus.status(for: code, face: .resource) == 503)
            #expect(ErrorStatus.status(for: code, face: .command) == 503)
        }
        #expect(ErrorStatus.status(for: .noSuchKey, face: .resource) == 404)
        #expect(ErrorStatus.status(for: .noSuchKey, face: .command) == 400)
    }

    /// MONITOR names the sender of every command, resource requests included.
    @Test func resourceRequestsCarryTheirClientToTheEngine() throws {
        let keyway = InProcessGateway()
        let watcher = RecordingWatcher()
        let subscription = keyway.engine.monitor(watcher)
        defer { subscription.cancel() }
        #expect(keyway.send("PUT", "/v1/hashes/user:1", body: #"{"fields":{"name":"Ada"}}"#, from: "10.1.2.3")?.status == 201)
        #expect(keyway.send("GET", "/v1/keys/user:1", from: "10.1.2.4")?.status == 409)
        let seen = watcher.commands.withLock { $0 }
        #expect(!seen.isEmpty)
        let hset = try #require(seen.first { $0.arguments.first?.text.uppercased() == "HSET" })
        #expect(hset.client == "10.1.2.3")
        let get = try #require(seen.first { $0.arguments.first?.text.uppercased() == "GET" })
        #expect(get.client == "10.1.2.4")
    }

    /// Deleting a hash is type-checked in the engine: another type is 409
    /// and stays, as one command (no check-then-act).
    @Test func typedDeleteRefusesAnotherTypeAndLeavesIt() throws {
        let keyway = InProcessGateway()
        _ = keyway.engine.execute(Command("SET", ["plain", "v"]))
        _ = keyway.engine.execute(Command("HSET", ["h", "f", "v"]))
        let refused = try #require(keyway.send("DELETE", "/v1/hashes/plain"))
        #expect(refused.status == 409)
        #expect(refused.jsonBody?["code"] == .string("WRONGTYPE"))
        #expect(keyway.engine.execute(Command("GET", ["plain"])) == .bulk("v"))
        #expect(keyway.send("DELETE", "/v1/hashes/h")?.status == 204)
        #expect(keyway.engine.execute(Command("EXISTS", ["h"])) == .integer(0))
        #expect(keyway.send("DELETE", "/v1/hashes/h")?.jsonBody?["code"] == .string("NO_SUCH_KEY"))
    }

    @Test func aMiddlewareCanAnswerPassOnOrChangeTheResponse() throws {
        struct Tagging: Middleware {
            let tag: String
            func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
                guard case .response(var response) = next(context) else { return next(context) }
                response.headers.append(("X-Trace", tag))
                return .response(response)
            }
        }
        struct Refusing: Middleware {
            func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
                .response(context.refusal(403, code: "NOPE", message: "refused"))
            }
        }
        let keyway = InProcessGateway()
        let context = RequestContext(request: HTTPRequest(method: "GET", target: "/x"), parameters: RouteParameters(),
                                     face: .resource, gateway: keyway.gateway)
        let calls = Mutex(0)
        let endpoint: (RequestContext) -> HTTPResult = { _ in
            calls.withLock { $0 += 1 }
            return .response(HTTPResponse(status: 200))
        }
        let passed = MiddlewareChain(middleware: [Tagging(tag: "outer"), Tagging(tag: "inner")]).run(context, endpoint: endpoint)
        guard case .response(let response) = passed else { Issue.record("expected a response"); return }
        #expect(response.headers.filter { $0.0 == "X-Trace" }.map(\.1) == ["inner", "outer"])
        let refused = MiddlewareChain(middleware: [Tagging(tag: "outer"), Refusing()]).run(context, endpoint: endpoint)
        guard case .response(let refusal) = refused else { Issue.record("expected a response"); return }
        #expect(refusal.status == 403)
        #expect(calls.withLock { $0 } == 1)
    }

    @Test func aReplyOfAnUnexpectedShapeIsA500NotACrash() throws {
        var batch = CommandBatch()
        let count = batch.integer("GET", ["k"])
        let replies = BatchReplies(replies: [.bulk("not a number")])
        #expect(throws: HTTPResponse.self) { try replies[count] }
        do { _ = try replies[count] } catch { #expect(error.status == 500) }
    }
}

final class RecordingWatcher: CommandWatcher {
    let commands = Mutex<[MonitoredCommand]>([])
    func observe(_ command: MonitoredCommand) { commands.withLock { $0.append(command) } }
}
