import KeywayHTTP
import KeywayTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The per-connection records behind CLIENT LIST: one per TCP connection,
/// shared by its keep-alive requests, gone when it closes, killable.
@Suite struct ConnectionRegistryTests {
    /// A route that answers with the id of the connection it came on.
    func routes(_ router: inout Router) {
        router.add("GET", "/whoami") { request, _ in ok(String(request.connection?.id ?? -1)) }
    }

    @Test func keepAliveRequestsShareTheirConnectionsRecord() throws {
        try withServer(routes: routes) { server in
            let first = try TestHTTPClient(port: server.port), second = try TestHTTPClient(port: server.port)
            let a = try first.request("GET", "/whoami").text, b = try second.request("GET", "/whoami").text
            #expect(Int(a)! > 0)
            #expect(a != b)
            #expect(try first.request("GET", "/whoami").text == a)
            // Both clients connect before either is served, so two HTTP threads
            // may accept them in either order: compare the ids as a set.
            let snapshot = server.connections.snapshot()
            #expect(snapshot.map(\.id).sorted() == [Int64(a)!, Int64(b)!].sorted())
            let firstRecord = try #require(snapshot.first { $0.id == Int64(a)! })
            #expect(firstRecord.localAddress == "127.0.0.1:\(server.port)")
            #expect(firstRecord.address.hasPrefix("127.0.0.1:"))
            #expect(firstRecord.lastCommand == "GET:/whoami")
            #expect(firstRecord.activity == .normal)
            #expect(firstRecord.bytesOut > 0)
        }
    }

    @Test func aClosedConnectionLeavesTheRegistry() throws {
        try withServer(routes: routes) { server in
            var client: TestHTTPClient? = try TestHTTPClient(port: server.port)
            _ = try client!.request("GET", "/whoami")
            #expect(server.connections.count == 1)
            client = nil
            #expect(eventually { server.connections.count == 0 })
        }
    }

    @Test func killShutsTheSocketAndCountsOnlyOpenConnections() throws {
        try withServer(routes: routes) { server in
            let client = try TestHTTPClient(port: server.port)
            let id = Int64(try client.request("GET", "/whoami").text)!
            #expect(server.connections.kill(ids: [id, 9999], callerID: nil) == 1)
            #expect(client.serverClosed())
            #expect(eventually { server.connections.connection(id: id) == nil })
            #expect(server.connections.kill(ids: [id], callerID: nil) == 0)
        }
    }

    @Test func theCallerIsClosedOnlyAfterItsReply() throws {
        // The route needs the server's registry, which exists only once the server does.
        let registry = Mutex<ConnectionRegistry?>(nil)
        try withServer(routes: { router in
            router.add("GET", "/leave") { request, _ in
                let id = request.connection?.id ?? -1
                return ok(String(registry.withLock { $0?.kill(ids: [id], callerID: id) } ?? 0))
            }
        }) { server in
            registry.withLock { $0 = server.connections }
            let client = try TestHTTPClient(port: server.port)
            let response = try client.request("GET", "/leave")
            #expect(response.text == "1")
            #expect(response.header("connection")?.lowercased() == "close")
            #expect(client.serverClosed())
        }
    }
}
