import Dispatch
import Synchronization
import Testing
@testable import KeywayEngine

/// RATELIMIT under a manual clock: exact allow/deny sequences per algorithm,
/// windows sliding, tokens refilling, the keys left behind, and what the
/// AOF is given.
@Suite struct RateLimitTests {
    let engine: Engine
    let clock: ManualClock

    init() {
        (engine, clock) = makeEngine()
    }

    /// One check; `extra` is e.g. `["COST", "2"]` or `["PEEK"]`.
    func check(_ key: String, _ algorithm: String, limit: Int, window: Int, _ extra: String...) -> RateLimitDecision? {
        RateLimitDecision(reply: engine.run(["RATELIMIT", Bytes(key), Bytes(algorithm), Bytes(String(limit)), Bytes(String(window))] + extra.map { Bytes($0) }))
    }

    func decision(_ allowed: Bool, limit: Int64, remaining: Int64, reset: Int64, retry: Int64 = 0) -> RateLimitDecision {
        RateLimitDecision(allowed: allowed, limit: limit, remaining: remaining, resetMilliseconds: reset, retryAfterMilliseconds: retry)
    }

    // MARK: - fixed-window

    @Test func fixedWindowCountsUntilItsWindowEnds() {
        #expect(check("f", "fixed-window", limit: 3, window: 1000) == decision(true, limit: 3, remaining: 2, reset: 1000))
        clock.advance(milliseconds: 400)
        #expect(check("f", "fixed-window", limit: 3, window: 1000) == decision(true, limit: 3, remaining: 1, reset: 600))
        #expect(check("f", "fixed-window", limit: 3, window: 1000) == decision(true, limit: 3, remaining: 0, reset: 600))
        #expect(check("f", "fixed-window", limit: 3, window: 1000) == decision(false, limit: 3, remaining: 0, reset: 600, retry: 600))
        // A plain counter with a TTL, as INCR + PEXPIRE would leave; refusals were not counted.
        #expect(engine.run("TYPE", "f") == .status("string"))
        #expect(engine.run("GET", "f").bytesValue == "3")
        #expect(engine.pttl("f") == 599)
        clock.advance(milliseconds: 599)
        #expect(check("f", "fixed-window", limit: 3, window: 1000)?.allowed == false)
        clock.advance(milliseconds: 1)
        #expect(check("f", "fixed-window", limit: 3, window: 1000) == decision(true, limit: 3, remaining: 2, reset: 1000))
    }

    @Test func fixedWindowCostTakesSeveralUnits() {
        #expect(check("f", "fixed-window", limit: 5, window: 1000, "COST", "4")?.remaining == 1)
        #expect(check("f", "fixed-window", limit: 5, window: 1000, "COST", "2") == decision(false, limit: 5, remaining: 1, reset: 1000, retry: 1000))
        #expect(check("f", "fixed-window", limit: 5, window: 1000, "cost", "1")?.remaining == 0)
    }

    // MARK: - sliding-log

    @Test func slidingLogIsExactToTheMillisecond() {
        #expect(check("l", "sliding-log", limit: 3, window: 1000) == decision(true, limit: 3, remaining: 2, reset: 1000))
        clock.advance(milliseconds: 100)
        #expect(check("l", "sliding-log", limit: 3, window: 1000) == decision(true, limit: 3, remaining: 1, reset: 900))
        clock.advance(milliseconds: 100)
        #expect(check("l", "sliding-log", limit: 3, window: 1000) == decision(true, limit: 3, remaining: 0, reset: 800))
        clock.advance(milliseconds: 100)
        // Full: the oldest request (t=0) leaves the window at t=1000.
        #expect(check("l", "sliding-log", limit: 3, window: 1000) == decision(false, limit: 3, remaining: 0, reset: 700, retry: 700))
        // Two units must wait for the two oldest to leave.
        #expect(check("l", "sliding-log", limit: 3, window: 1000, "COST", "2")?.retryAfterMilliseconds == 800)
        clock.set(milliseconds: startMilliseconds + 999)
        #expect(check("l", "sliding-log", limit: 3, window: 1000)?.retryAfterMilliseconds == 1)
        clock.set(milliseconds: startMilliseconds + 1000)
        #expect(check("l", "sliding-log", limit: 3, window: 1000) == decision(true, limit: 3, remaining: 0, reset: 100))
        // The t=0 entry was trimmed; one member per counted request.
        #expect(engine.run("TYPE", "l") == .status("zset"))
        #expect(engine.run("ZCARD", "l") == .integer(3))
        #expect(engine.run("ZCOUNT", "l", "-inf", Bytes(String(startMilliseconds))) == .integer(0))
        #expect(engine.pttl("l") == 999)
    }

    @Test func slidingLogMembersStayDistinctWithinOneMillisecond() {
        for expected in stride(from: 4, through: 0, by: -1) {
            #expect(check("l", "sliding-log", limit: 5, window: 60_000)?.remaining == Int64(expected))
        }
        #expect(engine.run("ZCARD", "l") == .integer(5))
        #expect(check("l", "sliding-log", limit: 5, window: 60_000)?.allowed == false)
    }

    // MARK: - sliding-window

    @Test func slidingWindowWeighsThePreviousWindow() {
        // The manual clock starts on a multiple of 10 s: a fresh window.
        for remaining in stride(from: 9, through: 0, by: -1) {
            #expect(check("w", "sliding-window", limit: 10, window: 10_000)?.remaining == Int64(remaining))
        }
        // Ten in this window: the next one waits until the next window is 10% in
        // (10 * 90% = 9 estimated), 11 s from now.
        #expect(check("w", "sliding-window", limit: 10, window: 10_000) == decision(false, limit: 10, remaining: 0, reset: 11_000, retry: 11_000))
        clock.advance(milliseconds: 10_000)
        #expect(check("w", "sliding-window", limit: 10, window: 10_000) == decision(false, limit: 10, remaining: 0, reset: 1000, retry: 1000))
        clock.advance(milliseconds: 1000)
        #expect(check("w", "sliding-window", limit: 10, window: 10_000)?.allowed == true)
        // Half way: 1 + 10 * 50% = 6 used, so four more pass.
        clock.set(milliseconds: startMilliseconds + 15_000)
        #expect(check("w", "sliding-window", limit: 10, window: 10_000, "PEEK") == decision(true, limit: 10, remaining: 4, reset: 1000))
        for remaining in [3, 2, 1, 0] {
            #expect(check("w", "sliding-window", limit: 10, window: 10_000)?.remaining == Int64(remaining))
        }
        #expect(check("w", "sliding-window", limit: 10, window: 10_000)?.allowed == false)
        #expect(engine.run("HGET", "w", "start").bytesValue == Bytes(String(startMilliseconds + 10_000)))
        #expect(engine.run("HGET", "w", "current").bytesValue == "5")
        #expect(engine.run("HGET", "w", "previous").bytesValue == "10")
        // Stale once the window after this one ends.
        #expect(engine.pttl("w") == 14_999)
        clock.set(milliseconds: startMilliseconds + 30_000)
        #expect(check("w", "sliding-window", limit: 10, window: 10_000)?.remaining == 9)
    }

    // MARK: - token-bucket

    @Test func tokenBucketRefillsContinuously() {
        for remaining in stride(from: 9, through: 0, by: -1) {
            #expect(check("b", "token-bucket", limit: 10, window: 10_000)?.remaining == Int64(remaining))
        }
        // One token per second.
        #expect(check("b", "token-bucket", limit: 10, window: 10_000) == decision(false, limit: 10, remaining: 0, reset: 1000, retry: 1000))
        clock.advance(milliseconds: 500)
        #expect(check("b", "token-bucket", limit: 10, window: 10_000) == decision(false, limit: 10, remaining: 0, reset: 500, retry: 500))
        clock.advance(milliseconds: 500)
        #expect(check("b", "token-bucket", limit: 10, window: 10_000) == decision(true, limit: 10, remaining: 0, reset: 1000))
        clock.advance(milliseconds: 2000)
        #expect(check("b", "token-bucket", limit: 10, window: 10_000) == decision(true, limit: 10, remaining: 1, reset: 1000))
        #expect(check("b", "token-bucket", limit: 10, window: 10_000, "COST", "2") == decision(false, limit: 10, remaining: 1, reset: 1000, retry: 1000))
        #expect(engine.run("HGET", "b", "tokens").bytesValue == "1")
        #expect(engine.run("HGET", "b", "ts").bytesValue == Bytes(String(startMilliseconds + 3000)))
        // The key goes when the bucket would be full again (9 tokens = 9 s).
        #expect(engine.pttl("b") == 8999)
        clock.advance(milliseconds: 9000)
        #expect(engine.run("EXISTS", "b") == .integer(0))
        #expect(check("b", "token-bucket", limit: 10, window: 10_000, "PEEK") == decision(true, limit: 10, remaining: 10, reset: 0))
    }

    @Test func tokenBucketNeverHoldsMoreThanItsLimit() {
        #expect(check("b", "token-bucket", limit: 3, window: 3000)?.remaining == 2)
        clock.advance(milliseconds: 3_600_000)
        #expect(check("b", "token-bucket", limit: 3, window: 3000)?.remaining == 2)
    }

    // MARK: - Shared behaviour

    @Test func peekNeverConsumes() {
        for algorithm in RateLimitAlgorithm.allCases {
            let key = "p:\(algorithm.rawValue)"
            #expect(check(key, algorithm.rawValue, limit: 2, window: 1000, "PEEK") == decision(true, limit: 2, remaining: 2, reset: 0))
            #expect(engine.run("EXISTS", Bytes(key)) == .integer(0))
            _ = check(key, algorithm.rawValue, limit: 2, window: 1000)
            _ = check(key, algorithm.rawValue, limit: 2, window: 1000)
            #expect(check(key, algorithm.rawValue, limit: 2, window: 1000, "PEEK")?.allowed == false)
            #expect(check(key, algorithm.rawValue, limit: 2, window: 1000, "PEEK")?.remaining == 0)
        }
    }

    @Test func badArgumentsAreRefused() {
        engine.run("RPUSH", "list", "x")
        func error(_ words: String...) -> String? { engine.run(words.map { Bytes($0) }).errorMessage }
        #expect(error("RATELIMIT", "k", "leaky", "10", "1000")?.hasPrefix("ERR unknown rate limit algorithm 'leaky'") == true)
        #expect(error("RATELIMIT", "k", "fixed-window", "0", "1000")?.hasPrefix("ERR limit must be between 1 and") == true)
        #expect(error("RATELIMIT", "k", "fixed-window", "-5", "1000")?.hasPrefix("ERR limit must be") == true)
        #expect(error("RATELIMIT", "k", "fixed-window", "ten", "1000") == RedisError.notInteger)
        #expect(error("RATELIMIT", "k", "sliding-log", "100001", "1000")?.hasPrefix("ERR limit must be between 1 and 100000") == true)
        #expect(error("RATELIMIT", "k", "fixed-window", "10", "0")?.hasPrefix("ERR window must be") == true)
        #expect(error("RATELIMIT", "k", "fixed-window", "10", "99999999999999")?.hasPrefix("ERR window must be") == true)
        #expect(error("RATELIMIT", "k", "fixed-window", "10", "1000", "COST", "11") == "ERR cost must be between 1 and the limit")
        #expect(error("RATELIMIT", "k", "fixed-window", "10", "1000", "COST", "0") == "ERR cost must be between 1 and the limit")
        #expect(error("RATELIMIT", "k", "fixed-window", "10", "1000", "COST") == RedisError.syntax)
        #expect(error("RATELIMIT", "k", "fixed-window", "10", "1000", "FAST") == RedisError.syntax)
        #expect(error("RATELIMIT", "k", "fixed-window", "10") == RedisError.arity("ratelimit"))
        for algorithm in RateLimitAlgorithm.allCases {
            #expect(error("RATELIMIT", "list", algorithm.rawValue, "10", "1000") == wrongType)
        }
        #expect(engine.run("EXISTS", "k") == .integer(0))
    }

    @Test func concurrentChecksNeverExceedTheLimit() {
        let threads = 8, perThread = 40, limit = 100
        for algorithm in RateLimitAlgorithm.allCases {
            let allowed = Atomic<Int>(0)
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                for _ in 0..<perThread {
                    let reply = engine.run("RATELIMIT", Bytes("c:\(algorithm.rawValue)"), Bytes(algorithm.rawValue), Bytes(String(limit)), "60000")
                    if RateLimitDecision(reply: reply)?.allowed == true { allowed.add(1, ordering: .relaxed) }
                }
            }
            #expect(allowed.load(ordering: .relaxed) == limit, "\(algorithm.rawValue)")
        }
    }

    @Test func theAOFGetsTheWritesNotTheCheck() {
        let sink = RecordingSink()
        engine.attachPropagationSink(sink)
        let t = startMilliseconds
        _ = check("f", "fixed-window", limit: 2, window: 1000)
        _ = check("l", "sliding-log", limit: 2, window: 1000)
        clock.advance(milliseconds: 600)
        _ = check("l", "sliding-log", limit: 2, window: 1000)
        clock.advance(milliseconds: 900)
        _ = check("l", "sliding-log", limit: 2, window: 1000)
        _ = check("w", "sliding-window", limit: 2, window: 1000)
        _ = check("b", "token-bucket", limit: 2, window: 1000)
        _ = check("b", "token-bucket", limit: 2, window: 1000, "PEEK")
        _ = check("b", "token-bucket", limit: 2, window: 1000)
        _ = check("b", "token-bucket", limit: 2, window: 1000)  // refused: nothing written
        let m = t + 600, u = t + 1500
        #expect(sink.commands == [
            ["SET", "f", "1", "PXAT", "\(t + 999)"],
            ["ZADD", "l", "\(t)", "\(t)-0"], ["PEXPIREAT", "l", "\(t + 999)"],
            ["ZADD", "l", "\(m)", "\(m)-1"], ["PEXPIREAT", "l", "\(m + 999)"],
            ["ZREMRANGEBYSCORE", "l", "-inf", "\(u - 1000)"], ["ZADD", "l", "\(u)", "\(u)-1"], ["PEXPIREAT", "l", "\(u + 999)"],
            ["HSET", "w", "current", "1", "start", "\(t + 1000)", "previous", "0"], ["PEXPIREAT", "w", "\(t + 2999)"],
            ["HSET", "b", "tokens", "1", "ts", "\(u)"], ["PEXPIREAT", "b", "\(u + 499)"],
            ["HSET", "b", "tokens", "0", "ts", "\(u)"], ["PEXPIREAT", "b", "\(u + 999)"],
        ])
    }

    @Test func replayingTheLoggedWritesRebuildsTheSameKeys() {
        let sink = RecordingSink()
        engine.attachPropagationSink(sink)
        for step in 0..<12 {
            for algorithm in RateLimitAlgorithm.allCases {
                _ = check("r:\(algorithm.rawValue)", algorithm.rawValue, limit: 5, window: 2000, "COST", step % 3 == 0 ? "2" : "1")
            }
            clock.advance(milliseconds: 350)
        }
        let (replica, _) = makeEngine(milliseconds: startMilliseconds + 12 * 350)
        // As an AOF load does: nothing expires while the log replays.
        replica.withDatabase { db, _ in db.loading = true }
        for command in sink.commands { replica.run(command.map { Bytes($0) }) }
        replica.withDatabase { db, _ in db.loading = false }
        for algorithm in RateLimitAlgorithm.allCases {
            let key = Bytes("r:\(algorithm.rawValue)")
            for probe in [["TYPE"], ["PTTL"], ["GET"], ["HGETALL"], ["ZRANGE", "0", "-1", "WITHSCORES"]] {
                let words = [Bytes(probe[0]), key] + probe.dropFirst().map { Bytes($0) }
                #expect(replica.run(words) == engine.run(words), "\(algorithm.rawValue) \(probe[0])")
            }
        }
    }
}
