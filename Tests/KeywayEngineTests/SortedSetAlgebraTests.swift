import KeywayEngine
import Testing

/// ZUNION, ZINTER, ZDIFF, their STORE forms, and ZINTERCARD.
@Suite struct SortedSetAlgebraTests {
    func sample() -> ZEngine {
        let z = ZEngine()
        z("ZADD", "a", "1", "x", "2", "y", "3", "z")
        z("ZADD", "b", "10", "y", "20", "z", "30", "w")
        return z
    }

    @Test func union() {
        let z = sample()
        #expect(z("ZUNION", "2", "a", "b", "WITHSCORES") == bulks("x", "1", "y", "12", "z", "23", "w", "30"))
        #expect(z("ZUNION", "2", "a", "b", "WEIGHTS", "2", "0.5", "WITHSCORES") == bulks("x", "2", "y", "9", "w", "15", "z", "16"))
        #expect(z("ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES") == bulks("x", "1", "y", "2", "z", "3", "w", "30"))
        #expect(z("ZUNION", "2", "a", "b", "AGGREGATE", "max") == bulks("x", "y", "z", "w"))
        #expect(z("ZUNION", "3", "a", "none", "b") == bulks("x", "y", "z", "w"))
        #expect(z("ZUNION", "1", "none") == .array([]))
    }

    @Test func intersection() {
        let z = sample()
        #expect(z("ZINTER", "2", "a", "b", "WITHSCORES") == bulks("y", "12", "z", "23"))
        #expect(z("ZINTER", "2", "a", "b", "AGGREGATE", "MAX", "WEIGHTS", "1", "-1", "WITHSCORES") == bulks("y", "2", "z", "3"))
        #expect(z("ZINTER", "2", "a", "none") == .array([]))
        #expect(z("ZINTERCARD", "2", "a", "b") == .integer(2))
        #expect(z("ZINTERCARD", "2", "a", "b", "LIMIT", "1") == .integer(1))
        #expect(z("ZINTERCARD", "2", "a", "b", "LIMIT", "0") == .integer(2))
        #expect(z("ZINTERCARD", "2", "a", "none") == .integer(0))
        #expect(z("ZINTERCARD", "1", "a", "LIMIT", "-1").errorMessage == "ERR LIMIT can't be negative")
        #expect(z("ZINTERCARD", "1", "a", "LIMIT", "x").errorMessage == "ERR LIMIT can't be negative")
        #expect(z("ZINTERCARD", "1", "a", "a").errorMessage == syntaxError)
        #expect(z("ZINTERCARD", "1", "a", "WITHSCORES").errorMessage == syntaxError)
        #expect(z("ZINTERCARD", "0", "a").errorMessage == "ERR at least 1 input key is needed for 'zintercard' command")
    }

    @Test func difference() {
        let z = sample()
        #expect(z("ZDIFF", "2", "a", "b", "WITHSCORES") == bulks("x", "1"))
        #expect(z("ZDIFF", "1", "b") == bulks("y", "z", "w"))
        #expect(z("ZDIFF", "2", "none", "a") == .array([]))
        #expect(z("ZDIFF", "2", "a", "b", "WEIGHTS", "1", "1").errorMessage == syntaxError)
        #expect(z("ZDIFF", "2", "a", "b", "AGGREGATE", "SUM").errorMessage == syntaxError)
    }

    @Test func infinitiesAndNaNBecomeZero() {
        let z = ZEngine()
        z("ZADD", "p", "inf", "m")
        z("ZADD", "n", "-inf", "m")
        #expect(z("ZUNION", "2", "p", "n", "WITHSCORES") == bulks("m", "0"))
        #expect(z("ZUNION", "1", "p", "WEIGHTS", "0", "WITHSCORES") == bulks("m", "0"))
        #expect(z("ZINTER", "2", "p", "n", "AGGREGATE", "MIN", "WITHSCORES") == bulks("m", "-inf"))
    }

    @Test func storeForms() {
        let z = sample()
        let events = z.events { #expect(z("ZUNIONSTORE", "u", "2", "a", "b") == .integer(4)) }
        #expect(events == ["zunionstore u"])
        #expect(z("ZRANGE", "u", "0", "-1", "WITHSCORES") == bulks("x", "1", "y", "12", "z", "23", "w", "30"))
        #expect(z("ZINTERSTORE", "i", "2", "a", "b", "WEIGHTS", "1", "2", "AGGREGATE", "MAX") == .integer(2))
        #expect(z("ZRANGE", "i", "0", "-1", "WITHSCORES") == bulks("y", "20", "z", "40"))
        #expect(z("ZDIFFSTORE", "d", "2", "b", "a") == .integer(1))
        #expect(z("ZRANGE", "d", "0", "-1", "WITHSCORES") == bulks("w", "30"))
        // A source may also be the destination.
        #expect(z("ZUNIONSTORE", "a", "2", "a", "a") == .integer(3))
        #expect(z("ZSCORE", "a", "z") == .bulk("6"))
        // Empty results delete the destination.
        let emptied = z.events { #expect(z("ZINTERSTORE", "i", "2", "a", "none") == .integer(0)) }
        #expect(emptied == ["del i"])
        #expect(z("EXISTS", "i") == .integer(0))
        #expect(z("ZUNIONSTORE", "u", "1", "a", "WITHSCORES").errorMessage == syntaxError)
        z("SET", "str", "v")
        #expect(z("ZUNIONSTORE", "str", "1", "a") == .integer(3))
        #expect(z("TYPE", "str") == .status("zset"))
    }

    /// Plain sets take part with every member scored 1, as in Redis.
    @Test func plainSetsCountAsScoreOne() {
        let z = sample()
        z("SADD", "tags", "y", "q")
        #expect(z("ZUNION", "2", "a", "tags", "WITHSCORES") == bulks("q", "1", "x", "1", "y", "3", "z", "3"))
        #expect(z("ZINTER", "2", "tags", "b", "WITHSCORES") == bulks("y", "11"))
        #expect(z("ZDIFF", "2", "tags", "a") == bulks("q"))
        #expect(z("ZINTERCARD", "2", "tags", "a") == .integer(1))
        #expect(z("ZUNIONSTORE", "d", "1", "tags", "WEIGHTS", "5") == .integer(2))
        #expect(z("ZSCORE", "d", "q") == .bulk("5"))
    }

    @Test func errors() {
        let z = sample()
        z("SET", "s", "v")
        #expect(z("ZUNION", "2", "a", "s").errorMessage == wrongType)
        #expect(z("ZINTERSTORE", "d", "2", "s", "a").errorMessage == wrongType)
        #expect(z("ZINTERCARD", "2", "a", "s").errorMessage == wrongType)
        #expect(z("ZUNION", "0", "a").errorMessage == "ERR at least 1 input key is needed for 'zunion' command")
        #expect(z("ZUNIONSTORE", "d", "0", "a").errorMessage == "ERR at least 1 input key is needed for 'zunionstore' command")
        #expect(z("ZUNION", "x", "a").errorMessage == notInteger)
        #expect(z("ZUNION", "3", "a", "b").errorMessage == syntaxError)
        #expect(z("ZUNION", "2", "a", "b", "WEIGHTS", "1").errorMessage == syntaxError)
        #expect(z("ZUNION", "2", "a", "b", "WEIGHTS", "1", "x").errorMessage == "ERR weight value is not a float")
        #expect(z("ZUNION", "2", "a", "b", "AGGREGATE", "AVG").errorMessage == syntaxError)
        #expect(z("ZUNION", "2", "a", "b", "AGGREGATE").errorMessage == syntaxError)
    }

    /// 10,000 members against 5,000: sizes and a few scores.
    @Test func largeInputs() {
        let z = ZEngine()
        var evens = ["ZADD", "evens"], all = ["ZADD", "all"]
        for i in 0..<10_000 {
            all += [String(i), "m\(i)"]
            if i % 2 == 0 { evens += ["1", "m\(i)"] }
        }
        z.run(evens)
        z.run(all)
        #expect(z("ZINTERCARD", "2", "all", "evens") == .integer(5_000))
        #expect(z("ZINTERSTORE", "i", "2", "all", "evens") == .integer(5_000))
        #expect(z("ZSCORE", "i", "m9998") == .bulk("9999"))
        #expect(z("ZDIFFSTORE", "d", "2", "all", "evens") == .integer(5_000))
        #expect(z("ZRANGE", "d", "0", "1") == bulks("m1", "m3"))
        #expect(z("ZUNIONSTORE", "u", "2", "all", "evens", "AGGREGATE", "MIN") == .integer(10_000))
        #expect(z("ZRANGE", "u", "0", "2", "WITHSCORES") == bulks("m0", "0", "m1", "1", "m10", "1"))
    }
}
