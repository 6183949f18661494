import KeywayEngine
import KeywayGateway
import KeywayHTTP
import KeywayTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Blocking list pops over HTTP: parked connections served by pushes,
/// deadlines, fairness, vanished clients, and scale without a thread each.
@Suite struct BlockingTests {
    /// Waits (up to 20 s on a loaded machine) until `count` requests are parked.
    func waitForBlocked(_ server: TestServer, _ count: Int) -> Bool {
        for _ in 0..<4000 {
            if server.engine.blockedClientCount == count { return true }
            usleep(5_000)
        }
        return false
    }

    @Test func aPushServesAClientParkedOnAnotherConnection() throws {
        let server = try TestServer()
        let worker = try server.client()
        try worker.send("POST", "/", headers: ["Content-Type": "application/json"], body: Array(#"["BRPOP","queue:emails","30"]"#.utf8))
        #expect(waitForBlocked(server, 1))
        let producer = try server.client()
        #expect(try producer.request("POST", "/", json: #"["LPUSH","queue:emails","{\"to\":\"a@b.c\"}"]"#).json?["result"] == .number("1"))
        let served = try worker.readResponse()
        #expect(served.status == 200)
        #expect(served.json?["result"] == .array([.string("queue:emails"), .string(#"{"to":"a@b.c"}"#)]))
        #expect(try producer.request("GET", "/llen/queue:emails").json?["result"] == .number("0"))
        // The worker's connection carries on after being served.
        #expect(try worker.request("GET", "/ping").json?["result"] == .string("PONG"))
    }

    @Test func theDeadlineEndsTheWaitWithNil() throws {
        let clock = ManualClock()
        let server = try TestServer(clock: clock)
        let worker = try server.client()
        try worker.send("POST", "/", headers: ["Content-Type": "application/json"], body: Array(#"["BLPOP","jobs","1.5"]"#.utf8))
        #expect(waitForBlocked(server, 1))
        clock.advance(milliseconds: 1499)
        server.engine.expireBlockedClients()
        #expect(server.engine.blockedClientCount == 1)
        clock.advance(milliseconds: 1)
        server.engine.expireBlockedClients()
        let response = try worker.readResponse()
        #expect(response.status == 200)
        #expect(response.json?["result"] == .null)
        #expect(server.engine.blockedClientCount == 0)
    }

    @Test func aRealTimeoutFiresWithoutHelp() throws {
        let server = try TestServer()
        let worker = try server.client()
        let response = try worker.request("POST", "/v1/lists/nothing/pop?timeout=0.2")
        #expect(response.status == 204)
        #expect(server.engine.blockedClientCount == 0)
    }

    @Test func waitersAreServedFirstComeFirstServed() throws {
        let server = try TestServer()
        let waiters = try (0..<3).map { _ in try server.client() }
        for (index, waiter) in waiters.enumerated() {
            try waiter.send("POST", "/", headers: ["Content-Type": "application/json"], body: Array(#"["BLPOP","fifo","0"]"#.utf8))
            #expect(waitForBlocked(server, index + 1))
        }
        _ = try server.client().request("POST", "/", json: #"["RPUSH","fifo","first","second","third"]"#)
        let got = try waiters.map { try $0.readResponse().json?["result"]?.arrayValue?.last?.stringValue }
        #expect(got == ["first", "second", "third"])
    }

    @Test func aVanishedWaiterDoesNotSwallowTheElement() throws {
        let server = try TestServer()
        let leaving = try server.client()
        try leaving.send("POST", "/", headers: ["Content-Type": "application/json"], body: Array(#"["BLPOP","q","0"]"#.utf8))
        #expect(waitForBlocked(server, 1))
        let staying = try server.client()
        try staying.send("POST", "/", headers: ["Content-Type": "application/json"], body: Array(#"["BLPOP","q","0"]"#.utf8))
        #expect(waitForBlocked(server, 2))
        leaving.disconnect()
        usleep(50_000)
        _ = try server.client().request("POST", "/", json: #"["RPUSH","q","precious"]"#)
        #expect(try staying.readResponse().json?["result"] == .array([.string("q"), .string("precious")]))
        // Nobody else waits: the next element stays in the list.
        #expect(waitForBlocked(server, 0))
        _ = try server.client().request("POST", "/", json: #"["RPUSH","q","kept"]"#)
        #expect(try server.client().request("GET", "/lrange/q/0/-1").json?["result"] == .array([.string("kept")]))
    }

    @Test func aLoneVanishedWaiterLeavesTheElementInTheList() throws {
        let server = try TestServer()
        let leaving = try server.client()
        try leaving.send("POST", "/v1/lists/solo/pop?timeout=0")
        #expect(waitForBlocked(server, 1))
        leaving.disconnect()
        usleep(50_000)
        _ = try server.client().request("POST", "/", json: #"["RPUSH","solo","x"]"#)
        #expect(try server.client().request("GET", "/llen/solo").json?["result"] == .number("1"))
    }

    @Test func resourcePopWithTimeoutIsServedByAPush() throws {
        let server = try TestServer()
        let worker = try server.client()
        try worker.send("POST", "/v1/lists/tasks/pop?end=left&timeout=10")
        #expect(waitForBlocked(server, 1))
        let push = try server.client().request("POST", "/v1/lists/tasks", json: #"{"values":["t1","t2"]}"#)
        #expect(push.json?["length"] == .number("2"))
        let served = try worker.readResponse()
        #expect(served.status == 200)
        #expect(served.json?["value"] == .string("t1"))
        #expect(try server.client().request("GET", "/v1/lists/tasks").json?["values"] == .array([.string("t2")]))
    }

    @Test func blockingCommandsDoNotBlockInsideTransactionsOrPipelines() throws {
        let server = try TestServer()
        let client = try server.client()
        let multi = try client.request("POST", "/multi-exec", json: #"[["BLPOP","none","0"],["PING"]]"#)
        #expect(multi.json == .array([.object([("result", .null)]), .object([("result", .string("PONG"))])]))
        let pipeline = try client.request("POST", "/pipeline", json: #"[["BRPOP","none","0"]]"#)
        #expect(pipeline.json == .array([.object([("result", .null)])]))
        #expect(server.engine.blockedClientCount == 0)
    }

    @Test func aThousandParkedPopsHoldNoThreads() throws {
        // Two descriptors per parked request (client and server side) in one
        // process whose other suites run meanwhile: at the limit the daemon
        // stops accepting until a connection closes, and none of these do.
        // So as many as the hard limit allows, not just enough for this test.
        System.raiseOpenFileLimit(to: 65_536)
        let server = try TestServer()
        let count = 1000
        let waiters = try (0..<count).map { _ in try server.client() }
        for waiter in waiters {
            try waiter.send("POST", "/", headers: ["Content-Type": "application/json"], body: Array(#"["BLPOP","many","0"]"#.utf8))
        }
        #expect(waitForBlocked(server, count))
        // Two worker threads, a thousand parked requests, and the server still answers.
        #expect(try server.client().request("GET", "/ping").json?["result"] == .string("PONG"))
        let elements = (0..<count).map { "\"e\($0)\"" }.joined(separator: ",")
        _ = try server.client().request("POST", "/", json: "[\"RPUSH\",\"many\",\(elements)]")
        var received = Set<String>()
        for waiter in waiters {
            if let value = try waiter.readResponse().json?["result"]?.arrayValue?.last?.stringValue { received.insert(value) }
        }
        #expect(received.count == count)
        #expect(server.engine.blockedClientCount == 0)
    }
}
