/// An HTTP request as handlers see it: everything already read and decoded.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path as sent, still percent-encoded.
    public var rawPath: String
    /// Path segments percent-decoded to bytes (`%2F` stays inside its segment).
    public var segments: [[UInt8]]
    /// Query parameters in order, names as text, values decoded to bytes.
    public var query: [(name: String, value: [UInt8])]
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: [UInt8]
    public var remoteAddress: String

    public init(
        method: String, rawPath: String, segments: [[UInt8]] = [], query: [(name: String, value: [UInt8])] = [],
        headers: [String: String] = [:], body: [UInt8] = [], remoteAddress: String = ""
    ) {
        self.method = method
        self.rawPath = rawPath
        self.segments = segments
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    public func header(_ lowercaseName: String) -> String? { headers[lowercaseName] }

    /// The first value of a query parameter.
    public func queryValue(_ name: String) -> [UInt8]? {
        query.first { $0.name == name }?.value
    }

    public func queryString(_ name: String) -> String? {
        queryValue(name).map { String(decoding: $0, as: UTF8.self) }
    }

    public func queryValues(_ name: String) -> [[UInt8]] {
        query.filter { $0.name == name }.map(\.value)
    }

    /// The media type of the body without parameters, lowercased.
    public var contentType: String? {
        headers["content-type"].map { $0.split(separator: ";").first.map { $0.trimmingSpaces.lowercased() } ?? "" }
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
