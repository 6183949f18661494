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

    /// One level of the trie. Nodes never change once made: adding a route
    /// makes new nodes along its path and shares the rest, so matching
    /// reads plain constants (no exclusivity checks, no locks).
    final class Node: Sendable {
        /// Literal children, searched in order: a level has a few dozen at
        /// most, and comparing a segment's bytes costs less than hashing it.
        let literals: [Literal]
        let parameter: Binding?
        let rest: Binding?
        /// Handlers of the routes that end here, by method, in insertion order.
        let handlers: [Route]
        /// The options handler of the first route declared here with one.
        let options: OptionsHandler?
        /// `/v1/keys/{key}`: the pattern of the routes that end here.
        let template: String
        /// The methods the routes ending here accept: HEAD with GET, and
        /// OPTIONS when it is answered.
        let allowedMethods: [String]

        struct Literal: Sendable {
            let segment: [UInt8]
            let node: Node
        }

        struct Binding: Sendable {
            let name: String
            let node: Node
        }

        struct Route: Sendable {
            let method: String
            let handler: Handler
            let statistics: RouteStatistics
        }

        static let empty = Node(literals: [], parameter: nil, rest: nil, handlers: [], options: nil, template: "")

        init(literals: [Literal], parameter: Binding?, rest: Binding?, handlers: [Route], options: OptionsHandler?, template: String) {
            self.literals = literals
            self.parameter = parameter
            self.rest = rest
            self.handlers = handlers
            self.options = options
            self.template = template
            var methods: [String] = []
            for entry in handlers {
                methods.append(entry.method)
                if entry.method == "GET" && !handlers.contains(where: { $0.method == "HEAD" }) { methods.append("HEAD") }
            }
            if options != nil && !methods.contains("OPTIONS") { methods.append("OPTIONS") }
            self.allowedMethods = methods
        }

        /// The literal child named `segment`.
        func literal(_ segment: [UInt8]) -> Node? {
            for index in literals.indices where literals[index].segment == segment { return literals[index].node }
            return nil
        }

        /// This node with `route` added below it along `path`.
        func adding(_ route: Route, options newOptions: OptionsHandler?, along path: ArraySlice<Segment>, pattern: String) -> Node {
            guard let first = path.first else {
                precondition(!handlers.contains { $0.method == route.method }, "\(route.method) \(pattern) declared twice")
                return Node(literals: literals, parameter: parameter, rest: rest, handlers: handlers + [route],
                            options: options ?? newOptions, template: route.statistics.pattern)
            }
            let remainder = path.dropFirst()
            switch first {
            case .literal(let text):
                var children = literals
                if let index = children.firstIndex(where: { $0.segment == text }) {
                    children[index] = Literal(segment: text, node: children[index].node.adding(route, options: newOptions, along: remainder, pattern: pattern))
                } else {
                    children.append(Literal(segment: text, node: Node.empty.adding(route, options: newOptions, along: remainder, pattern: pattern)))
                }
                return Node(literals: children, parameter: parameter, rest: rest, handlers: handlers, options: options, template: template)
            case .parameter(let name):
                precondition(parameter == nil || parameter!.name == name, "conflicting parameter names at \(pattern)")
                let child = (parameter?.node ?? Node.empty).adding(route, options: newOptions, along: remainder, pattern: pattern)
                return Node(literals: literals, parameter: Binding(name: name, node: child), rest: rest, handlers: handlers,
                            options: options, template: template)
            case .rest(let name):
                let child = (rest?.node ?? Node.empty).adding(route, options: newOptions, along: remainder, pattern: pattern)
                return Node(literals: literals, parameter: parameter, rest: Binding(name: rest?.name ?? name, node: child),
                            handlers: handlers, options: options, template: template)
            }
        }
    }

    private var root = Node.empty
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

    /// GET routes whose answer is always the same (`/healthz`), by their
    /// literal path: the server answers them from the path as sent, before
    /// building an `HTTPRequest` or routing (see `fixedRoute`).
    private(set) var fixedRoutes: [FixedRoute] = []

    struct FixedRoute: Sendable {
        let path: [UInt8]
        let response: HTTPResponse
        let statistics: RouteStatistics
    }

    public init() {}

    /// Adds a GET route of a literal path that answers `response` to every
    /// request, whatever it carries. It is an ordinary route (HEAD, OPTIONS,
    /// 405 and the route's counters as for any other), and the server may
    /// answer it without building the request.
    public mutating func add(fixed response: HTTPResponse, at pattern: String, options: OptionsHandler? = nil) {
        add("GET", pattern, { _, _ in .response(response) }, options: options)
        if let statistics = statistics.last, !pattern.contains("{") {
            fixedRoutes.append(FixedRoute(path: Array(pattern.utf8), response: response, statistics: statistics))
        }
    }

    /// The fixed route a GET or HEAD of exactly `path` (a C string, as
    /// libmicrohttpd gives it) goes to; nil for any other request, which
    /// the router answers as usual.
    func fixedRoute(method: UnsafePointer<CChar>, path: UnsafePointer<CChar>) -> FixedRoute? {
        guard !fixedRoutes.isEmpty, Self.isGetOrHead(method) else { return nil }
        for route in fixedRoutes where route.path.withUnsafeBufferPointer({ Self.cString(path, equals: $0) }) { return route }
        return nil
    }

    private static func isGetOrHead(_ method: UnsafePointer<CChar>) -> Bool {
        (method[0] == 0x47 && method[1] == 0x45 && method[2] == 0x54 && method[3] == 0)
            || (method[0] == 0x48 && method[1] == 0x45 && method[2] == 0x41 && method[3] == 0x44 && method[4] == 0)
    }

    private static func cString(_ text: UnsafePointer<CChar>, equals bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        // Stops at the first difference, so never reads past the terminator.
        for index in bytes.indices where UInt8(bitPattern: text[index]) != bytes[index] { return false }
        return text[bytes.count] == 0
    }

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
        let routeStatistics = RouteStatistics(method: method, pattern: Router.template(parts))
        statistics.append(routeStatistics)
        root = root.adding(Node.Route(method: method, handler: handler, statistics: routeStatistics), options: options,
                           along: parts[...], pattern: pattern)
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
        guard let node = find(root, segments, 0, &parameters, namespace: true) else { return .notFound }
        for route in node.handlers where route.method == method || (method == "HEAD" && route.method == "GET") {
            return .found(route.handler, parameters, route.statistics)
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
        return find(root, segments, 0, &parameters, namespace: true)?.allowedMethods
    }

    /// Routes a request and runs its handler, or answers the router's own
    /// 404 NOT_FOUND and 405 METHOD_NOT_ALLOWED (with `Allow`). The server
    /// calls this for every request; tests call it to drive the whole
    /// gateway in-process, without a socket.
    public func respond(to request: HTTPRequest) -> (result: HTTPResult, statistics: RouteStatistics) {
        // The common case first, straight from the node's routes, without
        // wrapping the handler in a `Match` first.
        var parameters = RouteParameters()
        if let node = find(root, request.segments, 0, &parameters, namespace: true) {
            let method = request.method
            for route in node.handlers where route.method == method || (method == "HEAD" && route.method == "GET") {
                request.connection?.noteCommand(route.statistics.label)
                return (route.handler(request, parameters), route.statistics)
            }
        }
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
        return find(root, segments, 0, &parameters, namespace: true)?.template
    }

    /// The node the path from `index` on leads to, trying literal, then
    /// parameter, then rest at each level (backtracking), with parameters
    /// bound; a parameter bound on a path that failed is unbound again.
    private func find(_ node: Node, _ path: [[UInt8]], _ index: Int, _ parameters: inout RouteParameters, namespace: Bool) -> Node? {
        guard index < path.count else { return node.handlers.isEmpty ? nil : node }
        if let child = node.literal(path[index]) {
            if let found = find(child, path, index + 1, &parameters, namespace: false) { return found }
            if namespace { return nil }
        }
        if let parameter = node.parameter {
            let mark = parameters.mark
            parameters.bind(parameter.name, path[index])
            if let found = find(parameter.node, path, index + 1, &parameters, namespace: false) { return found }
            parameters.unbind(to: mark)
        }
        if let rest = node.rest, !rest.node.handlers.isEmpty {
            parameters.bindRest(rest.name, Array(path[index...]))
            return rest.node
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
    /// A struct rather than a tuple: arrays of tuples are copied and
    /// destroyed through the runtime's generic tuple witnesses.
    private struct Binding: Sendable {
        let name: String
        let value: [UInt8]
    }
    private var bound: [Binding] = []
    private var boundRest: [(name: String, segments: [[UInt8]])] = []

    public init() {}

    public subscript(_ name: String) -> [UInt8]? {
        var index = bound.endIndex
        while index > bound.startIndex {
            index -= 1
            if bound[index].name == name { return bound[index].value }
        }
        return nil
    }

    /// Each `{name}` parameter and its value.
    public var values: [String: [UInt8]] {
        Dictionary(bound.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// The segments `{name...}` parameters bound, by name.
    public var rest: RestParameters { RestParameters(entries: boundRest) }

    /// Where the bindings stand, to undo those made after it.
    var mark: Int { bound.count }

    mutating func unbind(to mark: Int) {
        bound.removeSubrange(mark...)
    }

    /// Binds `name`; a later binding of a name hides an earlier one.
    mutating func bind(_ name: String, _ value: [UInt8]) {
        bound.append(Binding(name: name, value: value))
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
