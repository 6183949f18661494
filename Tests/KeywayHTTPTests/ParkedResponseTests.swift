import KeywayHTTP
import KeywayTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The parked-connection primitive that blocking commands and SSE use.
@Suite struct ParkedResponseTests {
    /// Parked responses handed out by the `/park` route, for the test to resolve.
    final class Parking: Sendable {
        let waiting = Mutex<[ParkedResponse]>([])
        let cancelled = Atomic<Int>(0)

        func routes(_ router: inout Router) {
            router.add("GET", "/park", { [self] _, _ in
                let parked = ParkedResponse(onCancel: { [self] in cancelled.add(1, ordering: .relaxed) })
                waiting.withLock { $0.append(parked) }
                return .parked(parked)
            })
            router.add("GET", "/now", { _, _ in ok("now") })
        }

        var count: Int { waiting.withLock { $0.count } }
        func take() -> [ParkedResponse] { waiting.withLock { let all = $0; $0 = []; return all } }
    }

    @Test func resolvedFromAnotherThreadReachesTheClient() throws {
        let parking = Parking()
        try withServer(routes: parking.routes) { server in
            let client = try TestHTTPClient(port: server.port)
            try client.send("GET", "/park")
            #expect(eventually { parking.count == 1 })
            #expect(eventually { server.parkedCount == 1 })
            let parked = parking.take()[0]
            let thread = Thread {
                usleep(50_000)
                parked.resolve(HTTPResponse(status: 200, contentType: "text/plain", body: Array("served".utf8)))
            }
            thread.start()
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "served")
            // The connection is still usable afterwards (keep-alive survives a park).
            #expect(try client.request("GET", "/now").text == "now")
            #expect(server.parkedCount == 0)
            thread.join()
        }
    }

    @Test func aParkedConnectionHoldsNoThread() throws {
        let parking = Parking()
        // Two worker threads, two hundred parked requests: the server must
        // still answer other requests while they wait.
        try withServer(threads: 2, routes: parking.routes) { server in
            let clients = try (0..<200).map { _ in try TestHTTPClient(port: server.port) }
            for client in clients { try client.send("GET", "/park") }
            #expect(eventually { parking.count == 200 })
            let other = try TestHTTPClient(port: server.port)
            #expect(try other.request("GET", "/now").text == "now")
            for (index, parked) in parking.take().enumerated() {
                parked.resolve(HTTPResponse(status: 200, contentType: "text/plain", body: Array("r\(index)".utf8)))
            }
            for client in clients {
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text.hasPrefix("r"))
            }
        }
    }

    @Test func resolvingBeforeTheServerSuspendsStillDelivers() throws {
        try withServer(routes: { router in
            router.add("GET", "/instant", { _, _ in
                let parked = ParkedResponse()
                parked.resolve(HTTPResponse(status: 201, contentType: "text/plain", body: Array("early".utf8)))
                return .parked(parked)
            })
        }) { server in
            let client = try TestHTTPClient(port: server.port)
            let response = try client.request("GET", "/instant")
            #expect(response.status == 201)
            #expect(response.text == "early")
        }
    }

    @Test func aVanishedClientIsDetectedAndItsResponseRefused() throws {
        let parking = Parking()
        try withServer(routes: parking.routes) { server in
            let client = try TestHTTPClient(port: server.port)
            try client.send("GET", "/park")
            #expect(eventually { parking.count == 1 })
            let parked = parking.take()[0]
            #expect(eventually { server.parkedCount == 1 })
            #expect(!parked.clientHasGone)
            client.disconnect()
            #expect(eventually { parked.clientHasGone })
            // Resolving wakes the connection; the server then notices the
            // close and cancels, so the producer learns nothing was delivered.
            parked.resolve(HTTPResponse(status: 200))
            #expect(eventually { server.parkedCount == 0 })
        }
    }

    @Test func stoppingTheServerAnswersParkedRequests() throws {
        let parking = Parking()
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        var router = Router()
        parking.routes(&router)
        let server = HTTPServer(configuration: configuration, router: router, logger: quietLogger)
        try server.start()
        let client = try TestHTTPClient(port: server.port)
        try client.send("GET", "/park")
        #expect(eventually { server.parkedCount == 1 })
        server.stop()
        #expect(try client.readResponse().status == 503)
        // Resolving after the stop is refused rather than crashing.
        #expect(parking.take().first?.resolve(HTTPResponse(status: 200)) == false)
    }
}

/// A tiny thread wrapper (Foundation-free).
final class Thread: @unchecked Sendable {
    private var handle = pthread_t()
    private let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&handle, nil, { context in
            let thread = Unmanaged<Thread>.fromOpaque(context!).takeRetainedValue()
            thread.body()
            return nil
        }, box)
    }
    func join() { pthread_join(handle, nil) }
}
