import KeywayHTTP
import KeywayTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Streaming responses: events reach the client as they are sent, idle
/// streams are suspended, heartbeats flow, and closing is noticed.
@Suite struct EventStreamTests {
    final class Streams: Sendable {
        let open = Mutex<[EventStream]>([])
        let closed = Atomic<Int>(0)

        func routes(_ router: inout Router) {
            router.add("GET", "/events", { [self] _, _ in
                let stream = EventStream(onClose: { [self] in closed.add(1, ordering: .relaxed) })
                stream.send(Array(": hello\n\n".utf8))
                open.withLock { $0.append(stream) }
                return .stream(stream, headers: [("X-Test", "1")])
            })
            router.add("GET", "/plain", { _, _ in ok("plain") })
        }

        var first: EventStream? { open.withLock { $0.first } }
        var count: Int { open.withLock { $0.count } }
    }

    @Test func eventsArriveInOrderWhileIdleStreamsCostNothing() throws {
        let streams = Streams()
        try withServer(routes: streams.routes) { server in
            let client = try TestHTTPClient(port: server.port)
            try client.send("GET", "/events")
            let head = try client.readResponse()
            #expect(head.status == 200)
            #expect(head.header("content-type") == "text/event-stream")
            #expect(head.header("x-test") == "1")
            #expect(try client.readStream(until: ": hello").contains(": hello"))
            #expect(server.streamCount == 1)
            // Sent from another thread after the stream went idle (suspended).
            usleep(50_000)
            for i in 0..<100 { streams.first?.send(Array("data: \(i)\n\n".utf8)) }
            let text = try client.readStream(until: "data: 99\n\n")
            let numbers = text.split(separator: "\n").filter { $0.hasPrefix("data: ") }.map { Int($0.dropFirst(6))! }
            #expect(numbers == Array(0..<100))
            // Other requests are served meanwhile.
            #expect(try TestHTTPClient(port: server.port).request("GET", "/plain").text == "plain")
        }
    }

    /// An idle stream hands the pages of its reader's buffer back to the
    /// kernel; events long enough to reach them, sent after idle spells
    /// and in bursts, arrive byte for byte.
    @Test func eventsOfEverySizeArriveIntactAfterIdleSpells() throws {
        let streams = Streams()
        try withServer(routes: streams.routes) { server in
            let client = try TestHTTPClient(port: server.port)
            try client.send("GET", "/events")
            _ = try client.readResponse()
            _ = try client.readStream(until: ": hello")
            let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
            func event(_ number: Int, size: Int) -> [UInt8] {
                Array("data: \(number) ".utf8) + (0..<size).map { letters[($0 * 7 + number) % letters.count] } + Array("\n\n".utf8)
            }
            let sizes = [1, 100, 1000, 3000, 4000, 4096, 5000, 6000, 6500, 6900, 7000, 7200, 9000, 20000]
            for (number, size) in sizes.enumerated() {
                usleep(20_000)  // idle: suspended, pages handed back
                let expected = event(number, size: size)
                streams.first?.send(expected)
                let text = try client.readStream(until: "\n\n")
                #expect(Array(text.utf8) == expected, "event of \(size) bytes")
            }
            // A burst: several events queued before the reader runs.
            usleep(20_000)
            let burst = (0..<5).map { event(100 + $0, size: 3000 * ($0 + 1)) }
            for bytes in burst { streams.first?.send(bytes) }
            let expected = burst.flatMap { $0 }
            var received: [UInt8] = []
            while received.count < expected.count, let chunk = try client.readChunk() { received += chunk }
            #expect(received == expected)
        }
    }

    /// An HTTP/1.0 client gets its stream unchunked, read through the
    /// response's own buffer, until the stream ends and the server closes.
    @Test func anHTTP10ClientGetsTheStreamUnchunked() throws {
        let streams = Streams()
        try withServer(routes: streams.routes) { server in
            let client = try TestHTTPClient(port: server.port)
            try client.write(Array("GET /events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8))
            #expect(eventually { streams.count == 1 })
            usleep(20_000)
            let long = "data: " + String(repeating: "x", count: 1000) + "\n\n"
            streams.first?.send(long)
            streams.first?.finish()
            var received: [UInt8] = []
            while true {
                let bytes = client.readAvailable(timeoutMilliseconds: 2000)
                if bytes.isEmpty { break }
                received += bytes
            }
            let text = String(decoding: received, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.0 200") || text.hasPrefix("HTTP/1.1 200"))
            #expect(!text.lowercased().contains("transfer-encoding: chunked"))
            #expect(text.hasSuffix("\r\n\r\n: hello\n\n" + long))
        }
    }

    @Test func finishEndsTheResponseCleanly() throws {
        let streams = Streams()
        try withServer(routes: streams.routes) { server in
            let client = try TestHTTPClient(port: server.port)
            try client.send("GET", "/events")
            _ = try client.readResponse()
            _ = try client.readStream(until: ": hello")
            streams.first?.send(Array("data: last\n\n".utf8))
            streams.first?.finish()
            #expect(try client.readStream(until: "last").contains("data: last"))
            #expect(try client.readChunk() == nil)
            #expect(eventually { streams.closed.load(ordering: .relaxed) == 1 })
            #expect(eventually { server.streamCount == 0 })
        }
    }

    @Test func aClientThatLeavesIsNoticedAtOnce() throws {
        let streams = Streams()
        try withServer(routes: streams.routes) { server in
            let client = try TestHTTPClient(port: server.port)
            try client.send("GET", "/events")
            _ = try client.readResponse()
            _ = try client.readStream(until: ": hello")
            usleep(50_000)  // idle: suspended
            client.disconnect()
            // No heartbeat or send needed: the hang-up watcher wakes it.
            #expect(eventually(timeoutMilliseconds: 2000) { streams.closed.load(ordering: .relaxed) == 1 })
            #expect(server.streamCount == 0)
            #expect(streams.first?.send(Array("data: late\n\n".utf8)) == false)
        }
    }

    @Test func heartbeatsKeepIdleStreamsAlive() throws {
        let streams = Streams()
        var router = Router()
        streams.routes(&router)
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.heartbeatSeconds = 0.1
        let server = HTTPServer(configuration: configuration, router: router, logger: quietLogger)
        try server.start()
        defer { server.stop() }
        let client = try TestHTTPClient(port: server.port)
        try client.send("GET", "/events")
        _ = try client.readResponse()
        let text = try client.readStream(until: ": ping\n\n")
        #expect(text.contains(": ping"))
    }

    @Test func stoppingTheServerEndsOpenStreams() throws {
        let streams = Streams()
        var router = Router()
        streams.routes(&router)
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        let server = HTTPServer(configuration: configuration, router: router, logger: quietLogger)
        try server.start()
        let client = try TestHTTPClient(port: server.port)
        try client.send("GET", "/events")
        _ = try client.readResponse()
        _ = try client.readStream(until: ": hello")
        server.stop()
        #expect(streams.closed.load(ordering: .relaxed) == 1)
        #expect(server.streamCount == 0)
    }

    @Test func aParkedRequestWhoseClientLeavesIsCancelledAtOnce() throws {
        let cancelled = Atomic<Int>(0)
        try withServer(routes: { router in
            router.add("GET", "/park", { _, _ in
                .parked(ParkedResponse(onCancel: { cancelled.add(1, ordering: .relaxed) }))
            })
        }) { server in
            let client = try TestHTTPClient(port: server.port)
            try client.send("GET", "/park")
            #expect(eventually { server.parkedCount == 1 })
            client.disconnect()
            #expect(eventually(timeoutMilliseconds: 2000) { cancelled.load(ordering: .relaxed) == 1 })
            #expect(eventually { server.parkedCount == 0 })
        }
    }
}
