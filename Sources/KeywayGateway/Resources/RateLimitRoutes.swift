import KeywayEngine
import KeywayHTTP

/// `/v1/ratelimits/{name}`: rate limiting as a service for applications.
///
/// `POST` checks and consumes, `GET` peeks, `DELETE` resets. Each check is
/// one `RATELIMIT` command on the key `ratelimit:{name}:{key}`, so it is
/// atomic however many clients check the same key at once. A refused check
/// is still a successful answer to the question asked: 200 with
/// `"allowed": false` (429 is what the gateway's own limit sends).
enum RateLimitRoutes {
    static func register(_ routes: Routes) {
        let limit = routes.resource.group("/v1/ratelimits/{name}")
        limit.post { context throws(HTTPResponse) in try check(context, peek: false) }
        limit.get { context throws(HTTPResponse) in try check(context, peek: true) }
        limit.delete(reset)
    }

    /// What a check needs, read from a JSON body (POST) or the query (GET).
    struct Parameters {
        var key: Bytes
        var algorithm: RateLimitAlgorithm
        var limit: Int64
        var windowMilliseconds: Int64
        var cost: Int64
    }

    /// The storage key: `ratelimit:{name}:{key}`. Names may not contain `:`
    /// (so two name/key pairs never share a key) nor start with `@`
    /// (reserved for the gateway's own limit).
    static func storageKey(_ context: ResourceContext, key: [UInt8]) throws(HTTPResponse) -> Bytes {
        let name = context.parameter("name").storage
        if name.first == UInt8(ascii: "@") || name.contains(UInt8(ascii: ":")) {
            throw Problem.badRequest("a rate limit name may not contain ':' or start with '@'")
        }
        return Bytes(Array("ratelimit:".utf8) + name + [UInt8(ascii: ":")] + key)
    }

    static func key(_ fields: Fields) throws(FieldError) -> [UInt8] {
        guard let key = try fields.string("key") else { throw FieldError("'key' (a string) is required") }
        guard !key.isEmpty else { throw FieldError("'key' must not be empty") }
        return Array(key.utf8)
    }

    static func parameters(_ fields: Fields) throws(FieldError) -> Parameters {
        let key = try key(fields)
        let algorithmName = try fields.string("algorithm") ?? RateLimitAlgorithm.slidingWindow.rawValue
        guard let algorithm = RateLimitAlgorithm(rawValue: algorithmName) else {
            throw FieldError("unknown algorithm '\(algorithmName)'; use sliding-log, sliding-window, fixed-window or token-bucket")
        }
        guard let limitText = try fields.number("limit") else { throw FieldError("'limit' (a positive integer) is required") }
        guard let limit = Int64(limitText), limit > 0, limit <= algorithm.maxLimit else {
            throw FieldError("'limit' must be an integer from 1 to \(algorithm.maxLimit) for \(algorithm.rawValue)")
        }
        guard let windowText = try fields.number("window") else { throw FieldError("'window' (seconds) is required") }
        let maxSeconds = RateLimitAlgorithm.maxWindowMilliseconds / 1000
        guard let seconds = Double(windowText), seconds.isFinite, seconds >= 0.001, seconds <= Double(maxSeconds) else {
            throw FieldError("'window' must be a number of seconds from 0.001 to \(maxSeconds)")
        }
        var cost: Int64 = 1
        if let costText = try fields.number("cost") {
            guard let value = Int64(costText), value > 0, value <= limit else {
                throw FieldError("'cost' must be an integer from 1 to the limit (\(limit))")
            }
            cost = value
        }
        return Parameters(key: Bytes(key), algorithm: algorithm, limit: limit,
                          windowMilliseconds: Int64((seconds * 1000).rounded()), cost: cost)
    }

    /// One RATELIMIT check (or peek): 200 with the decision in the body and
    /// in RateLimit-* headers.
    static func check(_ context: ResourceContext, peek: Bool) throws(HTTPResponse) -> HTTPResponse {
        let fields = try context.fields()
        let parsed = try context.reading { () throws(FieldError) in try parameters(fields) }
        let key = try storageKey(context, key: parsed.key.storage)
        var arguments = [key, Bytes(parsed.algorithm.rawValue), Parse.bytes(parsed.limit), Parse.bytes(parsed.windowMilliseconds),
                         Bytes("COST"), Parse.bytes(parsed.cost)]
        if peek { arguments.append(Bytes("PEEK")) }
        guard let decision = RateLimitDecision(reply: try context.execute("RATELIMIT", arguments)) else {
            throw Problem.response(500, code: "ERR", detail: "unexpected reply from RATELIMIT")
        }
        return context.json(headers: RateLimitHeaders.headers(decision)) { o in
            o.member("allowed") { $0.bool(decision.allowed) }
            o.member("limit") { $0.integer(decision.limit) }
            o.member("remaining") { $0.integer(decision.remaining) }
            o.member("reset") { $0.integer(RateLimitHeaders.seconds(decision.resetMilliseconds)) }
            o.member("reset_ms") { $0.integer(decision.resetMilliseconds) }
            o.member("retry_after") { $0.integer(RateLimitHeaders.seconds(decision.retryAfterMilliseconds)) }
            o.member("retry_after_ms") { $0.integer(decision.retryAfterMilliseconds) }
        }
    }

    /// Forgets a key's state: its next check starts from a full limit.
    /// 204 whether or not there was any state.
    static func reset(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let fields = try context.fields()
        let key = try context.reading { () throws(FieldError) in try Self.key(fields) }
        try context.execute("DEL", [try storageKey(context, key: key)])
        return HTTPResponse(status: 204)
    }
}
