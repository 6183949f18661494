import KeywayEngine
import KeywayGateway
import KeywayHTTP
import KeywayTestSupport
import Logging

/// A real Keyway server (engine + gateway + libmicrohttpd) on a free port.
final class TestServer: Sendable {
    let engine: Engine
    let server: HTTPServer
    var port: UInt16 { server.port }

    init(token: String? = nil, maxBody: Int = 1 << 20, clock: any EngineClock = SystemClock()) throws {
        engine = Engine(clock: clock)
        let gateway = Gateway(executor: engine, configuration: GatewayConfiguration(token: token))
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = 2
        configuration.maxBodyBytes = maxBody
        var logger = Logger(label: "keyway.test")
        logger.logLevel = .warning
        server = HTTPServer(configuration: configuration, router: gateway.makeRouter(), logger: logger)
        try server.start()
        HTTPClientDirectory.install(server, on: engine)
    }

    deinit { server.stop() }

    func client() throws -> TestHTTPClient { try TestHTTPClient(port: port) }
}

extension TestHTTPClient.Response {
    /// The body parsed as JSON.
    var json: JSONValue? { try? JSONParser.parse(body) }
}

extension JSONValue {
    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    var numberText: String? { if case .number(let n) = self { return n } else { return nil } }
    var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    var isNull: Bool { self == .null }
}
