import Dispatch
import Synchronization
import Testing
@testable import KeywayEngine

/// KEYWAY.LOCK / UNLOCK / EXTEND: the lock is `SET key token NX PX`, the
/// fencing counter only grows, waiters are parked and served in order when
/// the holder releases or the lock lapses. Time is the manual clock.
@Suite struct LockCommandsTests {
    /// KEYWAY.LOCK lock:name lock:name:fencing token ttl-ms wait-ms
    func lock(_ engine: Engine, _ token: String, ttl: Int64 = 30_000, wait: Int64 = 0, name: String = "job") -> (RecordingClient, BlockedHandle?) {
        engine.park(Bytes("KEYWAY.LOCK"), Bytes("lock:\(name)"), Bytes("lock:\(name):fencing"), Bytes(token),
                    Parse.bytes(ttl), Parse.bytes(wait))
    }

    func fencing(_ reply: Reply?) -> Int64? {
        guard case .array(let parts)? = reply, parts.count == 2 else { return nil }
        return parts[0].integerValue
    }

    @Test func acquiresAFreeLockAsSetNXPXAndCountsFencing() {
        let (engine, _) = makeEngine()
        let (client, handle) = lock(engine, "t1")
        #expect(handle == nil)
        #expect(client.replies == [.array([.integer(1), .integer(30_000)])])
        #expect(engine.run("GET", "lock:job") == .bulk("t1"))
        #expect(engine.pttl("lock:job") == 30_000)
        #expect(engine.run("GET", "lock:job:fencing") == .bulk("1"))
        #expect(engine.pttl("lock:job:fencing") == -1)
    }

    @Test func aHeldLockAnswersNilWithoutWaiting() {
        let (engine, _) = makeEngine()
        _ = lock(engine, "t1")
        let (client, handle) = lock(engine, "t2")
        #expect(handle == nil)
        #expect(client.replies == [.null])
        #expect(engine.run("GET", "lock:job") == .bulk("t1"))
        #expect(engine.run("GET", "lock:job:fencing") == .bulk("1"))
    }

    @Test func aLockTakenByAPlainSetNXIsHeld() {
        let (engine, _) = makeEngine()
        #expect(engine.run("SET", "lock:job", "redis-client", "NX", "PX", "1000") == .ok)
        #expect(lock(engine, "t1").0.replies == [.null])
        #expect(engine.run("KEYWAY.UNLOCK", "lock:job", "redis-client") == .integer(1))
        #expect(fencing(lock(engine, "t1").0.replies.first) == 1)
    }

    @Test func unlockComparesTheTokenBeforeDeleting() {
        let (engine, _) = makeEngine()
        _ = lock(engine, "t1")
        #expect(engine.run("KEYWAY.UNLOCK", "lock:job", "wrong") == .integer(0))
        #expect(engine.run("GET", "lock:job") == .bulk("t1"))
        #expect(engine.run("KEYWAY.UNLOCK", "lock:job", "t1") == .integer(1))
        #expect(engine.run("EXISTS", "lock:job") == .integer(0))
        #expect(engine.run("KEYWAY.UNLOCK", "lock:job", "t1") == .integer(-1))
    }

    @Test func fencingGrowsAcrossReleasesAndExpiry() {
        let (engine, clock) = makeEngine()
        var seen: [Int64] = []
        for round in 0..<5 {
            let token = "t\(round)"
            seen.append(fencing(lock(engine, token, ttl: 100).0.replies.first) ?? -1)
            if round % 2 == 0 { engine.run("KEYWAY.UNLOCK", "lock:job", Bytes(token)) } else { clock.advance(milliseconds: 101) }
        }
        #expect(seen == [1, 2, 3, 4, 5])
    }

    @Test func waitersAreServedFirstComeFirstServedOnRelease() {
        let (engine, _) = makeEngine()
        _ = lock(engine, "a")
        let (b, hb) = lock(engine, "b", wait: 5000)
        let (c, _) = lock(engine, "c", wait: 5000)
        let (d, _) = lock(engine, "d", wait: 5000)
        #expect(hb != nil)
        #expect(engine.blockedClientCount == 3)
        engine.run("KEYWAY.UNLOCK", "lock:job", "a")
        #expect(fencing(b.replies.first) == 2)
        #expect(c.replies.isEmpty && d.replies.isEmpty)
        #expect(engine.run("GET", "lock:job") == .bulk("b"))
        engine.run("DEL", "lock:job")  // a plain DEL releases too
        #expect(fencing(c.replies.first) == 3)
        #expect(d.replies.isEmpty)
        engine.run("KEYWAY.UNLOCK", "lock:job", "c")
        #expect(fencing(d.replies.first) == 4)
        #expect(engine.blockedClientCount == 0)
    }

    @Test func aLockThatLapsesIsHandedToTheFirstWaiterAtItsExpiry() {
        let (engine, clock) = makeEngine()
        _ = lock(engine, "a", ttl: 100)
        let (b, _) = lock(engine, "b", wait: 5000)
        let (c, _) = lock(engine, "c", wait: 5000)
        clock.advance(milliseconds: 100)
        engine.expireBlockedClients()
        #expect(b.replies.isEmpty)  // still alive during its last millisecond
        clock.advance(milliseconds: 1)
        engine.expireBlockedClients()
        #expect(fencing(b.replies.first) == 2)
        #expect(c.replies.isEmpty)
        #expect(engine.run("GET", "lock:job") == .bulk("b"))
        #expect(engine.pttl("lock:job") == 30_000)
    }

    @Test func aRecheckThatFindsTheLockAliveLooksAgainAtItsNewExpiry() {
        let (engine, clock) = makeEngine()
        _ = lock(engine, "a", ttl: 100)
        let (b, _) = lock(engine, "b", wait: 5000)
        // Moved without a write notice (as if the timer had fired early).
        engine.withDatabase { db, _ in db.setExpiry("lock:job", at: startMilliseconds + 300) }
        clock.advance(milliseconds: 101)
        engine.expireBlockedClients()
        #expect(b.replies.isEmpty)
        clock.advance(milliseconds: 200)
        engine.expireBlockedClients()
        #expect(fencing(b.replies.first) == 2)
    }

    @Test func activeExpiryAlsoHandsTheLockOn() {
        let (engine, clock) = makeEngine()
        _ = lock(engine, "a", ttl: 100)
        let (b, _) = lock(engine, "b", wait: 5000)
        clock.advance(milliseconds: 101)
        engine.runActiveExpiryCycle()
        #expect(fencing(b.replies.first) == 2)
    }

    @Test func aWaiterTimesOutWithNil() {
        let (engine, clock) = makeEngine()
        _ = lock(engine, "a")
        let (b, _) = lock(engine, "b", wait: 1000)
        clock.advance(milliseconds: 999)
        engine.expireBlockedClients()
        #expect(b.replies.isEmpty)
        clock.advance(milliseconds: 1)
        engine.expireBlockedClients()
        #expect(b.replies == [.null])
        #expect(engine.blockedClientCount == 0)
        #expect(engine.run("GET", "lock:job") == .bulk("a"))
    }

    @Test func aWaiterLooksAgainBeforeTimingOut() {
        let (engine, clock) = makeEngine()
        _ = lock(engine, "a", ttl: 500)
        let (b, _) = lock(engine, "b", wait: 1000)
        // The timer only fires at the waiter's deadline, long after the lapse.
        clock.advance(milliseconds: 1000)
        engine.expireBlockedClients()
        #expect(fencing(b.replies.first) == 2)
    }

    @Test func aNewcomerDoesNotJumpTheQueueOfALapsedLock() {
        let (engine, clock) = makeEngine()
        _ = lock(engine, "a", ttl: 100)
        let (b, _) = lock(engine, "b", wait: 5000)
        clock.advance(milliseconds: 200)
        // Nobody noticed the lapse yet; the newcomer's look expires it, and it goes to b.
        let (c, _) = lock(engine, "c")
        #expect(c.replies == [.null])
        #expect(fencing(b.replies.first) == 2)
        #expect(engine.run("GET", "lock:job") == .bulk("b"))
    }

    @Test func aGoneWaiterIsSkipped() {
        let (engine, _) = makeEngine()
        _ = lock(engine, "a")
        let (b, _) = lock(engine, "b", wait: 5000)
        let (c, _) = lock(engine, "c", wait: 5000)
        b.disconnect()
        engine.run("KEYWAY.UNLOCK", "lock:job", "a")
        #expect(b.replies.isEmpty)
        #expect(fencing(c.replies.first) == 2)
    }

    @Test func extendChecksTheTokenAndMovesTheHandOver() {
        let (engine, clock) = makeEngine()
        _ = lock(engine, "a", ttl: 100)
        let (b, _) = lock(engine, "b", wait: 5000)
        #expect(engine.run("KEYWAY.EXTEND", "lock:job", "b", "1000") == .integer(0))
        #expect(engine.run("KEYWAY.EXTEND", "lock:job", "a", "1000") == .integer(1))
        #expect(engine.pttl("lock:job") == 1000)
        clock.advance(milliseconds: 101)
        engine.expireBlockedClients()
        #expect(b.replies.isEmpty)
        clock.advance(milliseconds: 900)
        engine.expireBlockedClients()
        #expect(fencing(b.replies.first) == 2)
        #expect(engine.run("KEYWAY.EXTEND", "lock:nothing", "a", "1000") == .integer(-1))
    }

    @Test func insideMultiItNeverWaits() throws {
        let (engine, _) = makeEngine()
        _ = lock(engine, "a")
        let result = engine.executeTransaction([Command("KEYWAY.LOCK", "lock:job", "lock:job:fencing", "b", "1000", "5000")])
        #expect(try result.get() == [.null])
        #expect(engine.blockedClientCount == 0)
    }

    @Test func badArguments() {
        let (engine, _) = makeEngine()
        #expect(engine.run("KEYWAY.LOCK", "l", "f", "t", "0", "0").errorMessage == "ERR invalid expire time in 'keyway.lock' command")
        #expect(engine.run("KEYWAY.LOCK", "l", "f", "t", "-5", "0").errorMessage == "ERR invalid expire time in 'keyway.lock' command")
        #expect(engine.run("KEYWAY.LOCK", "l", "f", "t", "9223372036854775807", "0").errorMessage == "ERR invalid expire time in 'keyway.lock' command")
        #expect(engine.run("KEYWAY.LOCK", "l", "f", "t", "abc", "0").errorMessage == "ERR value is not an integer or out of range")
        #expect(engine.run("KEYWAY.LOCK", "l", "f", "t", "100", "-1").errorMessage == "ERR timeout is negative")
        #expect(engine.run("KEYWAY.LOCK", "l", "f", "t").errorMessage == "ERR wrong number of arguments for 'keyway.lock' command")
        #expect(engine.run("KEYWAY.EXTEND", "l", "t", "0").errorMessage == "ERR invalid expire time in 'keyway.extend' command")
        engine.run("SET", "f", "not-a-number")
        #expect(engine.run("KEYWAY.LOCK", "l", "f", "t", "100", "0").errorMessage == "ERR value is not an integer or out of range")
        #expect(engine.run("EXISTS", "l") == .integer(0))
    }

    @Test func logsPlainRedisCommands() {
        let (engine, _) = makeEngine()
        let sink = RecordingSink()
        engine.attachPropagationSink(sink)
        _ = lock(engine, "t1", ttl: 1000)
        engine.run("KEYWAY.EXTEND", "lock:job", "t1", "2000")
        engine.run("KEYWAY.UNLOCK", "lock:job", "t1")
        engine.run("KEYWAY.UNLOCK", "lock:job", "t1")
        #expect(sink.commands == [
            ["SET", "lock:job", "t1", "PXAT", String(startMilliseconds + 1000)], ["INCR", "lock:job:fencing"],
            ["PEXPIREAT", "lock:job", String(startMilliseconds + 2000)],
            ["DEL", "lock:job"],
        ])
    }

    /// Many threads contend for one lock, waiting in line: one holder at a
    /// time, and fencing numbers strictly increase in the order of holding.
    @Test func oneHolderAtATimeUnderContention() {
        let (engine, _) = makeEngine()
        let holders = Atomic<Int>(0)
        let record = Mutex<(fencings: [Int64], overlaps: Int)>(([], 0))
        let workers = 8, rounds = 25
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for round in 0..<rounds {
                let token = "w\(worker)-\(round)"
                let delivered = DispatchSemaphore(value: 0)
                let client = SignallingClient { _ in delivered.signal() }
                var reply: Reply
                switch engine.submit(Command("KEYWAY.LOCK", "lock:job", "lock:job:fencing", token, "60000", "60000"), client: client) {
                case .reply(let immediate): reply = immediate
                case .blocked:
                    delivered.wait()
                    reply = client.reply ?? .null
                }
                guard let number = fencing(reply) else { record.withLock { $0.overlaps += 1000 }; continue }
                if holders.add(1, ordering: .sequentiallyConsistent).newValue != 1 { record.withLock { $0.overlaps += 1 } }
                record.withLock { $0.fencings.append(number) }
                holders.subtract(1, ordering: .sequentiallyConsistent)
                #expect(engine.execute(Command("KEYWAY.UNLOCK", "lock:job", token)) == .integer(1))
            }
        }
        let (fencings, overlaps) = record.withLock { ($0.fencings, $0.overlaps) }
        #expect(overlaps == 0)
        #expect(fencings.count == workers * rounds)
        #expect(fencings == Array(1...Int64(workers * rounds)))
    }
}

/// A parked client that keeps its reply and calls back when it arrives.
final class SignallingClient: BlockedClient, @unchecked Sendable {
    private let stored = Mutex<Reply?>(nil)
    private let onDeliver: @Sendable (Reply) -> Void
    init(_ onDeliver: @escaping @Sendable (Reply) -> Void) { self.onDeliver = onDeliver }
    var isConnected: Bool { true }
    var reply: Reply? { stored.withLock { $0 } }
    func deliver(_ reply: Reply) {
        stored.withLock { $0 = reply }
        onDeliver(reply)
    }
}
