import KeywayHTTP
import KeywayTestSupport
import Synchronization
import Testing

@Suite struct ServerTests {
    func echoRoutes(_ router: inout Router) {
        router.add("GET", "/healthz", { _, _ in ok("ok") })
        router.add("POST", "/echo", { request, _ in
            .response(HTTPResponse(status: 200, contentType: "application/octet-stream", body: request.body))
        })
        router.add("GET", "/segments/{rest...}", { request, p in
            ok(p.rest["rest"]!.map { $0.map { String($0) }.joined(separator: ",") }.joined(separator: "|"))
        })
        router.add("GET", "/query", { request, _ in
            ok(request.query.map { "\($0.name)=\(text($0.value))" }.joined(separator: "&"))
        })
    }

    @Test func keepAliveReusesOneConnection() throws {
        try withServer(routes: echoRoutes) { server in
            let client = try TestHTTPClient(port: server.port)
            for _ in 0..<50 {
                let response = try client.request("GET", "/healthz")
                #expect(response.status == 200)
                #expect(response.text == "ok")
                #expect(response.header("connection")?.lowercased() != "close")
            }
        }
    }

    @Test func pathSegmentsAreDecodedToRawBytes() throws {
        try withServer(routes: echoRoutes) { server in
            let client = try TestHTTPClient(port: server.port)
            let response = try client.request("GET", "/segments/a%2Fb/%00/%FF%20x")
            #expect(response.text == "97,47,98|0|255,32,120")
        }
    }

    @Test func queryValuesAreDecodedAndRepeatedNamesKept() throws {
        try withServer(routes: echoRoutes) { server in
            let client = try TestHTTPClient(port: server.port)
            let response = try client.request("GET", "/query?channel=a&channel=b%2Fc&x=1+2&flag")
            #expect(response.text == "channel=a&channel=b/c&x=1 2&flag=")
        }
    }

    @Test func bodiesAreAccumulatedAcrossChunks() throws {
        try withServer(routes: echoRoutes) { server in
            let client = try TestHTTPClient(port: server.port)
            let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let response = try client.request("POST", "/echo", body: payload)
            #expect(response.status == 200)
            #expect(response.body == payload)
        }
    }

    @Test func oversizeBodyIsRefusedWith413() throws {
        try withServer(maxBody: 1024, routes: echoRoutes) { server in
            let client = try TestHTTPClient(port: server.port)
            let response = try client.request("POST", "/echo", body: [UInt8](repeating: 65, count: 4096))
            #expect(response.status == 413)
            #expect(response.header("content-type") == "application/problem+json")
            #expect(response.text.contains("PAYLOAD_TOO_LARGE"))
            // A body at the limit still passes, on a fresh connection.
            let second = try TestHTTPClient(port: server.port)
            #expect(try second.request("POST", "/echo", body: [UInt8](repeating: 66, count: 1024)).status == 200)
        }
    }

    /// A client that sends its whole oversize body (no `Expect:
    /// 100-continue`) reads the 413 rather than a reset: the body is read
    /// and dropped.
    @Test func aClientSendingAWholeOversizeBodyReadsThe413() throws {
        try withServer(maxBody: 1 << 20, routes: echoRoutes) { server in
            let client = try TestHTTPClient(port: server.port)
            let body = [UInt8](repeating: 65, count: 8 << 20)
            try client.write(Array("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
            let response = try client.readResponse()
            #expect(response.status == 413)
            #expect(response.text.contains("PAYLOAD_TOO_LARGE"))
        }
    }

    /// RFC 9112 6.3: Content-Length and Transfer-Encoding together are refused.
    @Test func bothFramingHeadersAreRefused() throws {
        try withServer(routes: echoRoutes) { server in
            let client = try TestHTTPClient(port: server.port)
            try client.write(Array("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".utf8))
            let response = try client.readResponse()
            #expect(response.status == 400)
            #expect(response.text.contains("BAD_FRAMING"))
        }
    }

    @Test func chunkedBodyOverTheLimitIsRefused() throws {
        try withServer(maxBody: 1024, routes: echoRoutes) { server in
            let client = try TestHTTPClient(port: server.port)
            var raw = Array("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            for _ in 0..<4 { raw += Array("400\r\n".utf8) + [UInt8](repeating: 67, count: 1024) + Array("\r\n".utf8) }
            raw += Array("0\r\n\r\n".utf8)
            try client.write(raw)
            #expect(try client.readResponse().status == 413)
        }
    }

    @Test func unknownRouteAndWrongMethodGetProblems() throws {
        try withServer(routes: echoRoutes) { server in
            let client = try TestHTTPClient(port: server.port)
            let missing = try client.request("GET", "/nope")
            #expect(missing.status == 404)
            #expect(missing.text.contains("\"code\":\"NOT_FOUND\""))
            let wrong = try client.request("DELETE", "/echo")
            #expect(wrong.status == 405)
            #expect(wrong.header("allow") == "POST")
        }
    }

    @Test func headIsAnsweredLikeGetWithoutBody() throws {
        try withServer(routes: echoRoutes) { server in
            let client = try TestHTTPClient(port: server.port)
            let response = try client.request("HEAD", "/healthz")
            #expect(response.status == 200)
            #expect(response.body.isEmpty)
            // The length the GET's body would have (RFC 9110, 9.3.2), not 0.
            #expect(response.header("content-length") == "2")
            #expect(try client.request("GET", "/healthz").text == "ok")
        }
    }

    /// A fixed route is answered from the path as sent, without routing:
    /// the answers must be those the router gives a route of the same
    /// response (HEAD, a query, other methods, the header limit, counters).
    @Test func fixedRoutesAnswerAsRoutedOnesDo() throws {
        let probe = HTTPResponse(status: 200, contentType: "application/json", body: Array(#"{"status":"ok"}"#.utf8))
        var statistics: [RouteStatistics] = []
        try withServer(routes: { router in
            router.add(fixed: probe, at: "/probe")
            router.add("GET", "/routed", { _, _ in .response(probe) })
            statistics = router.statistics
        }) { server in
            let client = try TestHTTPClient(port: server.port)
            for path in ["/probe", "/routed"] {
                let get = try client.request("GET", path)
                #expect(get.status == 200)
                #expect(get.text == #"{"status":"ok"}"#)
                #expect(get.header("content-type") == "application/json")
                let head = try client.request("HEAD", path)
                #expect(head.status == 200)
                #expect(head.body.isEmpty)
                #expect(head.header("content-length") == String(probe.body.count))
                #expect(try client.request("GET", path + "?verbose=1").text == #"{"status":"ok"}"#)
                let post = try client.request("POST", path)
                #expect(post.status == 405)
                #expect(post.header("allow") == "GET, HEAD")
                let crowded = try TestHTTPClient(port: server.port)
                #expect(try crowded.request("GET", path, headers: ["X-Padding": String(repeating: "p", count: 6760)]).status == 431)
            }
            #expect(try client.request("GET", "/probe/extra").status == 404)
            #expect(statistics.map { $0.responses(statusClass: 2) } == [3, 3])
        }
    }

    @Test func invalidBindAddressIsReported() {
        var configuration = HTTPServerConfiguration()
        configuration.bindAddress = "not-an-address"
        let server = HTTPServer(configuration: configuration, router: Router())
        #expect(throws: HTTPServerError.self) { try server.start() }
    }
}
