import KeywayEngine
import Synchronization
import Testing

/// ZPOPMIN/ZPOPMAX, ZMPOP, and the blocking pops under a manual clock.
@Suite struct SortedSetPopTests {
    @Test func zpopminAndMax() {
        let z = ZEngine()
        z("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
        #expect(z("ZPOPMIN", "z") == bulks("a", "1"))
        #expect(z("ZPOPMAX", "z") == bulks("d", "4"))
        #expect(z("ZPOPMIN", "z", "0") == .array([]))
        let events = z.events { #expect(z("ZPOPMAX", "z", "10") == bulks("c", "3", "b", "2")) }
        #expect(events == ["del z", "zpopmax z"])
        #expect(z("EXISTS", "z") == .integer(0))
        #expect(z("ZPOPMIN", "z") == .array([]))
        #expect(z("ZPOPMIN", "z", "-1").errorMessage == "ERR value is out of range, must be positive")
        #expect(z("ZPOPMIN", "z", "x").errorMessage == "ERR value is out of range, must be positive")
        #expect(z("ZPOPMIN", "z", "1", "2").errorMessage == syntaxError)
    }

    @Test func zpopOnALargeSet() {
        let z = ZEngine()
        var words = ["ZADD", "big"]
        for i in 0..<10_000 { words += [String(i), "m\(i)"] }
        z.run(words)
        guard case .array(let low) = z("ZPOPMIN", "big", "500") else { Issue.record("not an array"); return }
        #expect(low.count == 1_000)
        #expect(low[998] == .bulk("m499"))
        #expect(z("ZPOPMAX", "big", "2") == bulks("m9999", "9999", "m9998", "9998"))
        #expect(z("ZCARD", "big") == .integer(9_498))
        #expect(z("ZRANGE", "big", "0", "0") == bulks("m500"))
    }

    @Test func zmpop() {
        let z = ZEngine()
        z("ZADD", "b", "1", "x", "2", "y", "3", "w")
        #expect(z("ZMPOP", "2", "a", "b", "MIN") == .array([.bulk("b"), .array([bulks("x", "1")])]))
        #expect(z("ZMPOP", "2", "a", "b", "MAX", "COUNT", "5") == .array([.bulk("b"), .array([bulks("w", "3"), bulks("y", "2")])]))
        #expect(z("ZMPOP", "2", "a", "b", "MIN") == .null)
        #expect(z("ZMPOP", "0", "a", "MIN").errorMessage == "ERR numkeys should be greater than 0")
        #expect(z("ZMPOP", "x", "a", "MIN").errorMessage == "ERR numkeys should be greater than 0")
        #expect(z("ZMPOP", "3", "a", "b", "MIN").errorMessage == syntaxError)
        #expect(z("ZMPOP", "1", "a", "MIDDLE").errorMessage == syntaxError)
        #expect(z("ZMPOP", "1", "a", "MIN", "COUNT", "0").errorMessage == "ERR count should be greater than 0")
        #expect(z("ZMPOP", "1", "a", "MIN", "COUNT", "1", "COUNT", "1").errorMessage == syntaxError)
        #expect(z("ZMPOP", "1", "a", "MIN", "LIMIT").errorMessage == syntaxError)
        z("SET", "s", "v")
        z("ZADD", "ok", "1", "m")
        #expect(z("ZMPOP", "2", "s", "ok", "MIN").errorMessage == wrongType)
        // A wrong-typed key after the first populated one is not looked at.
        #expect(z("ZMPOP", "2", "ok", "s", "MIN") == .array([.bulk("ok"), .array([bulks("m", "1")])]))
    }

    @Test func bzpopServesAtOnceWhenDataIsThere() {
        let z = ZEngine()
        z("ZADD", "b", "1", "x", "2", "y")
        #expect(z("BZPOPMIN", "a", "b", "0") == bulks("b", "x", "1"))
        #expect(z("BZPOPMAX", "a", "b", "0") == bulks("b", "y", "2"))
        // Outside a blocking submission (a pipeline, a transaction) nothing to pop is nil.
        #expect(z("BZPOPMIN", "a", "b", "1") == .null)
        #expect(z("BZPOPMIN", "a", "-1").errorMessage == "ERR timeout is negative")
        #expect(z("BZPOPMIN", "a", "x").errorMessage == "ERR timeout is not a float or out of range")
        z("ZADD", "ok", "1", "m")
        #expect(z("BZMPOP", "0", "2", "a", "ok", "MAX", "COUNT", "2") == .array([.bulk("ok"), .array([bulks("m", "1")])]))
        #expect(z("BZMPOP", "0", "1", "a", "MAX") == .null)
        #expect(z("BZMPOP", "-1", "1", "a", "MAX").errorMessage == "ERR timeout is negative")
        #expect(z("BZMPOP", "0", "0", "a", "MAX").errorMessage == "ERR numkeys should be greater than 0")
    }

    @Test func bzpopminWakesOnZadd() {
        let z = ZEngine()
        let client = RecordingClient()
        guard case .blocked = z.engine.submit(Command(["BZPOPMIN", "q1", "q2", "5"].map { Bytes($0) }), client: client) else {
            Issue.record("should have parked"); return
        }
        #expect(z.engine.blockedClientCount == 1)
        z("ZADD", "q2", "3", "c", "1", "a")
        #expect(client.replies == [bulks("q2", "a", "1")])
        #expect(z.engine.blockedClientCount == 0)
        #expect(z("ZRANGE", "q2", "0", "-1") == bulks("c"))
    }

    @Test func bzpopmaxTimesOutWithNil() {
        let z = ZEngine()
        let client = RecordingClient()
        _ = z.engine.submit(Command(["BZPOPMAX", "q", "1.5"].map { Bytes($0) }), client: client)
        z.clock.advance(milliseconds: 1_000)
        z.engine.expireBlockedClients()
        #expect(client.replies.isEmpty)
        z.clock.advance(milliseconds: 600)
        z.engine.expireBlockedClients()
        #expect(client.replies == [.null])
        #expect(z.engine.blockedClientCount == 0)
    }

    @Test func waitersAreServedInArrivalOrder() {
        let z = ZEngine()
        let first = RecordingClient(), second = RecordingClient()
        _ = z.engine.submit(Command(["BZPOPMAX", "q", "0"].map { Bytes($0) }), client: first)
        _ = z.engine.submit(Command(["BZMPOP", "0", "1", "q", "MIN", "COUNT", "2"].map { Bytes($0) }), client: second)
        z("ZADD", "q", "1", "a")
        #expect(first.replies == [bulks("q", "a", "1")])
        #expect(second.replies.isEmpty)
        z("ZADD", "q", "1", "b", "2", "c", "3", "d")
        #expect(second.replies == [.array([.bulk("q"), .array([bulks("b", "1"), bulks("c", "2")])])])
        #expect(z("ZRANGE", "q", "0", "-1") == bulks("d"))
    }

    @Test func blockedOnAWrongTypeKeyGetsWrongType() {
        let z = ZEngine()
        let client = RecordingClient()
        _ = z.engine.submit(Command(["BZPOPMIN", "k", "0"].map { Bytes($0) }), client: client)
        z("SET", "k", "v")
        #expect(client.replies.first?.errorMessage == wrongType)
    }
}
