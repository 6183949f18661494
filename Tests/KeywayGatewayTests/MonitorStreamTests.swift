import KeywayEngine
import KeywayGateway
import KeywayHTTP
import KeywayTestSupport
import Testing

/// MONITOR (`GET /v1/monitor`) names the client of every command, whichever
/// face sent it: the resource API, the command API and event streams alike.
@Suite struct MonitorStreamTests {
    /// One `command` event of the monitor stream.
    struct Event {
        let client: JSONValue?
        let words: [String]
    }

    /// Opens the monitor stream on `watcher` and waits for its greeting.
    func watch(_ watcher: TestHTTPClient) throws {
        try watcher.send("GET", "/v1/monitor")
        let response = try watcher.readResponse()
        #expect(response.status == 200)
        #expect(response.header("content-type")?.hasPrefix("text/event-stream") == true)
        _ = try watcher.readStream(until: "event: monitor")
    }

    /// Reads `command` events until `done` holds for those read so far.
    func events(_ watcher: TestHTTPClient, until done: ([Event]) -> Bool) throws -> [Event] {
        var text = "", events: [Event] = []
        while !done(events) {
            guard let chunk = try watcher.readChunk() else { break }
            text += String(decoding: chunk, as: UTF8.self)
            // Complete events end with a blank line; keep the rest for later.
            while let end = text.range(of: "\n\n") {
                let block = text[..<end.lowerBound]
                text = String(text[end.upperBound...])
                let lines = block.split(separator: "\n")
                guard lines.contains("event: command") else { continue }
                let data = lines.filter { $0.hasPrefix("data: ") }.map { $0.dropFirst(6) }.joined(separator: "\n")
                let json = try JSONParser.parse(Array(data.utf8))
                let words = json["command"]?.arrayValue?.compactMap(\.stringValue) ?? []
                events.append(Event(client: json["client"], words: words))
            }
        }
        return events
    }

    func names(_ events: [Event]) -> Set<String> { Set(events.compactMap { $0.words.first?.uppercased() }) }

    @Test func everyFaceNamesItsClient() throws {
        let server = try TestServer()
        let watcher = try server.client(), resource = try server.client(), command = try server.client()
        let follower = try server.client(), admin = try server.client()
        let resourceID = try resource.request("POST", "/", json: #"["CLIENT","ID"]"#).json?["result"]?.numberText ?? ""
        try watch(watcher)

        // The resource API (/v1/keys, a publish), the command API (single,
        // path form, pipeline, transaction) and an event stream's reads.
        #expect(try resource.request("PUT", "/v1/keys/watched", json: #"{"value":"1"}"#).status == 201)
        #expect(try resource.request("POST", "/v1/channels/news/messages", json: #"{"message":"hi"}"#).status == 200)
        #expect(try command.request("POST", "/", json: #"["GET","watched"]"#).json?["result"] == .string("1"))
        #expect(try command.request("GET", "/incr/counter").json?["result"] == .number("1"))
        #expect(try command.request("POST", "/pipeline", json: #"[["APPEND","log","a"]]"#).status == 200)
        #expect(try command.request("POST", "/multi-exec", json: #"[["STRLEN","log"]]"#).status == 200)
        try follower.send("GET", "/v1/streams/feed/events")
        #expect(try follower.readResponse().status == 200)

        let expected: Set<String> = ["SET", "PUBLISH", "GET", "INCR", "APPEND", "STRLEN", "XREAD"]
        let seen = try events(watcher) { expected.isSubset(of: names($0)) }
        #expect(expected.isSubset(of: names(seen)))
        for event in seen {
            #expect(event.client == .string("127.0.0.1"), "no client on \(event.words)")
        }

        // CLIENT LIST shows the resource request's connection with its route
        // as the last command.
        let list = try admin.request("POST", "/", json: #"["CLIENT","LIST"]"#).json?["result"]?.stringValue ?? ""
        let line = list.split(separator: "\n").first { $0.hasPrefix("id=\(resourceID) ") }
        #expect(line?.contains(" addr=127.0.0.1:") == true)
        #expect(line?.contains(" cmd=POST:/v1/channels/{channel}/messages ") == true)
    }
}
