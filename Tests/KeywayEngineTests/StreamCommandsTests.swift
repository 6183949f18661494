import Testing
@testable import KeywayEngine

/// Entry IDs of an XRANGE-shaped reply.
func streamIDs(_ reply: Reply) -> [String] {
    (reply.arrayValue ?? []).compactMap { $0.arrayValue?.first?.bytesValue?.text }
}

/// `[id, [f, v, ...]]` as a Reply, for comparisons.
func streamEntry(_ id: String, _ fields: Bytes...) -> Reply {
    .array([.bulk(Bytes(id)), .array(fields.map(Reply.bulk))])
}

enum StreamError {
    static let invalidID = "ERR Invalid stream ID specified as stream command argument"
    static let tooSmall = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
    static let zero = "ERR The ID specified in XADD must be greater than 0-0"
    static let exhausted = "ERR The stream has exhausted the last possible ID, unable to add more items"
}

@Suite struct StreamIDTests {
    @Test func automaticIDsUseTheEngineClockAndStayMonotonic() {
        let (engine, clock) = makeEngine()
        #expect(engine.run("XADD", "s", "*", "a", "1").bytesValue == "1700000000000-0")
        #expect(engine.run("XADD", "s", "*", "a", "2").bytesValue == "1700000000000-1")
        clock.advance(milliseconds: 5)
        #expect(engine.run("XADD", "s", "*", "a", "3").bytesValue == "1700000000005-0")
        // The clock steps back: IDs keep the last ID's millisecond.
        clock.set(milliseconds: 1_600_000_000_000)
        #expect(engine.run("XADD", "s", "*", "a", "4").bytesValue == "1700000000005-1")
        #expect(engine.run("XADD", "s", "*", "a", "5").bytesValue == "1700000000005-2")
        #expect(engine.run("XLEN", "s").integerValue == 5)
    }

    @Test func explicitAndPartialIDs() {
        let (engine, _) = makeEngine()
        #expect(engine.run("XADD", "s", "5-5", "f", "v").bytesValue == "5-5")
        #expect(engine.run("XADD", "s", "5-5", "f", "v").errorMessage == StreamError.tooSmall)
        #expect(engine.run("XADD", "s", "5-4", "f", "v").errorMessage == StreamError.tooSmall)
        #expect(engine.run("XADD", "s", "5-*", "f", "v").bytesValue == "5-6")
        #expect(engine.run("XADD", "s", "4-*", "f", "v").errorMessage == StreamError.tooSmall)
        #expect(engine.run("XADD", "s", "7-*", "f", "v").bytesValue == "7-0")
        #expect(engine.run("XADD", "s", "8", "f", "v").bytesValue == "8-0")
        #expect(engine.run("XADD", "t", "0-0", "f", "v").errorMessage == StreamError.zero)
        #expect(engine.run("EXISTS", "t").integerValue == 0)
        #expect(engine.run("XADD", "t", "0-*", "f", "v").bytesValue == "0-1")
        for bad: Bytes in ["abc", "1-x", "-1", "1--1", "18446744073709551616-0", "1-18446744073709551616", "+", "-", "1-", "x-*"] {
            #expect(engine.run("XADD", "u", bad, "f", "v").errorMessage == StreamError.invalidID, "\(bad)")
        }
    }

    @Test func theLastPossibleID() {
        let (engine, _) = makeEngine()
        #expect(engine.run("XADD", "s", "18446744073709551615-18446744073709551614", "f", "v").bytesValue == "18446744073709551615-18446744073709551614")
        #expect(engine.run("XADD", "s", "18446744073709551615-*", "f", "v").bytesValue == "18446744073709551615-18446744073709551615")
        #expect(engine.run("XADD", "s", "*", "f", "v").errorMessage == StreamError.exhausted)
        #expect(engine.run("XADD", "s", "18446744073709551615-*", "f", "v").errorMessage == StreamError.exhausted)
        // A sequence overflow inside a millisecond is "equal or smaller".
        engine.run("XADD", "t", "5-18446744073709551615", "f", "v")
        #expect(engine.run("XADD", "t", "5-*", "f", "v").errorMessage == StreamError.tooSmall)
        // `*` rolls into the next millisecond instead.
        let (other, clock) = makeEngine(milliseconds: 0)
        clock.set(milliseconds: 0)
        other.run("XADD", "u", "10-18446744073709551615", "f", "v")
        #expect(other.run("XADD", "u", "*", "f", "v").bytesValue == "11-0")
    }

    @Test func streamIDOrderAndNeighbours() {
        #expect(StreamID(ms: 1, seq: .max) < StreamID(ms: 2, seq: 0))
        #expect(StreamID(ms: 1, seq: .max).successor == StreamID(ms: 2, seq: 0))
        #expect(StreamID.max.successor == nil)
        #expect(StreamID.zero.predecessor == nil)
        #expect(StreamID(ms: 3, seq: 0).predecessor == StreamID(ms: 2, seq: .max))
    }
}

@Suite struct StreamEntryCommandsTests {
    func filled(_ count: Int) -> Engine {
        let (engine, _) = makeEngine()
        for i in 1...count { engine.run("XADD", "s", Bytes("\(i)-0"), "n", Bytes("\(i)")) }
        return engine
    }

    @Test func xaddRepliesAndFields() {
        let (engine, _) = makeEngine()
        #expect(engine.run("XADD", "events", "1-1", "type", "order.created", "orderId", "123") == .bulk("1-1"))
        #expect(engine.run("XRANGE", "events", "-", "+") == .array([streamEntry("1-1", "type", "order.created", "orderId", "123")]))
        #expect(engine.run("XADD", "events", "2-0", "odd").errorMessage == RedisError.arity("xadd"))
        #expect(engine.run("XADD", "events", "2-0", "a", "b", "c").errorMessage == RedisError.arity("xadd"))
        #expect(engine.run("TYPE", "events").bytesValue ?? Bytes() == "stream" || engine.run("TYPE", "events") == .status("stream"))
        engine.run("SET", "str", "x")
        #expect(engine.run("XADD", "str", "*", "a", "b").errorMessage?.hasPrefix("WRONGTYPE") == true)
        #expect(engine.run("XLEN", "str").errorMessage?.hasPrefix("WRONGTYPE") == true)
    }

    @Test func nomkstream() {
        let (engine, _) = makeEngine()
        #expect(engine.run("XADD", "s", "NOMKSTREAM", "*", "a", "b") == .null)
        #expect(engine.run("EXISTS", "s").integerValue == 0)
        engine.run("XADD", "s", "1-0", "a", "b")
        #expect(engine.run("XADD", "s", "NOMKSTREAM", "2-0", "a", "b") == .bulk("2-0"))
    }

    @Test func xrangeBoundsCountAndReverse() {
        let engine = filled(10)
        #expect(streamIDs(engine.run("XRANGE", "s", "-", "+")).count == 10)
        #expect(streamIDs(engine.run("XRANGE", "s", "3", "5")) == ["3-0", "4-0", "5-0"])
        #expect(streamIDs(engine.run("XRANGE", "s", "(3-0", "(5-0")) == ["4-0"])
        #expect(streamIDs(engine.run("XRANGE", "s", "(3", "5")) == ["4-0", "5-0"])
        #expect(streamIDs(engine.run("XRANGE", "s", "-", "+", "COUNT", "2")) == ["1-0", "2-0"])
        #expect(engine.run("XRANGE", "s", "-", "+", "COUNT", "0") == .null)
        // A negative COUNT counts as 0.
        #expect(engine.run("XRANGE", "s", "-", "+", "COUNT", "-3") == .null)
        #expect(streamIDs(engine.run("XREVRANGE", "s", "+", "-", "COUNT", "3")) == ["10-0", "9-0", "8-0"])
        #expect(streamIDs(engine.run("XREVRANGE", "s", "(9-0", "(6-0")) == ["8-0", "7-0"])
        // A bare end millisecond means its last sequence: `(9` still includes 9-0.
        #expect(streamIDs(engine.run("XREVRANGE", "s", "(9", "(6")) == ["9-0", "8-0", "7-0"])
        #expect(engine.run("XRANGE", "s", "5", "3") == .array([]))
        #expect(engine.run("XRANGE", "missing", "-", "+") == .array([]))
        #expect(engine.run("XRANGE", "s", "(-", "+").errorMessage == StreamError.invalidID)
        #expect(engine.run("XRANGE", "s", "(18446744073709551615-18446744073709551615", "+").errorMessage == "ERR invalid start ID for the interval")
        #expect(engine.run("XRANGE", "s", "-", "(0-0").errorMessage == "ERR invalid end ID for the interval")
        #expect(engine.run("XRANGE", "s", "-", "+", "LIMIT", "2").errorMessage == RedisError.syntax)
        #expect(engine.run("XRANGE", "s", "-", "+", "COUNT", "x").errorMessage == RedisError.notInteger)
        #expect(engine.run("XRANGE", "s", "x", "+").errorMessage == StreamError.invalidID)
    }

    @Test func xdelKeepsTheKeyAndTracksMaxDeletedID() {
        let engine = filled(3)
        #expect(engine.run("XDEL", "s", "2-0", "9-0") .integerValue == 1)
        #expect(streamIDs(engine.run("XRANGE", "s", "-", "+")) == ["1-0", "3-0"])
        #expect(engine.run("XDEL", "s", "1-0", "3-0").integerValue == 2)
        #expect(engine.run("XLEN", "s").integerValue == 0)
        #expect(engine.run("EXISTS", "s").integerValue == 1)
        // The last ID survives: a smaller explicit ID is still refused.
        #expect(engine.run("XADD", "s", "2-0", "a", "b").errorMessage == StreamError.tooSmall)
        let info = engine.run("XINFO", "STREAM", "s")
        #expect(infoField(info, "max-deleted-entry-id") == .bulk("3-0"))
        #expect(infoField(info, "entries-added") == .integer(3))
        #expect(infoField(info, "recorded-first-entry-id") == .bulk("0-0"))
        #expect(engine.run("XDEL", "s", "bad").errorMessage == StreamError.invalidID)
        #expect(engine.run("XDEL", "missing", "1-0").integerValue == 0)
    }

    @Test func xtrimMaxlenMinidExactAndApproximate() {
        let engine = filled(250)
        #expect(engine.run("XTRIM", "s", "MAXLEN", "~", "120").integerValue == 100)
        #expect(engine.run("XLEN", "s").integerValue == 150)
        #expect(engine.run("XTRIM", "s", "MAXLEN", "=", "120").integerValue == 30)
        #expect(streamIDs(engine.run("XRANGE", "s", "-", "+", "COUNT", "1")) == ["131-0"])
        #expect(engine.run("XTRIM", "s", "MINID", "200").integerValue == 69)
        #expect(streamIDs(engine.run("XRANGE", "s", "-", "+", "COUNT", "1")) == ["200-0"])
        #expect(engine.run("XTRIM", "s", "MAXLEN", "0").integerValue == 51)
        #expect(engine.run("XLEN", "s").integerValue == 0)
        #expect(engine.run("EXISTS", "s").integerValue == 1)
        #expect(engine.run("XTRIM", "missing", "MAXLEN", "0").integerValue == 0)
    }

    @Test func xtrimLimitAndErrors() {
        let engine = filled(1000)
        #expect(engine.run("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "250").integerValue == 200)
        #expect(engine.run("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "99").integerValue == 0)
        #expect(engine.run("XTRIM", "s", "MAXLEN", "~", "0").integerValue == 800)
        #expect(engine.run("XTRIM", "s", "MAXLEN", "0", "LIMIT", "10").errorMessage == "ERR syntax error, LIMIT cannot be used without the special ~ option")
        #expect(engine.run("XTRIM", "s", "MAXLEN", "-1").errorMessage == "ERR The MAXLEN argument must be >= 0.")
        #expect(engine.run("XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "-1").errorMessage == "ERR The LIMIT argument must be >= 0.")
        #expect(engine.run("XTRIM", "s", "MAXLEN", "1", "MINID", "2").errorMessage == "ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
        #expect(engine.run("XTRIM", "s", "LIMIT", "1").errorMessage == "ERR syntax error, XTRIM must be called with a trimming strategy")
        #expect(engine.run("XTRIM", "s", "MAXLEN", "x").errorMessage == RedisError.notInteger)
        #expect(engine.run("XTRIM", "s", "MINID", "x").errorMessage == StreamError.invalidID)
        #expect(engine.run("XTRIM", "s", "FOO", "1").errorMessage == RedisError.syntax)
    }

    @Test func xaddTrimsAsItWrites() {
        let (engine, _) = makeEngine()
        for i in 1...30 { engine.run("XADD", "s", "MAXLEN", "10", Bytes("\(i)-0"), "n", Bytes("\(i)")) }
        #expect(engine.run("XLEN", "s").integerValue == 10)
        #expect(streamIDs(engine.run("XRANGE", "s", "-", "+", "COUNT", "1")) == ["21-0"])
        engine.run("XADD", "s", "MINID", "29", "31-0", "n", "31")
        #expect(streamIDs(engine.run("XRANGE", "s", "-", "+")) == ["29-0", "30-0", "31-0"])
        #expect(engine.run("XADD", "s", "MAXLEN", "1", "LIMIT", "5", "*", "a", "b").errorMessage == "ERR syntax error, LIMIT cannot be used without the special ~ option")
        #expect(engine.run("XADD", "s", "MAXLEN", "~", "1", "LIMIT", "5", "40-0", "a", "b") == .bulk("40-0"))
        #expect(infoField(engine.run("XINFO", "STREAM", "s"), "entries-added") == .integer(32))
    }

    @Test func longStreamsTrimWithoutLosingOrder() {
        let (engine, _) = makeEngine()
        for i in 1...100_000 { engine.run("XADD", "big", Bytes("\(i)-0"), "i", Bytes("\(i)")) }
        #expect(engine.run("XLEN", "big").integerValue == 100_000)
        #expect(streamIDs(engine.run("XRANGE", "big", "77777", "+", "COUNT", "2")) == ["77777-0", "77778-0"])
        #expect(streamIDs(engine.run("XREVRANGE", "big", "(50000-0", "-", "COUNT", "1")) == ["49999-0"])
        #expect(engine.run("XTRIM", "big", "MAXLEN", "~", "1000", "LIMIT", "0").integerValue == 99_000)
        #expect(engine.run("XTRIM", "big", "MAXLEN", "999").integerValue == 1)
        #expect(streamIDs(engine.run("XRANGE", "big", "-", "+", "COUNT", "1")) == ["99002-0"])
        engine.run("XDEL", "big", "99003-0", "99500-0")
        #expect(streamIDs(engine.run("XRANGE", "big", "99002", "99004")) == ["99002-0", "99004-0"])
        #expect(engine.run("XTRIM", "big", "MINID", "99990").integerValue == 986)
        #expect(engine.run("XLEN", "big").integerValue == 11)
        #expect(streamIDs(engine.run("XRANGE", "big", "-", "+")).first == "99990-0")
    }

    @Test func storageDropsWholeChunksAndBinarySearches() {
        var entries = StreamEntries()
        for i in 1...1000 { entries.append(StreamID(ms: UInt64(i) * 2, seq: 0), fields: ["f", "v"]) }
        #expect(entries.chunkCount == 10)
        #expect(entries.firstPosition(atOrAfter: StreamID(ms: 501, seq: 0)).map(entries.id(at:)) == StreamID(ms: 502, seq: 0))
        #expect(entries.lastPosition(atOrBefore: StreamID(ms: 501, seq: 0)).map(entries.id(at:)) == StreamID(ms: 500, seq: 0))
        let removed = entries.trim(maxLength: 750, minID: nil, approximate: true, limit: 0, canDelete: nil, removed: nil)
        #expect(removed == 200)
        #expect(entries.chunkCount == 8)
        let deleted = entries.remove(StreamID(ms: 402, seq: 0))
        #expect(deleted)
        #expect(entries.first?.id == StreamID(ms: 404, seq: 0))
        #expect(entries.count == 799)
    }

    @Test func xsetid() {
        let (engine, _) = makeEngine()
        #expect(engine.run("XSETID", "s", "5-0").errorMessage == RedisError.noSuchKey)
        engine.run("XADD", "s", "5-0", "a", "b")
        #expect(engine.run("XSETID", "s", "4-0").errorMessage == "ERR The ID specified in XSETID is smaller than the target stream top item")
        #expect(engine.run("XSETID", "s", "10-0", "ENTRIESADDED", "0").errorMessage == "ERR The entries_added specified in XSETID is smaller than the target stream length")
        #expect(engine.run("XSETID", "s", "10-0", "ENTRIESADDED", "-1").errorMessage == "ERR entries_added must be positive")
        #expect(engine.run("XSETID", "s", "10-0", "MAXDELETEDID", "11-0").errorMessage == "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
        #expect(engine.run("XSETID", "s", "10-0", "ENTRIESADDED", "7", "MAXDELETEDID", "3-0") == .ok)
        let info = engine.run("XINFO", "STREAM", "s")
        #expect(infoField(info, "last-generated-id") == .bulk("10-0"))
        #expect(infoField(info, "entries-added") == .integer(7))
        #expect(infoField(info, "max-deleted-entry-id") == .bulk("3-0"))
        #expect(engine.run("XADD", "s", "*", "a", "b").bytesValue == "1700000000000-0")
        #expect(engine.run("XADD", "s", "9-0", "a", "b").errorMessage == StreamError.tooSmall)
        #expect(engine.run("XSETID", "s", "4-0").errorMessage == "ERR The ID specified in XSETID is smaller than the target stream top item")
        // max_deleted_entry_id is checked first.
        #expect(engine.run("XSETID", "s", "2-0").errorMessage == "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id")
        engine.run("XTRIM", "s", "MAXLEN", "0")
        #expect(engine.run("XSETID", "s", "2-0").errorMessage == "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id")
        #expect(engine.run("XSETID", "s", "3-0") == .ok)
        #expect(engine.run("XSETID", "s", "+").errorMessage == StreamError.invalidID)
        #expect(engine.run("XSETID", "s", "3-0", "FOO").errorMessage == RedisError.syntax)
    }

    @Test func keyspaceEventsOncePerWrite() {
        let (engine, _) = makeEngine()
        let events = EventLog()
        engine.withDatabase { db, _ in db.writeObservers.append { key, event in events.append(key, event) } }
        engine.run("XADD", "s", "MAXLEN", "1", "1-0", "a", "b")
        engine.run("XADD", "s", "MAXLEN", "1", "2-0", "a", "b")
        engine.run("XDEL", "s", "2-0")
        engine.run("XDEL", "s", "2-0")
        engine.run("XADD", "s", "3-0", "a", "b")
        engine.run("XTRIM", "s", "MAXLEN", "0")
        engine.run("XTRIM", "s", "MAXLEN", "0")
        engine.run("XSETID", "s", "9-0")
        #expect(events.entries.map { "\($0.event):\($0.key.text)" } == ["xadd:s", "xadd:s", "xdel:s", "xadd:s", "xtrim:s", "xsetid:s"])
    }
}

/// A field of an XINFO map reply.
func infoField(_ reply: Reply, _ name: String) -> Reply? {
    guard case .map(let pairs) = reply else { return nil }
    var i = 0
    while i + 1 < pairs.count {
        if pairs[i] == .bulk(Bytes(name)) { return pairs[i + 1] }
        i += 2
    }
    return nil
}
