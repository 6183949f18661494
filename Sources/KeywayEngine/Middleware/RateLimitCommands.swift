/// `RATELIMIT key algorithm limit window-ms [COST n] [PEEK]`: one rate-limit
/// check as one command, so it runs whole under the engine lock and
/// concurrent clients never get more than `limit` through.
///
/// Replies `[allowed (1/0), limit, remaining, reset-ms, retry-after-ms]`
/// (see `RateLimitDecision`). `PEEK` reports without consuming. The state
/// lives at `key` as described in `RateLimitAlgorithm`; what the AOF gets is
/// the resulting writes (ZADD, HSET, SET ... PXAT, PEXPIREAT), never the
/// check itself, because its outcome depends on the time.
enum RateLimitCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("ratelimit", arity: -5, flags: [.write, .denyOOM, .fast], handler: ratelimit),
    ]

    static func ratelimit(_ c: CommandContext) throws(CommandError) -> Reply {
        guard let algorithm = RateLimitAlgorithm(c[2]) else {
            throw .generic("unknown rate limit algorithm '\(c[2].text)'; use fixed-window, sliding-log, sliding-window or token-bucket")
        }
        let limit = try c.integer(at: 3)
        guard limit > 0, limit <= algorithm.maxLimit else {
            throw .generic("limit must be between 1 and \(algorithm.maxLimit) for \(algorithm.rawValue)")
        }
        let window = try c.integer(at: 4)
        guard window > 0, window <= RateLimitAlgorithm.maxWindowMilliseconds else {
            throw .generic("window must be between 1 and \(RateLimitAlgorithm.maxWindowMilliseconds) milliseconds")
        }
        var cost: Int64 = 1
        var peek = false
        var i = 5
        while i < c.argumentCount {
            if c[i].equalsIgnoringCase("cost"), i + 1 < c.argumentCount {
                cost = try c.integer(at: i + 1)
                guard cost > 0, cost <= limit else { throw .generic("cost must be between 1 and the limit") }
                i += 2
            } else if c[i].equalsIgnoringCase("peek") {
                peek = true
                i += 1
            } else {
                throw .syntax
            }
        }
        let request = RateLimitRequest(key: c[1], limit: limit, window: window, cost: cost, peek: peek)
        let decision: RateLimitDecision
        switch algorithm {
        case .fixedWindow: decision = try RateLimitAlgorithm.fixedWindow(c, request)
        case .slidingLog: decision = try RateLimitAlgorithm.slidingLog(c, request)
        case .slidingWindow: decision = try RateLimitAlgorithm.slidingWindow(c, request)
        case .tokenBucket: decision = try RateLimitAlgorithm.tokenBucket(c, request)
        }
        return decision.reply
    }
}
