import Testing
@testable import KeywayEngine

/// XREAD BLOCK and XREADGROUP BLOCK at engine level: parked through
/// `Engine.submit`, woken by XADD, deadlines on the manual clock.
@Suite struct StreamBlockingTests {
    @Test func xreadDollarWaitsForTheNextEntry() {
        let (engine, _) = makeEngine()
        engine.run("XADD", "s", "1-0", "old", "1")
        let (client, handle) = engine.park("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        #expect(handle != nil)
        #expect(client.replies.isEmpty)
        engine.run("XADD", "s", "2-0", "new", "1")
        // The re-run used the rewritten `$` (1-0), so it sees 2-0 and only it.
        #expect(client.replies == [.array([.array([.bulk("s"), .array([streamEntry("2-0", "new", "1")])])])])
        #expect(engine.blockedClientCount == 0)
    }

    @Test func xreadDollarOnAMissingKeyAndOnAnEmptiedStream() {
        let (engine, _) = makeEngine()
        let (missing, _) = engine.park("XREAD", "BLOCK", "0", "STREAMS", "nokey", "$")
        engine.run("XADD", "nokey", "5-0", "a", "b")
        #expect(readIDs(missing.replies.first ?? .null) == ["5-0"])
        engine.run("XDEL", "nokey", "5-0")
        let (emptied, _) = engine.park("XREAD", "BLOCK", "0", "STREAMS", "nokey", "+")
        #expect(emptied.replies.isEmpty)
        engine.run("XADD", "nokey", "6-0", "c", "d")
        #expect(readIDs(emptied.replies.first ?? .null) == ["6-0"])
    }

    @Test func writesThatAddNothingNewKeepTheReaderParked() {
        let (engine, _) = makeEngine()
        engine.run("XADD", "s", "1-0", "a", "b")
        engine.run("XADD", "s", "2-0", "a", "b")
        let (client, _) = engine.park("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        engine.run("XDEL", "s", "1-0")
        engine.run("XTRIM", "s", "MAXLEN", "0")
        #expect(client.replies.isEmpty)
        #expect(engine.blockedClientCount == 1)
        engine.run("XADD", "s", "3-0", "a", "b")
        #expect(readIDs(client.replies.first ?? .null) == ["3-0"])
    }

    @Test func xreadDeadlineUsesTheEngineClock() {
        let (engine, clock) = makeEngine()
        let (client, _) = engine.park("XREAD", "COUNT", "1", "BLOCK", "1500", "STREAMS", "s", "0")
        clock.advance(milliseconds: 1499)
        engine.expireBlockedClients()
        #expect(client.replies.isEmpty)
        clock.advance(milliseconds: 1)
        engine.expireBlockedClients()
        #expect(client.replies == [.null])
        #expect(engine.blockedClientCount == 0)
    }

    @Test func servedAtOnceWhenDataIsThereAndNeverBlocksWithoutBLOCK() throws {
        let (engine, _) = makeEngine()
        engine.run("XADD", "s", "1-0", "a", "b")
        let (now, handle) = engine.park("XREAD", "BLOCK", "0", "STREAMS", "s", "0")
        #expect(handle == nil)
        #expect(readIDs(now.replies.first ?? .null) == ["1-0"])
        let (noBlock, noHandle) = engine.park("XREAD", "STREAMS", "s", "$")
        #expect(noHandle == nil)
        #expect(noBlock.replies == [.null])
        // Inside a transaction BLOCK answers nil at once.
        #expect(try engine.executeTransaction([Command("XREAD", "BLOCK", "0", "STREAMS", "s", "$")]).get() == [.null])
    }

    @Test func xreadgroupWaitersShareNewEntriesInArrivalOrder() {
        let (engine, _) = makeEngine()
        engine.run("XGROUP", "CREATE", "events", "mygroup", "$", "MKSTREAM")
        let (first, _) = engine.park("XREADGROUP", "GROUP", "mygroup", "consumer1", "COUNT", "1", "BLOCK", "5000", "STREAMS", "events", ">")
        let (second, _) = engine.park("XREADGROUP", "GROUP", "mygroup", "consumer2", "COUNT", "1", "BLOCK", "5000", "STREAMS", "events", ">")
        #expect(engine.blockedClientCount == 2)
        engine.run("XADD", "events", "1-0", "type", "order.created")
        #expect(readIDs(first.replies.first ?? .null) == ["1-0"])
        #expect(second.replies.isEmpty)
        engine.run("XADD", "events", "2-0", "type", "order.paid")
        #expect(readIDs(second.replies.first ?? .null) == ["2-0"])
        let pending = engine.run("XPENDING", "events", "mygroup")
        #expect(pending.arrayValue?.last == .array([.array([.bulk("consumer1"), .bulk("1")]), .array([.bulk("consumer2"), .bulk("1")])]))
    }

    @Test func xreadgroupTimesOutAndSeesGroupDestruction() {
        let (engine, clock) = makeEngine()
        engine.run("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        let (timed, _) = engine.park("XREADGROUP", "GROUP", "g", "c", "BLOCK", "100", "STREAMS", "s", ">")
        // The consumer exists from the first attempt on, as in Redis.
        #expect(engine.run("XINFO", "CONSUMERS", "s", "g").arrayValue?.count == 1)
        clock.advance(milliseconds: 100)
        engine.expireBlockedClients()
        #expect(timed.replies == [.null])
        let (waiting, _) = engine.park("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
        engine.run("XGROUP", "DESTROY", "s", "g")
        #expect(waiting.replies.first?.errorMessage == "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option")
    }

    @Test func cancelledAndDisconnectedReadersAreSkipped() {
        let (engine, _) = makeEngine()
        engine.run("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        let (gone, _) = engine.park("XREADGROUP", "GROUP", "g", "a", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", ">")
        let (cancelled, handle) = engine.park("XREADGROUP", "GROUP", "g", "b", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", ">")
        let (alive, _) = engine.park("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", ">")
        gone.disconnect()
        handle?.cancel()
        engine.run("XADD", "s", "1-0", "a", "b")
        #expect(gone.replies.isEmpty && cancelled.replies.isEmpty)
        #expect(readIDs(alive.replies.first ?? .null) == ["1-0"])
        #expect(engine.run("XPENDING", "s", "g", "-", "+", "10") == .array([.array([.bulk("1-0"), .bulk("c"), .integer(0), .integer(1)])]))
    }
}
