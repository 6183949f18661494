import KeywayEngine
import KeywayHTTP

/// Cache-aside in front of configured origins:
/// `GET /v1/cache/{origin}/{path...}` answers from the store or fetches the
/// origin once (however many clients miss together) and stores the answer;
/// writes to the same path go to the origin and invalidate the entry;
/// `DELETE` with `Cache-Purge: only` drops the entry without the origin.
/// No request thread waits on an origin: requests park until it answers.
enum CacheRoutes {
    static func register(_ routes: Routes) {
        let origin = routes.resource.group("/v1/cache/{origin}")
        origin.addResult("GET", "/{path...}", read)
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            origin.addResult(method, "/{path...}", write)
        }
    }

    /// The header that turns a DELETE into a purge of the stored entry only.
    static let purgeHeader = "cache-purge"

    /// The origin named in the path, and where the request goes on it.
    static func resolve(_ context: ResourceContext) throws(HTTPResponse) -> (CacheOrigin, CacheTarget) {
        let name = String(decoding: context.parameter("origin").storage, as: UTF8.self)
        guard let origin = context.gateway.cache.origins[name] else {
            throw Problem.response(404, code: "NO_SUCH_ORIGIN", detail: "no cache origin named '\(name)' is configured")
        }
        let target = CacheTarget(origin: origin.name, segments: context.parameters.rest["path"] ?? [], query: context.request.query)
        // ACL: a read needs to read the entry's key, a write to delete it.
        if context.request.method == "GET" || context.request.method == "HEAD" {
            try context.authorize("HGETALL", [target.key])
        } else {
            try context.authorize("DEL", [target.key])
        }
        return (origin, target)
    }

    // MARK: - Reads

    static func read(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResult {
        let cache = context.gateway.cache
        let (origin, target) = try resolve(context)
        let (entry, now) = cache.lookup(target.key, context)
        if let entry, now < entry.freshUntil {
            return .response(replay(entry, state: "HIT", now: now))
        }
        let parked = ParkedResponse()
        guard let flight = cache.flights.join(target.key, parked) else { return .parked(parked) }
        fetch(origin, target, flight, context)
        return .parked(parked)
    }

    /// Runs the fetch for everyone parked on `flight`, and answers them all.
    static func fetch(_ origin: CacheOrigin, _ target: CacheTarget, _ flight: SingleFlight.Flight, _ context: ResourceContext) {
        let cache = context.gateway.cache
        var headers: [(String, String)] = []
        if let accept = context.request.header("accept") { headers.append(("Accept", accept)) }
        cache.client?.send(method: "GET", url: origin.baseURL + target.target, headers: headers, body: []) { result in
            let response: HTTPResponse
            switch result {
            case .success(let answer) where answer.status >= 500:
                // stale-if-error covers an origin's server errors too (RFC 5861).
                response = stale(target, origin, context) ?? relay(answer, state: "MISS")
            case .success(let answer):
                if !flight.invalidated.load(ordering: .relaxed) {
                    cache.store(answer, key: target.key, origin: origin, context)
                }
                response = relay(answer, state: "MISS")
            case .failure(let failure):
                response = stale(target, origin, context) ?? problem(for: failure, origin: origin)
            }
            for waiter in cache.flights.finish(target.key, flight) { waiter.resolve(response) }
        }
    }

    /// The stored copy, when the origin failed and it is within the
    /// origin's stale-if-error window.
    static func stale(_ target: CacheTarget, _ origin: CacheOrigin, _ context: ResourceContext) -> HTTPResponse? {
        guard origin.staleIfError > 0 else { return nil }
        let (entry, now) = context.gateway.cache.lookup(target.key, context)
        guard let entry, now < entry.freshUntil + Int64(origin.staleIfError) * 1000 else { return nil }
        var response = replay(entry, state: "STALE", now: now)
        response.headers.append(("Warning", #"111 keyway "Revalidation Failed""#))
        return response
    }

    /// A stored entry as a response, with its age.
    static func replay(_ entry: CacheEntry, state: String, now: Int64) -> HTTPResponse {
        var headers: [(String, String)] = [("X-Cache", state), ("Age", String(entry.age(now: now)))]
        if !entry.contentType.isEmpty { headers.append(("Content-Type", entry.contentType)) }
        return HTTPResponse(status: entry.status, headers: headers, body: entry.body)
    }

    /// An origin's answer as Keyway's response.
    static func relay(_ answer: OriginResponse, state: String?) -> HTTPResponse {
        var headers: [(String, String)] = []
        if let state { headers.append(("X-Cache", state)) }
        if let type = answer.contentType { headers.append(("Content-Type", type)) }
        if let location = answer.location { headers.append(("Location", location)) }
        return HTTPResponse(status: answer.status, headers: headers, body: answer.body)
    }

    static func problem(for failure: OriginFailure, origin: CacheOrigin) -> HTTPResponse {
        switch failure {
        case .timeout:
            return Problem.response(504, code: "GATEWAY_TIMEOUT", detail: "origin '\(origin.name)' did not answer in time")
        case .unreachable(let reason):
            return Problem.response(502, code: "BAD_GATEWAY", detail: "origin '\(origin.name)' is unreachable: \(reason)")
        case .tooLarge(let limit):
            return Problem.response(502, code: "BAD_GATEWAY", detail: "origin '\(origin.name)' answered with a body over \(limit) bytes")
        }
    }

    // MARK: - Writes

    /// Forwards the write (method, body, content type) and drops the stored
    /// entry once the origin answered, or failed to (the write may have
    /// happened). `DELETE` with `Cache-Purge: only` purges without the origin.
    static func write(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResult {
        let cache = context.gateway.cache
        let request = context.request
        let (origin, target) = try resolve(context)
        if let purge = request.header(purgeHeader) {
            guard request.method == "DELETE", purge.lowercased() == "only" else {
                throw Problem.badRequest("Cache-Purge: only is the one purge form, and only with DELETE")
            }
            guard cache.purge(target.key, context) else { throw Problem.noSuchKey(target.key.storage) }
            return .response(HTTPResponse(status: 204))
        }
        var headers: [(String, String)] = []
        if let type = request.header("content-type") { headers.append(("Content-Type", type)) }
        if let accept = request.header("accept") { headers.append(("Accept", accept)) }
        let parked = ParkedResponse()
        cache.client?.send(method: request.method, url: origin.baseURL + target.target, headers: headers, body: request.body) { result in
            cache.flights.invalidate(target.key)
            _ = cache.purge(target.key, context)
            switch result {
            case .success(let answer): parked.resolve(relay(answer, state: nil))
            case .failure(let failure): parked.resolve(problem(for: failure, origin: origin))
            }
        }
        return .parked(parked)
    }
}
