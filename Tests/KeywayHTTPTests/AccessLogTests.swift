import Foundation
import KeywayHTTP
import KeywayTestSupport
import Testing

@Suite struct AccessLogTests {
    func entry(client: String = "127.0.0.1:50412", connection: Int64? = 7, user: String? = "default",
               method: String = "GET", route: String = "/v1/keys/{key}", duration: UInt64 = 84_321) -> AccessLogEntry {
        AccessLogEntry(seconds: 1_700_000_000, nanoseconds: 123_456_789, client: client, connection: connection, user: user,
                       method: method, route: route, status: 200, bytes: 17, durationNanoseconds: duration)
    }

    func parse(_ line: [UInt8]) throws -> [String: Any] {
        #expect(line.last == 10)
        #expect(line.dropLast().contains(10) == false)
        let object = try JSONSerialization.jsonObject(with: Data(line.dropLast()))
        return try #require(object as? [String: Any])
    }

    @Test func lineHasEveryFieldInOrder() {
        let text = String(decoding: entry().line(), as: UTF8.self)
        #expect(text == #"{"time":"2023-11-14T22:13:20.123Z","client":"127.0.0.1:50412","connection":7,"user":"default","method":"GET","route":"/v1/keys/{key}","status":200,"bytes":17,"duration_ms":0.084}"# + "\n")
    }

    @Test func missingUserAndConnectionAreNull() throws {
        let object = try parse(entry(connection: nil, user: nil).line())
        #expect(object["user"] is NSNull)
        #expect(object["connection"] is NSNull)
    }

    @Test func durationIsMillisecondsWithMicroseconds() throws {
        #expect(try parse(entry(duration: 0).line())["duration_ms"] as? Double == 0)
        #expect(try parse(entry(duration: 1_234_567_891).line())["duration_ms"] as? Double == 1234.567)
        let text = String(decoding: entry(duration: 5_000).line(), as: UTF8.self)
        #expect(text.contains(#""duration_ms":0.005}"#))
    }

    @Test func timestampsAreRFC3339UTCWithMilliseconds() {
        #expect(AccessLogEntry.timestamp(seconds: 0, nanoseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(AccessLogEntry.timestamp(seconds: 951_782_400, nanoseconds: 999_999_999) == "2000-02-29T00:00:00.999Z")
        #expect(AccessLogEntry.timestamp(seconds: 4_102_444_799, nanoseconds: 1_000_000) == "2099-12-31T23:59:59.001Z")
    }

    @Test func oddBytesAreEscapedIntoValidJSON() throws {
        let odd = "a\"b\\c\nd\re\tf\u{0}g\u{1f}h\u{7f}i é \u{2028} \u{FFFD}"
        // Bytes that are not UTF-8 become U+FFFD when the server makes the string.
        let invalid = String(decoding: [0x2F, 0xFF, 0xC3, 0x28, 0x2F], as: UTF8.self)
        let line = entry(client: odd, method: "G\"ET", route: invalid).line()
        #expect(String(validating: line, as: UTF8.self) != nil)
        let text = String(decoding: line, as: UTF8.self)
        #expect(text.contains(#""client":"a\"b\\c\nd\re\tf\u0000g\u001fh\u007fi é "#))
        let object = try parse(line)
        #expect(object["client"] as? String == odd)
        #expect(object["method"] as? String == "G\"ET")
        #expect(object["route"] as? String == invalid)
    }

    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("keyway-access-\(UUID().uuidString).log").path
    }

    @Test func writerAppendsLinesAndFlushes() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("existing line\n".utf8).write(to: URL(fileURLWithPath: path))
        let log = try AccessLog(destination: .file(path))
        for index in 0..<500 { log.log(entry(connection: Int64(index))) }
        log.flush()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 501)
        #expect(lines.first == "existing line")
        #expect(lines.last?.contains(#""connection":499,"#) == true)
        #expect(log.writtenLines == 500 && log.droppedLines == 0)
        log.close()
        log.log(entry())
        #expect(log.droppedLines == 1)
    }

    @Test func aFullBufferDropsAndCountsLines() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let size = entry().line().count
        // Room for two lines: whatever the writer has not taken yet bounds the rest.
        let log = try AccessLog(destination: .file(path), capacityBytes: 2 * size)
        for _ in 0..<10_000 { log.log(entry()) }
        log.flush()
        #expect(log.writtenLines + log.droppedLines == 10_000)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(Int64(lines.count) == log.writtenLines)
        let big = AccessLogEntry(seconds: 0, nanoseconds: 0, client: String(repeating: "x", count: 3 * size), connection: nil, user: nil,
                                 method: "GET", route: "/", status: 200, bytes: 0, durationNanoseconds: 0)
        let before = log.droppedLines
        log.log(big)
        #expect(log.droppedLines == before + 1)
    }

    @Test func reopenStartsANewFileAfterARename() throws {
        let path = temporaryPath()
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: path + ".1")
        }
        let log = try AccessLog(destination: .file(path))
        log.log(entry(connection: 1))
        log.flush()
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        log.log(entry(connection: 2))
        try log.reopen()
        log.log(entry(connection: 3))
        log.flush()
        let rotated = try String(contentsOfFile: path + ".1", encoding: .utf8)
        let current = try String(contentsOfFile: path, encoding: .utf8)
        #expect(rotated.contains(#""connection":1,"#) && rotated.contains(#""connection":2,"#))
        #expect(current.split(separator: "\n").count == 1 && current.contains(#""connection":3,"#))
    }

    @Test func anUnwritablePathIsAnError() {
        #expect(throws: AccessLog.OpenError.self) { try AccessLog(destination: .file("/nonexistent-dir/keyway/access.log")) }
        #expect(AccessLog.Destination("stdout") == .standardOutput)
        #expect(AccessLog.Destination("logs/access.log") == .file("logs/access.log"))
    }

    /// The server logs the route pattern, not the path, and never the query.
    @Test func serverLogsPatternsUsersAndStatuses() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = try AccessLog(destination: .file(path))
        var router = Router()
        router.add("GET", "/v1/keys/{key}", { request, _ in
            request.connection?.noteUser("alice")
            return ok("value")
        })
        router.add("PUT", "/v1/keys/{key}", { _, _ in .response(HTTPResponse(status: 204)) })
        router.add("GET", "/open", { _, _ in ok("open") })
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = 2
        configuration.accessLog = log
        let server = HTTPServer(configuration: configuration, router: router, logger: quietLogger)
        try server.start()
        let client = try TestHTTPClient(port: server.port)
        #expect(try client.request("GET", "/v1/keys/secret%2Fkey?_token=hunter2").status == 200)
        #expect(try client.request("GET", "/open").status == 200)
        #expect(try client.request("DELETE", "/v1/keys/secret%2Fkey").status == 405)
        #expect(try client.request("GET", "/v1/nothing?_token=hunter2").status == 404)
        #expect(try client.request("HEAD", "/v1/keys/k").status == 200)
        // Answered before routing (both framings): still the pattern.
        let smuggler = try TestHTTPClient(port: server.port)
        try smuggler.write(Array("PUT /v1/keys/secret?_token=hunter2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        #expect(try smuggler.readResponse().status == 400)
        server.stop()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("hunter2") && !text.contains("secret"))
        let lines = try text.split(separator: "\n").map { try parse(Array($0.utf8) + [10]) }
        #expect(lines.count == 6)
        guard lines.count == 6 else { return }
        #expect(lines.map { $0["route"] as? String } == ["/v1/keys/{key}", "/open", "/v1/keys/{key}", "/v1/nothing", "/v1/keys/{key}", "/v1/keys/{key}"])
        #expect(lines.map { $0["method"] as? String } == ["GET", "GET", "DELETE", "GET", "HEAD", "PUT"])
        #expect(lines.map { $0["status"] as? Int } == [200, 200, 405, 404, 200, 400])
        #expect(lines.map { $0["user"] as? String } == ["alice", nil, nil, nil, "alice", nil])
        #expect(lines[0]["bytes"] as? Int == 5 && lines[4]["bytes"] as? Int == 0)
        let connections = Set(lines.prefix(5).compactMap { $0["connection"] as? Int })
        #expect(connections.count == 1)
        #expect(lines[5]["connection"] as? Int != lines[0]["connection"] as? Int)
        #expect((lines[0]["client"] as? String)?.hasPrefix("127.0.0.1:") == true)
        #expect(lines.allSatisfy { ($0["duration_ms"] as? Double ?? -1) >= 0 })
    }
}
