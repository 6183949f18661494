/// Routes requests by method and decoded path segments.
///
/// Patterns are written OpenAPI-style: `/v1/keys/{key}` binds one segment,
/// `/{command}/{args...}` binds one or more trailing segments. Literal
/// segments win over parameters, and a literal first segment is a namespace:
/// once any route starts with `v1`, a path starting with `v1` only matches
/// routes that start with `v1`, so `/v1/nothing` is a 404, never a command.
public struct Router: Sendable {
    public typealias Handler = @Sendable (HTTPRequest, RouteParameters) -> HTTPResult

    enum Segment: Sendable, Equatable {
        case literal([UInt8])
        case parameter(String)
        case rest(String)
    }

    struct Route: Sendable {
        let method: String
        let pattern: String
        let segments: [Segment]
        let handler: Handler
    }

    private var routes: [Route] = []
    /// First segments that some route spells literally.
    private var namespaces: Set<[UInt8]> = []

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true).map { part -> Segment in
            if part.hasPrefix("{") && part.hasSuffix("...}") {
                return .rest(String(part.dropFirst().dropLast(4)))
            } else if part.hasPrefix("{") && part.hasSuffix("}") {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(Array(part.utf8))
        }
        routes.append(Route(method: method, pattern: pattern, segments: parts, handler: handler))
        if case .literal(let first)? = parts.first { namespaces.insert(first) }
        // Most specific first: at the first segment where two patterns
        // differ in kind, a literal beats a parameter beats a rest.
        routes.sort { Router.precedes($0.segments, $1.segments) }
    }

    private static func rank(_ segment: Segment) -> Int {
        switch segment {
        case .literal: return 3
        case .parameter: return 2
        case .rest: return 1
        }
    }

    private static func precedes(_ a: [Segment], _ b: [Segment]) -> Bool {
        for (x, y) in zip(a, b) where rank(x) != rank(y) {
            return rank(x) > rank(y)
        }
        return a.count > b.count
    }

    public enum Match {
        case found(Handler, RouteParameters)
        /// The path exists under other methods.
        case methodNotAllowed([String])
        case notFound
    }

    public func match(method: String, segments: [[UInt8]]) -> Match {
        var allowed: [String] = []
        let namespaced = segments.first.map { namespaces.contains($0) } ?? false
        for route in routes {
            if namespaced, case .literal? = route.segments.first {} else if namespaced { continue }
            guard let parameters = bind(route.segments, segments) else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .found(route.handler, parameters)
            }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed)
    }

    private func bind(_ pattern: [Segment], _ path: [[UInt8]]) -> RouteParameters? {
        var parameters = RouteParameters()
        var index = 0
        for segment in pattern {
            switch segment {
            case .literal(let text):
                guard index < path.count, path[index] == text else { return nil }
                index += 1
            case .parameter(let name):
                guard index < path.count else { return nil }
                parameters.values[name] = path[index]
                index += 1
            case .rest(let name):
                guard index < path.count else { return nil }
                parameters.rest[name] = Array(path[index...])
                index = path.count
            }
        }
        return index == path.count ? parameters : nil
    }

    /// Every route as `METHOD /pattern`, rest parameters shown as `{name}`
    /// the way openapi.yaml writes them.
    public var routeList: [String] {
        routes.map { route in
            "\(route.method) /" + route.segments.map { segment in
                switch segment {
                case .literal(let text): return String(decoding: text, as: UTF8.self)
                case .parameter(let name), .rest(let name): return "{\(name)}"
                }
            }.joined(separator: "/")
        }.sorted()
    }
}

/// Values bound by a route pattern.
public struct RouteParameters: Sendable {
    public var values: [String: [UInt8]] = [:]
    public var rest: [String: [[UInt8]]] = [:]

    public init() {}

    public subscript(_ name: String) -> [UInt8]? { values[name] }
}
