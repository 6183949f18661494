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
        let parsed = try RateLimitArguments(c.arguments)
        let request = RateLimitRequest(key: c[1], limit: parsed.limit, window: parsed.windowMilliseconds,
                                       cost: parsed.cost, peek: parsed.peek)
        let decision: RateLimitDecision
        switch parsed.algorithm {
        case .fixedWindow: decision = try RateLimitAlgorithm.fixedWindow(c, request)
        case .slidingLog: decision = try RateLimitAlgorithm.slidingLog(c, request)
        case .slidingWindow: decision = try RateLimitAlgorithm.slidingWindow(c, request)
        case .tokenBucket: decision = try RateLimitAlgorithm.tokenBucket(c, request)
        }
        return decision.reply
    }
}

/// A `RATELIMIT` command's arguments, checked: what the engine runs, and
/// what a cluster backend hands to its script, with the same errors.
public struct RateLimitArguments: Sendable {
    public let algorithm: RateLimitAlgorithm
    public let limit: Int64
    public let windowMilliseconds: Int64
    public let cost: Int64
    /// Report without consuming anything.
    public let peek: Bool

    /// `arguments` is the whole command: `RATELIMIT key algorithm limit window-ms [COST n] [PEEK]`.
    public init(_ arguments: [Bytes]) throws(CommandError) {
        guard arguments.count >= 5 else { throw .wrongArity("ratelimit") }
        guard let algorithm = RateLimitAlgorithm(arguments[2]) else {
            throw .generic("unknown rate limit algorithm '\(arguments[2].text)'; use fixed-window, sliding-log, sliding-window or token-bucket")
        }
        let limit = try Parse.integer(arguments[3])
        guard limit > 0, limit <= algorithm.maxLimit else {
            throw .generic("limit must be between 1 and \(algorithm.maxLimit) for \(algorithm.rawValue)")
        }
        let window = try Parse.integer(arguments[4])
        guard window > 0, window <= RateLimitAlgorithm.maxWindowMilliseconds else {
            throw .generic("window must be between 1 and \(RateLimitAlgorithm.maxWindowMilliseconds) milliseconds")
        }
        var cost: Int64 = 1
        var peek = false
        var i = 5
        while i < arguments.count {
            if arguments[i].equalsIgnoringCase("cost"), i + 1 < arguments.count {
                cost = try Parse.integer(arguments[i + 1])
                guard cost > 0, cost <= limit else { throw .generic("cost must be between 1 and the limit") }
                i += 2
            } else if arguments[i].equalsIgnoringCase("peek") {
                peek = true
                i += 1
            } else {
                throw .syntax
            }
        }
        (self.algorithm, self.limit, self.windowMilliseconds, self.cost, self.peek) = (algorithm, limit, window, cost, peek)
    }
}
