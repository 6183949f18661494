/// An HTTP request as handlers see it: everything already read and decoded.
///
/// Its fields live in one shared box, copied only when a copy is changed:
/// a request passes through the router, the middleware and the handler,
/// and each copy of eight separate fields cost eight retains and releases.
public struct HTTPRequest: Sendable {
    private final class Storage: @unchecked Sendable {
        var method: String
        var rawPath: String
        var segments: [[UInt8]]
        var query: [(name: String, value: [UInt8])]
        var fields: HTTPHeaderFields
        var body: [UInt8]
        var remoteAddress: String
        var connection: ClientConnection?

        init(method: String, rawPath: String, segments: [[UInt8]], query: [(name: String, value: [UInt8])],
             fields: HTTPHeaderFields, body: [UInt8], remoteAddress: String, connection: ClientConnection?) {
            self.method = method
            self.rawPath = rawPath
            self.segments = segments
            self.query = query
            self.fields = fields
            self.body = body
            self.remoteAddress = remoteAddress
            self.connection = connection
        }

        func copy() -> Storage {
            Storage(method: method, rawPath: rawPath, segments: segments, query: query, fields: fields, body: body,
                    remoteAddress: remoteAddress, connection: connection)
        }
    }

    private var storage: Storage

    /// The box to change, copied first when another request shares it.
    private var unique: Storage {
        mutating get {
            if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
            return storage
        }
    }

    public var method: String {
        _read { yield storage.method }
        set { unique.method = newValue }
    }
    /// The path as sent, still percent-encoded.
    public var rawPath: String {
        _read { yield storage.rawPath }
        set { unique.rawPath = newValue }
    }
    /// Path segments percent-decoded to bytes (`%2F` stays inside its segment).
    public var segments: [[UInt8]] {
        _read { yield storage.segments }
        set { unique.segments = newValue }
    }
    /// Query parameters in order, names as text, values decoded to bytes.
    public var query: [(name: String, value: [UInt8])] {
        _read { yield storage.query }
        set { unique.query = newValue }
    }
    /// The header fields, names lowercased.
    public var fields: HTTPHeaderFields {
        _read { yield storage.fields }
        set { unique.fields = newValue }
    }
    public var body: [UInt8] {
        _read { yield storage.body }
        set { unique.body = newValue }
    }
    public var remoteAddress: String {
        _read { yield storage.remoteAddress }
        set { unique.remoteAddress = newValue }
    }
    /// The keep-alive connection the request came on (nil in unit tests
    /// that build requests by hand).
    public var connection: ClientConnection? {
        _read { yield storage.connection }
        set { unique.connection = newValue }
    }

    public init(
        method: String, rawPath: String, segments: [[UInt8]] = [], query: [(name: String, value: [UInt8])] = [],
        headers: [String: String] = [:], body: [UInt8] = [], remoteAddress: String = ""
    ) {
        self.init(method: method, rawPath: rawPath, segments: segments, query: query,
                  fields: HTTPHeaderFields(headers), body: body, remoteAddress: remoteAddress)
    }

    public init(
        method: String, rawPath: String, segments: [[UInt8]], query: [(name: String, value: [UInt8])],
        fields: HTTPHeaderFields, body: [UInt8], remoteAddress: String, connection: ClientConnection? = nil
    ) {
        storage = Storage(method: method, rawPath: rawPath, segments: segments, query: query, fields: fields, body: body,
                          remoteAddress: remoteAddress, connection: connection)
    }

    /// Header names lowercased, as a dictionary (built on each read; the
    /// server's hot path uses `header(_:)`).
    public var headers: [String: String] {
        get { fields.dictionary }
        set { fields = HTTPHeaderFields(newValue) }
    }

    public func header(_ lowercaseName: String) -> String? { fields[lowercaseName] }

    /// The first value of a query parameter.
    public func queryValue(_ name: String) -> [UInt8]? {
        if query.isEmpty { return nil }
        return query.first { $0.name == name }?.value
    }

    public func queryString(_ name: String) -> String? {
        queryValue(name).map { String(decoding: $0, as: UTF8.self) }
    }

    public func queryValues(_ name: String) -> [[UInt8]] {
        query.filter { $0.name == name }.map(\.value)
    }

    /// The media type of the body without parameters, lowercased
    /// (`Application/JSON; charset=utf-8` → `application/json`).
    public var contentType: String? {
        guard let header = fields["content-type"] else { return nil }
        // Most clients send it bare and lowercase (`application/json`): as is.
        if !header.utf8.contains(where: { $0 == UInt8(ascii: ";") || $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || ($0 >= 65 && $0 <= 90) }) {
            return header
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(header.utf8.count)
        for byte in header.utf8 {
            if byte == UInt8(ascii: ";") { break }
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { continue }
            bytes.append(byte >= 65 && byte <= 90 ? byte + 32 : byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A request's header fields, names lowercased, in a small array.
///
/// A request carries a handful of headers and handlers ask for a few by
/// name: comparing short names (Swift keeps strings of up to 15 bytes
/// inline, compared as two words) costs less than hashing each name into a
/// dictionary. A name given twice answers with its last value, as a
/// dictionary filled in order would.
public struct HTTPHeaderFields: Sendable {
    private var entries: [(name: String, value: String)] = []

    public init() {}

    public init(_ dictionary: [String: String]) {
        entries.reserveCapacity(dictionary.count)
        for (name, value) in dictionary { entries.append((name, value)) }
    }

    /// The value of a header, by lowercase name: the last one sent.
    public subscript(_ lowercaseName: String) -> String? {
        var index = entries.endIndex
        while index > entries.startIndex {
            index -= 1
            if entries[index].name == lowercaseName { return entries[index].value }
        }
        return nil
    }

    /// Adds a header in arrival order, its name already lowercased.
    public mutating func append(_ lowercaseName: String, _ value: String) {
        entries.append((lowercaseName, value))
    }

    var dictionary: [String: String] {
        var dictionary: [String: String] = [:]
        for entry in entries { dictionary[entry.name] = entry.value }
        return dictionary
    }
}

/// A complete response.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.init(status: status, headers: [("Content-Type", contentType)], body: body)
    }
}

/// What a handler returns: a response now, or a parked connection that
/// someone resolves later from any thread.
public enum HTTPResult: Sendable {
    case response(HTTPResponse)
    case parked(ParkedResponse)
    /// A 200 response whose body is produced over time (Server-Sent Events).
    case stream(EventStream, headers: [(String, String)])
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}

/// A handler can throw a response to stop early with it (a problem, a 401).
extension HTTPResponse: Error {}

extension HTTPRequest {
    /// A request from a request target as a client sends it
    /// (`/v1/keys/a%2Fb?encoding=base64`): the path split and
    /// percent-decoded per segment and the query decoded, exactly as the
    /// server does. For driving a router in-process.
    public init(method: String, target: String, headers: [String: String] = [:], body: [UInt8] = [],
                remoteAddress: String = "127.0.0.1") {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        var query: [(name: String, value: [UInt8])] = []
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let nameAndValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(decoding: PercentDecoding.decode(Array(nameAndValue[0].utf8), plusAsSpace: true), as: UTF8.self)
                let value = nameAndValue.count == 2 ? PercentDecoding.decode(Array(nameAndValue[1].utf8), plusAsSpace: true) : []
                query.append((name, value))
            }
        }
        var lowercased: [String: String] = [:]
        for (name, value) in headers { lowercased[name.lowercased()] = value }
        self.init(method: method, rawPath: path, segments: PercentDecoding.segments(ofPath: path), query: query,
                  headers: lowercased, body: body, remoteAddress: remoteAddress)
    }
}
