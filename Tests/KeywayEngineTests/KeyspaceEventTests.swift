import KeywayEngine
import Testing

/// Each write event is published under the `notify-keyspace-events` class
/// Redis files it in, and under no other.
@Suite struct KeyspaceEventTests {
    /// One command of a family: what it publishes on `__keyspace@0__:<key>`
    /// when only its class is on.
    struct Case: Sendable, CustomTestStringConvertible {
        /// The class letter (`g`, `$`, `l`, ...).
        let letter: Character
        let setup: [[Bytes]]
        let act: @Sendable (Engine, ManualClock) -> Void
        let label: String
        /// `key=event` for every message, in order.
        let expected: [String]

        init(_ letter: Character, _ command: [Bytes], setup: [[Bytes]] = [], _ expected: String...) {
            self.letter = letter
            self.setup = setup
            self.act = { engine, _ in engine.run(command) }
            self.label = command.map(\.text).joined(separator: " ")
            self.expected = expected
        }

        init(_ letter: Character, _ label: String, setup: [[Bytes]], _ expected: String...,
             act: @escaping @Sendable (Engine, ManualClock) -> Void) {
            self.letter = letter
            self.setup = setup
            self.act = act
            self.label = label
            self.expected = expected
        }

        var testDescription: String { "\(letter): \(label)" }
    }

    static let cases: [Case] = [
        // Generic (g): key lifecycle, whichever type the key holds.
        Case("g", ["DEL", "k"], setup: [["SET", "k", "v"]], "k=del"),
        Case("g", ["GETDEL", "k"], setup: [["SET", "k", "v"]], "k=del"),
        Case("g", ["EXPIRE", "k", "100"], setup: [["SET", "k", "v"]], "k=expire"),
        Case("g", ["PERSIST", "k"], setup: [["SET", "k", "v", "EX", "100"]], "k=persist"),
        Case("g", ["RENAME", "k", "k2"], setup: [["SET", "k", "v"]], "k=rename_from", "k2=rename_to"),
        Case("g", ["COPY", "k", "k2"], setup: [["SET", "k", "v"]], "k2=copy_to"),
        Case("g", ["SREM", "s", "a"], setup: [["SADD", "s", "a"]], "s=del"),
        // Expired (x) and evicted (e).
        Case("x", "SET k v PX 100, then the active expiry cycle", setup: [["SET", "k", "v", "PX", "100"]], "k=expired") { engine, clock in
            clock.advance(milliseconds: 101)
            while engine.runActiveExpiryCycle() > 0 {}
        },
        Case("e", "SET other v over maxmemory", setup: [["SET", "k", "v"], ["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]], "k=evicted") { engine, _ in
            engine.run("CONFIG", "SET", "maxmemory", Bytes(String(engine.usedMemory - 1)))
            engine.run("SET", "other", "v")
        },
        // Strings ($).
        Case("$", ["SET", "k", "v"], "k=set"),
        Case("$", ["SETRANGE", "k", "0", "x"], setup: [["SET", "k", "v"]], "k=setrange"),
        Case("$", ["SETBIT", "k", "7", "1"], "k=setbit"),
        Case("$", ["PFADD", "h", "a"], "h=pfadd"),
        Case("$", ["PFMERGE", "d", "h"], setup: [["PFADD", "h", "a"]], "d=pfadd"),
        Case("$", ["BITFIELD", "k", "SET", "u8", "0", "1"], "k=setbit"),
        Case("$", ["BITOP", "OR", "d", "k"], setup: [["SET", "k", "v"]], "d=set"),
        Case("$", ["INCRBY", "n", "2"], "n=incrby"),
        Case("$", ["DECR", "n"], "n=incrby"),
        Case("$", ["INCRBYFLOAT", "n", "1.5"], "n=incrbyfloat"),
        Case("$", ["APPEND", "k", "x"], setup: [["SET", "k", "v"]], "k=append"),
        // Lists (l).
        Case("l", ["LPUSH", "l", "a"], "l=lpush"),
        Case("l", ["RPUSH", "l", "a"], "l=rpush"),
        Case("l", ["LPOP", "l"], setup: [["RPUSH", "l", "a", "b"]], "l=lpop"),
        Case("l", ["RPOP", "l"], setup: [["RPUSH", "l", "a", "b"]], "l=rpop"),
        Case("l", ["LSET", "l", "0", "x"], setup: [["RPUSH", "l", "a"]], "l=lset"),
        Case("l", ["LINSERT", "l", "BEFORE", "a", "x"], setup: [["RPUSH", "l", "a"]], "l=linsert"),
        Case("l", ["LREM", "l", "0", "a"], setup: [["RPUSH", "l", "a", "b"]], "l=lrem"),
        Case("l", ["LTRIM", "l", "0", "0"], setup: [["RPUSH", "l", "a", "b"]], "l=ltrim"),
        Case("l", ["LMOVE", "l", "m", "LEFT", "RIGHT"], setup: [["RPUSH", "l", "a", "b"]], "l=lpop", "m=rpush"),
        // Sets (s).
        Case("s", ["SADD", "s", "a"], "s=sadd"),
        Case("s", ["SREM", "s", "a"], setup: [["SADD", "s", "a"]], "s=srem"),
        Case("s", ["SPOP", "s"], setup: [["SADD", "s", "a", "b"]], "s=spop"),
        Case("s", ["SMOVE", "s", "t", "a"], setup: [["SADD", "s", "a", "b"]], "s=srem", "t=sadd"),
        Case("s", ["SINTERSTORE", "d", "s"], setup: [["SADD", "s", "a"]], "d=sinterstore"),
        Case("s", ["SUNIONSTORE", "d", "s"], setup: [["SADD", "s", "a"]], "d=sunionstore"),
        Case("s", ["SDIFFSTORE", "d", "s"], setup: [["SADD", "s", "a"]], "d=sdiffstore"),
        // Hashes (h), field TTLs included.
        Case("h", ["HSET", "h", "f", "v"], "h=hset"),
        Case("h", ["HDEL", "h", "f"], setup: [["HSET", "h", "f", "v", "g", "w"]], "h=hdel"),
        Case("h", ["HINCRBY", "h", "n", "1"], "h=hincrby"),
        Case("h", ["HINCRBYFLOAT", "h", "n", "1.5"], "h=hincrbyfloat"),
        Case("h", ["HEXPIRE", "h", "100", "FIELDS", "1", "f"], setup: [["HSET", "h", "f", "v"]], "h=hexpire"),
        Case("h", ["HPERSIST", "h", "FIELDS", "1", "f"], setup: [["HSET", "h", "f", "v"], ["HEXPIRE", "h", "100", "FIELDS", "1", "f"]], "h=hpersist"),
        Case("h", "HPEXPIRE h 100 FIELDS 1 f, then the active expiry cycle",
             setup: [["HSET", "h", "f", "v", "g", "w"], ["HPEXPIRE", "h", "100", "FIELDS", "1", "f"]], "h=hexpired") { engine, clock in
            clock.advance(milliseconds: 101)
            engine.runActiveExpiryCycle()
        },
        // Sorted sets (z).
        Case("z", ["ZADD", "z", "1", "a"], "z=zadd"),
        Case("z", ["ZADD", "z", "INCR", "1", "a"], "z=zincr"),
        Case("z", ["ZINCRBY", "z", "1", "a"], "z=zincr"),
        Case("z", ["ZREM", "z", "a"], setup: [["ZADD", "z", "1", "a", "2", "b"]], "z=zrem"),
        Case("z", ["ZREMRANGEBYSCORE", "z", "0", "1"], setup: [["ZADD", "z", "1", "a", "2", "b"]], "z=zremrangebyscore"),
        Case("z", ["ZREMRANGEBYRANK", "z", "0", "0"], setup: [["ZADD", "z", "1", "a", "2", "b"]], "z=zremrangebyrank"),
        Case("z", ["ZREMRANGEBYLEX", "z", "[a", "[a"], setup: [["ZADD", "z", "0", "a", "0", "b"]], "z=zremrangebylex"),
        Case("z", ["ZPOPMIN", "z"], setup: [["ZADD", "z", "1", "a", "2", "b"]], "z=zpopmin"),
        Case("z", ["GEOADD", "g", "13.4", "52.5", "berlin"], "g=zadd"),
        Case("z", ["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "13.4", "52.5", "BYRADIUS", "10", "km"],
             setup: [["GEOADD", "g", "13.4", "52.5", "berlin"]], "d=geosearchstore"),
        Case("z", ["GEORADIUS", "g", "13.4", "52.5", "10", "km", "STORE", "d"],
             setup: [["GEOADD", "g", "13.4", "52.5", "berlin"]], "d=georadiusstore"),
        Case("z", ["ZPOPMAX", "z"], setup: [["ZADD", "z", "1", "a", "2", "b"]], "z=zpopmax"),
        Case("z", ["ZRANGESTORE", "d", "z", "0", "-1"], setup: [["ZADD", "z", "1", "a"]], "d=zrangestore"),
        Case("z", ["ZUNIONSTORE", "d", "1", "z"], setup: [["ZADD", "z", "1", "a"]], "d=zunionstore"),
        Case("z", ["ZINTERSTORE", "d", "1", "z"], setup: [["ZADD", "z", "1", "a"]], "d=zinterstore"),
        Case("z", ["ZDIFFSTORE", "d", "1", "z"], setup: [["ZADD", "z", "1", "a"]], "d=zdiffstore"),
        // Streams (t).
        Case("t", ["XADD", "x", "1-0", "f", "v"], "x=xadd"),
        Case("t", ["XDEL", "x", "1-0"], setup: [["XADD", "x", "1-0", "f", "v"]], "x=xdel"),
        Case("t", ["XTRIM", "x", "MAXLEN", "0"], setup: [["XADD", "x", "1-0", "f", "v"]], "x=xtrim"),
        Case("t", ["XSETID", "x", "5-0"], setup: [["XADD", "x", "1-0", "f", "v"]], "x=xsetid"),
        Case("t", ["XGROUP", "CREATE", "x", "g", "0"], setup: [["XADD", "x", "1-0", "f", "v"]], "x=xgroup-create"),
        Case("t", ["XGROUP", "SETID", "x", "g", "$"], setup: [["XADD", "x", "1-0", "f", "v"], ["XGROUP", "CREATE", "x", "g", "0"]], "x=xgroup-setid"),
        Case("t", ["XGROUP", "CREATECONSUMER", "x", "g", "c"], setup: [["XADD", "x", "1-0", "f", "v"], ["XGROUP", "CREATE", "x", "g", "0"]], "x=xgroup-createconsumer"),
        Case("t", ["XGROUP", "DELCONSUMER", "x", "g", "c"],
             setup: [["XADD", "x", "1-0", "f", "v"], ["XGROUP", "CREATE", "x", "g", "0"], ["XGROUP", "CREATECONSUMER", "x", "g", "c"]], "x=xgroup-delconsumer"),
        Case("t", ["XGROUP", "DESTROY", "x", "g"], setup: [["XADD", "x", "1-0", "f", "v"], ["XGROUP", "CREATE", "x", "g", "0"]], "x=xgroup-destroy"),
        Case("t", ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"], setup: [["XADD", "x", "1-0", "f", "v"], ["XGROUP", "CREATE", "x", "g", "0"]], "x=xgroup-createconsumer"),
    ]

    static let classLetters: [Character] = ["g", "$", "l", "s", "h", "z", "x", "e", "t"]

    /// Runs `row` on a fresh engine with `notify-keyspace-events` set to
    /// `flags`; returns the keyspace messages as `key=event`.
    static func published(_ row: Case, flags: String) -> [String] {
        let (engine, clock) = makeEngine()
        for command in row.setup { engine.run(command) }
        let inbox = PubSubTests.Inbox()
        _ = engine.subscribe(inbox, channels: [], patterns: ["__keyspace@0__:*"])
        #expect(engine.run("CONFIG", "SET", "notify-keyspace-events", Bytes(flags)) == .ok)
        row.act(engine, clock)
        return inbox.texts.map { String($0.dropFirst("__keyspace@0__:".count)) }
    }

    @Test(arguments: cases)
    func publishedUnderItsClassOnly(_ row: Case) {
        #expect(Self.published(row, flags: "K\(row.letter)") == row.expected)
        let others = String(Self.classLetters.filter { $0 != row.letter })
        let elsewhere = Self.published(row, flags: "K" + others)
        #expect(elsewhere.allSatisfy { !row.expected.contains($0) }, "published under \(others): \(elsewhere)")
    }

    /// Consumer-group bookkeeping changes data but, as in Redis, is never
    /// announced.
    @Test func consumerGroupBookkeepingIsUnannounced() {
        let (engine, _) = makeEngine()
        engine.run("XADD", "x", "1-0", "f", "v")
        engine.run("XADD", "x", "2-0", "f", "v")
        engine.run("XGROUP", "CREATE", "x", "g", "0")
        engine.run("XGROUP", "CREATECONSUMER", "x", "g", "c")
        let inbox = PubSubTests.Inbox()
        _ = engine.subscribe(inbox, channels: [], patterns: ["__key*@0__:*"])
        engine.run("CONFIG", "SET", "notify-keyspace-events", "KEA")
        #expect(engine.run("XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">").arrayValue?.count == 1)
        #expect(engine.run("XACK", "x", "g", "1-0").integerValue == 1)
        #expect(engine.run("XCLAIM", "x", "g", "c", "0", "2-0").arrayValue?.count == 1)
        #expect(engine.run("XAUTOCLAIM", "x", "g", "c", "0", "0").arrayValue?.count == 3)
        #expect(inbox.texts.isEmpty, "\(inbox.texts)")
    }
}
