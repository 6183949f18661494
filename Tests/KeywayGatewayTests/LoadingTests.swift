import KeywayEngine
import KeywayGateway
import KeywayHTTP
import KeywayTestSupport
import Logging
import Synchronization
import Testing

/// While the dataset loads at start-up, clients get Redis's LOADING answer
/// as HTTP 503 on both API faces; the health check still answers.
@Suite struct LoadingTests {
    /// An engine that says it is loading while `loading` is set.
    final class LoadingExecutor: CommandExecutor {
        let engine = Engine()
        let loading = Atomic<Bool>(true)
        var isLoading: Bool { loading.load(ordering: .relaxed) }
        func durabilityBarrier() -> DurabilityTicket? { nil }
        var writeSequence: Int64 { engine.writeSequence }
        func execute(_ command: Command) -> Reply { engine.execute(command) }
        func executePipeline(_ commands: [Command]) -> [Reply] { engine.executePipeline(commands) }
        func executeTransaction(_ commands: [Command]) -> Result<[Reply], CommandError> { engine.executeTransaction(commands) }
        func mayBlock(_ command: Command) -> Bool { engine.mayBlock(command) }
        func submit(_ command: Command, client: any BlockedClient) -> Submission { engine.submit(command, client: client) }
        func monitor(_ watcher: any CommandWatcher) -> Subscription { engine.monitor(watcher) }
        func subscribe(_ subscriber: any MessageSubscriber, channels: [Bytes], patterns: [Bytes], shardChannels: [Bytes]) -> Subscription {
            engine.subscribe(subscriber, channels: channels, patterns: patterns, shardChannels: shardChannels)
        }
    }

    @Test func everyFaceAnswers503UntilLoaded() throws {
        let executor = LoadingExecutor()
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        var logger = Logger(label: "keyway.test")
        logger.logLevel = .warning
        let server = HTTPServer(configuration: configuration, router: Gateway(executor: executor).makeRouter(), logger: logger)
        try server.start()
        defer { server.stop() }
        let client = try TestHTTPClient(port: server.port)

        let command = try client.request("POST", "/", json: #"["GET","k"]"#)
        #expect(command.status == 503)
        #expect(command.header("retry-after") == "1")
        #expect(command.text == #"{"error":"LOADING Redis is loading the dataset in memory"}"#)
        let resource = try client.request("GET", "/v1/keys/k")
        #expect(resource.status == 503)
        #expect(resource.text.contains(#""code":"LOADING""#))
        #expect(try client.request("GET", "/healthz").status == 200)

        executor.loading.store(false, ordering: .relaxed)
        #expect(try client.request("POST", "/", json: #"["GET","k"]"#).status == 200)
    }
}
