import KeywayHTTP
#if canImport(Glibc)
import Glibc
#endif

/// What browsers may do: which origins may call Keyway across origins
/// (CORS), whether a GET a browser sent may write, and which `Host` names
/// the server answers to (against DNS rebinding).
public struct BrowserPolicy: Sendable, Equatable {
    /// `cors-allow-origins`: origins as a browser writes them
    /// (`https://app.example.com`, `http://localhost:3000`), or `*` for
    /// any. Empty (the default): no CORS, and a request carrying an
    /// `Origin` header is refused.
    public var allowedOrigins: [String] {
        didSet { normalizedOrigins = Set(allowedOrigins.map(Self.normalize)) }
    }
    /// `allow-get-writes`: let a GET a browser sent run a command that
    /// writes (off: only clients that are not browsers may).
    public var allowGetWrites: Bool
    /// Host names (port ignored) the server answers to; nil: any.
    public var allowedHosts: [String]? {
        didSet {
            normalizedHosts = allowedHosts.map { Set($0.map { $0.lowercased() }) }
            hostNameBytes = normalizedHosts.map { $0.map { Array($0.utf8) } }
        }
    }

    private var normalizedOrigins: Set<String> = []
    private var normalizedHosts: Set<String>?
    /// `normalizedHosts` as bytes, compared in place with the Host
    /// header's bytes: a handful of names, no hashing.
    private var hostNameBytes: [[UInt8]]?

    /// The names a loopback listener answers to, whatever the port.
    public static let loopbackHosts = ["localhost", "127.0.0.1", "[::1]"]

    public init(allowedOrigins: [String] = [], allowGetWrites: Bool = false, allowedHosts: [String]? = nil) {
        self.allowedOrigins = allowedOrigins
        self.allowGetWrites = allowGetWrites
        self.allowedHosts = allowedHosts
        normalizedOrigins = Set(allowedOrigins.map(Self.normalize))
        normalizedHosts = allowedHosts.map { Set($0.map { $0.lowercased() }) }
        hostNameBytes = normalizedHosts.map { $0.map { Array($0.utf8) } }
    }

    /// `cors-allow-origins *`: any origin, without credentials.
    var anyOrigin: Bool { normalizedOrigins.contains("*") }
    /// Whether CORS is on at all.
    var corsEnabled: Bool { !normalizedOrigins.isEmpty }

    /// Whether a request's `Origin` is one Keyway answers.
    func allows(origin: String) -> Bool {
        anyOrigin || normalizedOrigins.contains(Self.normalize(origin))
    }

    /// Whether a `Host` header (`localhost:7379`, `[::1]:7379`) names this server.
    func allows(host: String) -> Bool {
        guard let normalizedHosts, let hostNameBytes else { return true }
        if let answer = host.utf8.withContiguousStorageIfAvailable({ Self.allowsLowercaseASCII(host: $0, in: hostNameBytes) }),
           let answer {
            return answer
        }
        let value = host.lowercased()
        return normalizedHosts.contains(value) || normalizedHosts.contains(Self.hostName(value))
    }

    /// `allows(host:)` read over the bytes, as clients send the name:
    /// lowercase ASCII, most often with a port. Nil for any other name.
    private static func allowsLowercaseASCII(host: UnsafeBufferPointer<UInt8>, in names: [[UInt8]]) -> Bool? {
        var lastColon: Int?
        for index in host.indices {
            let byte = host[index]
            if byte >= 0x80 || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) { return nil }
            if byte == UInt8(ascii: ":") { lastColon = index }
        }
        var nameEnd = lastColon ?? host.count
        if host.first == UInt8(ascii: "["), let close = host.firstIndex(of: UInt8(ascii: "]")) { nameEnd = close + 1 }
        func listed(_ candidate: UnsafeBufferPointer<UInt8>) -> Bool {
            names.contains { name in
                name.count == candidate.count
                    && (name.isEmpty || name.withUnsafeBufferPointer { memcmp($0.baseAddress!, candidate.baseAddress!, name.count) == 0 })
            }
        }
        if listed(UnsafeBufferPointer(rebasing: host[..<nameEnd])) { return true }
        return nameEnd < host.count && listed(host)
    }

    /// `localhost:7379` → `localhost`, `[::1]:7379` → `[::1]`.
    static func hostName(_ host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") { return String(host[...close]) }
        if let colon = host.lastIndex(of: ":") { return String(host[..<colon]) }
        return host
    }

    /// Origins compare without regard to case and a trailing slash.
    static func normalize(_ origin: String) -> String {
        var text = origin.lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    public static func == (a: BrowserPolicy, b: BrowserPolicy) -> Bool {
        a.allowedOrigins == b.allowedOrigins && a.allowGetWrites == b.allowGetWrites && a.allowedHosts == b.allowedHosts
    }
}

extension HTTPRequest {
    /// Whether a browser says it sent this request for a page of another
    /// origin: it carries an `Origin` header other than this server's own
    /// (every cross-origin fetch, form POST and EventSource does), or
    /// `Sec-Fetch-Site` says `cross-site` or `same-site` (an `<img>` or a
    /// link, which carry no Origin). A request
    /// the user typed into the address bar says `none`; curl and the SDKs
    /// send neither header.
    var isCrossSiteBrowserRequest: Bool {
        if header("origin") != nil && !isSameOrigin { return true }
        guard let site = header("sec-fetch-site") else { return false }
        switch site.lowercased() {
        case "cross-site", "same-site": return true
        default: return false
        }
    }
}

extension HTTPResult {
    /// The result with `headers` added, whether it is a response now, a
    /// parked one or an event stream.
    func adding(_ headers: [(String, String)]) -> HTTPResult {
        guard !headers.isEmpty else { return self }
        switch self {
        case .response(var response):
            response.headers += headers
            return .response(response)
        case .parked(let parked):
            parked.addHeaders(headers)
            return self
        case .stream(let stream, let streamHeaders):
            return .stream(stream, headers: streamHeaders + headers)
        }
    }
}
