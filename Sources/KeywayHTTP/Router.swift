import Synchronization

/// Routes requests by method and decoded path segments, over a trie of
/// segments so a lookup costs the path's depth, not the number of routes.
///
/// Patterns are written OpenAPI-style: `/v1/keys/{key}` binds one segment,
/// `/{command}/{args...}` binds one or more trailing segments. At each level
/// a literal segment is tried before a parameter, and a parameter before a
/// rest. The first level is stricter: a literal first segment is a
/// namespace, so once any route starts with `v1`, a path starting with `v1`
/// never falls back to `/{command}` — `/v1/nothing` is a 404, not a command.
///
/// `OPTIONS` on a path that has routes but no `OPTIONS` route of its own
/// goes to the path's options handler, given with its routes, with the
/// methods the path accepts: the gateway answers CORS preflights there.
/// Without one it is a 405 like any other method the path lacks.
public struct Router: Sendable {
    public typealias Handler = @Sendable (HTTPRequest, RouteParameters) -> HTTPResult
    /// Answers `OPTIONS` for a path; `allowed` is what the path accepts
    /// (`GET, HEAD, POST, OPTIONS`), in declaration order.
    public typealias OptionsHandler = @Sendable (HTTPRequest, RouteParameters, _ allowed: [String]) -> HTTPResult

    enum Segment: Sendable, Equatable {
        case literal([UInt8])
        case parameter(String)
        case rest(String)
    }

    /// One level of the trie.
    final class Node: @unchecked Sendable {
        /// Literal children, searched in order: a level has a few dozen at
        /// most, and comparing a segment's bytes costs less than hashing it.
        var literals: [(segment: [UInt8], node: Node)] = []
        var parameter: (name: String, node: Node)?
        var rest: (name: String, node: Node)?
        /// Handlers of the routes that end here, by method, in insertion order.
        var handlers: [(method: String, handler: Handler, statistics: RouteStatistics)] = []
        /// The options handler of the first route declared here with one.
        var options: OptionsHandler?
        /// `/v1/keys/{key}`: the pattern of the routes that end here.
        var template = ""

        /// The literal child named `segment`.
        func literal(_ segment: [UInt8]) -> Node? {
            for entry in literals where entry.segment == segment { return entry.node }
            return nil
        }

        /// The methods the routes ending here accept: HEAD with GET, and
        /// OPTIONS when it is answered.
        var allowedMethods: [String] {
            var methods: [String] = []
            for entry in handlers {
                methods.append(entry.method)
                if entry.method == "GET" && !handlers.contains(where: { $0.method == "HEAD" }) { methods.append("HEAD") }
            }
            if options != nil && !methods.contains("OPTIONS") { methods.append("OPTIONS") }
            return methods
        }
    }

    private let root = Node()
    private var patterns: [(method: String, segments: [Segment])] = []
    /// Per-route response counters, in registration order (for /metrics).
    public private(set) var statistics: [RouteStatistics] = []
    /// Responses to requests that matched no route.
    public let unmatched = RouteStatistics(method: "", pattern: "unmatched")
    /// Responses to `OPTIONS` requests answered by an options handler.
    public let options = RouteStatistics(method: "OPTIONS", pattern: "options")
    /// Headers added to the router's own 404 and 405 answers for a request
    /// (the gateway's CORS headers, so a page can read them).
    public var unmatchedHeaders: (@Sendable (HTTPRequest) -> [(String, String)])?

    public init() {}

    /// Adds a route; `options`, when given, answers `OPTIONS` for the
    /// pattern unless an earlier route of the same pattern gave one.
    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler, options: OptionsHandler? = nil) {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true).map { part -> Segment in
            if part.hasPrefix("{") && part.hasSuffix("...}") {
                return .rest(String(part.dropFirst().dropLast(4)))
            } else if part.hasPrefix("{") && part.hasSuffix("}") {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(Array(part.utf8))
        }
        patterns.append((method, parts))
        var node = root
        for part in parts {
            switch part {
            case .literal(let text):
                if let existing = node.literal(text) {
                    node = existing
                } else {
                    let child = Node()
                    node.literals.append((text, child))
                    node = child
                }
            case .parameter(let name):
                if node.parameter == nil { node.parameter = (name, Node()) }
                precondition(node.parameter!.name == name, "conflicting parameter names at \(pattern)")
                node = node.parameter!.node
            case .rest(let name):
                if node.rest == nil { node.rest = (name, Node()) }
                node = node.rest!.node
            }
        }
        precondition(!node.handlers.contains { $0.method == method }, "\(method) \(pattern) declared twice")
        node.template = Router.template(parts)
        let routeStatistics = RouteStatistics(method: method, pattern: node.template)
        statistics.append(routeStatistics)
        node.handlers.append((method, handler, routeStatistics))
        if node.options == nil { node.options = options }
    }

    public enum Match {
        case found(Handler, RouteParameters, RouteStatistics)
        /// An `OPTIONS` request for a path with an options handler.
        case options(OptionsHandler, RouteParameters, allowed: [String])
        /// The path exists under other methods.
        case methodNotAllowed([String])
        case notFound
    }

    public func match(method: String, segments: [[UInt8]]) -> Match {
        var parameters = RouteParameters()
        guard let node = find(root, segments[...], &parameters, namespace: true) else { return .notFound }
        if let handler = node.handlers.first(where: { $0.method == method || (method == "HEAD" && $0.method == "GET") }) {
            return .found(handler.handler, parameters, handler.statistics)
        }
        if method == "OPTIONS", let options = node.options {
            return .options(options, parameters, allowed: node.allowedMethods)
        }
        return .methodNotAllowed(node.allowedMethods)
    }

    /// The methods a path accepts (HEAD with GET, OPTIONS when answered);
    /// nil when no route has the path.
    public func allowedMethods(segments: [[UInt8]]) -> [String]? {
        var parameters = RouteParameters()
        return find(root, segments[...], &parameters, namespace: true)?.allowedMethods
    }

    /// Routes a request and runs its handler, or answers the router's own
    /// 404 NOT_FOUND and 405 METHOD_NOT_ALLOWED (with `Allow`). The server
    /// calls this for every request; tests call it to drive the whole
    /// gateway in-process, without a socket.
    public func respond(to request: HTTPRequest) -> (result: HTTPResult, statistics: RouteStatistics) {
        switch match(method: request.method, segments: request.segments) {
        case .found(let handler, let parameters, let statistics):
            request.connection?.noteCommand(statistics.label)
            return (handler(request, parameters), statistics)
        case .options(let handler, let parameters, let allowed):
            return (handler(request, parameters, allowed), options)
        case .methodNotAllowed(let allowed):
            let methods = allowed.joined(separator: ", ")
            let extra = unmatchedHeaders?(request) ?? []
            return (.response(ProblemResponse.make(405, code: "METHOD_NOT_ALLOWED",
                                                   detail: "\(request.method) is not allowed here; use \(methods)",
                                                   headers: [("Allow", methods)] + extra)), unmatched)
        case .notFound:
            let extra = unmatchedHeaders?(request) ?? []
            return (.response(ProblemResponse.make(404, code: "NOT_FOUND", detail: "no route for \(request.rawPath)", headers: extra)), unmatched)
        }
    }

    /// The pattern of the routes a path matches under any method
    /// (`/v1/keys/{key}`); nil when no route has the path.
    public func pattern(segments: [[UInt8]]) -> String? {
        var parameters = RouteParameters()
        return find(root, segments[...], &parameters, namespace: true)?.template
    }

    /// The node the whole path leads to, trying literal, then parameter,
    /// then rest at each level (backtracking), with parameters bound.
    private func find(_ node: Node, _ path: ArraySlice<[UInt8]>, _ parameters: inout RouteParameters, namespace: Bool) -> Node? {
        guard let segment = path.first else { return node.handlers.isEmpty ? nil : node }
        let remainder = path.dropFirst()
        if let child = node.literal(segment) {
            if let found = find(child, remainder, &parameters, namespace: false) { return found }
            if namespace { return nil }
        }
        if let (name, child) = node.parameter {
            var attempt = parameters
            attempt.bind(name, segment)
            if let found = find(child, remainder, &attempt, namespace: false) {
                parameters = attempt
                return found
            }
        }
        if let (name, child) = node.rest, !child.handlers.isEmpty {
            parameters.bindRest(name, Array(path))
            return child
        }
        return nil
    }

    /// Every route as `METHOD /pattern`, rest parameters shown as `{name}`
    /// the way openapi.yaml writes them.
    public var routeList: [String] {
        patterns.map { "\($0.method) " + Router.template($0.segments) }.sorted()
    }

    /// `/v1/keys/{key}`: a pattern as openapi.yaml writes it.
    static func template(_ segments: [Segment]) -> String {
        "/" + segments.map { segment in
            switch segment {
            case .literal(let text): return String(decoding: text, as: UTF8.self)
            case .parameter(let name), .rest(let name): return "{\(name)}"
            }
        }.joined(separator: "/")
    }
}

/// Values bound by a route pattern.
///
/// A pattern binds one or two names: they are kept in small arrays and
/// found by comparing names, with no dictionary to build per request.
public struct RouteParameters: Sendable {
    private var bound: [(name: String, value: [UInt8])] = []
    private var boundRest: [(name: String, segments: [[UInt8]])] = []

    public init() {}

    public subscript(_ name: String) -> [UInt8]? {
        for entry in bound where entry.name == name { return entry.value }
        return nil
    }

    /// Each `{name}` parameter and its value.
    public var values: [String: [UInt8]] {
        Dictionary(bound.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// The segments `{name...}` parameters bound, by name.
    public var rest: RestParameters { RestParameters(entries: boundRest) }

    mutating func bind(_ name: String, _ value: [UInt8]) {
        if let index = bound.firstIndex(where: { $0.name == name }) {
            bound[index].value = value
        } else {
            bound.append((name, value))
        }
    }

    mutating func bindRest(_ name: String, _ segments: [[UInt8]]) {
        if let index = boundRest.firstIndex(where: { $0.name == name }) {
            boundRest[index].segments = segments
        } else {
            boundRest.append((name, segments))
        }
    }
}

/// The trailing segments a `{name...}` parameter bound: `rest["args"]`.
public struct RestParameters: Sendable {
    fileprivate let entries: [(name: String, segments: [[UInt8]])]

    public subscript(_ name: String) -> [[UInt8]]? {
        for entry in entries where entry.name == name { return entry.segments }
        return nil
    }
}

/// Responses of one route by status class, counted without a lock.
public final class RouteStatistics: Sendable {
    public let method: String
    public let pattern: String
    /// `GET:/v1/keys/{key}`: the route as CLIENT LIST's `cmd=` shows it.
    public let label: ActivityLabel
    private let informational = Atomic<Int64>(0)
    private let success = Atomic<Int64>(0)
    private let redirection = Atomic<Int64>(0)
    private let clientError = Atomic<Int64>(0)
    private let serverError = Atomic<Int64>(0)

    init(method: String, pattern: String) {
        self.method = method
        self.pattern = pattern
        self.label = ActivityLabel(method.isEmpty ? pattern : "\(method):\(pattern)")
    }

    func count(status: Int) {
        switch status / 100 {
        case 1: informational.add(1, ordering: .relaxed)
        case 2: success.add(1, ordering: .relaxed)
        case 3: redirection.add(1, ordering: .relaxed)
        case 4: clientError.add(1, ordering: .relaxed)
        default: serverError.add(1, ordering: .relaxed)
        }
    }

    /// Responses with status `class`xx (1...5).
    public func responses(statusClass: Int) -> Int64 {
        switch statusClass {
        case 1: return informational.load(ordering: .relaxed)
        case 2: return success.load(ordering: .relaxed)
        case 3: return redirection.load(ordering: .relaxed)
        case 4: return clientError.load(ordering: .relaxed)
        default: return serverError.load(ordering: .relaxed)
        }
    }
}
