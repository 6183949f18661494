import KeywayEngine
import Testing

/// Lists: pushes, pops, ranges, edits, moves and blocking pops at the engine.
@Suite struct ListCommandsTests {
    func strings(_ reply: Reply) -> [String]? {
        reply.arrayValue?.map { $0.bytesValue?.text ?? "<nil>" }
    }

    @Test func pushesAndPopsAtBothEnds() {
        let (engine, _) = makeEngine()
        #expect(engine.run("RPUSH", "l", "a", "b").integerValue == 2)
        #expect(engine.run("LPUSH", "l", "x", "y").integerValue == 4)
        #expect(strings(engine.run("LRANGE", "l", "0", "-1")) == ["y", "x", "a", "b"])
        #expect(engine.run("LPOP", "l").bytesValue == "y")
        #expect(engine.run("RPOP", "l").bytesValue == "b")
        #expect(strings(engine.run("LPOP", "l", "5")) == ["x", "a"])
        // The emptied list is gone.
        #expect(engine.run("EXISTS", "l").integerValue == 0)
        #expect(engine.run("LPOP", "l") == .null)
        #expect(engine.run("LPOP", "l", "2") == .null)
        #expect(engine.run("TYPE", "l") == .status("none"))
    }

    @Test func popCountRules() {
        let (engine, _) = makeEngine()
        engine.run("RPUSH", "l", "a")
        #expect(engine.run("LPOP", "l", "0") == .array([]))
        #expect(engine.run("LPOP", "l", "-1").errorMessage == "ERR value is out of range, must be positive")
        #expect(engine.run("LPOP", "l", "x").errorMessage == "ERR value is out of range, must be positive")
        #expect(engine.run("LPOP", "l", "1", "2").errorMessage == RedisError.arity("lpop"))
    }

    @Test func pushxOnlyTouchesExistingLists() {
        let (engine, _) = makeEngine()
        #expect(engine.run("LPUSHX", "l", "a").integerValue == 0)
        #expect(engine.run("RPUSHX", "l", "a").integerValue == 0)
        #expect(engine.run("EXISTS", "l").integerValue == 0)
        engine.run("RPUSH", "l", "a")
        #expect(engine.run("RPUSHX", "l", "b", "c").integerValue == 3)
        #expect(engine.run("LPUSHX", "l", "z").integerValue == 4)
    }

    @Test func wrongTypeEverywhere() {
        let (engine, _) = makeEngine()
        engine.run("SET", "s", "v")
        let wrong = "WRONGTYPE Operation against a key holding the wrong kind of value"
        for command: [Bytes] in [["LPUSH", "s", "a"], ["RPOP", "s"], ["LLEN", "s"], ["LRANGE", "s", "0", "1"], ["LINDEX", "s", "0"],
                                 ["LSET", "s", "0", "x"], ["LREM", "s", "0", "x"], ["LTRIM", "s", "0", "1"], ["LPOS", "s", "x"],
                                 ["LMOVE", "s", "d", "LEFT", "RIGHT"], ["BLPOP", "s", "0"], ["LMPOP", "1", "s", "LEFT"]] {
            #expect(engine.run(command).errorMessage == wrong, "\(command)")
        }
        engine.run("RPUSH", "l", "a")
        #expect(engine.run("LMOVE", "l", "s", "LEFT", "RIGHT").errorMessage == wrong)
        #expect(engine.run("LLEN", "l").integerValue == 1, "a failed move leaves the source alone")
        #expect(engine.run("GET", "l").errorMessage == wrong)
    }

    @Test func rangesAndIndexesFollowRedisClamping() {
        let (engine, _) = makeEngine()
        engine.run("RPUSH", "l", "a", "b", "c", "d", "e")
        #expect(strings(engine.run("LRANGE", "l", "1", "2")) == ["b", "c"])
        #expect(strings(engine.run("LRANGE", "l", "-2", "-1")) == ["d", "e"])
        #expect(strings(engine.run("LRANGE", "l", "-100", "100")) == ["a", "b", "c", "d", "e"])
        #expect(strings(engine.run("LRANGE", "l", "3", "1")) == [])
        #expect(strings(engine.run("LRANGE", "l", "5", "10")) == [])
        #expect(strings(engine.run("LRANGE", "missing", "0", "-1")) == [])
        #expect(engine.run("LRANGE", "l", "a", "1").errorMessage == RedisError.notInteger)
        #expect(engine.run("LINDEX", "l", "0").bytesValue == "a")
        #expect(engine.run("LINDEX", "l", "-1").bytesValue == "e")
        #expect(engine.run("LINDEX", "l", "5") == .null)
        #expect(engine.run("LINDEX", "missing", "0") == .null)
        #expect(engine.run("LLEN", "l").integerValue == 5)
        #expect(engine.run("LLEN", "missing").integerValue == 0)
    }

    @Test func lsetAndLinsert() {
        let (engine, _) = makeEngine()
        #expect(engine.run("LSET", "l", "0", "x").errorMessage == RedisError.noSuchKey)
        engine.run("RPUSH", "l", "a", "b", "c")
        #expect(engine.run("LSET", "l", "-1", "z") == .ok)
        #expect(engine.run("LSET", "l", "3", "z").errorMessage == "ERR index out of range")
        #expect(engine.run("LINSERT", "l", "BEFORE", "b", "x").integerValue == 4)
        #expect(engine.run("LINSERT", "l", "after", "z", "y").integerValue == 5)
        #expect(strings(engine.run("LRANGE", "l", "0", "-1")) == ["a", "x", "b", "z", "y"])
        #expect(engine.run("LINSERT", "l", "BEFORE", "nope", "q").integerValue == -1)
        #expect(engine.run("LINSERT", "missing", "BEFORE", "a", "q").integerValue == 0)
        #expect(engine.run("LINSERT", "l", "MIDDLE", "a", "q").errorMessage == RedisError.syntax)
    }

    @Test func lremFromHeadTailOrEverywhere() {
        let (engine, _) = makeEngine()
        engine.run("RPUSH", "l", "a", "b", "a", "c", "a")
        #expect(engine.run("LREM", "l", "1", "a").integerValue == 1)
        #expect(strings(engine.run("LRANGE", "l", "0", "-1")) == ["b", "a", "c", "a"])
        #expect(engine.run("LREM", "l", "-1", "a").integerValue == 1)
        #expect(strings(engine.run("LRANGE", "l", "0", "-1")) == ["b", "a", "c"])
        engine.run("RPUSH", "l", "a", "a")
        #expect(engine.run("LREM", "l", "0", "a").integerValue == 3)
        #expect(strings(engine.run("LRANGE", "l", "0", "-1")) == ["b", "c"])
        #expect(engine.run("LREM", "l", "0", "nope").integerValue == 0)
        #expect(engine.run("LREM", "missing", "0", "a").integerValue == 0)
    }

    @Test func ltrimKeepsARangeAndDeletesWhenEmpty() {
        let (engine, _) = makeEngine()
        for i in 0..<150 { engine.run("LPUSH", "activity", Bytes("event \(i)")) }
        #expect(engine.run("LTRIM", "activity", "0", "99") == .ok)
        #expect(engine.run("LLEN", "activity").integerValue == 100)
        #expect(engine.run("LINDEX", "activity", "0").bytesValue == "event 149")
        #expect(engine.run("LINDEX", "activity", "-1").bytesValue == "event 50")
        #expect(engine.run("LTRIM", "activity", "5", "2") == .ok)
        #expect(engine.run("EXISTS", "activity").integerValue == 0)
        #expect(engine.run("LTRIM", "missing", "0", "1") == .ok)
    }

    @Test func lposWithRankCountAndMaxlen() {
        let (engine, _) = makeEngine()
        engine.run("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c")
        #expect(engine.run("LPOS", "l", "c").integerValue == 2)
        #expect(engine.run("LPOS", "l", "c", "RANK", "2").integerValue == 6)
        #expect(engine.run("LPOS", "l", "c", "RANK", "-1").integerValue == 7)
        #expect(engine.run("LPOS", "l", "c", "COUNT", "2") == .array([.integer(2), .integer(6)]))
        #expect(engine.run("LPOS", "l", "c", "COUNT", "0") == .array([.integer(2), .integer(6), .integer(7)]))
        #expect(engine.run("LPOS", "l", "c", "RANK", "-1", "COUNT", "2") == .array([.integer(7), .integer(6)]))
        #expect(engine.run("LPOS", "l", "c", "MAXLEN", "2") == .null)
        #expect(engine.run("LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7") == .array([.integer(2), .integer(6)]))
        #expect(engine.run("LPOS", "l", "x") == .null)
        #expect(engine.run("LPOS", "l", "x", "COUNT", "1") == .array([]))
        #expect(engine.run("LPOS", "missing", "x") == .null)
        #expect(engine.run("LPOS", "l", "c", "RANK", "0").errorMessage?.hasPrefix("ERR RANK can't be zero") == true)
        #expect(engine.run("LPOS", "l", "c", "COUNT", "-1").errorMessage == "ERR COUNT can't be negative")
        #expect(engine.run("LPOS", "l", "c", "MAXLEN", "-1").errorMessage == "ERR MAXLEN can't be negative")
        #expect(engine.run("LPOS", "l", "c", "RANK").errorMessage == RedisError.syntax)
        #expect(engine.run("LPOS", "l", "c", "FOO", "1").errorMessage == RedisError.syntax)
    }

    @Test func lmoveAndRpoplpush() {
        let (engine, _) = makeEngine()
        engine.run("RPUSH", "src", "a", "b", "c")
        #expect(engine.run("LMOVE", "src", "dst", "LEFT", "RIGHT").bytesValue == "a")
        #expect(engine.run("RPOPLPUSH", "src", "dst").bytesValue == "c")
        #expect(strings(engine.run("LRANGE", "dst", "0", "-1")) == ["c", "a"])
        // Same list: rotation.
        #expect(engine.run("LMOVE", "dst", "dst", "LEFT", "RIGHT").bytesValue == "c")
        #expect(strings(engine.run("LRANGE", "dst", "0", "-1")) == ["a", "c"])
        #expect(engine.run("LMOVE", "missing", "dst", "LEFT", "LEFT") == .null)
        #expect(engine.run("LMOVE", "src", "dst", "UP", "LEFT").errorMessage == RedisError.syntax)
        #expect(engine.run("RPOPLPUSH", "src", "dst").bytesValue == "b")
        #expect(engine.run("EXISTS", "src").integerValue == 0)
    }

    @Test func lmpopPopsFromTheFirstNonEmptyList() {
        let (engine, _) = makeEngine()
        engine.run("RPUSH", "b", "1", "2", "3")
        #expect(engine.run("LMPOP", "2", "a", "b", "LEFT") == .array([.bulk("b"), .array([.bulk("1")])]))
        #expect(engine.run("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "10") == .array([.bulk("b"), .array([.bulk("3"), .bulk("2")])]))
        #expect(engine.run("LMPOP", "2", "a", "b", "LEFT") == .null)
        #expect(engine.run("LMPOP", "0", "a", "LEFT").errorMessage == "ERR numkeys should be greater than 0")
        #expect(engine.run("LMPOP", "x", "a", "LEFT").errorMessage == "ERR numkeys should be greater than 0")
        #expect(engine.run("LMPOP", "1", "a", "LEFT", "COUNT", "0").errorMessage == "ERR count should be greater than 0")
        #expect(engine.run("LMPOP", "5", "a", "LEFT").errorMessage == RedisError.syntax)
        #expect(engine.run("LMPOP", "1", "a", "SIDEWAYS").errorMessage == RedisError.syntax)
    }

    @Test func largeListsStayConsistent() {
        let (engine, _) = makeEngine()
        for chunk in 0..<10 {
            engine.run(["RPUSH", "big"] + (0..<1000).map { Bytes(String(chunk * 1000 + $0)) })
        }
        #expect(engine.run("LLEN", "big").integerValue == 10_000)
        #expect(engine.run("LINDEX", "big", "5000").bytesValue == "5000")
        #expect(engine.run("LINDEX", "big", "-1").bytesValue == "9999")
        #expect(strings(engine.run("LRANGE", "big", "9998", "-1")) == ["9998", "9999"])
        #expect(engine.run("LPOS", "big", "7777").integerValue == 7777)
        for _ in 0..<5000 { engine.run("LPOP", "big") }
        #expect(engine.run("LINDEX", "big", "0").bytesValue == "5000")
        #expect(engine.run("LREM", "big", "0", "6000").integerValue == 1)
        #expect(engine.run("LLEN", "big").integerValue == 4999)
    }

    @Test func timeoutArgumentsAreValidated() {
        let (engine, _) = makeEngine()
        #expect(engine.run("BLPOP", "l", "-1").errorMessage == "ERR timeout is negative")
        #expect(engine.run("BLPOP", "l", "soon").errorMessage == "ERR timeout is not a float or out of range")
        #expect(engine.run("BLMOVE", "a", "b", "LEFT", "RIGHT", "x").errorMessage == "ERR timeout is not a float or out of range")
        // Outside a blocking-capable submission, an empty wait answers nil at once.
        #expect(engine.run("BLPOP", "l", "0") == .null)
        engine.run("RPUSH", "l", "v")
        #expect(engine.run("BRPOP", "none", "l", "0.5") == .array([.bulk("l"), .bulk("v")]))
    }
}

/// Blocking pops at the engine level, with a test client standing in for a
/// parked HTTP request.
@Suite struct BlockingPopEngineTests {
    @Test func servesImmediatelyWhenDataIsThere() {
        let (engine, _) = makeEngine()
        engine.run("RPUSH", "q", "a")
        let (client, handle) = engine.park("BLPOP", "q", "0")
        #expect(handle == nil)
        #expect(client.replies == [.array([.bulk("q"), .bulk("a")])])
    }

    @Test func aPushWakesTheWaiterAndWaitersAreFIFO() {
        let (engine, _) = makeEngine()
        let (first, _) = engine.park("BRPOP", "q", "0")
        let (second, _) = engine.park("BRPOP", "other", "q", "0")
        #expect(engine.blockedClientCount == 2)
        engine.run("RPUSH", "q", "x")
        #expect(first.replies == [.array([.bulk("q"), .bulk("x")])])
        #expect(second.replies.isEmpty)
        engine.run("RPUSH", "other", "y")
        #expect(second.replies == [.array([.bulk("other"), .bulk("y")])])
        #expect(engine.blockedClientCount == 0)
        #expect(engine.run("EXISTS", "q", "other").integerValue == 0)
    }

    @Test func deadlinesUseTheEngineClock() {
        let (engine, clock) = makeEngine()
        let (client, _) = engine.park("BLPOP", "q", "0.25")
        clock.advance(milliseconds: 249)
        engine.expireBlockedClients()
        #expect(client.replies.isEmpty)
        clock.advance(milliseconds: 1)
        engine.expireBlockedClients()
        #expect(client.replies == [.null])
        // A later push is not lost to the expired waiter.
        engine.run("RPUSH", "q", "v")
        #expect(engine.run("LLEN", "q").integerValue == 1)
    }

    @Test func disconnectedAndCancelledWaitersAreSkipped() {
        let (engine, _) = makeEngine()
        let (gone, _) = engine.park("BLPOP", "q", "0")
        let (cancelled, handle) = engine.park("BLPOP", "q", "0")
        let (alive, _) = engine.park("BLPOP", "q", "0")
        gone.disconnect()
        handle?.cancel()
        engine.run("RPUSH", "q", "only")
        #expect(gone.replies.isEmpty)
        #expect(cancelled.replies.isEmpty)
        #expect(alive.replies == [.array([.bulk("q"), .bulk("only")])])
    }

    @Test func blmoveWaitsOnItsSourceAndMovesOnWake() {
        let (engine, _) = makeEngine()
        let (client, _) = engine.park("BLMOVE", "src", "dst", "RIGHT", "LEFT", "0")
        engine.run("RPUSH", "src", "a", "b")
        #expect(client.replies == [.bulk("b")])
        #expect(engine.run("LRANGE", "dst", "0", "-1") == .array([.bulk("b")]))
        #expect(engine.run("LRANGE", "src", "0", "-1") == .array([.bulk("a")]))
    }

    @Test func blmpopWakesWithCount() {
        let (engine, _) = makeEngine()
        let (client, _) = engine.park("BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "2")
        engine.run("RPUSH", "b", "1", "2", "3")
        #expect(client.replies == [.array([.bulk("b"), .array([.bulk("1"), .bulk("2")])])])
    }

    @Test func oneWriteCanServeAChainOfWaiters() {
        let (engine, _) = makeEngine()
        // The first waiter's move feeds the second waiter's list.
        let (mover, _) = engine.park("BRPOPLPUSH", "stage1", "stage2", "0")
        let (finisher, _) = engine.park("BLPOP", "stage2", "0")
        engine.run("LPUSH", "stage1", "job")
        #expect(mover.replies == [.bulk("job")])
        #expect(finisher.replies == [.array([.bulk("stage2"), .bulk("job")])])
    }
}
