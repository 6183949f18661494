import KeywayEngine
import KeywayGateway
import KeywayHTTP
import KeywayTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// CLIENT over real HTTP connections: each keep-alive connection is one
/// client, parked requests and event streams show their flags, SETNAME
/// sticks to the connection, CLIENT KILL closes it.
@Suite struct ClientListTests {
    /// Sends one command on `client`'s connection and returns the reply's JSON.
    func command(_ client: TestHTTPClient, _ words: String...) throws -> TestHTTPClient.Response {
        let body = "[" + words.map { "\"\($0)\"" }.joined(separator: ",") + "]"
        return try client.request("POST", "/", json: body)
    }

    func clientID(_ client: TestHTTPClient) throws -> Int {
        Int(try command(client, "CLIENT", "ID").json?["result"]?.numberText ?? "") ?? -1
    }

    /// CLIENT LIST's lines as `field → value`, keyed by id.
    func list(_ client: TestHTTPClient, _ extra: String...) throws -> [Int: [String: String]] {
        let body = "[" + (["CLIENT", "LIST"] + extra).map { "\"\($0)\"" }.joined(separator: ",") + "]"
        let text = try client.request("POST", "/", json: body).json?["result"]?.stringValue ?? ""
        var clients: [Int: [String: String]] = [:]
        for line in text.split(separator: "\n") {
            var fields: [String: String] = [:]
            for pair in line.split(separator: " ") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                fields[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            if let id = fields["id"].flatMap({ Int($0) }) { clients[id] = fields }
        }
        return clients
    }

    /// Polls (bounded) until `condition` holds.
    func eventually(_ condition: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<400 {
            if try condition() { return true }
            usleep(5_000)
        }
        return false
    }

    func waitForBlocked(_ server: TestServer, _ count: Int) -> Bool {
        eventually { server.engine.blockedClientCount == count }
    }

    /// Opens a pub/sub event stream on `client` and reads its greeting.
    func subscribe(_ client: TestHTTPClient, _ query: String) throws {
        try client.send("GET", "/v1/subscribe?\(query)")
        #expect(try client.readResponse().status == 200)
        _ = try client.readStream(until: "event: subscribe")
    }

    @Test func everyConnectionIsListedWithItsFlags() throws {
        let server = try TestServer()
        // IDs follow the order the server accepts connections in; two
        // connections opened back to back may be accepted by different
        // HTTP threads in either order, so `idle` connects only once the
        // caller has been served.
        let caller = try server.client()
        let callerID = try clientID(caller)
        let idle = try server.client()
        let idleID = try clientID(idle)
        let worker = try server.client(), listener = try server.client(), watcher = try server.client()
        let workerID = try clientID(worker), listenerID = try clientID(listener), watcherID = try clientID(watcher)
        #expect(Set([callerID, idleID, workerID, listenerID, watcherID]).count == 5)
        #expect(callerID > 0 && idleID > callerID)

        try worker.send("POST", "/", headers: ["Content-Type": "application/json"], body: Array(#"["BLPOP","jobs","30"]"#.utf8))
        #expect(waitForBlocked(server, 1))
        try subscribe(listener, "channel=news&channel=sport&pattern=weather.*")
        try watcher.send("GET", "/v1/monitor")
        #expect(try watcher.readResponse().status == 200)
        _ = try watcher.readStream(until: "event: monitor")

        let clients = try list(caller)
        #expect(Set(clients.keys) == Set([callerID, idleID, workerID, listenerID, watcherID]))
        #expect(clients[callerID]?["flags"] == "N")
        #expect(clients[callerID]?["cmd"] == "client|list")
        #expect(clients[callerID]?["laddr"] == "127.0.0.1:\(server.port)")
        #expect(clients[callerID]?["addr"]?.hasPrefix("127.0.0.1:") == true)
        #expect(clients[callerID]?["db"] == "0")
        #expect(clients[idleID]?["flags"] == "N")
        #expect(clients[workerID]?["flags"] == "b")
        #expect(clients[workerID]?["cmd"] == "blpop")
        #expect(clients[listenerID]?["flags"] == "P")
        #expect(clients[listenerID]?["sub"] == "2")
        #expect(clients[listenerID]?["psub"] == "1")
        #expect(clients[listenerID]?["cmd"] == "GET:/v1/subscribe")
        #expect(clients[watcherID]?["flags"] == "O")
        // Two distinct sockets on the server's side.
        #expect(clients[callerID]?["fd"] != clients[idleID]?["fd"])

        #expect(Set(try list(caller, "TYPE", "pubsub").keys) == [listenerID])
        #expect(Set(try list(caller, "TYPE", "normal").keys) == Set([callerID, idleID, workerID, watcherID]))
        #expect(Set(try list(caller, "ID", String(workerID), String(idleID)).keys) == Set([workerID, idleID]))

        let info = try command(caller, "INFO", "clients").json?["result"]?.stringValue ?? ""
        #expect(info.contains("connected_clients:5\r\n"))
        #expect(info.contains("blocked_clients:1\r\n"))
        #expect(info.contains("maxclients:"))
    }

    @Test func infoAnswersForTheCallingConnection() throws {
        let server = try TestServer()
        let first = try server.client(), second = try server.client()
        let firstID = try clientID(first)
        #expect(try clientID(first) == firstID)  // the same keep-alive connection, the same client
        #expect(try clientID(second) != firstID)
        let info = try command(first, "CLIENT", "INFO").json?["result"]?.stringValue ?? ""
        #expect(info.hasPrefix("id=\(firstID) addr=127.0.0.1:"))
        #expect(info.hasSuffix("\n"))
        #expect(info.contains(" cmd=client|info "))
    }

    @Test func aNameSticksToItsKeepAliveConnection() throws {
        let server = try TestServer()
        let named = try server.client(), other = try server.client()
        #expect(try command(named, "CLIENT", "SETNAME", "billing-worker").json?["result"] == .string("OK"))
        #expect(try command(named, "CLIENT", "GETNAME").json?["result"] == .string("billing-worker"))
        #expect(try command(other, "CLIENT", "GETNAME").json?["result"] == .null)
        #expect(try command(named, "CLIENT", "INFO").json?["result"]?.stringValue?.contains(" name=billing-worker ") == true)
        let id = try clientID(named)
        #expect(try list(other)[id]?["name"] == "billing-worker")
        // A new connection is a new client, without the name.
        let reconnected = try server.client()
        #expect(try command(reconnected, "CLIENT", "GETNAME").json?["result"] == .null)
        let refused = try command(named, "CLIENT", "SETNAME", "has space")
        #expect(refused.status == 400)
        #expect(refused.json?["error"]?.stringValue == "ERR Client names cannot contain spaces, newlines or special characters.")
    }

    @Test func killClosesTheTargetAndItLeavesTheList() throws {
        let server = try TestServer()
        let admin = try server.client(), victim = try server.client()
        let victimID = try clientID(victim)
        #expect(try command(admin, "CLIENT", "KILL", "ID", String(victimID)).json?["result"] == .number("1"))
        #expect(victim.serverClosed())
        #expect(try eventually { try list(admin)[victimID] == nil })
        #expect(try command(admin, "CLIENT", "KILL", "ID", String(victimID)).json?["result"] == .number("0"))
        #expect(try command(admin, "CLIENT", "KILL", "127.0.0.1:1").json?["error"]?.stringValue == "ERR No such client")
    }

    @Test func killEndsAParkedRequestAndWithdrawsItsWait() throws {
        let server = try TestServer()
        let admin = try server.client(), worker = try server.client()
        let workerID = try clientID(worker)
        try worker.send("POST", "/", headers: ["Content-Type": "application/json"], body: Array(#"["BLPOP","jobs","30"]"#.utf8))
        #expect(waitForBlocked(server, 1))
        #expect(try command(admin, "CLIENT", "KILL", "ID", String(workerID)).json?["result"] == .number("1"))
        #expect(worker.serverClosed())
        #expect(waitForBlocked(server, 0))
        // The next push is not swallowed by the killed waiter.
        #expect(try command(admin, "RPUSH", "jobs", "a").json?["result"] == .number("1"))
        #expect(try command(admin, "LLEN", "jobs").json?["result"] == .number("1"))
        #expect(try eventually { try list(admin)[workerID] == nil })
    }

    @Test func killEndsAnEventStream() throws {
        let server = try TestServer()
        let admin = try server.client(), listener = try server.client()
        let listenerID = try clientID(listener)
        try subscribe(listener, "channel=news")
        #expect(try command(admin, "CLIENT", "KILL", "TYPE", "pubsub").json?["result"] == .number("1"))
        #expect(listener.serverClosed())
        #expect(try eventually { try list(admin)[listenerID] == nil })
        #expect(try eventually { server.server.streamCount == 0 })
        #expect(try command(admin, "PUBLISH", "news", "hello").json?["result"] == .number("0"))
    }

    @Test func aClosedConnectionDisappears() throws {
        let server = try TestServer()
        let observer = try server.client()
        var leaving: TestHTTPClient? = try server.client()
        let leavingID = try clientID(leaving!)
        #expect(try list(observer)[leavingID] != nil)
        leaving?.disconnect()
        leaving = nil
        #expect(try eventually { try list(observer)[leavingID] == nil })
    }

    @Test func aClientThatKillsItselfGetsItsReplyThenTheConnectionCloses() throws {
        let server = try TestServer()
        let client = try server.client()
        let id = try clientID(client)
        let response = try command(client, "CLIENT", "KILL", "ID", String(id), "SKIPME", "no")
        #expect(response.json?["result"] == .number("1"))
        #expect(response.header("connection")?.lowercased() == "close")
        #expect(client.serverClosed())
    }

    @Test func badInputGetsRedisErrors() throws {
        let server = try TestServer()
        let client = try server.client()
        let unknown = try command(client, "CLIENT", "NOPE")
        #expect(unknown.status == 400)
        #expect(unknown.json?["error"]?.stringValue == "ERR unknown subcommand 'NOPE'. Try CLIENT HELP.")
        #expect(try command(client, "CLIENT").json?["error"]?.stringValue == "ERR wrong number of arguments for 'client' command")
        #expect(try command(client, "CLIENT", "GETNAME", "x").json?["error"]?.stringValue == "ERR wrong number of arguments for 'client|getname' command")
        #expect(try command(client, "CLIENT", "LIST", "TYPE", "x").json?["error"]?.stringValue == "ERR Unknown client type 'x'")
        #expect(try command(client, "CLIENT", "LIST", "ID", "zero").json?["error"]?.stringValue == "ERR Invalid client ID")
        #expect(try command(client, "CLIENT", "KILL", "ID", "1", "SKIPME").json?["error"]?.stringValue == "ERR syntax error")
        #expect(try command(client, "CLIENT", "KILL", "ID", "-1").json?["error"]?.stringValue == "ERR client-id should be greater than 0")
    }

    @Test func pipelinesKnowTheirConnection() throws {
        let server = try TestServer()
        let client = try server.client()
        let id = try clientID(client)
        let response = try client.request("POST", "/pipeline", json: #"[["CLIENT","SETNAME","piped"],["CLIENT","ID"],["CLIENT","GETNAME"]]"#)
        let results = response.json?.arrayValue?.map { $0["result"] }
        #expect(results == [.string("OK"), .number(String(id)), .string("piped")])
    }

    @Test func theJSONViewMatchesClientList() throws {
        let server = try TestServer()
        let admin = try server.client(), listener = try server.client()
        let listenerID = try clientID(listener)
        try subscribe(listener, "channel=a&pattern=b*")
        let response = try admin.request("GET", "/v1/clients")
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/json")
        let clients = response.json?["clients"]?.arrayValue ?? []
        #expect(response.json?["count"] == .number("2"))
        let entry = clients.first { $0["id"] == .number(String(listenerID)) }
        #expect(entry?["flags"] == .string("P"))
        #expect(entry?["sub"] == .number("1"))
        #expect(entry?["psub"] == .number("1"))
        #expect(entry?["addr"]?.stringValue?.hasPrefix("127.0.0.1:") == true)
        #expect(entry?["totNetIn"]?.numberText != nil)
        let adminEntry = clients.first { $0["id"] != .number(String(listenerID)) }
        #expect(adminEntry?["cmd"] == .string("GET:/v1/clients"))

        let pubsub = try admin.request("GET", "/v1/clients?type=pubsub")
        #expect(pubsub.json?["count"] == .number("1"))
        let byID = try admin.request("GET", "/v1/clients?id=\(listenerID)&id=999")
        #expect(byID.json?["clients"]?.arrayValue?.count == 1)
        let badType = try admin.request("GET", "/v1/clients?type=robots")
        #expect(badType.status == 400)
        #expect(badType.header("content-type") == "application/problem+json")
        #expect(try admin.request("GET", "/v1/clients?id=x").status == 400)
        #expect(try admin.request("GET", "/v1/clients?id=1&type=normal").status == 400)
    }

    @Test func deletingAClientClosesIt() throws {
        let server = try TestServer()
        let admin = try server.client(), victim = try server.client()
        let victimID = try clientID(victim)
        #expect(try admin.request("DELETE", "/v1/clients/\(victimID)").status == 204)
        #expect(victim.serverClosed())
        let missing = try admin.request("DELETE", "/v1/clients/999999")
        #expect(missing.status == 404)
        #expect(missing.json?["code"] == .string("NOT_FOUND"))
        #expect(try admin.request("DELETE", "/v1/clients/abc").status == 400)
        #expect(try admin.request("DELETE", "/v1/clients/-3").status == 400)
    }

    @Test func theClientsRouteNeedsTheToken() throws {
        let server = try TestServer(token: "secret")
        let client = try server.client()
        #expect(try client.request("GET", "/v1/clients").status == 401)
        #expect(try client.request("GET", "/v1/clients", headers: ["Authorization": "Bearer secret"]).status == 200)
    }
}
