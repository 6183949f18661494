import KeywayEngine
import Testing

/// An engine under a manual clock, driven with command words.
struct ZEngine {
    let clock = ManualClock()
    let engine: Engine

    init() { engine = Engine(clock: clock) }

    @discardableResult
    func callAsFunction(_ words: String...) -> Reply {
        engine.execute(Command(words.map { Bytes($0) }))
    }

    @discardableResult
    func run(_ words: [String]) -> Reply {
        engine.execute(Command(words.map { Bytes($0) }))
    }

    /// The keyspace events written while `body` runs.
    func events(_ body: () -> Void) -> [String] {
        let log = EventLog()
        engine.withDatabase { db, _ in db.writeObservers.append { key, event in log.append(key, event) } }
        body()
        engine.withDatabase { db, _ in _ = db.writeObservers.removeLast() }
        return log.entries.map { "\($0.event) \($0.key.text)" }
    }
}

func bulks(_ strings: String...) -> Reply { .array(strings.map { .bulk(Bytes($0)) }) }
func bulkArray(_ strings: [String]) -> Reply { .array(strings.map { .bulk(Bytes($0)) }) }

let rangeNotFloat = "ERR min or max is not a float"
let lexInvalid = "ERR min or max not valid string range item"

/// ZADD and ZINCRBY with every option, ZSCORE, ZMSCORE, ZCARD, ZCOUNT,
/// ZLEXCOUNT, ZRANK/ZREVRANK, ZREM, ZREMRANGEBY*, ZRANDMEMBER, ZSCAN.
@Suite struct SortedSetCommandTests {
    @Test func leaderboardPattern() {
        let z = ZEngine()
        #expect(z("ZADD", "leaderboard", "1500", "player1", "2300", "player2", "1800", "player3") == .integer(3))
        #expect(z("ZREVRANGE", "leaderboard", "0", "9", "WITHSCORES") == bulks("player2", "2300", "player3", "1800", "player1", "1500"))
        #expect(z("ZRANK", "leaderboard", "player1") == .integer(0))
        #expect(z("ZINCRBY", "leaderboard", "100", "player1") == .bulk("1600"))
        #expect(z("ZRANGEBYSCORE", "leaderboard", "1000", "2000") == bulks("player1", "player3"))
        #expect(z("TYPE", "leaderboard") == .status("zset"))
    }

    @Test func zaddCountsAddedOrChanged() {
        let z = ZEngine()
        #expect(z("ZADD", "z", "1", "a", "2", "b") == .integer(2))
        #expect(z("ZADD", "z", "1", "a", "3", "b", "4", "c") == .integer(1))
        #expect(z("ZADD", "z", "CH", "1", "a", "5", "b", "6", "d") == .integer(2))
        #expect(z("ZRANGE", "z", "0", "-1", "WITHSCORES") == bulks("a", "1", "c", "4", "b", "5", "d", "6"))
        // The same member twice: the last score wins, counted once.
        #expect(z("ZADD", "z2", "1", "x", "2", "x") == .integer(1))
        #expect(z("ZSCORE", "z2", "x") == .bulk("2"))
    }

    @Test func zaddNXAndXX() {
        let z = ZEngine()
        #expect(z("ZADD", "z", "XX", "1", "a") == .integer(0))
        #expect(z("EXISTS", "z") == .integer(0))
        #expect(z("ZADD", "z", "NX", "1", "a") == .integer(1))
        #expect(z("ZADD", "z", "NX", "9", "a", "2", "b") == .integer(1))
        #expect(z("ZSCORE", "z", "a") == .bulk("1"))
        #expect(z("ZADD", "z", "XX", "CH", "7", "a", "3", "c") == .integer(1))
        #expect(z("ZSCORE", "z", "a") == .bulk("7"))
        #expect(z("ZSCORE", "z", "c") == .null)
        #expect(z("ZADD", "z", "xx", "incr", "1", "nope") == .null)
    }

    @Test func zaddGTAndLT() {
        let z = ZEngine()
        z("ZADD", "z", "10", "a", "10", "b")
        #expect(z("ZADD", "z", "GT", "CH", "5", "a", "15", "b", "1", "new") == .integer(2))
        #expect(z("ZMSCORE", "z", "a", "b", "new") == bulks("10", "15", "1"))
        #expect(z("ZADD", "z", "LT", "CH", "5", "a", "20", "b") == .integer(1))
        #expect(z("ZMSCORE", "z", "a", "b") == bulks("5", "15"))
        #expect(z("ZADD", "z", "XX", "GT", "100", "a", "100", "zzz") == .integer(0))
        #expect(z("ZSCORE", "z", "a") == .bulk("100"))
        #expect(z("ZSCORE", "z", "zzz") == .null)
        // GT with INCR: a decrement is refused with nil.
        #expect(z("ZADD", "z", "GT", "INCR", "-1", "a") == .null)
        #expect(z("ZADD", "z", "GT", "INCR", "1", "a") == .bulk("101"))
    }

    @Test func zaddIncr() {
        let z = ZEngine()
        #expect(z("ZADD", "z", "INCR", "2.5", "a") == .bulk("2.5"))
        #expect(z("ZADD", "z", "INCR", "2.5", "a") == .bulk("5"))
        #expect(z("ZADD", "z", "NX", "INCR", "1", "a") == .null)
        #expect(z("ZADD", "z", "INCR", "inf", "a") == .bulk("inf"))
        #expect(z("ZADD", "z", "INCR", "-inf", "a").errorMessage == "ERR resulting score is not a number (NaN)")
        #expect(z("ZSCORE", "z", "a") == .bulk("inf"))
        #expect(z("ZADD", "z", "INCR", "1", "a", "2", "b").errorMessage == "ERR INCR option supports a single increment-element pair")
    }

    @Test func zaddErrors() {
        let z = ZEngine()
        #expect(z("ZADD", "z", "NX", "XX", "1", "a").errorMessage == "ERR XX and NX options at the same time are not compatible")
        #expect(z("ZADD", "z", "GT", "NX", "1", "a").errorMessage == "ERR GT, LT, and/or NX options at the same time are not compatible")
        #expect(z("ZADD", "z", "LT", "NX", "1", "a").errorMessage == "ERR GT, LT, and/or NX options at the same time are not compatible")
        #expect(z("ZADD", "z", "GT", "LT", "1", "a").errorMessage == "ERR GT, LT, and/or NX options at the same time are not compatible")
        #expect(z("ZADD", "z", "1", "a", "2").errorMessage == syntaxError)
        #expect(z("ZADD", "z", "CH", "INCR").errorMessage == syntaxError)
        #expect(z("ZADD", "z", "abc", "a").errorMessage == notFloat)
        #expect(z("ZADD", "z", "nan", "a").errorMessage == notFloat)
        #expect(z("ZADD", "z", "1", "a", "x", "b").errorMessage == notFloat)
        #expect(z("ZADD", "z", " 1", "a").errorMessage == notFloat)
        #expect(z("ZADD", "z").errorMessage == "ERR wrong number of arguments for 'zadd' command")
        #expect(z("EXISTS", "z") == .integer(0))
        z("SET", "s", "v")
        #expect(z("ZADD", "s", "1", "a").errorMessage == wrongType)
        #expect(z("ZINCRBY", "s", "1", "a").errorMessage == wrongType)
        #expect(z("ZSCORE", "s", "a").errorMessage == wrongType)
        #expect(z("ZCARD", "s").errorMessage == wrongType)
        #expect(z("ZRANK", "s", "a").errorMessage == wrongType)
        #expect(z("ZREM", "s", "a").errorMessage == wrongType)
        #expect(z("ZRANGE", "s", "0", "-1").errorMessage == wrongType)
        #expect(z("ZMSCORE", "s", "a").errorMessage == wrongType)
        #expect(z("ZCOUNT", "s", "0", "1").errorMessage == wrongType)
        #expect(z("ZSCAN", "s", "0").errorMessage == wrongType)
        #expect(z("ZRANDMEMBER", "s").errorMessage == wrongType)
        #expect(z("ZPOPMIN", "s").errorMessage == wrongType)
    }

    @Test func scoresAcceptWhatStrtodAccepts() {
        let z = ZEngine()
        #expect(z("ZADD", "z", "1e3", "a", "-inf", "b", "+inf", "c", "0x10", "d", "-0", "e", ".5", "f") == .integer(6))
        #expect(z("ZRANGE", "z", "0", "-1", "WITHSCORES") == bulks("b", "-inf", "e", "-0", "f", "0.5", "d", "16", "a", "1000", "c", "inf"))
    }

    @Test func zincrby() {
        let z = ZEngine()
        #expect(z("ZINCRBY", "z", "5", "a") == .bulk("5"))
        #expect(z("ZINCRBY", "z", "-7.5", "a") == .bulk("-2.5"))
        #expect(z("ZINCRBY", "z", "x", "a").errorMessage == notFloat)
        z("ZADD", "z", "inf", "b")
        #expect(z("ZINCRBY", "z", "-inf", "b").errorMessage == "ERR resulting score is not a number (NaN)")
        #expect(z("ZINCRBY", "new", "-inf", "b") == .bulk("-inf"))
        #expect(z("ZINCRBY", "z", "1e20", "a") == .bulk("1e+20"))
    }

    @Test func scoreReads() {
        let z = ZEngine()
        z("ZADD", "z", "1.5", "a", "2", "b")
        #expect(z("ZSCORE", "z", "a") == .bulk("1.5"))
        #expect(z("ZSCORE", "z", "zz") == .null)
        #expect(z("ZSCORE", "none", "a") == .null)
        #expect(z("ZMSCORE", "z", "a", "zz", "b") == .array([.bulk("1.5"), .null, .bulk("2")]))
        #expect(z("ZMSCORE", "none", "a", "b") == .array([.null, .null]))
        #expect(z("ZCARD", "z") == .integer(2))
        #expect(z("ZCARD", "none") == .integer(0))
    }

    @Test func zcountWithBounds() {
        let z = ZEngine()
        z("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
        #expect(z("ZCOUNT", "z", "2", "4") == .integer(3))
        #expect(z("ZCOUNT", "z", "(2", "4") == .integer(2))
        #expect(z("ZCOUNT", "z", "(2", "(4") == .integer(1))
        #expect(z("ZCOUNT", "z", "-inf", "+inf") == .integer(5))
        #expect(z("ZCOUNT", "z", "(1", "(1") == .integer(0))
        #expect(z("ZCOUNT", "z", "4", "2") == .integer(0))
        #expect(z("ZCOUNT", "z", "3", "3") == .integer(1))
        #expect(z("ZCOUNT", "none", "0", "1") == .integer(0))
        #expect(z("ZCOUNT", "z", "x", "1").errorMessage == rangeNotFloat)
        #expect(z("ZCOUNT", "z", "1", "(x").errorMessage == rangeNotFloat)
        #expect(z("ZCOUNT", "z", "nan", "1").errorMessage == rangeNotFloat)
        #expect(z("ZCOUNT", "none", "[1", "2").errorMessage == rangeNotFloat)
    }

    @Test func zlexcount() {
        let z = ZEngine()
        z("ZADD", "z", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e")
        #expect(z("ZLEXCOUNT", "z", "-", "+") == .integer(5))
        #expect(z("ZLEXCOUNT", "z", "[b", "[d") == .integer(3))
        #expect(z("ZLEXCOUNT", "z", "(b", "(d") == .integer(1))
        #expect(z("ZLEXCOUNT", "z", "[b", "(b") == .integer(0))
        #expect(z("ZLEXCOUNT", "z", "+", "-") == .integer(0))
        #expect(z("ZLEXCOUNT", "z", "[bb", "+") == .integer(3))
        #expect(z("ZLEXCOUNT", "z", "b", "+").errorMessage == lexInvalid)
        #expect(z("ZLEXCOUNT", "z", "[a", "").errorMessage == lexInvalid)
        #expect(z("ZLEXCOUNT", "none", "-", "x").errorMessage == lexInvalid)
    }

    @Test func zrankAndZrevrank() {
        let z = ZEngine()
        z("ZADD", "z", "10", "x", "20", "y", "30", "z")
        #expect(z("ZRANK", "z", "x") == .integer(0))
        #expect(z("ZRANK", "z", "z") == .integer(2))
        #expect(z("ZREVRANK", "z", "x") == .integer(2))
        #expect(z("ZREVRANK", "z", "z") == .integer(0))
        #expect(z("ZRANK", "z", "y", "WITHSCORE") == .array([.integer(1), .bulk("20")]))
        #expect(z("ZREVRANK", "z", "y", "withscore") == .array([.integer(1), .bulk("20")]))
        #expect(z("ZRANK", "z", "nope") == .null)
        #expect(z("ZRANK", "z", "nope", "WITHSCORE") == .null)
        #expect(z("ZRANK", "none", "x") == .null)
        #expect(z("ZRANK", "z", "x", "WITHSCORES").errorMessage == syntaxError)
        #expect(z("ZRANK", "z", "x", "WITHSCORE", "x").errorMessage == syntaxError)
    }

    /// Ranks on 10,000 members match their positions, both ways.
    @Test func zrankOnALargeSet() {
        let z = ZEngine()
        var words = ["ZADD", "big"]
        for i in 0..<10_000 { words += [String((i * 7919) % 10_000), "m\(i)"] }
        #expect(z.run(words) == .integer(10_000))
        for i in stride(from: 0, to: 10_000, by: 613) {
            let score = (i * 7919) % 10_000
            #expect(z("ZRANK", "big", "m\(i)") == .integer(Int64(score)))
            #expect(z("ZREVRANK", "big", "m\(i)") == .integer(Int64(9_999 - score)))
        }
        #expect(z("ZCOUNT", "big", "(100", "200") == .integer(100))
        #expect(z("ZCARD", "big") == .integer(10_000))
    }

    @Test func zremDeletesEmptiedKey() {
        let z = ZEngine()
        z("ZADD", "z", "1", "a", "2", "b", "3", "c")
        #expect(z("ZREM", "z", "a", "nope", "a") == .integer(1))
        #expect(z("ZREM", "none", "a") == .integer(0))
        let events = z.events { #expect(z("ZREM", "z", "b", "c") == .integer(2)) }
        #expect(events == ["del z", "zrem z"])
        #expect(z("EXISTS", "z") == .integer(0))
    }

    @Test func zremrangebyrank() {
        let z = ZEngine()
        z("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
        #expect(z("ZREMRANGEBYRANK", "z", "1", "2") == .integer(2))
        #expect(z("ZRANGE", "z", "0", "-1") == bulks("a", "d", "e"))
        #expect(z("ZREMRANGEBYRANK", "z", "-1", "-1") == .integer(1))
        #expect(z("ZREMRANGEBYRANK", "z", "5", "10") == .integer(0))
        #expect(z("ZREMRANGEBYRANK", "z", "x", "1").errorMessage == notInteger)
        #expect(z("ZREMRANGEBYRANK", "z", "0", "-1") == .integer(2))
        #expect(z("EXISTS", "z") == .integer(0))
        #expect(z("ZREMRANGEBYRANK", "none", "0", "-1") == .integer(0))
    }

    @Test func zremrangebyscoreAndLex() {
        let z = ZEngine()
        z("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
        #expect(z("ZREMRANGEBYSCORE", "z", "(1", "3") == .integer(2))
        #expect(z("ZRANGE", "z", "0", "-1") == bulks("a", "d", "e"))
        #expect(z("ZREMRANGEBYSCORE", "z", "x", "3").errorMessage == rangeNotFloat)
        #expect(z("ZREMRANGEBYSCORE", "z", "-inf", "+inf") == .integer(3))
        #expect(z("EXISTS", "z") == .integer(0))
        z("ZADD", "l", "0", "alpha", "0", "bar", "0", "cool", "0", "down")
        let events = z.events { #expect(z("ZREMRANGEBYLEX", "l", "[b", "(d") == .integer(2)) }
        #expect(events == ["zremrangebylex l"])
        #expect(z("ZRANGE", "l", "0", "-1") == bulks("alpha", "down"))
        #expect(z("ZREMRANGEBYLEX", "l", "b", "d").errorMessage == lexInvalid)
    }

    /// Removing ranges from 10,000 members keeps the rest in order.
    @Test func removeRangesOnALargeSet() {
        let z = ZEngine()
        var words = ["ZADD", "big"]
        for i in 0..<10_000 { words += [String(i), "m\(i)"] }
        z.run(words)
        #expect(z("ZREMRANGEBYSCORE", "big", "(999", "1999") == .integer(1_000))
        #expect(z("ZREMRANGEBYRANK", "big", "0", "99") == .integer(100))
        #expect(z("ZCARD", "big") == .integer(8_900))
        #expect(z("ZRANGE", "big", "0", "0") == bulks("m100"))
        #expect(z("ZRANK", "big", "m2000") == .integer(900))
        #expect(z("ZRANGEBYSCORE", "big", "998", "2001") == bulks("m998", "m999", "m2000", "m2001"))
    }

    @Test func zrandmember() {
        let z = ZEngine()
        #expect(z("ZRANDMEMBER", "none") == .null)
        #expect(z("ZRANDMEMBER", "none", "3") == .array([]))
        z("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
        let all: Set<String> = ["a", "b", "c", "d", "e"]
        guard case .bulk(let one) = z("ZRANDMEMBER", "z") else { Issue.record("not a bulk"); return }
        #expect(all.contains(one.text))
        #expect(z("ZRANDMEMBER", "z", "0") == .array([]))
        for count in [1, 2, 3, 5] {
            guard case .array(let picked) = z("ZRANDMEMBER", "z", String(count)) else { Issue.record("not an array"); return }
            let names = picked.compactMap { if case .bulk(let b) = $0 { b.text } else { nil } }
            #expect(names.count == count)
            #expect(Set(names).count == count)
            #expect(Set(names).isSubset(of: all))
        }
        guard case .array(let everything) = z("ZRANDMEMBER", "z", "100") else { Issue.record("not an array"); return }
        #expect(everything.count == 5)
        guard case .array(let repeated) = z("ZRANDMEMBER", "z", "-20") else { Issue.record("not an array"); return }
        #expect(repeated.count == 20)
        guard case .array(let scored) = z("ZRANDMEMBER", "z", "-3", "WITHSCORES") else { Issue.record("not an array"); return }
        #expect(scored.count == 6)
        for pair in stride(from: 0, to: 6, by: 2) {
            guard case .bulk(let member) = scored[pair] else { continue }
            #expect(z("ZSCORE", "z", member.text) == scored[pair + 1])
        }
        #expect(z("ZRANDMEMBER", "z", "x").errorMessage == notInteger)
        #expect(z("ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES").errorMessage == "ERR value is out of range")
        #expect(z("ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES").errorMessage == "ERR value is out of range")
        #expect(z("ZRANDMEMBER", "z", "1", "WITHSCORE").errorMessage == syntaxError)
        #expect(z("ZRANDMEMBER", "z", "1", "WITHSCORES", "x").errorMessage == syntaxError)
    }

    @Test func zrandmemberOnALargeSetIsDistinct() {
        let z = ZEngine()
        var words = ["ZADD", "big"]
        for i in 0..<10_000 { words += [String(i), "m\(i)"] }
        z.run(words)
        for count in ["10", "5000", "9999"] {
            guard case .array(let picked) = z("ZRANDMEMBER", "big", count) else { Issue.record("not an array"); return }
            #expect(picked.count == Int(count)!)
            #expect(Set(picked.map { "\($0)" }).count == Int(count)!)
        }
    }

    @Test func zscanVisitsEveryMember() {
        let z = ZEngine()
        var words = ["ZADD", "big"]
        for i in 0..<1_000 { words += [String(i), "m\(i)"] }
        z.run(words)
        var cursor = "0"
        var seen: [String: String] = [:]
        repeat {
            guard case .array(let parts) = z("ZSCAN", "big", cursor, "COUNT", "100"),
                  case .bulk(let next) = parts[0], case .array(let flat) = parts[1] else { Issue.record("bad reply"); return }
            cursor = next.text
            for pair in stride(from: 0, to: flat.count, by: 2) {
                if case .bulk(let member) = flat[pair], case .bulk(let score) = flat[pair + 1] { seen[member.text] = score.text }
            }
        } while cursor != "0"
        #expect(seen.count == 1_000)
        #expect(seen["m42"] == "42")
        guard case .array(let matched) = z("ZSCAN", "big", "0", "MATCH", "m99*", "COUNT", "10000"),
              case .array(let flat) = matched[1] else { Issue.record("bad reply"); return }
        #expect(flat.count == 22)  // m99, m990 ... m999: 11 members with scores
        #expect(z("ZSCAN", "none", "0") == .array([.bulk("0"), .array([])]))
        #expect(z("ZSCAN", "none", "0", "COUNT", "0") == .array([.bulk("0"), .array([])]))
        #expect(z("ZSCAN", "none", "x").errorMessage == "ERR invalid cursor")
        #expect(z("ZSCAN", "big", "x").errorMessage == "ERR invalid cursor")
        #expect(z("ZSCAN", "big", "0", "COUNT", "0").errorMessage == syntaxError)
        #expect(z("ZSCAN", "big", "0", "TYPE", "zset").errorMessage == syntaxError)
        #expect(z("ZSCAN", "big", "0", "COUNT").errorMessage == syntaxError)
    }

    @Test func writesEmitRedisEvents() {
        let z = ZEngine()
        #expect(z.events { z("ZADD", "z", "1", "a") } == ["zadd z"])
        #expect(z.events { z("ZADD", "z", "1", "a") } == [])
        #expect(z.events { z("ZADD", "z", "INCR", "1", "a") } == ["zincr z"])
        #expect(z.events { z("ZINCRBY", "z", "1", "a") } == ["zincr z"])
        #expect(z.events { z("ZREMRANGEBYRANK", "z", "5", "6") } == [])
        #expect(z.events { z("ZREMRANGEBYRANK", "z", "0", "0") } == ["del z", "zremrangebyrank z"])
    }
}
