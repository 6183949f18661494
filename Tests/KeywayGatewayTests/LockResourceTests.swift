import Dispatch
import KeywayEngine
import KeywayGateway
import KeywayHTTP
import KeywayTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `/v1/locks/{name}` over HTTP: acquire, 409 when held, parked waiters
/// served in order, compare-and-delete and extend by token, fencing.
@Suite struct LockResourceTests {
    func waitForBlocked(_ server: TestServer, _ count: Int) -> Bool {
        for _ in 0..<4000 {
            if server.engine.blockedClientCount == count { return true }
            usleep(5_000)
        }
        return false
    }

    func acquire(_ client: TestHTTPClient, _ name: String = "orders", _ json: String = #"{"ttl":30}"#) throws -> TestHTTPClient.Response {
        try client.request("POST", "/v1/locks/\(name)", json: json)
    }

    @Test func acquireHoldReleaseAndFencing() throws {
        let server = try TestServer()
        let client = try server.client()
        let first = try acquire(client)
        #expect(first.status == 201)
        #expect(first.json?["fencing"] == .number("1"))
        #expect(first.json?["ttl"] == .number("30"))
        let token = try #require(first.json?["token"]?.stringValue)
        #expect(token.count == 22)
        // The plain Redis view: lock:{name} holds the token with a PX TTL.
        #expect(try client.request("GET", "/get/lock:orders").json?["result"] == .string(token))
        #expect(try client.request("GET", "/pttl/lock:orders").json?["result"]?.numberText.flatMap { Int($0) }.map { $0 > 29_000 } == true)

        let held = try acquire(client)
        #expect(held.status == 409)
        #expect(held.json?["code"] == .string("LOCK_HELD"))

        let status = try client.request("GET", "/v1/locks/orders")
        #expect(status.json?["held"] == .bool(true))
        #expect(status.json?["fencing"] == .number("1"))
        #expect(status.json?["token"] == nil)

        let wrong = try client.request("DELETE", "/v1/locks/orders", json: #"{"token":"not-mine"}"#)
        #expect(wrong.status == 412)
        #expect(wrong.json?["code"] == .string("CONDITION_NOT_MET"))
        #expect(try client.request("DELETE", "/v1/locks/orders", headers: ["If-Match": "\"\(token)\""]).status == 204)
        #expect(try client.request("DELETE", "/v1/locks/orders", json: #"{"token":"\#(token)"}"#).json?["code"] == .string("NO_SUCH_LOCK"))
        #expect(try client.request("GET", "/v1/locks/orders").json?["held"] == .bool(false))

        let again = try acquire(client)
        #expect(again.json?["fencing"] == .number("2"))
        #expect(try client.request("GET", "/v1/locks/orders").json?["fencing"] == .number("2"))
    }

    @Test func extendByToken() throws {
        let server = try TestServer()
        let client = try server.client()
        let token = try #require(try acquire(client, "x", #"{"ttl":5}"#).json?["token"]?.stringValue)
        let extended = try client.request("PATCH", "/v1/locks/x", json: #"{"token":"\#(token)","ttl":120}"#)
        #expect(extended.status == 200)
        #expect(extended.json?["ttl"] == .number("120"))
        #expect(extended.json?["fencing"] == .number("1"))
        #expect(try client.request("GET", "/ttl/lock:x").json?["result"] == .number("120"))
        #expect(try client.request("PATCH", "/v1/locks/x", json: #"{"token":"other","ttl":120}"#).status == 412)
        #expect(try client.request("PATCH", "/v1/locks/none", json: #"{"token":"other","ttl":120}"#).status == 404)
        #expect(try client.request("PATCH", "/v1/locks/x", json: #"{"token":"\#(token)"}"#).status == 400)
    }

    @Test func waitersAreParkedAndServedInOrder() throws {
        let server = try TestServer()
        let owner = try server.client()
        let token = try #require(try acquire(owner).json?["token"]?.stringValue)
        var waiters: [TestHTTPClient] = []
        for index in 0..<3 {
            let waiter = try server.client()
            try waiter.send("POST", "/v1/locks/orders", headers: ["Content-Type": "application/json"], body: Array(#"{"ttl":30,"wait":30}"#.utf8))
            #expect(waitForBlocked(server, index + 1))
            waiters.append(waiter)
        }
        var previous = token
        for (index, waiter) in waiters.enumerated() {
            #expect(try owner.request("DELETE", "/v1/locks/orders", json: #"{"token":"\#(previous)"}"#).status == 204)
            let served = try waiter.readResponse()
            #expect(served.status == 201)
            #expect(served.json?["fencing"] == .number(String(index + 2)))
            previous = try #require(served.json?["token"]?.stringValue)
            #expect(server.engine.blockedClientCount == waiters.count - index - 1)
        }
    }

    @Test func aLapsedLockGoesToTheWaiterAndAWaitCanTimeOut() throws {
        let clock = ManualClock()
        let server = try TestServer(clock: clock)
        let client = try server.client()
        #expect(try acquire(client, "l", #"{"ttl":1}"#).status == 201)
        let waiter = try server.client()
        try waiter.send("POST", "/v1/locks/l", headers: ["Content-Type": "application/json"], body: Array(#"{"wait":10}"#.utf8))
        #expect(waitForBlocked(server, 1))
        clock.advance(milliseconds: 1001)
        server.engine.expireBlockedClients()
        let served = try waiter.readResponse()
        #expect(served.status == 201)
        #expect(served.json?["fencing"] == .number("2"))

        let late = try server.client()
        try late.send("POST", "/v1/locks/l", headers: ["Content-Type": "application/json"], body: Array(#"{"wait":2}"#.utf8))
        #expect(waitForBlocked(server, 1))
        clock.advance(milliseconds: 2000)
        server.engine.expireBlockedClients()
        let timedOut = try late.readResponse()
        #expect(timedOut.status == 409)
        #expect(timedOut.json?["code"] == .string("LOCK_HELD"))
    }

    /// Many HTTP clients contend with waits: holders never overlap and
    /// fencing numbers strictly increase in the order locks are held.
    @Test func oneHolderAtATimeOverHTTP() throws {
        let server = try TestServer()
        let holders = Atomic<Int>(0)
        let record = Mutex<(fencings: [Int64], problems: [String])>(([], []))
        let workers = 6, rounds = 10
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            guard let client = try? server.client() else { record.withLock { $0.problems.append("connect") }; return }
            for _ in 0..<rounds {
                guard let response = try? acquire(client, "hot", #"{"ttl":60,"wait":60}"#), response.status == 201,
                      let token = response.json?["token"]?.stringValue,
                      let fencing = response.json?["fencing"]?.numberText.flatMap({ Int64($0) }) else {
                    record.withLock { $0.problems.append("acquire") }
                    continue
                }
                if holders.add(1, ordering: .sequentiallyConsistent).newValue != 1 { record.withLock { $0.problems.append("overlap") } }
                record.withLock { $0.fencings.append(fencing) }
                holders.subtract(1, ordering: .sequentiallyConsistent)
                if (try? client.request("DELETE", "/v1/locks/hot", json: #"{"token":"\#(token)"}"#))?.status != 204 {
                    record.withLock { $0.problems.append("release") }
                }
            }
        }
        let (fencings, problems) = record.withLock { ($0.fencings, $0.problems) }
        #expect(problems.isEmpty)
        #expect(fencings == Array(1...Int64(workers * rounds)))
    }

    @Test func badInput() throws {
        let server = try TestServer()
        let client = try server.client()
        let bodies = [
            #"{"ttl":"#, #"[]"#, #"{"ttl":0}"#, #"{"ttl":-1}"#, #"{"ttl":"30"}"#, #"{"ttl":1e300}"#, #"{"ttl":86401}"#,
            #"{"ttl":0.0001}"#, #"{"wait":-1}"#, #"{"wait":"5"}"#, #"{"wait":301}"#, #"{"ttl":true}"#,
        ]
        for body in bodies {
            let response = try client.request("POST", "/v1/locks/n", json: body)
            #expect(response.status == 400, "body \(body)")
            #expect(response.header("Content-Type") == "application/problem+json")
        }
        for name in ["a%2Fb", "a%00b", "%FF%FE", "a%0Ab", String(repeating: "x", count: 257), "orders:fencing"] {
            #expect(try client.request("POST", "/v1/locks/\(name)", json: "{}").status == 400, "name \(name)")
            #expect(try client.request("GET", "/v1/locks/\(name)").status == 400, "name \(name)")
        }
        #expect(try client.request("POST", "/v1/locks/a/b", json: "{}").status == 404)
        #expect(try client.request("DELETE", "/v1/locks/n").status == 400)
        #expect(try client.request("DELETE", "/v1/locks/n", json: #"{"token":5}"#).status == 400)
        #expect(try client.request("DELETE", "/v1/locks/n", json: #"{"token":""}"#).status == 400)
        // An empty body takes the defaults: 30 s, no wait.
        let defaults = try client.request("POST", "/v1/locks/n")
        #expect(defaults.status == 201)
        #expect(defaults.json?["ttl"] == .number("30"))
        // A counter broken by hand is reported, not reset.
        _ = try client.request("POST", "/", json: #"["SET","lock:z:fencing","abc"]"#)
        #expect(try client.request("POST", "/v1/locks/z", json: "{}").json?["code"] == .string("NOT_INTEGER"))
    }
}
