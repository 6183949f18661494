import Foundation
import KeywayEngine
import KeywayGateway
import KeywayHTTP

/// The whole gateway (router, middleware, handlers, engine) driven
/// in-process: a request goes through `Router.respond(to:)`, the same call
/// the server makes, with no socket. For what needs libmicrohttpd itself
/// (parking, streaming, connections), use `TestServer`.
final class InProcessGateway: Sendable {
    let engine: Engine
    let gateway: Gateway
    let router: Router

    init(configuration: GatewayConfiguration = GatewayConfiguration(), clock: any EngineClock = SystemClock()) {
        engine = Engine(clock: clock)
        gateway = Gateway(executor: engine, configuration: configuration)
        router = gateway.makeRouter()
    }

    /// Sends one request and returns the response. A parked result (a
    /// blocking command) is waited for up to `timeout`; a stream is not a
    /// response and gives nil.
    func send(_ method: String, _ target: String, headers: [String: String] = [:], body: String = "",
              from address: String = "127.0.0.1", timeout: Duration = .seconds(5)) -> HTTPResponse? {
        let request = HTTPRequest(method: method, target: target, headers: headers, body: Array(body.utf8), remoteAddress: address)
        switch router.respond(to: request).result {
        case .response(let response):
            return response
        case .parked(let parked):
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let response = parked.resolvedResponse { return response }
                Thread.sleep(forTimeInterval: 0.002)
            }
            return nil
        case .stream:
            return nil
        }
    }
}

extension HTTPResponse {
    func headerValue(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    /// The body parsed as JSON.
    var jsonBody: JSONValue? { try? JSONParser.parse(body) }
}
