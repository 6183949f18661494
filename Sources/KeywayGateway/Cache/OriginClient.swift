import AsyncHTTPClient
import Dispatch
import NIOCore
import NIOHTTP1

/// An origin's answer, with what the cache needs of it.
struct OriginResponse: Sendable {
    var status: Int
    var contentType: String?
    var cacheControl: String?
    /// Relayed on writes (a 201's new resource).
    var location: String?
    var body: [UInt8]
}

/// Why an origin request produced no answer.
enum OriginFailure: Error, Equatable {
    /// No connection or no complete answer within the configured time.
    case timeout
    /// Refused, reset, unresolvable, or otherwise no HTTP answer.
    case unreachable(String)
    /// The answer's body is over the configured limit.
    case tooLarge(Int)
}

/// Sends requests to origins without holding the caller's thread:
/// async-http-client runs them on SwiftNIO's event loops, and the answer
/// is handed to the caller on a Dispatch thread, never an event loop: the
/// caller goes on to store it, which may wait for the cluster backend's
/// nodes (and must not stall the loop that serves other requests).
final class OriginClient: Sendable {
    private let client: HTTPClient
    private let requestTimeout: TimeAmount
    private let maxResponseBytes: Int

    init(settings: CacheSettings) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(
            connect: Self.amount(settings.connectTimeout), read: Self.amount(settings.requestTimeout))
        // A redirect is the origin's answer to relay, not to follow.
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        requestTimeout = Self.amount(settings.requestTimeout)
        maxResponseBytes = settings.maxResponseBytes
    }

    /// The client must be shut down before it goes; this does it without
    /// waiting, so the last release may happen on any thread.
    deinit {
        client.shutdown { _ in }
    }

    static func amount(_ seconds: Double) -> TimeAmount {
        .nanoseconds(Int64(max(0.001, seconds) * 1_000_000_000))
    }

    /// Sends one request; `completion` runs once, on an event loop thread.
    func send(method: String, url: String, headers: [(String, String)], body: [UInt8],
              completion: @escaping @Sendable (Result<OriginResponse, OriginFailure>) -> Void) {
        let request: HTTPClient.Request
        do {
            var requestHeaders = HTTPHeaders()
            for (name, value) in headers { requestHeaders.add(name: name, value: value) }
            request = try HTTPClient.Request(url: url, method: HTTPMethod(rawValue: method), headers: requestHeaders,
                                             body: body.isEmpty && method == "GET" ? nil : .bytes(body))
        } catch {
            completion(.failure(.unreachable("invalid origin URL \(url): \(error)")))
            return
        }
        let accumulator = ResponseAccumulator(request: request, maxBodySize: maxResponseBytes)
        let task = client.execute(request: request, delegate: accumulator, deadline: .now() + requestTimeout)
        task.futureResult.whenComplete { [maxResponseBytes] result in
            DispatchQueue.global().async { Self.complete(result, maxResponseBytes: maxResponseBytes, completion) }
        }
    }

    private static func complete(_ result: Result<HTTPClient.Response, any Error>, maxResponseBytes: Int,
                                 _ completion: @Sendable (Result<OriginResponse, OriginFailure>) -> Void) {
        switch result {
        case .success(let response):
            var bytes: [UInt8] = []
            if var buffer = response.body { bytes = buffer.readBytes(length: buffer.readableBytes) ?? [] }
            completion(.success(OriginResponse(
                status: Int(response.status.code),
                contentType: response.headers.first(name: "content-type"),
                cacheControl: response.headers[canonicalForm: "cache-control"].map(String.init).joined(separator: ", ").nilIfEmpty,
                location: response.headers.first(name: "location"),
                body: bytes)))
        case .failure(let error):
            completion(.failure(Self.failure(error, limit: maxResponseBytes)))
        }
    }

    static func failure(_ error: any Error, limit: Int) -> OriginFailure {
        if error is ResponseAccumulator.ResponseTooBigError { return .tooLarge(limit) }
        if let client = error as? HTTPClientError,
           [HTTPClientError.connectTimeout, .readTimeout, .deadlineExceeded, .getConnectionFromPoolTimeout].contains(client) {
            return .timeout
        }
        return .unreachable(String(describing: error))
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
