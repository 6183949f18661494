import KeywayHTTP
import Testing

@Suite struct RouterTests {
    func router() -> Router {
        var router = Router()
        router.add("GET", "/v1/keys/{key}", { _, p in ok("key:" + text(p["key"]!)) })
        router.add("GET", "/v1/keys", { _, _ in ok("scan") })
        router.add("GET", "/{command}", { _, p in ok("cmd:" + text(p["command"]!)) })
        router.add("GET", "/{command}/{args...}", { _, p in ok("cmd:" + text(p["command"]!) + ":" + String(p.rest["args"]!.count)) })
        router.add("POST", "/pipeline", { _, _ in ok("pipeline") })
        return router
    }

    func body(_ match: Router.Match, _ request: HTTPRequest = HTTPRequest(method: "GET", rawPath: "/")) -> String? {
        guard case .found(let handler, let parameters, _) = match,
              case .response(let response) = handler(request, parameters) else { return nil }
        return text(response.body)
    }

    @Test func literalSegmentsWinOverParameters() {
        let r = router()
        #expect(body(r.match(method: "GET", segments: [Array("v1".utf8), Array("keys".utf8)])) == "scan")
        #expect(body(r.match(method: "GET", segments: [Array("v1".utf8), Array("keys".utf8), Array("a".utf8)])) == "key:a")
        #expect(body(r.match(method: "GET", segments: [Array("get".utf8), Array("a".utf8), Array("b".utf8)])) == "cmd:get:2")
        #expect(body(r.match(method: "GET", segments: [Array("ping".utf8)])) == "cmd:ping")
    }

    @Test func methodNotAllowedListsAllowedMethods() {
        guard case .methodNotAllowed(let allowed) = router().match(method: "DELETE", segments: [Array("pipeline".utf8)]) else {
            Issue.record("expected 405")
            return
        }
        #expect(allowed.contains("POST"))
    }

    @Test func unknownPathIsNotFound() {
        var r = Router()
        r.add("GET", "/healthz", { _, _ in ok("") })
        guard case .notFound = r.match(method: "GET", segments: [Array("nope".utf8)]) else {
            Issue.record("expected 404")
            return
        }
    }

    @Test func optionsReachesThePathsOptionsHandlerWithItsMethods() {
        var r = Router()
        let options: Router.OptionsHandler = { _, _, allowed in ok("options:" + allowed.joined(separator: ",")) }
        r.add("GET", "/v1/keys/{key}", { _, _ in ok("get") }, options: options)
        r.add("PUT", "/v1/keys/{key}", { _, _ in ok("put") })
        r.add("POST", "/pipeline", { _, _ in ok("pipeline") })
        let request = HTTPRequest(method: "OPTIONS", rawPath: "/")
        guard case .options(let handler, let parameters, let allowed) = r.match(method: "OPTIONS", segments: [Array("v1".utf8), Array("keys".utf8), Array("a".utf8)]),
              case .response(let response) = handler(request, parameters, allowed) else {
            Issue.record("expected the options handler")
            return
        }
        #expect(text(response.body) == "options:GET,HEAD,PUT,OPTIONS")
        #expect(r.allowedMethods(segments: [Array("v1".utf8), Array("keys".utf8), Array("a".utf8)]) == ["GET", "HEAD", "PUT", "OPTIONS"])
        // Without an options handler OPTIONS is a 405 like any missing method.
        guard case .methodNotAllowed(let methods) = r.match(method: "OPTIONS", segments: [Array("pipeline".utf8)]) else {
            Issue.record("expected 405")
            return
        }
        #expect(methods == ["POST"])
        #expect(r.allowedMethods(segments: [Array("nope".utf8)]) == nil)
    }

    @Test func routeListUsesOpenAPITemplates() {
        #expect(router().routeList == ["GET /v1/keys", "GET /v1/keys/{key}", "GET /{command}", "GET /{command}/{args}", "POST /pipeline"])
    }

    @Test func percentDecodingKeepsSlashesAndNulInsideSegments() {
        #expect(PercentDecoding.segments(ofPath: "/v1/keys/a%2Fb%00c") == [Array("v1".utf8), Array("keys".utf8), [97, 47, 98, 0, 99]])
        #expect(PercentDecoding.segments(ofPath: "/get/%FF%fe") == [Array("get".utf8), [0xFF, 0xFE]])
        #expect(PercentDecoding.segments(ofPath: "/") == [])
        #expect(PercentDecoding.segments(ofPath: "/a//b/") == [[97], [], [98]])
        #expect(PercentDecoding.decode(Array("a+b%20c".utf8), plusAsSpace: true) == Array("a b c".utf8))
        #expect(PercentDecoding.decode(Array("a+b".utf8)) == Array("a+b".utf8))
        // Malformed escapes stay literal instead of failing.
        #expect(PercentDecoding.decode(Array("%zz%4".utf8)) == Array("%zz%4".utf8))
    }
}
