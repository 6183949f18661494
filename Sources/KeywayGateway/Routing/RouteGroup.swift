import KeywayEngine
import KeywayHTTP

/// A resource handler: reads what it needs from the context, throws a
/// problem response to stop early, returns the response.
typealias ResourceHandler = @Sendable (ResourceContext) throws(HTTPResponse) -> HTTPResponse
/// A handler that may park the request (blocking commands, lock waits) or
/// open an event stream.
typealias ResultHandler = @Sendable (ResourceContext) throws(HTTPResponse) -> HTTPResult

/// Routes that share a path prefix, a face and a middleware chain.
///
/// `routes.group("/v1/hashes/{key}")` gives the hash routes; `.get`, `.put`,
/// ... add one route each, relative to the group's path. Every route a group
/// adds runs the gateway's middleware for the face (in the order
/// `Gateway.standardMiddleware` states), then the group's own.
struct RouteGroup {
    let gateway: Gateway
    let path: String
    let face: Face
    let chain: MiddlewareChain
    private let table: RouteTable

    /// The root group of one face: every route below it runs that face's middleware.
    init(gateway: Gateway, face: Face, table: RouteTable) {
        self.init(gateway: gateway, path: "", face: face, chain: gateway.standardMiddleware(for: face), table: table)
    }

    private init(gateway: Gateway, path: String, face: Face, chain: MiddlewareChain, table: RouteTable) {
        self.gateway = gateway
        self.path = path
        self.face = face
        self.chain = chain
        self.table = table
    }

    /// A group below this one, with more middleware of its own.
    func group(_ subpath: String, middleware: [any Middleware] = []) -> RouteGroup {
        RouteGroup(gateway: gateway, path: path + subpath, face: face, chain: chain.appending(middleware), table: table)
    }

    func get(_ handler: @escaping ResourceHandler) { add("GET", "", handler) }
    func get(_ subpath: String, _ handler: @escaping ResourceHandler) { add("GET", subpath, handler) }
    func put(_ handler: @escaping ResourceHandler) { add("PUT", "", handler) }
    func put(_ subpath: String, _ handler: @escaping ResourceHandler) { add("PUT", subpath, handler) }
    func patch(_ handler: @escaping ResourceHandler) { add("PATCH", "", handler) }
    func patch(_ subpath: String, _ handler: @escaping ResourceHandler) { add("PATCH", subpath, handler) }
    func post(_ handler: @escaping ResourceHandler) { add("POST", "", handler) }
    func post(_ subpath: String, _ handler: @escaping ResourceHandler) { add("POST", subpath, handler) }
    func delete(_ handler: @escaping ResourceHandler) { add("DELETE", "", handler) }
    func delete(_ subpath: String, _ handler: @escaping ResourceHandler) { add("DELETE", subpath, handler) }

    func add(_ method: String, _ subpath: String, _ handler: @escaping ResourceHandler) {
        addResult(method, subpath) { context throws(HTTPResponse) in .response(try handler(context)) }
    }

    /// A route whose handler may park the request or open an event stream.
    func addResult(_ method: String, _ subpath: String, _ handler: @escaping ResultHandler) {
        let chain = self.chain, face = self.face, gateway = self.gateway
        table.add(method, path + subpath, { request, parameters in
            let context = RequestContext(request: request, parameters: parameters, face: face, gateway: gateway)
            return chain.run(context) { context in
                do throws(HTTPResponse) {
                    return try handler(ResourceContext(context))
                } catch {
                    return .response(error)
                }
            }
        }, options: optionsHandler())
    }

    /// A GET route that answers `response` to every request (a probe): the
    /// server may send it without building the request, so the group may
    /// have no middleware.
    func fixed(_ subpath: String, _ response: HTTPResponse) {
        precondition(chain.middleware.isEmpty, "a fixed response runs no middleware")
        table.addFixed(path + subpath, response, options: optionsHandler())
    }

    /// OPTIONS runs the same chain: `CORSMiddleware` answers it (a
    /// preflight needs no token); where no middleware does, 204 with `Allow`.
    private func optionsHandler() -> Router.OptionsHandler {
        let chain = self.chain, face = self.face, gateway = self.gateway
        return { request, parameters, allowed in
            var context = RequestContext(request: request, parameters: parameters, face: face, gateway: gateway)
            context.allowedMethods = allowed
            return chain.run(context) { context in .response(CORSMiddleware.optionsResponse(context, headers: [])) }
        }
    }
}

/// The routes the groups declare, in declaration order, before they go
/// into the `Router`.
final class RouteTable {
    private(set) var routes: [(method: String, pattern: String, handler: Router.Handler, options: Router.OptionsHandler, fixed: HTTPResponse?)] = []

    func add(_ method: String, _ pattern: String, _ handler: @escaping Router.Handler, options: @escaping Router.OptionsHandler) {
        routes.append((method, pattern.isEmpty ? "/" : pattern, handler, options, nil))
    }

    func addFixed(_ pattern: String, _ response: HTTPResponse, options: @escaping Router.OptionsHandler) {
        routes.append(("GET", pattern.isEmpty ? "/" : pattern, { _, _ in .response(response) }, options, response))
    }

    func install(on router: inout Router) {
        for route in routes {
            if let fixed = route.fixed {
                router.add(fixed: fixed, at: route.pattern, options: route.options)
            } else {
                router.add(route.method, route.pattern, route.handler, options: route.options)
            }
        }
    }
}

/// The root group of each face, handed to every route family's `register`.
struct Routes {
    let resource: RouteGroup
    let command: RouteGroup
    let eventStream: RouteGroup
    let open: RouteGroup

    init(gateway: Gateway, table: RouteTable) {
        resource = RouteGroup(gateway: gateway, face: .resource, table: table)
        command = RouteGroup(gateway: gateway, face: .command, table: table)
        eventStream = RouteGroup(gateway: gateway, face: .eventStream, table: table)
        open = RouteGroup(gateway: gateway, face: .open, table: table)
    }
}
