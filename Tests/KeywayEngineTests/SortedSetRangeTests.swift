import KeywayEngine
import Testing

/// ZRANGE in all its forms, the older range commands, and ZRANGESTORE.
@Suite struct SortedSetRangeTests {
    func sample() -> ZEngine {
        let z = ZEngine()
        z("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
        return z
    }

    @Test func byRank() {
        let z = sample()
        #expect(z("ZRANGE", "z", "0", "-1") == bulks("a", "b", "c", "d", "e"))
        #expect(z("ZRANGE", "z", "1", "2", "WITHSCORES") == bulks("b", "2", "c", "3"))
        #expect(z("ZRANGE", "z", "-2", "-1") == bulks("d", "e"))
        #expect(z("ZRANGE", "z", "-100", "1") == bulks("a", "b"))
        #expect(z("ZRANGE", "z", "3", "100") == bulks("d", "e"))
        #expect(z("ZRANGE", "z", "3", "1") == .array([]))
        #expect(z("ZRANGE", "z", "5", "10") == .array([]))
        #expect(z("ZRANGE", "z", "0", "1", "REV") == bulks("e", "d"))
        #expect(z("ZREVRANGE", "z", "0", "1", "WITHSCORES") == bulks("e", "5", "d", "4"))
        #expect(z("ZREVRANGE", "z", "-1", "-1") == bulks("a"))
        #expect(z("ZRANGE", "none", "0", "-1") == .array([]))
        #expect(z("ZRANGE", "z", "a", "1").errorMessage == notInteger)
    }

    @Test func byScore() {
        let z = sample()
        #expect(z("ZRANGE", "z", "2", "4", "BYSCORE") == bulks("b", "c", "d"))
        #expect(z("ZRANGE", "z", "(2", "(4", "BYSCORE", "WITHSCORES") == bulks("c", "3"))
        #expect(z("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2") == bulks("b", "c"))
        #expect(z("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "3", "-1") == bulks("d", "e"))
        #expect(z("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2") == .array([]))
        #expect(z("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "5", "2") == .array([]))
        #expect(z("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", "0") == .array([]))
        #expect(z("ZRANGE", "z", "4", "2", "BYSCORE", "REV") == bulks("d", "c", "b"))
        #expect(z("ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2", "WITHSCORES") == bulks("d", "4", "c", "3"))
        #expect(z("ZRANGEBYSCORE", "z", "(1", "3") == bulks("b", "c"))
        #expect(z("ZRANGEBYSCORE", "z", "-inf", "inf", "WITHSCORES", "LIMIT", "4", "10") == bulks("e", "5"))
        #expect(z("ZREVRANGEBYSCORE", "z", "3", "(1") == bulks("c", "b"))
        #expect(z("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "0", "1") == bulks("e"))
        #expect(z("ZRANGEBYSCORE", "z", "3", "1") == .array([]))
        #expect(z("ZRANGEBYSCORE", "z", "x", "1").errorMessage == rangeNotFloat)
        #expect(z("ZRANGEBYSCORE", "none", "0", "1") == .array([]))
    }

    @Test func byLex() {
        let z = ZEngine()
        z("ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "g")
        #expect(z("ZRANGE", "l", "[b", "(e", "BYLEX") == bulks("b", "c", "d"))
        #expect(z("ZRANGE", "l", "-", "+", "BYLEX", "LIMIT", "2", "3") == bulks("c", "d", "e"))
        #expect(z("ZRANGE", "l", "(e", "[b", "BYLEX", "REV") == bulks("d", "c", "b"))
        #expect(z("ZRANGEBYLEX", "l", "-", "[c") == bulks("a", "b", "c"))
        #expect(z("ZRANGEBYLEX", "l", "[aaa", "(g") == bulks("b", "c", "d", "e", "f"))
        #expect(z("ZREVRANGEBYLEX", "l", "+", "(d", "LIMIT", "0", "2") == bulks("g", "f"))
        #expect(z("ZRANGEBYLEX", "l", "+", "-") == .array([]))
        #expect(z("ZRANGEBYLEX", "l", "a", "c").errorMessage == lexInvalid)
        #expect(z("ZRANGEBYLEX", "l", "-", "+", "WITHSCORES").errorMessage == "ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        #expect(z("ZRANGE", "l", "-", "+", "BYLEX", "WITHSCORES").errorMessage == "ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    }

    @Test func optionErrors() {
        let z = sample()
        #expect(z("ZRANGE", "z", "0", "1", "LIMIT", "0", "1").errorMessage == "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        #expect(z("ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1").errorMessage == "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        #expect(z("ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX").errorMessage == syntaxError)
        #expect(z("ZRANGE", "z", "0", "1", "REV", "REV").errorMessage == syntaxError)
        #expect(z("ZRANGE", "z", "0", "1", "LIMIT", "0").errorMessage == syntaxError)
        #expect(z("ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1").errorMessage == notInteger)
        #expect(z("ZRANGE", "z", "0", "1", "WITHSCORE").errorMessage == syntaxError)
        #expect(z("ZRANGEBYSCORE", "z", "0", "1", "BYSCORE").errorMessage == syntaxError)
        #expect(z("ZRANGEBYSCORE", "z", "0", "1", "REV").errorMessage == syntaxError)
        #expect(z("ZREVRANGE", "z", "0", "1", "REV").errorMessage == syntaxError)
        #expect(z("ZRANGE", "z", "0").errorMessage == "ERR wrong number of arguments for 'zrange' command")
        z("SET", "s", "v")
        #expect(z("ZRANGE", "s", "0", "1", "BYSCORE").errorMessage == wrongType)
        // Bounds are checked before the key.
        #expect(z("ZRANGE", "s", "x", "1", "BYSCORE").errorMessage == rangeNotFloat)
    }

    /// Ranges over 10,000 members agree with arithmetic on their scores.
    @Test func rangesOnALargeSet() {
        let z = ZEngine()
        var words = ["ZADD", "big"]
        for i in 0..<10_000 { words += [String(i), String(format4(i))] }
        z.run(words)
        #expect(z("ZRANGE", "big", "5000", "5002") == bulks("5000", "5001", "5002"))
        #expect(z("ZRANGE", "big", "0", "2", "REV") == bulks("9999", "9998", "9997"))
        #expect(z("ZRANGE", "big", "(4999.5", "5001.5", "BYSCORE") == bulks("5000", "5001"))
        #expect(z("ZRANGE", "big", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "9998", "10") == bulks("0001", "0000"))
        #expect(z("ZRANGE", "big", "-inf", "+inf", "BYSCORE", "LIMIT", "7000", "1", "WITHSCORES") == bulks("7000", "7000"))
        guard case .array(let all) = z("ZRANGE", "big", "0", "-1") else { Issue.record("not an array"); return }
        #expect(all.count == 10_000)
        #expect(all[1234] == .bulk("1234"))
        #expect(z("ZRANGESTORE", "dst", "big", "100", "199", "BYSCORE") == .integer(100))
        #expect(z("ZRANGE", "dst", "0", "0", "WITHSCORES") == bulks("0100", "100"))
    }

    func format4(_ i: Int) -> String {
        let text = String(i)
        return String(repeating: "0", count: 4 - text.count) + text
    }

    @Test func zrangestore() {
        let z = sample()
        let events = z.events { #expect(z("ZRANGESTORE", "dst", "z", "1", "2") == .integer(2)) }
        #expect(events == ["zrangestore dst"])
        #expect(z("ZRANGE", "dst", "0", "-1", "WITHSCORES") == bulks("b", "2", "c", "3"))
        #expect(z("ZRANGESTORE", "dst", "z", "(1", "+inf", "BYSCORE", "REV") == .integer(0))
        #expect(z("ZRANGESTORE", "dst", "z", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "0", "2") == .integer(2))
        #expect(z("ZRANGE", "dst", "0", "-1") == bulks("d", "e"))
        z("ZADD", "l", "0", "x", "0", "y")
        #expect(z("ZRANGESTORE", "dst", "l", "[y", "+", "BYLEX") == .integer(1))
        #expect(z("ZRANGE", "dst", "0", "-1") == bulks("y"))
        // An empty result deletes the destination, whatever it held.
        let emptied = z.events { #expect(z("ZRANGESTORE", "dst", "none", "0", "-1") == .integer(0)) }
        #expect(emptied == ["del dst"])
        #expect(z("EXISTS", "dst") == .integer(0))
        z("SET", "str", "v")
        #expect(z("ZRANGESTORE", "str", "z", "0", "0") == .integer(1))
        #expect(z("TYPE", "str") == .status("zset"))
        #expect(z("ZRANGESTORE", "dst", "str2", "0", "-1", "WITHSCORES").errorMessage == syntaxError)
        z("SET", "str2", "v")
        #expect(z("ZRANGESTORE", "dst", "str2", "0", "-1").errorMessage == wrongType)
    }
}
