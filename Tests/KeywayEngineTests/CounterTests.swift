import Testing
import KeywayEngine

/// INCR/DECR/INCRBY/DECRBY (string2ll rules, overflow texts) and INCRBYFLOAT
/// (string2ld parsing, `%.17Lf` formatting with trailing zeros removed).
@Suite struct CounterTests {
    let engine: Engine
    let clock: ManualClock

    init() { (engine, clock) = makeEngine() }

    // MARK: - Integer counters

    @Test func incrAndDecrFromMissing() {
        #expect(engine.run("INCR", "a") == .integer(1))
        #expect(engine.run("INCR", "a") == .integer(2))
        #expect(engine.run("GET", "a") == .bulk("2"))
        #expect(engine.run("DECR", "b") == .integer(-1))
        #expect(engine.run("GET", "b") == .bulk("-1"))
        #expect(engine.run("INCRBY", "c", "10") == .integer(10))
        #expect(engine.run("DECRBY", "c", "3") == .integer(7))
        #expect(engine.run("INCRBY", "c", "-10") == .integer(-3))
        #expect(engine.run("DECRBY", "c", "-5") == .integer(2))
        #expect(engine.run("GET", "c") == .bulk("2"))
    }

    @Test func incrOnStoredIntegers() {
        engine.run("SET", "k", "0")
        #expect(engine.run("INCR", "k") == .integer(1))
        engine.run("SET", "k", "-1")
        #expect(engine.run("INCR", "k") == .integer(0))
        #expect(engine.run("GET", "k") == .bulk("0"))
        engine.run("SET", "k", "17179869184")
        #expect(engine.run("INCRBY", "k", "17179869184") == .integer(34_359_738_368))
    }

    @Test func incrKeepsTheTTL() {
        engine.run("SET", "k", "5", "EX", "100")
        engine.run("INCR", "k")
        engine.run("DECRBY", "k", "2")
        #expect(engine.ttl("k") == 100)
        #expect(engine.run("GET", "k") == .bulk("4"))
    }

    @Test func overflowAtTheInt64Limits() {
        engine.run("SET", "max", "9223372036854775807")
        #expect(engine.run("INCR", "max").errorMessage == RedisError.overflow)
        #expect(engine.run("INCRBY", "max", "1").errorMessage == RedisError.overflow)
        #expect(engine.run("DECRBY", "max", "-1").errorMessage == RedisError.overflow)
        #expect(engine.run("GET", "max") == .bulk("9223372036854775807"))
        #expect(engine.run("DECR", "max") == .integer(9_223_372_036_854_775_806))

        engine.run("SET", "min", "-9223372036854775808")
        #expect(engine.run("DECR", "min").errorMessage == RedisError.overflow)
        #expect(engine.run("INCRBY", "min", "-1").errorMessage == RedisError.overflow)
        #expect(engine.run("GET", "min") == .bulk("-9223372036854775808"))
        #expect(engine.run("INCR", "min") == .integer(-9_223_372_036_854_775_807))

        engine.run("SET", "neg", "-2")
        #expect(engine.run("DECRBY", "neg", "9223372036854775807").errorMessage == RedisError.overflow)
        #expect(engine.run("INCRBY", "neg", "9223372036854775807") == .integer(9_223_372_036_854_775_805))

        // Reaching the limits exactly is fine.
        #expect(engine.run("INCRBY", "fresh", "9223372036854775807") == .integer(Int64.max))
        #expect(engine.run("INCRBY", "fresh2", "-9223372036854775808") == .integer(Int64.min))
    }

    @Test func decrbyOfInt64MinCannotBeNegated() {
        #expect(engine.run("DECRBY", "k", "-9223372036854775808").errorMessage == "ERR decrement would overflow")
        #expect(engine.run("EXISTS", "k") == .integer(0))
    }

    @Test(arguments: [
        "1.5", " 1", "1 ", "01", "+1", "-0", "", "abc", "1e3", "0x10", "--1", "-",
        "9223372036854775808", "-9223372036854775809", "99999999999999999999",
    ])
    func incrRefusesValuesThatAreNotStrictIntegers(_ stored: String) {
        engine.run("SET", "k", Bytes(stored))
        #expect(engine.run("INCR", "k").errorMessage == RedisError.notInteger)
        #expect(engine.run("DECRBY", "k", "1").errorMessage == RedisError.notInteger)
        #expect(engine.run("GET", "k") == .bulk(Bytes(stored)))
    }

    @Test func incrRefusesAValueWithANul() {
        engine.run("SET", "k", Bytes([UInt8(ascii: "1"), 0]))
        #expect(engine.run("INCR", "k").errorMessage == RedisError.notInteger)
    }

    @Test(arguments: ["1.5", "+1", " 1", "01", "", "one", "9223372036854775808"])
    func incrbyRefusesBadIncrements(_ increment: String) {
        #expect(engine.run("INCRBY", "k", Bytes(increment)).errorMessage == RedisError.notInteger)
        #expect(engine.run("DECRBY", "k", Bytes(increment)).errorMessage == RedisError.notInteger)
        #expect(engine.run("EXISTS", "k") == .integer(0))
    }

    @Test func everyCounterWriteIsAnIncrbyEvent() {
        // Redis notifies "incrby" for INCR, DECR, INCRBY and DECRBY alike.
        let events = EventLog()
        engine.withDatabase { db, _ in db.writeObservers.append { key, event in events.append(key, event) } }
        engine.run("INCR", "k")
        engine.run("DECR", "k")
        engine.run("INCRBY", "k", "5")
        engine.run("DECRBY", "k", "2")
        engine.run("INCRBYFLOAT", "k", "0.5")
        #expect(events.entries == [
            ("k", "incrby"), ("k", "incrby"), ("k", "incrby"), ("k", "incrby"), ("k", "incrbyfloat"),
        ].map { EventLog.Entry(key: Bytes($0.0), event: $0.1) })
    }

    // MARK: - INCRBYFLOAT

    @Test func incrbyfloatFromMissingAndAccumulating() {
        #expect(engine.run("INCRBYFLOAT", "k", "1") == .bulk("1"))
        #expect(engine.run("INCRBYFLOAT", "k", "0.25") == .bulk("1.25"))
        #expect(engine.run("GET", "k") == .bulk("1.25"))
    }

    @Test func incrbyfloatFormatsLikeRedis() {
        // The examples of Redis's INCRBYFLOAT documentation.
        engine.run("SET", "mykey", "10.50")
        #expect(engine.run("INCRBYFLOAT", "mykey", "0.1") == .bulk("10.6"))
        #expect(engine.run("INCRBYFLOAT", "mykey", "-5") == .bulk("5.6"))
        engine.run("SET", "mykey", "5.0e3")
        #expect(engine.run("INCRBYFLOAT", "mykey", "2.0e2") == .bulk("5200"))
        #expect(engine.run("GET", "mykey") == .bulk("5200"))

        engine.run("SET", "k", "3.0e3")
        #expect(engine.run("INCRBYFLOAT", "k", "0") == .bulk("3000"))
        // Now a plain integer again, so INCR works on it.
        #expect(engine.run("INCR", "k") == .integer(3001))

        engine.run("SET", "big", "17179869184")
        #expect(engine.run("INCRBYFLOAT", "big", "1.5") == .bulk("17179869185.5"))
        engine.run("SET", "big", "17179869184")
        #expect(engine.run("INCRBYFLOAT", "big", "17179869184") == .bulk("34359738368"))

        engine.run("SET", "dec", "1")
        #expect(engine.run("INCRBYFLOAT", "dec", "-1.1") == .bulk("-0.1"))
    }

    @Test func incrbyfloatResultIsNotAnIntegerForIncr() {
        engine.run("INCRBYFLOAT", "k", "1.5")
        #expect(engine.run("INCR", "k").errorMessage == RedisError.notInteger)
    }

    @Test func incrbyfloatNeverShowsNegativeZero() {
        engine.run("SET", "k", "-0.0")
        #expect(engine.run("INCRBYFLOAT", "k", "-0") == .bulk("0"))
        engine.run("SET", "j", "0.5")
        #expect(engine.run("INCRBYFLOAT", "j", "-0.5") == .bulk("0"))
    }

    @Test func incrbyfloatKeepsSeventeenDecimalsOnly() {
        // %.17Lf: anything below 1e-17 rounds away, leaving "0".
        #expect(engine.run("INCRBYFLOAT", "tiny", "1e-20") == .bulk("0"))
        #expect(engine.run("INCRBYFLOAT", "small", "1e-5") == .bulk("0.00001"))
    }

    @Test func incrbyfloatAcceptsWhatStrtoldAccepts() {
        engine.run("SET", "hex", "0x10")
        #expect(engine.run("INCRBYFLOAT", "hex", "1") == .bulk("17"))
        engine.run("SET", "exp", "1E2")
        #expect(engine.run("INCRBYFLOAT", "exp", "+1.5") == .bulk("101.5"))
    }

    #if arch(x86_64) || arch(i386)
    @Test func incrbyfloatPrintsLargeValuesInFullWithLongDouble() {
        // The 80-bit long double nearest to 1.5e100, printed exactly by %.17Lf.
        #expect(engine.run("INCRBYFLOAT", "k", "1.5e+100") == .bulk(
            "15000000000000000000452599093343108202157942038933915460041075027008955504835203014821291118185938944"))
    }

    @Test func incrbyfloatOverflowingLongDoubleIsInfinity() {
        engine.run("SET", "k", "1.1e4932")
        #expect(engine.run("INCRBYFLOAT", "k", "1.1e4932").errorMessage == RedisError.nanOrInfinity)
        #expect(engine.run("GET", "k") == .bulk("1.1e4932"))
    }
    #endif

    @Test func incrbyfloatRefusesInfinity() {
        engine.run("SET", "k", "0")
        #expect(engine.run("INCRBYFLOAT", "k", "+inf").errorMessage == RedisError.nanOrInfinity)
        #expect(engine.run("INCRBYFLOAT", "k", "-inf").errorMessage == RedisError.nanOrInfinity)
        #expect(engine.run("INCRBYFLOAT", "k", "inf").errorMessage == RedisError.nanOrInfinity)
        engine.run("SET", "stored", "inf")
        #expect(engine.run("INCRBYFLOAT", "stored", "1").errorMessage == RedisError.nanOrInfinity)
        #expect(engine.run("GET", "k") == .bulk("0"))
    }

    @Test(arguments: ["nan", "NaN", " 1", "1 ", "", "abc", "1.5x", "1e5000", "--1"])
    func incrbyfloatRefusesBadIncrements(_ increment: String) {
        engine.run("SET", "k", "1")
        #expect(engine.run("INCRBYFLOAT", "k", Bytes(increment)).errorMessage == RedisError.notFloat)
        #expect(engine.run("GET", "k") == .bulk("1"))
    }

    @Test(arguments: ["nan", "    11", "11    ", " 11 ", "", "abc", "1.5x"])
    func incrbyfloatRefusesBadStoredValues(_ stored: String) {
        engine.run("SET", "k", Bytes(stored))
        #expect(engine.run("INCRBYFLOAT", "k", "1.0").errorMessage == RedisError.notFloat)
        #expect(engine.run("GET", "k") == .bulk(Bytes(stored)))
    }

    @Test func incrbyfloatRefusesAStoredValueWithANul() {
        // Redis's "string to double with null terminator" test: "1\02".
        engine.run("SET", "k", "1")
        engine.run("SETRANGE", "k", "2", "2")
        #expect(engine.run("INCRBYFLOAT", "k", "1").errorMessage == RedisError.notFloat)
    }

    @Test func incrbyfloatKeepsTheTTL() {
        engine.run("SET", "k", "1", "EX", "100")
        engine.run("INCRBYFLOAT", "k", "0.5")
        #expect(engine.ttl("k") == 100)
    }
}
