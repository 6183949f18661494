import Testing
import KeywayEngine

/// The EXPIRE family with NX/XX/GT/LT, TTL family, PERSIST, and both ways
/// keys expire (expire.c, db.c): lazily on access, actively in cycles.
@Suite struct ExpireTests {
    let engine: Engine
    let clock: ManualClock

    init() { (engine, clock) = makeEngine() }

    // MARK: - Setting expiries

    @Test func expireFamilySetsTheDeadline() {
        engine.run("MSET", "a", "1", "b", "1", "c", "1", "d", "1")
        #expect(engine.run("EXPIRE", "a", "100") == .integer(1))
        #expect(engine.pttl("a") == 100_000)
        #expect(engine.run("PEXPIRE", "b", "1500") == .integer(1))
        #expect(engine.pttl("b") == 1500)
        #expect(engine.run("EXPIREAT", "c", Bytes(String(startSeconds + 200))) == .integer(1))
        #expect(engine.pttl("c") == 200_000)
        #expect(engine.run("PEXPIREAT", "d", Bytes(String(startMilliseconds + 250))) == .integer(1))
        #expect(engine.pttl("d") == 250)
        // A new EXPIRE replaces the old deadline, shorter or longer.
        #expect(engine.run("EXPIRE", "a", "10") == .integer(1))
        #expect(engine.ttl("a") == 10)
    }

    @Test(arguments: ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
    func expireOnAMissingKeyIsZero(_ command: String) {
        #expect(engine.run(Bytes(command), "missing", "1800000000000") == .integer(0))
        #expect(engine.run("EXISTS", "missing") == .integer(0))
    }

    @Test func nxOnlyWithoutAnExpiry() {
        engine.run("SET", "k", "v")
        #expect(engine.run("EXPIRE", "k", "100", "NX") == .integer(1))
        #expect(engine.run("EXPIRE", "k", "200", "nx") == .integer(0))
        #expect(engine.ttl("k") == 100)
    }

    @Test func xxOnlyWithAnExpiry() {
        engine.run("SET", "k", "v")
        #expect(engine.run("EXPIRE", "k", "100", "XX") == .integer(0))
        #expect(engine.ttl("k") == -1)
        engine.run("EXPIRE", "k", "100")
        #expect(engine.run("EXPIRE", "k", "200", "XX") == .integer(1))
        #expect(engine.ttl("k") == 200)
    }

    @Test func gtTreatsAPersistentKeyAsInfinite() {
        engine.run("SET", "k", "v")
        #expect(engine.run("EXPIRE", "k", "100", "GT") == .integer(0))
        #expect(engine.ttl("k") == -1)
        engine.run("EXPIRE", "k", "100")
        #expect(engine.run("EXPIRE", "k", "50", "GT") == .integer(0))
        #expect(engine.run("EXPIRE", "k", "100", "GT") == .integer(0))
        #expect(engine.ttl("k") == 100)
        #expect(engine.run("EXPIRE", "k", "200", "GT") == .integer(1))
        #expect(engine.ttl("k") == 200)
    }

    @Test func ltTreatsAPersistentKeyAsInfinite() {
        engine.run("SET", "k", "v")
        #expect(engine.run("EXPIRE", "k", "100", "LT") == .integer(1))
        #expect(engine.ttl("k") == 100)
        #expect(engine.run("EXPIRE", "k", "200", "LT") == .integer(0))
        #expect(engine.run("EXPIRE", "k", "100", "LT") == .integer(0))
        #expect(engine.ttl("k") == 100)
        #expect(engine.run("PEXPIRE", "k", "50000", "LT") == .integer(1))
        #expect(engine.ttl("k") == 50)
    }

    @Test func xxCombinesWithGTAndLT() {
        engine.run("SET", "k", "v")
        #expect(engine.run("EXPIRE", "k", "100", "XX", "LT") == .integer(0))
        #expect(engine.ttl("k") == -1)
        engine.run("EXPIRE", "k", "100")
        #expect(engine.run("EXPIRE", "k", "200", "XX", "GT") == .integer(1))
        #expect(engine.run("EXPIRE", "k", "300", "GT", "XX") == .integer(1))
        #expect(engine.ttl("k") == 300)
    }

    @Test func incompatibleOptions() {
        engine.run("SET", "k", "v")
        let nxText = "ERR NX and XX, GT or LT options at the same time are not compatible"
        #expect(engine.run("EXPIRE", "k", "100", "NX", "XX").errorMessage == nxText)
        #expect(engine.run("EXPIRE", "k", "100", "XX", "NX").errorMessage == nxText)
        #expect(engine.run("EXPIRE", "k", "100", "NX", "GT").errorMessage == nxText)
        #expect(engine.run("PEXPIRE", "k", "100", "LT", "NX").errorMessage == nxText)
        #expect(engine.run("EXPIRE", "k", "100", "GT", "LT").errorMessage == "ERR GT and LT options at the same time are not compatible")
        #expect(engine.run("EXPIRE", "k", "100", "FOO").errorMessage == "ERR Unsupported option FOO")
        #expect(engine.run("EXPIRE", "k", "100", "NX", "bar").errorMessage == "ERR Unsupported option bar")
        // Options are parsed before the time argument.
        #expect(engine.run("EXPIRE", "k", "soon", "FOO").errorMessage == "ERR Unsupported option FOO")
        #expect(engine.ttl("k") == -1)
    }

    @Test func nonIntegerTimes() {
        engine.run("SET", "k", "v")
        #expect(engine.run("EXPIRE", "k", "10.5").errorMessage == RedisError.notInteger)
        #expect(engine.run("PEXPIREAT", "k", " 1").errorMessage == RedisError.notInteger)
        #expect(engine.run("EXPIRE", "missing", "ten").errorMessage == RedisError.notInteger)
    }

    @Test func aDeadlineInThePastDeletesTheKey() {
        engine.run("MSET", "a", "1", "b", "1", "c", "1", "d", "1", "e", "1")
        #expect(engine.run("EXPIRE", "a", "0") == .integer(1))
        #expect(engine.run("EXPIRE", "b", "-10") == .integer(1))
        #expect(engine.run("PEXPIREAT", "c", "1") == .integer(1))
        #expect(engine.run("EXPIREAT", "d", Bytes(String(startSeconds))) == .integer(1))
        #expect(engine.run("PEXPIREAT", "e", Bytes(String(startMilliseconds))) == .integer(1))
        #expect(engine.run("DBSIZE") == .integer(0))
    }

    @Test func pastDeadlinesStillObeyTheConditions() {
        engine.run("SET", "k", "v")
        // GT never applies to a persistent key, so nothing is deleted.
        #expect(engine.run("EXPIRE", "k", "-1", "GT") == .integer(0))
        #expect(engine.run("EXISTS", "k") == .integer(1))
        // LT does, and the past deadline deletes it.
        #expect(engine.run("EXPIRE", "k", "-1", "LT") == .integer(1))
        #expect(engine.run("EXISTS", "k") == .integer(0))
    }

    @Test func overflowingTimesAreInvalid() {
        engine.run("SET", "k", "v")
        let invalid: [(String, Bytes)] = [
            ("expire", "9223372036854775807"),
            ("expire", "-9223372036854775808"),
            // Fits once multiplied by 1000, overflows when now is added.
            ("expire", "9223372036854775"),
            ("pexpire", "9223372036854775807"),
            ("expireat", "9223372036854775807"),
            ("expireat", "-9223372036854775808"),
        ]
        for (command, time) in invalid {
            #expect(engine.run(Bytes(command.uppercased()), "k", time).errorMessage == RedisError.invalidExpire(command), "\(command) k \(time)")
            // The time is checked before the key is looked up.
            #expect(engine.run(Bytes(command), "missing", time).errorMessage == RedisError.invalidExpire(command))
        }
        #expect(engine.ttl("k") == -1)
    }

    @Test func theLargestValidDeadlines() {
        engine.run("MSET", "a", "1", "b", "1")
        #expect(engine.run("EXPIREAT", "a", "9223372036854775") == .integer(1))
        #expect(engine.run("EXPIRETIME", "a") == .integer(9_223_372_036_854_775))
        #expect(engine.run("PEXPIREAT", "b", "9223372036854775807") == .integer(1))
        #expect(engine.run("PEXPIRETIME", "b") == .integer(Int64.max))
        // Redis's `(ms+500)/1000` overflows here (undefined in C); Keyway must
        // just answer without trapping.
        #expect(engine.run("EXPIRETIME", "b").integerValue != nil)
        #expect(engine.pttl("b") == Int64.max - startMilliseconds)
        #expect(engine.run("GET", "b") == .bulk("1"))
    }

    // MARK: - Reading expiries

    @Test func ttlOfMissingAndPersistentKeys() {
        engine.run("SET", "k", "v")
        for command: Bytes in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            #expect(engine.run(command, "missing") == .integer(-2))
            #expect(engine.run(command, "k") == .integer(-1))
        }
    }

    @Test func ttlRoundsToTheNearestSecond() {
        let cases: [(Bytes, Int64)] = [("499", 0), ("500", 1), ("1499", 1), ("1500", 2), ("100000", 100)]
        for (milliseconds, seconds) in cases {
            engine.run("SET", "k", "v", "PX", milliseconds)
            #expect(engine.ttl("k") == seconds, "PX \(milliseconds)")
        }
        engine.run("SET", "k", "v", "PX", "2000")
        clock.advance(milliseconds: 1501)
        #expect(engine.pttl("k") == 499)
        #expect(engine.ttl("k") == 0)
    }

    @Test func expiretimeIsAbsoluteAndRounded() {
        engine.run("SET", "k", "v", "EX", "100")
        #expect(engine.run("EXPIRETIME", "k") == .integer(startSeconds + 100))
        #expect(engine.run("PEXPIRETIME", "k") == .integer(startMilliseconds + 100_000))
        clock.advance(milliseconds: 50_000)
        #expect(engine.run("EXPIRETIME", "k") == .integer(startSeconds + 100))
        // Redis rounds EXPIRETIME as it rounds TTL: (ms + 500) / 1000.
        engine.run("PEXPIREAT", "k", "1800000000499")
        #expect(engine.run("EXPIRETIME", "k") == .integer(1_800_000_000))
        engine.run("PEXPIREAT", "k", "1800000000500")
        #expect(engine.run("EXPIRETIME", "k") == .integer(1_800_000_001))
        #expect(engine.run("PEXPIRETIME", "k") == .integer(1_800_000_000_500))
    }

    @Test func persist() {
        engine.run("SET", "k", "v", "EX", "100")
        #expect(engine.run("PERSIST", "k") == .integer(1))
        #expect(engine.ttl("k") == -1)
        #expect(engine.run("PERSIST", "k") == .integer(0))
        #expect(engine.run("PERSIST", "missing") == .integer(0))
        clock.advance(milliseconds: 200_000)
        #expect(engine.run("GET", "k") == .bulk("v"))
    }

    // MARK: - Lazy expiry

    @Test func aKeyLivesThroughTheMillisecondOfItsDeadline() {
        engine.run("SET", "k", "v", "PX", "100")
        clock.advance(milliseconds: 99)
        #expect(engine.pttl("k") == 1)
        clock.advance(milliseconds: 1)
        // Redis expires a key when now > deadline, not at the deadline itself.
        #expect(engine.run("GET", "k") == .bulk("v"))
        #expect(engine.pttl("k") == 0)
        #expect(engine.ttl("k") == 0)
        #expect(engine.run("EXISTS", "k") == .integer(1))
        #expect(engine.run("KEYS", "*") == .array([.bulk("k")]))
        #expect(engine.run("SCAN", "0") == .array([.bulk("0"), .array([.bulk("k")])]))
        #expect(engine.runActiveExpiryCycle() == 0)
        clock.advance(milliseconds: 1)
        #expect(engine.run("KEYS", "*") == .array([]))
        #expect(engine.run("SCAN", "0") == .array([.bulk("0"), .array([])]))
        #expect(engine.run("GET", "k") == .null)
        #expect(engine.pttl("k") == -2)
    }

    @Test func expiredKeysAreRemovedOnAccessAndCounted() {
        engine.run("SET", "k", "v", "PX", "100")
        engine.run("SET", "other", "v")
        clock.advance(milliseconds: 101)
        // Still stored (DBSIZE counts it) until something touches it.
        #expect(engine.run("DBSIZE") == .integer(2))
        #expect(engine.infoFields("stats")["expired_keys"] == "0")
        #expect(engine.run("GET", "k") == .null)
        #expect(engine.run("DBSIZE") == .integer(1))
        #expect(engine.infoFields("stats")["expired_keys"] == "1")
    }

    @Test func anExpiredKeyBehavesAsMissingForEveryCommand() {
        func setDying() {
            engine.run("SET", "k", "5", "PX", "10")
            clock.advance(milliseconds: 11)
        }
        setDying()
        #expect(engine.run("SET", "k", "v", "XX") == .null)
        setDying()
        #expect(engine.run("SETNX", "k", "v") == .integer(1))
        #expect(engine.ttl("k") == -1)
        setDying()
        #expect(engine.run("INCR", "k") == .integer(1))
        #expect(engine.ttl("k") == -1)
        setDying()
        #expect(engine.run("APPEND", "k", "x") == .integer(1))
        setDying()
        #expect(engine.run("STRLEN", "k") == .integer(0))
        #expect(engine.run("TYPE", "k") == .status("none"))
        #expect(engine.run("EXPIRE", "k", "100") == .integer(0))
        #expect(engine.run("PERSIST", "k") == .integer(0))
        #expect(engine.run("MGET", "k") == .array([.null]))
        #expect(engine.run("GETEX", "k", "PERSIST") == .null)
        #expect(engine.run("COPY", "k", "copy") == .integer(0))
    }

    @Test func setRefreshesAnExpiringKey() {
        engine.run("SET", "k", "v", "PX", "100")
        clock.advance(milliseconds: 50)
        engine.run("SET", "k", "v2")
        clock.advance(milliseconds: 1000)
        #expect(engine.run("GET", "k") == .bulk("v2"))
    }

    // MARK: - Active expiry

    @Test func activeExpiryRemovesExpiredKeysWithoutReadingThem() {
        for i in 0..<1000 { engine.run("SET", Bytes("volatile:\(i)"), "v", "PX", "100") }
        for i in 0..<1000 { engine.run("SET", Bytes("persistent:\(i)"), "v") }
        let before = engine.infoFields("stats")

        // Nothing has expired yet: a cycle removes nothing.
        #expect(engine.runActiveExpiryCycle() == 0)
        clock.advance(milliseconds: 100)
        #expect(engine.runActiveExpiryCycle() == 0)

        clock.advance(milliseconds: 1)
        #expect(engine.run("DBSIZE") == .integer(2000))
        var removed = 0
        var cycles = 0
        while engine.run("DBSIZE") != .integer(1000) && cycles < 1000 {
            removed += engine.runActiveExpiryCycle()
            cycles += 1
        }
        #expect(engine.run("DBSIZE") == .integer(1000))
        #expect(removed == 1000)

        let after = engine.infoFields("stats")
        #expect(after["expired_keys"] == "1000")
        // No command ever looked the expired keys up.
        #expect(after["keyspace_hits"] == before["keyspace_hits"])
        #expect(after["keyspace_misses"] == before["keyspace_misses"])
        #expect(engine.infoFields("keyspace")["db0"]?.hasPrefix("keys=1000,expires=0,") == true)

        let remaining = engine.run("KEYS", "*").arrayValue ?? []
        #expect(remaining.count == 1000)
        #expect(remaining.allSatisfy { $0.bytesValue?.text.hasPrefix("persistent:") == true })
        #expect(engine.runActiveExpiryCycle() == 0)
    }

    @Test func activeExpiryLeavesKeysThatAreStillAlive() {
        for i in 0..<100 { engine.run("SET", Bytes("short:\(i)"), "v", "PX", "100") }
        for i in 0..<100 { engine.run("SET", Bytes("long:\(i)"), "v", "EX", "100") }
        clock.advance(milliseconds: 101)
        var cycles = 0
        while engine.run("DBSIZE") != .integer(100) && cycles < 1000 {
            engine.runActiveExpiryCycle()
            cycles += 1
        }
        #expect(engine.run("DBSIZE") == .integer(100))
        #expect(engine.run("KEYS", "long:*").arrayValue?.count == 100)
        #expect(engine.infoFields("stats")["expired_keys"] == "100")
    }
}
