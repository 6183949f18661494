/// Rate limiting algorithms over ordinary keys.
///
/// Each algorithm keeps its state the way the usual Redis recipes do, so the
/// state is visible to `TYPE`/`ZRANGE`/`HGETALL`, expires with a TTL, and is
/// saved and logged like any other key:
///
/// | algorithm | key holds |
/// | --- | --- |
/// | `fixed-window` | a string counter that expires when its window ends (INCR + PEXPIRE) |
/// | `sliding-log` | a sorted set of request times in ms (ZREMRANGEBYSCORE + ZCARD + ZADD + PEXPIRE) |
/// | `sliding-window` | a hash: `start` of the current fixed window, `current` and `previous` counts, the previous one weighted by how much of it still overlaps the sliding window |
/// | `token-bucket` | a hash: `tokens` left (a float) and `ts`, the time of the last refill |
///
/// Windows are half-open: a request at time `t` counts while `now < t + window`.
/// The whole check runs inside one command, so under the engine lock many
/// clients at once never exceed the limit.
public enum RateLimitAlgorithm: String, Sendable, CaseIterable {
    case fixedWindow = "fixed-window"
    case slidingLog = "sliding-log"
    case slidingWindow = "sliding-window"
    case tokenBucket = "token-bucket"

    /// Largest limit any algorithm takes.
    public static let maxLimit: Int64 = 1_000_000_000
    /// A sliding log keeps one member per request: its limit is kept lower.
    public static let maxSlidingLogLimit: Int64 = 100_000
    /// Longest window: one year, in milliseconds.
    public static let maxWindowMilliseconds: Int64 = 365 * 24 * 3600 * 1000

    public init?(_ name: Bytes) {
        // Byte comparisons first: this runs on every request the gateway limits.
        if name.equalsIgnoringCase("sliding-window") { self = .slidingWindow; return }
        self.init(rawValue: name.lowercasedASCII)
    }

    public var maxLimit: Int64 { self == .slidingLog ? Self.maxSlidingLogLimit : Self.maxLimit }
}

/// The outcome of one check: what the caller reports to its client.
public struct RateLimitDecision: Sendable, Equatable {
    public var allowed: Bool
    public var limit: Int64
    /// Requests (cost units) still allowed right now.
    public var remaining: Int64
    /// Milliseconds until the limiter frees at least one more unit; 0 when
    /// nothing is used.
    public var resetMilliseconds: Int64
    /// Milliseconds until this request's cost would be allowed; 0 when allowed.
    public var retryAfterMilliseconds: Int64

    public init(allowed: Bool, limit: Int64, remaining: Int64, resetMilliseconds: Int64, retryAfterMilliseconds: Int64) {
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.resetMilliseconds = resetMilliseconds
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }

    /// The reply of `RATELIMIT`: `[allowed, limit, remaining, reset-ms, retry-after-ms]`.
    public var reply: Reply {
        .array([.integer(allowed ? 1 : 0), .integer(limit), .integer(remaining),
                .integer(resetMilliseconds), .integer(retryAfterMilliseconds)])
    }

    /// Reads a `RATELIMIT` reply back.
    public init?(reply: Reply) {
        guard case .array(let items) = reply, items.count == 5 else { return nil }
        var numbers: [Int64] = []
        for item in items {
            guard case .integer(let value) = item else { return nil }
            numbers.append(value)
        }
        self.init(allowed: numbers[0] == 1, limit: numbers[1], remaining: numbers[2],
                  resetMilliseconds: numbers[3], retryAfterMilliseconds: numbers[4])
    }
}

/// One check's inputs, already validated.
struct RateLimitRequest {
    let key: Bytes
    let limit: Int64
    let window: Int64
    let cost: Int64
    /// Report without consuming anything.
    let peek: Bool
}

/// Field names of the hash-based algorithms, built once.
enum RateLimitField {
    static let start = Bytes("start")
    static let current = Bytes("current")
    static let previous = Bytes("previous")
    static let tokens = Bytes("tokens")
    static let refilled = Bytes("ts")
}

/// `a * b / c` without overflow (all non-negative), rounded down.
func multiplyDivide(_ a: Int64, _ b: Int64, _ c: Int64) -> Int64 {
    let product = a.multipliedFullWidth(by: b)
    return c.dividingFullWidth((product.high, product.low)).quotient
}

/// `a * b / c` rounded up.
func multiplyDivideRoundingUp(_ a: Int64, _ b: Int64, _ c: Int64) -> Int64 {
    let product = a.multipliedFullWidth(by: b)
    let (quotient, remainder) = c.dividingFullWidth((product.high, product.low))
    return remainder > 0 ? quotient + 1 : quotient
}

// MARK: - Fixed window

extension RateLimitAlgorithm {
    /// A counter that starts with the window's first request and expires
    /// `window` ms later. Refused requests are not counted.
    static func fixedWindow(_ c: CommandContext, _ r: RateLimitRequest) throws(CommandError) -> RateLimitDecision {
        let now = c.db.now
        var used: Int64 = 0
        var deadline = now + r.window - 1
        if let slot = c.db.liveSlot(r.key) {
            let entry = c.db.keyspace[slot: slot]
            guard case .string(let bytes) = entry.value else { throw .wrongType }
            used = max(0, try Parse.integer(bytes))
            if entry.hasExpiry { deadline = entry.expiresAt }
        }
        let allowed = used <= r.limit - r.cost
        if allowed && !r.peek {
            used += r.cost
            c.db.setKey(r.key, .string(Parse.bytes(used)), expiresAt: deadline)
            c.db.didWrite(r.key, .incrby)
            c.db.didWrite(r.key, .expire)
            c.propagate(argv("SET", r.key, used, "PXAT", deadline))
        }
        let untilReset = deadline + 1 - now
        return RateLimitDecision(allowed: allowed, limit: r.limit, remaining: max(0, r.limit - used),
                                 resetMilliseconds: used > 0 ? untilReset : 0,
                                 retryAfterMilliseconds: allowed ? 0 : untilReset)
    }
}

// MARK: - Sliding log

extension RateLimitAlgorithm {
    /// Every request's time in a sorted set; those older than the window are
    /// trimmed before counting. Exact, at one member per request.
    static func slidingLog(_ c: CommandContext, _ r: RateLimitRequest) throws(CommandError) -> RateLimitDecision {
        let now = c.db.now
        let cutoff = Double(now - r.window)
        // Read in its own scope so the later in-place write does not copy the set.
        let (stale, used, oldest, retryAfter) = try { () throws(CommandError) -> (Int, Int64, Int64, Int64) in
            let set = try c.db.read(SortedSetValue.self, r.key) ?? SortedSetValue()
            let stale = set.countPrefix { score, _ in score <= cutoff }
            let used = Int64(set.count - stale)
            /// When the live entry at `index` (0 = oldest) was made.
            func time(_ index: Int64) -> Int64 { Int64(set.element(atRank: stale + Int(index)).score) }
            let allowed = used <= r.limit - r.cost
            return (stale, used, used > 0 ? time(0) : now, allowed ? 0 : time(used + r.cost - r.limit - 1) + r.window - now)
        }()
        let allowed = used <= r.limit - r.cost
        guard allowed && !r.peek else {
            return RateLimitDecision(allowed: allowed, limit: r.limit, remaining: max(0, r.limit - used),
                                     resetMilliseconds: used > 0 ? oldest + r.window - now : 0, retryAfterMilliseconds: retryAfter)
        }
        // Members are `<ms>-<n>`; n counts up from the live count, so two
        // requests in the same millisecond never share a member.
        let members = (0..<r.cost).map { Bytes("\(now)-\(used + $0)") }
        _ = try c.db.modify(SortedSetValue.self, r.key, create: true) { set in
            if stale > 0 { _ = set.removeRanks(0..<stale) }
            for member in members { _ = set.set(member, score: Double(now)) }
        }
        let deadline = now + r.window - 1
        c.db.setExpiry(r.key, at: deadline)
        if stale > 0 { c.db.didWrite(r.key, .zremrangebyscore) }
        c.db.didWrite(r.key, .zadd)
        c.db.didWrite(r.key, .expire)
        if c.isPropagating {
            var effects: [[Bytes]] = []
            if stale > 0 { effects.append(argv("ZREMRANGEBYSCORE", r.key, "-inf", now - r.window)) }
            var zadd = argv("ZADD", r.key)
            for member in members { zadd += argv(now, member) }
            effects.append(zadd)
            effects.append(argv("PEXPIREAT", r.key, deadline))
            c.propagate(effects)
        }
        return RateLimitDecision(allowed: true, limit: r.limit, remaining: r.limit - used - r.cost,
                                 resetMilliseconds: oldest + r.window - now, retryAfterMilliseconds: 0)
    }
}

// MARK: - Sliding window (two weighted fixed windows)

/// The state of the sliding-window counter, rolled forward to `now`.
struct SlidingWindowState {
    /// Start of the current fixed window (a multiple of the window length).
    var start: Int64
    var current: Int64
    var previous: Int64

    init(start: Int64, current: Int64, previous: Int64, now: Int64, window: Int64) {
        let aligned = now - now % window
        if aligned == start {
            (self.start, self.current, self.previous) = (start, current, previous)
        } else if aligned == start + window {
            (self.start, self.current, self.previous) = (aligned, 0, current)
        } else {
            (self.start, self.current, self.previous) = (aligned, 0, 0)
        }
    }

    /// The estimate: this window's count plus the previous window's count
    /// weighted by the share of it the sliding window still covers
    /// (rounded up, so the estimate never lets more through).
    func used(now: Int64, window: Int64) -> Int64 {
        current + multiplyDivideRoundingUp(previous, window - (now - start), window)
    }

    /// Milliseconds from `now` until the estimate is at most `target` (>= 0).
    func wait(until target: Int64, now: Int64, window: Int64) -> Int64 {
        let elapsed = now - start
        let budget = target - current
        if budget >= 0 {
            guard previous > 0, used(now: now, window: window) > target else { return 0 }
            // previous * (window - t) / window <= budget  <=>  t >= window - budget * window / previous
            let at = window - multiplyDivide(budget, window, previous)
            return max(0, at - elapsed)
        }
        // This window's count alone is too much: wait for the next window,
        // where it becomes the weighted previous count.
        let nextWindow = window - elapsed
        let at = window - multiplyDivide(target, window, current)
        return nextWindow + max(0, at)
    }
}

extension RateLimitAlgorithm {
    static func slidingWindow(_ c: CommandContext, _ r: RateLimitRequest) throws(CommandError) -> RateLimitDecision {
        let now = c.db.now
        /// Reads the state, rolls it to `now` and, when allowed, counts the
        /// request: one pass over the hash, updated in place.
        func apply(_ hash: inout HashValue) -> (state: SlidingWindowState, used: Int64, allowed: Bool, fields: [(Bytes, Bytes)]) {
            var stored = (start: Int64(-1), current: Int64(0), previous: Int64(0))
            if let start = hash[RateLimitField.start].flatMap(Parse.strictInt64),
               let current = hash[RateLimitField.current].flatMap(Parse.strictInt64),
               let previous = hash[RateLimitField.previous].flatMap(Parse.strictInt64) {
                stored = (start, max(0, current), max(0, previous))
            }
            var state = SlidingWindowState(start: stored.start, current: stored.current, previous: stored.previous, now: now, window: r.window)
            let used = state.used(now: now, window: r.window)
            guard used <= r.limit - r.cost else { return (state, used, false, []) }
            guard !r.peek else { return (state, used, true, []) }
            state.current += r.cost
            // Within one window only `current` changes: the others are
            // written when the window rolls (or the hash is new).
            var fields = [(RateLimitField.current, Parse.bytes(state.current))]
            if state.start != stored.start || state.previous != stored.previous {
                fields += [(RateLimitField.start, Parse.bytes(state.start)), (RateLimitField.previous, Parse.bytes(state.previous))]
            }
            for (field, value) in fields { _ = hash.set(field, value) }
            return (state, used + r.cost, true, fields)
        }
        var empty = HashValue()
        let (state, used, allowed, fields) = try c.db.modify(HashValue.self, r.key, create: !r.peek) { apply(&$0) } ?? apply(&empty)
        let retryAfter = allowed ? 0 : state.wait(until: r.limit - r.cost, now: now, window: r.window)
        if !fields.isEmpty {
            // Both counts are stale once the window after this one ends.
            stateWritten(c, r.key, fields: fields, expiresAt: state.start + 2 * r.window - 1)
        }
        return RateLimitDecision(allowed: allowed, limit: r.limit, remaining: max(0, r.limit - used),
                                 resetMilliseconds: used > 0 ? state.wait(until: used - 1, now: now, window: r.window) : 0,
                                 retryAfterMilliseconds: retryAfter)
    }
}

// MARK: - Token bucket

extension RateLimitAlgorithm {
    /// A bucket of `limit` tokens refilled continuously at `limit` per
    /// window; a request takes `cost` tokens. A missing key is a full bucket,
    /// and the key expires when the bucket would be full again.
    static func tokenBucket(_ c: CommandContext, _ r: RateLimitRequest) throws(CommandError) -> RateLimitDecision {
        let now = c.db.now
        let capacity = Double(r.limit)
        let window = Double(r.window)
        var tokens = capacity
        if let hash = try c.db.read(HashValue.self, r.key),
           let stored = hash[RateLimitField.tokens].flatMap(Parse.strictDouble),
           let refilled = hash[RateLimitField.refilled].flatMap(Parse.strictInt64), stored.isFinite {
            let elapsed = Double(max(0, now - refilled))
            tokens = min(capacity, max(0, stored) + elapsed * capacity / window)
        }
        /// Milliseconds until the bucket holds `wanted` tokens.
        func refillTime(_ wanted: Double) -> Int64 {
            wanted <= tokens ? 0 : Int64(((wanted - tokens) * window / capacity).rounded(.up))
        }
        let cost = Double(r.cost)
        let allowed = tokens >= cost
        let retryAfter = allowed ? 0 : refillTime(cost)
        if allowed && !r.peek {
            tokens -= cost
            let fields = [(RateLimitField.tokens, ScoreFormatting.bytes(tokens)), (RateLimitField.refilled, Parse.bytes(now))]
            _ = try c.db.modify(HashValue.self, r.key, create: true) { hash in
                for (field, value) in fields { _ = hash.set(field, value) }
            }
            stateWritten(c, r.key, fields: fields, expiresAt: now + max(1, refillTime(capacity)) - 1)
        }
        let whole = tokens.rounded(.down)
        return RateLimitDecision(allowed: allowed, limit: r.limit, remaining: Int64(whole),
                                 resetMilliseconds: tokens >= capacity ? 0 : refillTime(whole + 1),
                                 retryAfterMilliseconds: retryAfter)
    }
}

extension RateLimitAlgorithm {
    /// After a limiter's hash state changed: its TTL, the write path's
    /// events, and the effects the AOF records (HSET of the changed fields,
    /// PEXPIREAT), never the time-dependent check itself.
    static func stateWritten(_ c: CommandContext, _ key: Bytes, fields: [(Bytes, Bytes)], expiresAt deadline: Int64) {
        c.db.setExpiry(key, at: deadline)
        c.db.didWrite(key, .hset)
        c.db.didWrite(key, .expire)
        guard c.isPropagating else { return }
        var hset = argv("HSET", key)
        for (field, value) in fields { hset += [field, value] }
        c.propagate([hset, argv("PEXPIREAT", key, deadline)])
    }
}
