import Testing
@testable import KeywayEngine

/// The entry IDs of an XREAD/XREADGROUP reply's first stream.
func readIDs(_ reply: Reply) -> [String] {
    guard let streams = reply.arrayValue, let first = streams.first?.arrayValue, first.count == 2 else { return [] }
    return streamIDs(first[1])
}

@Suite struct StreamReadTests {
    @Test func xreadAfterIDsDollarPlusAndCount() {
        let (engine, _) = makeEngine()
        for i in 1...5 { engine.run("XADD", "s", Bytes("\(i)-0"), "n", Bytes("\(i)")) }
        engine.run("XADD", "t", "7-0", "x", "y")
        #expect(readIDs(engine.run("XREAD", "STREAMS", "s", "2-0")) == ["3-0", "4-0", "5-0"])
        #expect(readIDs(engine.run("XREAD", "COUNT", "2", "STREAMS", "s", "0")) == ["1-0", "2-0"])
        #expect(readIDs(engine.run("XREAD", "STREAMS", "s", "-")).count == 5)
        #expect(engine.run("XREAD", "STREAMS", "s", "$") == .null)
        #expect(engine.run("XREAD", "STREAMS", "s", "5-0") == .null)
        #expect(engine.run("XREAD", "STREAMS", "s", "+") == .array([.array([.bulk("s"), .array([streamEntry("5-0", "n", "5")])])]))
        #expect(engine.run("XREAD", "STREAMS", "missing", "+") == .null)
        let both = engine.run("XREAD", "COUNT", "1", "STREAMS", "s", "t", "4", "0")
        #expect(both == .array([
            .array([.bulk("s"), .array([streamEntry("5-0", "n", "5")])]),
            .array([.bulk("t"), .array([streamEntry("7-0", "x", "y")])]),
        ]))
        #expect(engine.run("XREAD", "STREAMS", "s", "18446744073709551615-18446744073709551615") == .null)
    }

    @Test func xreadErrors() {
        let (engine, _) = makeEngine()
        engine.run("SET", "str", "v")
        #expect(engine.run("XREAD", "STREAMS", "a", "b", "0").errorMessage == "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified.")
        #expect(engine.run("XREAD", "STREAMS", "a", ">").errorMessage == "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
        #expect(engine.run("XREAD", "GROUP", "g", "c", "STREAMS", "a", "0").errorMessage == "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
        #expect(engine.run("XREAD", "COUNT", "1", "a", "0").errorMessage == RedisError.syntax)
        #expect(engine.run("XREAD", "NOACK", "STREAMS", "a", "0").errorMessage == RedisError.syntax)
        #expect(engine.run("XREAD", "BLOCK", "-1", "STREAMS", "a", "0").errorMessage == "ERR timeout is negative")
        #expect(engine.run("XREAD", "BLOCK", "x", "STREAMS", "a", "0").errorMessage == "ERR timeout is not an integer or out of range")
        #expect(engine.run("XREAD", "STREAMS", "a", "zz").errorMessage == StreamError.invalidID)
        #expect(engine.run("XREAD", "STREAMS", "str", "0").errorMessage?.hasPrefix("WRONGTYPE") == true)
        // No BLOCK: never waits, even through submit.
        #expect(engine.run("XREAD", "STREAMS", "a", "0") == .null)
    }
}

@Suite struct StreamGroupTests {
    @Test func theEventsPattern() {
        let (engine, clock) = makeEngine()
        #expect(engine.run("XGROUP", "CREATE", "events", "mygroup", "$", "MKSTREAM") == .ok)
        let id = engine.run("XADD", "events", "*", "type", "order.created", "orderId", "123", "amount", "49.99").bytesValue!
        let read = engine.run("XREADGROUP", "GROUP", "mygroup", "consumer1", "COUNT", "10", "BLOCK", "5000", "STREAMS", "events", ">")
        #expect(read == .array([.array([.bulk("events"), .array([streamEntry(id.text, "type", "order.created", "orderId", "123", "amount", "49.99")])])]))
        clock.advance(milliseconds: 1500)
        #expect(engine.run("XPENDING", "events", "mygroup") == .array([.integer(1), .bulk(id), .bulk(id), .array([.array([.bulk("consumer1"), .bulk("1")])])]))
        #expect(engine.run("XPENDING", "events", "mygroup", "-", "+", "10") == .array([.array([.bulk(id), .bulk("consumer1"), .integer(1500), .integer(1)])]))
        #expect(engine.run("XACK", "events", "mygroup", id).integerValue == 1)
        #expect(engine.run("XACK", "events", "mygroup", id).integerValue == 0)
        #expect(engine.run("XPENDING", "events", "mygroup") == .array([.integer(0), .null, .null, .null]))
    }

    @Test func xgroupCreateAndErrors() {
        let (engine, _) = makeEngine()
        #expect(engine.run("XGROUP", "CREATE", "s", "g", "$").errorMessage == "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
        #expect(engine.run("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM") == .ok)
        #expect(engine.run("XLEN", "s").integerValue == 0)
        let busy = engine.run("XGROUP", "CREATE", "s", "g", "0")
        #expect(busy == .error(CommandError(.busyGroup, "BUSYGROUP Consumer Group name already exists")))
        #expect(engine.run("XGROUP", "CREATE", "s", "h", "x").errorMessage == StreamError.invalidID)
        #expect(engine.run("XGROUP", "CREATE", "s", "h", "0", "FOO").errorMessage == RedisError.syntax)
        #expect(engine.run("XGROUP", "CREATE", "s", "h", "0", "ENTRIESREAD", "-2").errorMessage == "ERR value for ENTRIESREAD must be positive or -1")
        #expect(engine.run("XGROUP", "CREATE", "s").errorMessage == RedisError.arity("xgroup|create"))
        #expect(engine.run("XGROUP", "DESTROY", "s").errorMessage == RedisError.arity("xgroup|destroy"))
        #expect(engine.run("XGROUP", "FROB", "s").errorMessage == "ERR unknown subcommand 'FROB'. Try XGROUP HELP.")
        #expect(engine.run("XGROUP", "HELP").arrayValue?.count == 17)
        let noGroup = engine.run("XGROUP", "SETID", "s", "nope", "0")
        #expect(noGroup == .error(CommandError(.noGroup, "NOGROUP No such consumer group 'nope' for key name 's'")))
        #expect(engine.run("XGROUP", "DESTROY", "missing", "g").errorMessage?.hasPrefix("ERR The XGROUP subcommand requires the key to exist") == true)
        engine.run("SET", "str", "v")
        #expect(engine.run("XGROUP", "CREATE", "str", "g", "$", "MKSTREAM").errorMessage?.hasPrefix("WRONGTYPE") == true)
    }

    @Test func consumersSetidDestroy() {
        let (engine, _) = makeEngine()
        for i in 1...3 { engine.run("XADD", "s", Bytes("\(i)-0"), "n", Bytes("\(i)")) }
        engine.run("XGROUP", "CREATE", "s", "g", "0")
        #expect(engine.run("XGROUP", "CREATECONSUMER", "s", "g", "alice").integerValue == 1)
        #expect(engine.run("XGROUP", "CREATECONSUMER", "s", "g", "alice").integerValue == 0)
        engine.run("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">")
        #expect(engine.run("XGROUP", "DELCONSUMER", "s", "g", "bob").integerValue == 2)
        #expect(engine.run("XGROUP", "DELCONSUMER", "s", "g", "bob").integerValue == 0)
        #expect(engine.run("XPENDING", "s", "g").arrayValue?.first == .integer(0))
        #expect(engine.run("XGROUP", "SETID", "s", "g", "0") == .ok)
        #expect(readIDs(engine.run("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")) == ["1-0", "2-0", "3-0"])
        #expect(engine.run("XGROUP", "SETID", "s", "g", "$", "ENTRIESREAD", "3") == .ok)
        #expect(engine.run("XGROUP", "SETID", "s", "g", "$", "FOO", "3").errorMessage == RedisError.syntax)
        #expect(engine.run("XGROUP", "DESTROY", "s", "g").integerValue == 1)
        #expect(engine.run("XGROUP", "DESTROY", "s", "g").integerValue == 0)
        #expect(engine.run("XINFO", "GROUPS", "s") == .array([]))
    }

    @Test func readgroupHistoryNoackAndDeliveryCounts() {
        let (engine, clock) = makeEngine()
        for i in 1...4 { engine.run("XADD", "s", Bytes("\(i)-0"), "n", Bytes("\(i)")) }
        engine.run("XGROUP", "CREATE", "s", "g", "0")
        #expect(readIDs(engine.run("XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "s", ">")) == ["1-0", "2-0"])
        #expect(readIDs(engine.run("XREADGROUP", "GROUP", "g", "c2", "NOACK", "COUNT", "1", "STREAMS", "s", ">")) == ["3-0"])
        clock.advance(milliseconds: 100)
        // History: the consumer's own pending entries after the given ID.
        #expect(readIDs(engine.run("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0")) == ["1-0", "2-0"])
        #expect(readIDs(engine.run("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "1-0")) == ["2-0"])
        #expect(engine.run("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", "0") == .array([.array([.bulk("s"), .array([])])]))
        let pending = engine.run("XPENDING", "s", "g", "-", "+", "10")
        #expect(pending == .array([
            .array([.bulk("1-0"), .bulk("c1"), .integer(0), .integer(2)]),
            .array([.bulk("2-0"), .bulk("c1"), .integer(0), .integer(3)]),
        ]))
        // A pending entry deleted from the stream comes back as [id, nil].
        engine.run("XDEL", "s", "1-0")
        #expect(engine.run("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0") == .array([.array([.bulk("s"), .array([
            .array([.bulk("1-0"), .null]), streamEntry("2-0", "n", "2"),
        ])])]))
        #expect(readIDs(engine.run("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">")) == ["4-0"])
        #expect(engine.run("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">") == .null)
    }

    @Test func xreadgroupErrors() {
        let (engine, _) = makeEngine()
        engine.run("XADD", "s", "1-0", "a", "b")
        #expect(engine.run("XREADGROUP", "GROUP", "nope", "c", "STREAMS", "s", ">") == .error(CommandError(.noGroup,
            "NOGROUP No such key 's' or consumer group 'nope' in XREADGROUP with GROUP option")))
        #expect(engine.run("XREADGROUP", "GROUP", "g", "c", "STREAMS", "missing", ">").errorMessage == "NOGROUP No such key 'missing' or consumer group 'g' in XREADGROUP with GROUP option")
        engine.run("XGROUP", "CREATE", "s", "g", "0")
        #expect(engine.run("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$").errorMessage?.hasPrefix("ERR The $ ID is meaningless in the context of XREADGROUP") == true)
        #expect(engine.run("XREADGROUP", "COUNT", "1", "STREAMS", "s", ">", "x").errorMessage?.hasPrefix("ERR Unbalanced 'xreadgroup' list of streams") == true)
        #expect(engine.run("XREADGROUP", "COUNT", "1", "BLOCK", "1", "STREAMS", "s", ">").errorMessage == "ERR Missing GROUP option for XREADGROUP")
    }

    @Test func pendingExtendedFormIdleAndConsumerFilter() {
        let (engine, clock) = makeEngine()
        for i in 1...6 { engine.run("XADD", "s", Bytes("\(i)-0"), "n", Bytes("\(i)")) }
        engine.run("XGROUP", "CREATE", "s", "g", "0")
        engine.run("XREADGROUP", "GROUP", "g", "a", "COUNT", "3", "STREAMS", "s", ">")
        clock.advance(milliseconds: 1000)
        engine.run("XREADGROUP", "GROUP", "g", "b", "COUNT", "3", "STREAMS", "s", ">")
        clock.advance(milliseconds: 500)
        #expect(engine.run("XPENDING", "s", "g") == .array([.integer(6), .bulk("1-0"), .bulk("6-0"), .array([
            .array([.bulk("a"), .bulk("3")]), .array([.bulk("b"), .bulk("3")]),
        ])]))
        let idle = engine.run("XPENDING", "s", "g", "IDLE", "1200", "-", "+", "10")
        #expect(streamIDs(idle) == ["1-0", "2-0", "3-0"])
        #expect(idle.arrayValue?.first == .array([.bulk("1-0"), .bulk("a"), .integer(1500), .integer(1)]))
        #expect(streamIDs(engine.run("XPENDING", "s", "g", "-", "+", "10", "b")) == ["4-0", "5-0", "6-0"])
        #expect(streamIDs(engine.run("XPENDING", "s", "g", "(4", "+", "2", "b")) == ["5-0", "6-0"])
        #expect(streamIDs(engine.run("XPENDING", "s", "g", "-", "+", "2")) == ["1-0", "2-0"])
        #expect(engine.run("XPENDING", "s", "g", "-", "+", "10", "nobody") == .array([]))
        #expect(engine.run("XPENDING", "s", "g", "-", "+", "0") == .array([]))
        #expect(engine.run("XPENDING", "s", "g", "-", "+").errorMessage == RedisError.syntax)
        #expect(engine.run("XPENDING", "s", "g", "IDLE", "5", "-", "+").errorMessage == RedisError.syntax)
        #expect(engine.run("XPENDING", "s", "g", "-", "+", "x").errorMessage == RedisError.notInteger)
        #expect(engine.run("XPENDING", "s", "nope").errorMessage == "NOGROUP No such key 's' or consumer group 'nope'")
        #expect(engine.run("XPENDING", "missing", "g").errorMessage == "NOGROUP No such key 'missing' or consumer group 'g'")
    }

    @Test func xclaimOptions() {
        let (engine, clock) = makeEngine()
        for i in 1...4 { engine.run("XADD", "s", Bytes("\(i)-0"), "n", Bytes("\(i)")) }
        engine.run("XGROUP", "CREATE", "s", "g", "0")
        engine.run("XREADGROUP", "GROUP", "g", "c1", "COUNT", "3", "STREAMS", "s", ">")
        clock.advance(milliseconds: 1000)
        // Not idle long enough: nothing claimed.
        #expect(engine.run("XCLAIM", "s", "g", "c2", "5000", "1-0") == .array([]))
        #expect(engine.run("XCLAIM", "s", "g", "c2", "500", "1-0") == .array([streamEntry("1-0", "n", "1")]))
        #expect(engine.run("XPENDING", "s", "g", "-", "+", "1") == .array([.array([.bulk("1-0"), .bulk("c2"), .integer(0), .integer(2)])]))
        // JUSTID: IDs only, delivery count unchanged; IDLE sets the idle time.
        #expect(engine.run("XCLAIM", "s", "g", "c2", "0", "2-0", "IDLE", "300", "JUSTID") == .array([.bulk("2-0")]))
        #expect(engine.run("XPENDING", "s", "g", "2", "2", "1") == .array([.array([.bulk("2-0"), .bulk("c2"), .integer(300), .integer(1)])]))
        // TIME and RETRYCOUNT.
        #expect(engine.run("XCLAIM", "s", "g", "c3", "0", "3-0", "TIME", Bytes(String(startMilliseconds)), "RETRYCOUNT", "7", "JUSTID") == .array([.bulk("3-0")]))
        #expect(engine.run("XPENDING", "s", "g", "3", "3", "1") == .array([.array([.bulk("3-0"), .bulk("c3"), .integer(1000), .integer(7)])]))
        // FORCE creates a pending entry for a never-delivered entry; LASTID moves the group.
        #expect(engine.run("XCLAIM", "s", "g", "c3", "0", "4-0", "JUSTID") == .array([]))
        #expect(engine.run("XCLAIM", "s", "g", "c3", "0", "4-0", "FORCE", "JUSTID", "LASTID", "4-0") == .array([.bulk("4-0")]))
        #expect(infoField(engine.run("XINFO", "GROUPS", "s").arrayValue![0], "last-delivered-id") == .bulk("4-0"))
        // An entry deleted from the stream is dropped from the PEL, not returned.
        engine.run("XDEL", "s", "1-0")
        #expect(engine.run("XCLAIM", "s", "g", "c1", "0", "1-0") == .array([]))
        #expect(engine.run("XPENDING", "s", "g").arrayValue?.first == .integer(3))
        #expect(engine.run("XCLAIM", "s", "g", "c1", "x", "1-0").errorMessage == "ERR Invalid min-idle-time argument for XCLAIM")
        #expect(engine.run("XCLAIM", "s", "g", "c1", "0", "1-0", "IDLE", "x").errorMessage == "ERR Invalid IDLE option argument for XCLAIM")
        #expect(engine.run("XCLAIM", "s", "g", "c1", "0", "1-0", "TIME", "x").errorMessage == "ERR Invalid TIME option argument for XCLAIM")
        #expect(engine.run("XCLAIM", "s", "g", "c1", "0", "1-0", "RETRYCOUNT", "x").errorMessage == "ERR Invalid RETRYCOUNT option argument for XCLAIM")
        #expect(engine.run("XCLAIM", "s", "g", "c1", "0", "1-0", "BOGUS").errorMessage == "ERR Unrecognized XCLAIM option 'BOGUS'")
        #expect(engine.run("XCLAIM", "s", "nope", "c1", "0", "1-0").errorMessage == "NOGROUP No such key 's' or consumer group 'nope'")
    }

    @Test func xautoclaimCursorCountAndDeletedEntries() {
        let (engine, clock) = makeEngine()
        for i in 1...5 { engine.run("XADD", "s", Bytes("\(i)-0"), "n", Bytes("\(i)")) }
        engine.run("XGROUP", "CREATE", "s", "g", "0")
        engine.run("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">")
        clock.advance(milliseconds: 60_000)
        engine.run("XDEL", "s", "2-0")
        let first = engine.run("XAUTOCLAIM", "s", "g", "c2", "60000", "0-0", "COUNT", "2")
        #expect(first == .array([.bulk("4-0"), .array([streamEntry("1-0", "n", "1"), streamEntry("3-0", "n", "3")]), .array([.bulk("2-0")])]))
        let second = engine.run("XAUTOCLAIM", "s", "g", "c2", "60000", "4-0", "JUSTID")
        #expect(second == .array([.bulk("0-0"), .array([.bulk("4-0"), .bulk("5-0")]), .array([])]))
        // Freshly claimed entries are not idle any more.
        #expect(engine.run("XAUTOCLAIM", "s", "g", "c3", "1000", "-") == .array([.bulk("0-0"), .array([]), .array([])]))
        #expect(engine.run("XPENDING", "s", "g", "-", "+", "10", "c2").arrayValue?.count == 4)
        #expect(engine.run("XPENDING", "s", "g", "1", "1", "1") == .array([.array([.bulk("1-0"), .bulk("c2"), .integer(0), .integer(2)])]))
        #expect(engine.run("XPENDING", "s", "g", "4", "4", "1") == .array([.array([.bulk("4-0"), .bulk("c2"), .integer(0), .integer(1)])]))
        #expect(engine.run("XAUTOCLAIM", "s", "g", "c2", "0", "0", "COUNT", "0").errorMessage == "ERR COUNT must be > 0")
        #expect(engine.run("XAUTOCLAIM", "s", "g", "c2", "0", "0", "FOO").errorMessage == "ERR Unrecognized XAUTOCLAIM option 'FOO'")
        #expect(engine.run("XAUTOCLAIM", "s", "g", "c2", "x", "0").errorMessage == "ERR Invalid min-idle-time argument for XAUTOCLAIM")
        #expect(engine.run("XAUTOCLAIM", "s", "nope", "c2", "0", "0").errorMessage == "NOGROUP No such key 's' or consumer group 'nope'")
    }

    @Test func xackParsesIDs() {
        let (engine, _) = makeEngine()
        engine.run("XADD", "s", "1-0", "a", "b")
        engine.run("XGROUP", "CREATE", "s", "g", "0")
        engine.run("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
        #expect(engine.run("XACK", "s", "g", "bad").errorMessage == StreamError.invalidID)
        #expect(engine.run("XACK", "s", "nope", "1-0").integerValue == 0)
        #expect(engine.run("XACK", "missing", "g", "1-0").integerValue == 0)
        #expect(engine.run("XACK", "s", "g", "1-0", "1-0", "2-0").integerValue == 1)
    }
}

@Suite struct StreamInfoTests {
    @Test func xinfoStreamGroupsConsumers() {
        let (engine, clock) = makeEngine()
        for i in 1...3 { engine.run("XADD", "s", Bytes("\(i)-0"), "n", Bytes("\(i)")) }
        engine.run("XGROUP", "CREATE", "s", "g", "0")
        engine.run("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">")
        engine.run("XGROUP", "CREATECONSUMER", "s", "g", "bob")
        clock.advance(milliseconds: 250)
        #expect(engine.run("XINFO", "STREAM", "s") == .map([
            .bulk("length"), .integer(3),
            .bulk("radix-tree-keys"), .integer(1),
            .bulk("radix-tree-nodes"), .integer(1),
            .bulk("last-generated-id"), .bulk("3-0"),
            .bulk("max-deleted-entry-id"), .bulk("0-0"),
            .bulk("entries-added"), .integer(3),
            .bulk("recorded-first-entry-id"), .bulk("1-0"),
            .bulk("groups"), .integer(1),
            .bulk("first-entry"), streamEntry("1-0", "n", "1"),
            .bulk("last-entry"), streamEntry("3-0", "n", "3"),
        ]))
        #expect(engine.run("XINFO", "GROUPS", "s") == .array([.map([
            .bulk("name"), .bulk("g"),
            .bulk("consumers"), .integer(2),
            .bulk("pending"), .integer(2),
            .bulk("last-delivered-id"), .bulk("2-0"),
            .bulk("entries-read"), .integer(2),
            .bulk("lag"), .integer(1),
        ])]))
        #expect(engine.run("XINFO", "CONSUMERS", "s", "g") == .array([
            .map([.bulk("name"), .bulk("alice"), .bulk("pending"), .integer(2), .bulk("idle"), .integer(250), .bulk("inactive"), .integer(250)]),
            .map([.bulk("name"), .bulk("bob"), .bulk("pending"), .integer(0), .bulk("idle"), .integer(250), .bulk("inactive"), .integer(-1)]),
        ]))
        let full = engine.run("XINFO", "STREAM", "s", "FULL", "COUNT", "1")
        #expect(infoField(full, "entries") == .array([streamEntry("1-0", "n", "1")]))
        let group = infoField(full, "groups")?.arrayValue?.first ?? .null
        #expect(infoField(group, "pel-count") == .integer(2))
        #expect(infoField(group, "pending") == .array([.array([.bulk("1-0"), .bulk("alice"), .integer(startMilliseconds), .integer(1)])]))
        let alice = infoField(group, "consumers")?.arrayValue?.first ?? .null
        #expect(infoField(alice, "seen-time") == .integer(startMilliseconds))
        #expect(infoField(alice, "pending") == .array([.array([.bulk("1-0"), .integer(startMilliseconds), .integer(1)])]))
        #expect(infoField(engine.run("XINFO", "STREAM", "s", "FULL"), "entries")?.arrayValue?.count == 3)
        #expect(engine.run("XINFO", "STREAM", "missing").errorMessage == RedisError.noSuchKey)
        #expect(engine.run("XINFO", "STREAM", "s", "PARTIAL").errorMessage == RedisError.syntax)
        #expect(engine.run("XINFO", "CONSUMERS", "s", "nope").errorMessage == "NOGROUP No such consumer group 'nope' for key name 's'")
        #expect(engine.run("XINFO", "GROUPS").errorMessage == RedisError.arity("xinfo|groups"))
        #expect(engine.run("XINFO", "WHAT", "s").errorMessage == "ERR unknown subcommand 'WHAT'. Try XINFO HELP.")
    }

    func groupInfo(_ engine: Engine, _ key: Bytes = "s") -> (read: Reply?, lag: Reply?) {
        let group = engine.run("XINFO", "GROUPS", key).arrayValue?.first ?? .null
        return (infoField(group, "entries-read"), infoField(group, "lag"))
    }

    @Test func lagAndEntriesReadAsRedis7ReportsThem() {
        let (engine, _) = makeEngine()
        for i in 1...5 { engine.run("XADD", "s", Bytes("\(i)-0"), "n", Bytes("\(i)")) }
        engine.run("XGROUP", "CREATE", "s", "g", "0")
        // Created at 0: entries-read unknown, but the lag is the whole stream.
        #expect(groupInfo(engine) == (.null, .integer(5)))
        engine.run("XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "s", ">")
        #expect(groupInfo(engine) == (.integer(2), .integer(3)))
        engine.run("XADD", "s", "6-0", "n", "6")
        #expect(groupInfo(engine) == (.integer(2), .integer(4)))
        // A deletion ahead of the group makes the lag unknown...
        engine.run("XDEL", "s", "4-0")
        #expect(groupInfo(engine) == (.integer(2), .null))
        // ...until the group reads past it.
        engine.run("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
        #expect(groupInfo(engine) == (.integer(6), .integer(0)))
        // Created at $: lag 0.
        engine.run("XGROUP", "CREATE", "s", "h", "$")
        let h = engine.run("XINFO", "GROUPS", "s").arrayValue?.last ?? .null
        #expect(infoField(h, "lag") == .integer(0))
        // ENTRIESREAD sets the counter explicitly; with the 4-0 tombstone
        // ahead of the group the lag is unknown again, as in Redis.
        engine.run("XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "1")
        #expect(groupInfo(engine) == (.integer(1), .null))
        engine.run("XGROUP", "SETID", "s", "g", "5-0", "ENTRIESREAD", "5")
        #expect(groupInfo(engine) == (.integer(5), .integer(1)))
        // An empty, never-written stream has lag 0.
        engine.run("XGROUP", "CREATE", "e", "g", "$", "MKSTREAM")
        #expect(groupInfo(engine, "e") == (.null, .integer(0)))
    }
}

@Suite struct StreamReferenceTests {
    func setUp() -> Engine {
        let (engine, _) = makeEngine()
        for i in 1...4 { engine.run("XADD", "s", Bytes("\(i)-0"), "n", Bytes("\(i)")) }
        engine.run("XGROUP", "CREATE", "s", "g1", "0")
        engine.run("XGROUP", "CREATE", "s", "g2", "0")
        engine.run("XREADGROUP", "GROUP", "g1", "c", "COUNT", "2", "STREAMS", "s", ">")
        engine.run("XREADGROUP", "GROUP", "g2", "c", "COUNT", "1", "STREAMS", "s", ">")
        return engine
    }

    @Test func xdelexPolicies() {
        let engine = setUp()
        // 1-0 is pending in both groups; 3-0 is not yet delivered to any.
        #expect(engine.run("XDELEX", "s", "ACKED", "IDS", "2", "1-0", "3-0") == .array([.integer(2), .integer(2)]))
        engine.run("XACK", "s", "g1", "1-0")
        engine.run("XACK", "s", "g2", "1-0")
        #expect(engine.run("XDELEX", "s", "ACKED", "IDS", "1", "1-0") == .array([.integer(1)]))
        #expect(engine.run("XDELEX", "s", "IDS", "2", "1-0", "4-0") == .array([.integer(-1), .integer(1)]))
        #expect(engine.run("XPENDING", "s", "g1").arrayValue?.first == .integer(1))
        #expect(engine.run("XDELEX", "s", "DELREF", "IDS", "1", "2-0") == .array([.integer(1)]))
        #expect(engine.run("XPENDING", "s", "g1").arrayValue?.first == .integer(0))
        #expect(engine.run("XDELEX", "missing", "IDS", "2", "1-0", "2-0") == .array([.integer(-1), .integer(-1)]))
        #expect(engine.run("XDELEX", "s", "IDS", "0", "1-0").errorMessage == "ERR Number of IDs must be a positive integer")
        #expect(engine.run("XDELEX", "s", "IDS", "3", "1-0", "2-0").errorMessage == "ERR The `numids` parameter must match the number of arguments")
        #expect(engine.run("XDELEX", "s", "IDS", "1", "x").errorMessage == StreamError.invalidID)
        #expect(engine.run("XDELEX", "s", "FOO", "IDS", "1", "1-0").errorMessage == RedisError.syntax)
    }

    @Test func xackdel() {
        let engine = setUp()
        // g2 has not read 2-0 yet: acked in g1 but kept under ACKED.
        #expect(engine.run("XACKDEL", "s", "g1", "ACKED", "IDS", "2", "1-0", "2-0") == .array([.integer(2), .integer(2)]))
        #expect(engine.run("XPENDING", "s", "g1").arrayValue?.first == .integer(0))
        #expect(engine.run("XACKDEL", "s", "g2", "ACKED", "IDS", "1", "1-0") == .array([.integer(1)]))
        // KEEPREF deletes even though g2 will never see 2-0 now.
        #expect(engine.run("XACKDEL", "s", "g1", "IDS", "1", "2-0") == .array([.integer(1)]))
        #expect(streamIDs(engine.run("XRANGE", "s", "-", "+")) == ["3-0", "4-0"])
        #expect(engine.run("XACKDEL", "s", "nope", "IDS", "1", "3-0") == .array([.integer(-1)]))
    }

    @Test func trimmingWithReferencePolicies() {
        let engine = setUp()
        // ACKED keeps everything some group still needs.
        #expect(engine.run("XTRIM", "s", "MAXLEN", "0", "ACKED").integerValue == 0)
        engine.run("XACK", "s", "g1", "1-0", "2-0")
        engine.run("XACK", "s", "g2", "1-0")
        #expect(engine.run("XTRIM", "s", "MAXLEN", "0", "ACKED").integerValue == 1)
        #expect(streamIDs(engine.run("XRANGE", "s", "-", "+")) == ["2-0", "3-0", "4-0"])
        // DELREF removes pending references of trimmed entries.
        engine.run("XREADGROUP", "GROUP", "g2", "c", "STREAMS", "s", ">")
        #expect(engine.run("XPENDING", "s", "g2").arrayValue?.first == .integer(3))
        #expect(engine.run("XADD", "s", "MAXLEN", "1", "DELREF", "5-0", "n", "5") == .bulk("5-0"))
        #expect(engine.run("XPENDING", "s", "g2").arrayValue?.first == .integer(0))
        // KEEPREF (the default) leaves dangling references.
        engine.run("XREADGROUP", "GROUP", "g2", "c", "STREAMS", "s", ">")
        engine.run("XTRIM", "s", "MAXLEN", "0")
        #expect(engine.run("XPENDING", "s", "g2").arrayValue?.first == .integer(1))
        // Without groups ACKED is plain trimming.
        engine.run("XADD", "t", "1-0", "a", "b")
        #expect(engine.run("XTRIM", "t", "MAXLEN", "0", "ACKED").integerValue == 1)
    }
}
