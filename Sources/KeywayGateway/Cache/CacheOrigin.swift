/// One origin the cache-aside middleware fronts: `GET /v1/cache/{name}/...`
/// answers from the store or fetches `baseURL` + the rest of the path.
public struct CacheOrigin: Sendable, Equatable {
    /// The `{origin}` segment of the route: letters, digits, `-` and `_`.
    public var name: String
    /// `http://host:port` with an optional path prefix, no trailing slash.
    public var baseURL: String
    /// Seconds a stored response stays fresh (the origin's max-age may lower it).
    public var ttl: Int
    /// Seconds past expiry a stale copy is kept and served when the origin
    /// fails; 0 serves no stale copies.
    public var staleIfError: Int

    public init(name: String, baseURL: String, ttl: Int, staleIfError: Int = 0) throws(CacheOriginError) {
        guard !name.isEmpty, name.utf8.allSatisfy(CacheOrigin.isNameByte) else {
            throw CacheOriginError("origin name '\(name)' must be letters, digits, '-' or '_'")
        }
        let lower = baseURL.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            throw CacheOriginError("origin URL '\(baseURL)' must start with http:// or https://")
        }
        let afterScheme = baseURL.drop(while: { $0 != ":" }).dropFirst(3)
        guard let host = afterScheme.split(separator: "/", omittingEmptySubsequences: false).first, !host.isEmpty,
              !baseURL.contains("?"), !baseURL.contains("#") else {
            throw CacheOriginError("origin URL '\(baseURL)' needs a host and no query or fragment")
        }
        guard ttl > 0 else { throw CacheOriginError("ttl must be a positive number of seconds") }
        guard staleIfError >= 0 else { throw CacheOriginError("stale-if-error must be zero or more seconds") }
        self.name = name
        var trimmed = Substring(baseURL)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        self.baseURL = String(trimmed)
        self.ttl = ttl
        self.staleIfError = staleIfError
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    /// The config file directive's arguments:
    /// `cache-origin NAME URL [ttl SECONDS] [stale-if-error SECONDS]`.
    public init(directiveArguments arguments: [String]) throws(CacheOriginError) {
        guard arguments.count >= 2, arguments.count % 2 == 0 else {
            throw CacheOriginError("expected: cache-origin NAME URL [ttl SECONDS] [stale-if-error SECONDS]")
        }
        var options: [(String, String)] = []
        var index = 2
        while index < arguments.count {
            options.append((arguments[index].lowercased(), arguments[index + 1]))
            index += 2
        }
        try self.init(name: arguments[0], url: arguments[1], options: options)
    }

    /// The serve flag's value: `NAME=URL[,ttl=SECONDS][,stale-if-error=SECONDS]`.
    public init(flag: String) throws(CacheOriginError) {
        let parts = flag.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, let equals = first.firstIndex(of: "=") else {
            throw CacheOriginError("expected NAME=URL[,ttl=SECONDS][,stale-if-error=SECONDS], got '\(flag)'")
        }
        var options: [(String, String)] = []
        for part in parts.dropFirst() {
            guard let sign = part.firstIndex(of: "=") else {
                throw CacheOriginError("expected option=value, got '\(part)'")
            }
            options.append((part[..<sign].lowercased(), String(part[part.index(after: sign)...])))
        }
        try self.init(name: String(first[..<equals]), url: String(first[first.index(after: equals)...]), options: options)
    }

    /// Without `ttl`, responses stay fresh for a minute.
    public static let defaultTTL = 60

    private init(name: String, url: String, options: [(String, String)]) throws(CacheOriginError) {
        var ttl = CacheOrigin.defaultTTL, stale = 0
        for (option, value) in options {
            guard option == "ttl" || option == "stale-if-error" else {
                throw CacheOriginError("unknown cache-origin option '\(option)' (ttl, stale-if-error)")
            }
            guard let number = Int(value) else { throw CacheOriginError("\(option) must be a whole number of seconds, got '\(value)'") }
            if option == "ttl" { ttl = number } else { stale = number }
        }
        try self.init(name: name, baseURL: url, ttl: ttl, staleIfError: stale)
    }
}

/// Why a cache-origin definition was refused.
public struct CacheOriginError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// How the gateway talks to origins.
public struct CacheSettings: Sendable {
    public var origins: [CacheOrigin]
    /// Seconds to wait for a TCP connection to an origin.
    public var connectTimeout: Double
    /// Seconds an origin request may take in all (connect, send, answer).
    public var requestTimeout: Double
    /// Largest origin response body relayed or stored; larger is a 502.
    public var maxResponseBytes: Int

    public init(origins: [CacheOrigin] = [], connectTimeout: Double = 2, requestTimeout: Double = 10,
                maxResponseBytes: Int = 16 * 1024 * 1024) {
        self.origins = origins
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
    }

    /// Adds an origin; one given again under the same name replaces it
    /// (a serve flag overriding the config file).
    public mutating func add(_ origin: CacheOrigin) {
        if let index = origins.firstIndex(where: { $0.name == origin.name }) {
            origins[index] = origin
        } else {
            origins.append(origin)
        }
    }
}
