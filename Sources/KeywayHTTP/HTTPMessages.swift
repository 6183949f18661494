/// An HTTP request as handlers see it: everything already read and decoded.
///
/// Its fields live in one shared box of constants: a request passes
/// through the router, the middleware and the handler, and each copy of
/// eight separate fields cost eight retains and releases, while constants
/// are read without exclusivity checks. Changing a field (rare: tests and
/// the server's own set-up) puts a changed copy in a new box.
public struct HTTPRequest: Sendable {
    private final class Storage: Sendable {
        let method: String
        let rawPath: String
        let segments: [[UInt8]]
        let query: [(name: String, value: [UInt8])]
        let fields: HTTPHeaderFields
        let body: [UInt8]
        let remoteAddress: String
        let connection: ClientConnection?

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

        func with(method: String? = nil, rawPath: String? = nil, segments: [[UInt8]]? = nil,
                  query: [(name: String, value: [UInt8])]? = nil, fields: HTTPHeaderFields? = nil, body: [UInt8]? = nil,
                  remoteAddress: String? = nil, connection: ClientConnection?? = nil) -> Storage {
            Storage(method: method ?? self.method, rawPath: rawPath ?? self.rawPath, segments: segments ?? self.segments,
                    query: query ?? self.query, fields: fields ?? self.fields, body: body ?? self.body,
                    remoteAddress: remoteAddress ?? self.remoteAddress, connection: connection ?? self.connection)
        }
    }

    private var storage: Storage

    public var method: String {
        get { storage.method }
        set { storage = storage.with(method: newValue) }
    }
    /// The path as sent, still percent-encoded.
    public var rawPath: String {
        get { storage.rawPath }
        set { storage = storage.with(rawPath: newValue) }
    }
    /// Path segments percent-decoded to bytes (`%2F` stays inside its segment).
    public var segments: [[UInt8]] {
        get { storage.segments }
        set { storage = storage.with(segments: newValue) }
    }
    /// Query parameters in order, names as text, values decoded to bytes.
    public var query: [(name: String, value: [UInt8])] {
        get { storage.query }
        set { storage = storage.with(query: newValue) }
    }
    /// The header fields, names lowercased.
    public var fields: HTTPHeaderFields {
        get { storage.fields }
        set { storage = storage.with(fields: newValue) }
    }
    public var body: [UInt8] {
        get { storage.body }
        set { storage = storage.with(body: newValue) }
    }
    public var remoteAddress: String {
        get { storage.remoteAddress }
        set { storage = storage.with(remoteAddress: newValue) }
    }
    /// The keep-alive connection the request came on (nil in unit tests
    /// that build requests by hand).
    public var connection: ClientConnection? {
        get { storage.connection }
        set { storage = storage.with(connection: .some(newValue)) }
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
        // The usual value, compared whole (one length check and a memcmp).
        if header == "application/json" { return header }
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
    /// A struct rather than a tuple: arrays of tuples are destroyed through
    /// the runtime's generic tuple witnesses, field by field.
    private struct Entry: Sendable {
        let name: String
        let value: String
    }
    private var entries: [Entry] = []

    public init() {}

    /// Room for `capacity` fields, so a request's handful of headers is
    /// one allocation instead of one per doubling.
    public init(capacity: Int) { entries.reserveCapacity(capacity) }

    public init(_ dictionary: [String: String]) {
        entries.reserveCapacity(dictionary.count)
        for (name, value) in dictionary { entries.append(Entry(name: name, value: value)) }
    }

    /// The value of a header, by lowercase name: the last one sent.
    public subscript(_ lowercaseName: String) -> String? {
        // Lengths first: comparing two different short strings takes the
        // runtime's slow comparison, and most names differ in length.
        let length = lowercaseName.utf8.count
        var index = entries.endIndex
        while index > entries.startIndex {
            index -= 1
            let name = entries[index].name
            if name.utf8.count == length && name == lowercaseName { return entries[index].value }
        }
        return nil
    }

    /// Adds a header in arrival order, its name already lowercased.
    public mutating func append(_ lowercaseName: String, _ value: String) {
        entries.append(Entry(name: lowercaseName, value: value))
    }

    var dictionary: [String: String] {
        var dictionary: [String: String] = [:]
        for entry in entries { dictionary[entry.name] = entry.value }
        return dictionary
    }
}

/// A complete response, or the head of one whose body follows as it is
/// produced (`bodyStream`, sent chunked; `body` is then unused).
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var bodyStream: ResponseBodyStream?

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response whose body is written to `bodyStream` over time.
    public init(status: Int, headers: [(String, String)], bodyStream: ResponseBodyStream) {
        self.init(status: status, headers: headers)
        self.bodyStream = bodyStream
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
