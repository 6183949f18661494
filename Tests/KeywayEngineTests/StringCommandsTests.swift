import Testing
import KeywayEngine

/// SET and its options, the GET family, multi-key and range commands, with
/// Redis 7's replies and error texts (t_string.c).
@Suite struct StringCommandsTests {
    let engine: Engine
    let clock: ManualClock

    init() { (engine, clock) = makeEngine() }

    // MARK: - SET

    @Test func setStoresAndOverwrites() {
        #expect(engine.run("SET", "k", "v1") == .ok)
        #expect(engine.run("GET", "k") == .bulk("v1"))
        #expect(engine.run("SET", "k", "v2") == .ok)
        #expect(engine.run("GET", "k") == .bulk("v2"))
        #expect(engine.run("SET", "empty", "") == .ok)
        #expect(engine.run("GET", "empty") == .bulk(""))
    }

    @Test func setNXOnlyWhenMissing() {
        #expect(engine.run("SET", "k", "v1", "NX") == .ok)
        #expect(engine.run("SET", "k", "v2", "NX") == .null)
        #expect(engine.run("GET", "k") == .bulk("v1"))
    }

    @Test func setXXOnlyWhenPresent() {
        #expect(engine.run("SET", "k", "v1", "XX") == .null)
        #expect(engine.run("EXISTS", "k") == .integer(0))
        engine.run("SET", "k", "v1")
        #expect(engine.run("SET", "k", "v2", "xx") == .ok)
        #expect(engine.run("GET", "k") == .bulk("v2"))
    }

    @Test func setNXAndXXTogetherIsASyntaxError() {
        #expect(engine.run("SET", "k", "v", "NX", "XX").errorMessage == RedisError.syntax)
        #expect(engine.run("SET", "k", "v", "XX", "NX").errorMessage == RedisError.syntax)
        #expect(engine.run("EXISTS", "k") == .integer(0))
        // Repeating the same flag is accepted.
        #expect(engine.run("SET", "k", "v", "NX", "NX") == .ok)
    }

    @Test func setGETReturnsTheOldValue() {
        #expect(engine.run("SET", "k", "v1", "GET") == .null)
        #expect(engine.run("GET", "k") == .bulk("v1"))
        #expect(engine.run("SET", "k", "v2", "GET") == .bulk("v1"))
        #expect(engine.run("GET", "k") == .bulk("v2"))
    }

    @Test func setGETWithConditions() {
        // NX GET on an existing key: the old value, no write.
        engine.run("SET", "k", "old")
        #expect(engine.run("SET", "k", "new", "NX", "GET") == .bulk("old"))
        #expect(engine.run("GET", "k") == .bulk("old"))
        // NX GET on a missing key: nil, and the key is set.
        #expect(engine.run("SET", "fresh", "v", "NX", "GET") == .null)
        #expect(engine.run("GET", "fresh") == .bulk("v"))
        // XX GET on a missing key: nil, nothing created.
        #expect(engine.run("SET", "none", "v", "XX", "GET") == .null)
        #expect(engine.run("EXISTS", "none") == .integer(0))
        // XX GET on an existing key: the old value, and the write happens.
        #expect(engine.run("SET", "k", "newer", "XX", "GET") == .bulk("old"))
        #expect(engine.run("GET", "k") == .bulk("newer"))
    }

    @Test func setExpiryOptions() {
        #expect(engine.run("SET", "ex", "v", "EX", "100") == .ok)
        #expect(engine.pttl("ex") == 100_000)
        #expect(engine.ttl("ex") == 100)

        #expect(engine.run("SET", "px", "v", "PX", "1500") == .ok)
        #expect(engine.pttl("px") == 1500)

        #expect(engine.run("SET", "exat", "v", "EXAT", Bytes(String(startSeconds + 200))) == .ok)
        #expect(engine.pttl("exat") == 200_000)

        #expect(engine.run("SET", "pxat", "v", "pxat", Bytes(String(startMilliseconds + 250))) == .ok)
        #expect(engine.pttl("pxat") == 250)
    }

    @Test func setRepeatedExpiryOfTheSameUnitKeepsTheLast() {
        #expect(engine.run("SET", "k", "v", "EX", "10", "EX", "20") == .ok)
        #expect(engine.ttl("k") == 20)
        // Only the last value is validated, as Redis keeps just that one.
        #expect(engine.run("SET", "k", "v", "EX", "0", "EX", "30") == .ok)
        #expect(engine.ttl("k") == 30)
    }

    @Test func plainSetClearsTheTTL() {
        engine.run("SET", "k", "v", "EX", "100")
        engine.run("SET", "k", "v2")
        #expect(engine.ttl("k") == -1)
    }

    @Test func setKEEPTTLKeepsTheDeadline() {
        engine.run("SET", "k", "v", "EX", "100")
        clock.advance(milliseconds: 10_000)
        #expect(engine.run("SET", "k", "v2", "KEEPTTL") == .ok)
        #expect(engine.run("GET", "k") == .bulk("v2"))
        #expect(engine.pttl("k") == 90_000)
        // On a missing key KEEPTTL just sets a persistent key.
        #expect(engine.run("SET", "fresh", "v", "KEEPTTL") == .ok)
        #expect(engine.ttl("fresh") == -1)
    }

    @Test func setExpiryConflictsAreSyntaxErrors() {
        let conflicts: [[Bytes]] = [
            ["EX", "10", "PX", "100"],
            ["PX", "100", "EX", "10"],
            ["EX", "10", "EXAT", "1800000000"],
            ["PXAT", "1800000000000", "EXAT", "1800000000"],
            ["EX", "10", "KEEPTTL"],
            ["KEEPTTL", "EX", "10"],
            ["KEEPTTL", "PXAT", "1800000000000"],
            ["EX"],
            ["NX", "PX"],
            ["PERSIST"],
            ["EX", "10", "PERSIST"],
            ["FOO"],
            ["GETX"],
        ]
        for options in conflicts {
            let reply = engine.run(["SET", "k", "v"] + options)
            #expect(reply.errorMessage == RedisError.syntax, "SET k v \(options)")
        }
        #expect(engine.run("EXISTS", "k") == .integer(0))
    }

    @Test func setInvalidExpireTimes() {
        engine.run("SET", "k", "original")
        let invalid: [[Bytes]] = [
            ["EX", "0"], ["EX", "-1"], ["PX", "0"], ["PX", "-100"],
            ["EXAT", "0"], ["PXAT", "-5"],
            // Seconds that overflow once turned into milliseconds.
            ["EX", "9223372036854775807"], ["EXAT", "9223372036854775807"],
            // Fits in milliseconds but overflows when the current time is added.
            ["EX", "9223372036854775"], ["PX", "9223372036854775807"],
        ]
        for options in invalid {
            let reply = engine.run(["SET", "k", "v"] + options)
            #expect(reply.errorMessage == RedisError.invalidExpire("set"), "SET k v \(options)")
        }
        #expect(engine.run("SET", "k", "v", "EX", "abc").errorMessage == RedisError.notInteger)
        #expect(engine.run("SET", "k", "v", "PX", "1.5").errorMessage == RedisError.notInteger)
        #expect(engine.run("SET", "k", "v", "EX", "9223372036854775808").errorMessage == RedisError.notInteger)
        // Nothing was written by any failed SET.
        #expect(engine.run("GET", "k") == .bulk("original"))
        #expect(engine.ttl("k") == -1)
    }

    @Test func setWithADeadlineInThePastLeavesNoKey() {
        engine.run("SET", "k", "old")
        #expect(engine.run("SET", "k", "v", "EXAT", "1") == .ok)
        #expect(engine.run("GET", "k") == .null)
        #expect(engine.run("EXISTS", "k") == .integer(0))
        #expect(engine.run("SET", "j", "v", "PXAT", Bytes(String(startMilliseconds))) == .ok)
        #expect(engine.run("EXISTS", "j") == .integer(0))
    }

    // MARK: - GET family

    @Test func getMissingIsNil() {
        #expect(engine.run("GET", "nope") == .null)
    }

    @Test func getsetReturnsOldAndClearsTTL() {
        #expect(engine.run("GETSET", "k", "v1") == .null)
        #expect(engine.run("GET", "k") == .bulk("v1"))
        engine.run("EXPIRE", "k", "100")
        #expect(engine.run("GETSET", "k", "v2") == .bulk("v1"))
        #expect(engine.run("GET", "k") == .bulk("v2"))
        #expect(engine.ttl("k") == -1)
    }

    @Test func getdelReturnsAndDeletes() {
        engine.run("SET", "k", "v")
        #expect(engine.run("GETDEL", "k") == .bulk("v"))
        #expect(engine.run("EXISTS", "k") == .integer(0))
        #expect(engine.run("GETDEL", "k") == .null)
    }

    @Test func getexWithoutOptionsIsGet() {
        engine.run("SET", "k", "v", "EX", "100")
        #expect(engine.run("GETEX", "k") == .bulk("v"))
        #expect(engine.ttl("k") == 100)
        #expect(engine.run("GETEX", "missing") == .null)
    }

    @Test func getexSetsTheExpiry() {
        engine.run("SET", "k", "v")
        #expect(engine.run("GETEX", "k", "EX", "100") == .bulk("v"))
        #expect(engine.pttl("k") == 100_000)
        #expect(engine.run("GETEX", "k", "PX", "1500") == .bulk("v"))
        #expect(engine.pttl("k") == 1500)
        #expect(engine.run("GETEX", "k", "EXAT", Bytes(String(startSeconds + 200))) == .bulk("v"))
        #expect(engine.pttl("k") == 200_000)
        #expect(engine.run("GETEX", "k", "pxat", Bytes(String(startMilliseconds + 250))) == .bulk("v"))
        #expect(engine.pttl("k") == 250)
        #expect(engine.run("GETEX", "k", "PERSIST") == .bulk("v"))
        #expect(engine.ttl("k") == -1)
    }

    @Test func getexWithAPastAbsoluteDeadlineDeletesAfterReplying() {
        engine.run("SET", "k", "v")
        #expect(engine.run("GETEX", "k", "EXAT", "1") == .bulk("v"))
        #expect(engine.run("EXISTS", "k") == .integer(0))
        engine.run("SET", "k", "v")
        #expect(engine.run("GETEX", "k", "PXAT", Bytes(String(startMilliseconds))) == .bulk("v"))
        #expect(engine.run("EXISTS", "k") == .integer(0))
    }

    @Test func getexOnAMissingKeyRepliesNilBeforeCheckingTheTime() {
        // Redis looks the key up before validating the expire value.
        #expect(engine.run("GETEX", "missing", "EX", "0") == .null)
        #expect(engine.run("GETEX", "missing", "PX", "abc") == .null)
        #expect(engine.run("GETEX", "missing", "EX", "100") == .null)
        #expect(engine.run("EXISTS", "missing") == .integer(0))
        // Syntax is still checked first.
        #expect(engine.run("GETEX", "missing", "FOO").errorMessage == RedisError.syntax)
    }

    @Test func getexInvalidTimesOnAnExistingKey() {
        engine.run("SET", "k", "v", "EX", "100")
        #expect(engine.run("GETEX", "k", "EX", "0").errorMessage == RedisError.invalidExpire("getex"))
        #expect(engine.run("GETEX", "k", "PX", "-1").errorMessage == RedisError.invalidExpire("getex"))
        #expect(engine.run("GETEX", "k", "EX", "9223372036854775807").errorMessage == RedisError.invalidExpire("getex"))
        #expect(engine.run("GETEX", "k", "EX", "abc").errorMessage == RedisError.notInteger)
        #expect(engine.ttl("k") == 100)
    }

    @Test func getexOptionConflicts() {
        engine.run("SET", "k", "v")
        let conflicts: [[Bytes]] = [
            ["EX", "10", "PX", "100"], ["PERSIST", "EX", "10"], ["EX", "10", "PERSIST"],
            ["KEEPTTL"], ["NX"], ["XX"], ["GET"], ["EX"], ["FOO"],
        ]
        for options in conflicts {
            #expect(engine.run(["GETEX", "k"] + options).errorMessage == RedisError.syntax, "GETEX k \(options)")
        }
        #expect(engine.ttl("k") == -1)
    }

    // MARK: - SETNX, SETEX, PSETEX

    @Test func setnx() {
        #expect(engine.run("SETNX", "k", "v1") == .integer(1))
        #expect(engine.run("SETNX", "k", "v2") == .integer(0))
        #expect(engine.run("GET", "k") == .bulk("v1"))
    }

    @Test func setexAndPsetex() {
        engine.run("SET", "k", "old")
        #expect(engine.run("SETEX", "k", "100", "v") == .ok)
        #expect(engine.run("GET", "k") == .bulk("v"))
        #expect(engine.pttl("k") == 100_000)
        #expect(engine.run("PSETEX", "p", "1500", "v") == .ok)
        #expect(engine.pttl("p") == 1500)
    }

    @Test func setexInvalidTimes() {
        #expect(engine.run("SETEX", "k", "0", "v").errorMessage == RedisError.invalidExpire("setex"))
        #expect(engine.run("SETEX", "k", "-10", "v").errorMessage == RedisError.invalidExpire("setex"))
        #expect(engine.run("PSETEX", "k", "0", "v").errorMessage == RedisError.invalidExpire("psetex"))
        #expect(engine.run("SETEX", "k", "ten", "v").errorMessage == RedisError.notInteger)
        #expect(engine.run("EXISTS", "k") == .integer(0))
    }

    // MARK: - Multi-key

    @Test func mgetMixesValuesAndNils() {
        engine.run("SET", "a", "1")
        engine.run("SET", "c", "3")
        #expect(engine.run("MGET", "a", "b", "c", "a") == .array([.bulk("1"), .null, .bulk("3"), .bulk("1")]))
    }

    @Test func msetSetsAllAndClearsTTLs() {
        engine.run("SET", "a", "old", "EX", "100")
        #expect(engine.run("MSET", "a", "1", "b", "2") == .ok)
        #expect(engine.run("MGET", "a", "b") == .array([.bulk("1"), .bulk("2")]))
        #expect(engine.ttl("a") == -1)
        // A repeated key: the last value wins.
        #expect(engine.run("MSET", "x", "1", "x", "2") == .ok)
        #expect(engine.run("GET", "x") == .bulk("2"))
    }

    @Test func msetNeedsPairs() {
        #expect(engine.run("MSET", "a", "1", "b").errorMessage == RedisError.arity("mset"))
        #expect(engine.run("EXISTS", "a") == .integer(0))
        #expect(engine.run("MSETNX", "a", "1", "b").errorMessage == RedisError.arity("msetnx"))
    }

    @Test func msetnxIsAllOrNothing() {
        #expect(engine.run("MSETNX", "a", "1", "b", "2") == .integer(1))
        #expect(engine.run("MSETNX", "b", "x", "c", "3") == .integer(0))
        #expect(engine.run("MGET", "a", "b", "c") == .array([.bulk("1"), .bulk("2"), .null]))
    }

    // MARK: - APPEND, STRLEN

    @Test func appendCreatesAndExtends() {
        #expect(engine.run("APPEND", "k", "Hello") == .integer(5))
        #expect(engine.run("APPEND", "k", " World") == .integer(11))
        #expect(engine.run("GET", "k") == .bulk("Hello World"))
        #expect(engine.run("APPEND", "k", "") == .integer(11))
    }

    @Test func appendKeepsTheTTL() {
        engine.run("SET", "k", "v", "EX", "100")
        engine.run("APPEND", "k", "w")
        #expect(engine.ttl("k") == 100)
    }

    @Test func appendToAnIntegerValue() {
        engine.run("SET", "k", "1")
        engine.run("INCR", "k")
        #expect(engine.run("APPEND", "k", "0") == .integer(2))
        #expect(engine.run("GET", "k") == .bulk("20"))
    }

    @Test func strlen() {
        #expect(engine.run("STRLEN", "missing") == .integer(0))
        engine.run("SET", "k", "Hello World")
        #expect(engine.run("STRLEN", "k") == .integer(11))
        engine.run("SET", "n", "-12345")
        engine.run("INCR", "n")
        #expect(engine.run("STRLEN", "n") == .integer(6))
        engine.run("SET", "bin", Bytes([0, 255, 0]))
        #expect(engine.run("STRLEN", "bin") == .integer(3))
    }

    // MARK: - GETRANGE / SUBSTR

    @Test func getrangeMatchesRedis7() {
        engine.run("SET", "k", "Hello World")
        // Redis 7's own test table (unit/type/string.tcl, "GETRANGE against string value").
        let cases: [(Bytes, Bytes, Bytes)] = [
            ("0", "3", "Hell"),
            ("0", "-1", "Hello World"),
            ("-4", "-1", "orld"),
            ("5", "3", ""),
            ("5", "5000", " World"),
            ("-5000", "10000", "Hello World"),
            ("0", "-100", "H"),
            ("1", "-100", ""),
            ("-1", "-100", ""),
            ("-100", "-99", "H"),
            ("-100", "-100", "H"),
            ("-100", "-101", ""),
            ("10", "10", "d"),
            ("11", "20", ""),
        ]
        for (start, end, expected) in cases {
            #expect(engine.run("GETRANGE", "k", start, end) == .bulk(expected), "GETRANGE k \(start) \(end)")
        }
    }

    @Test func getrangeEdgeCases() {
        #expect(engine.run("GETRANGE", "missing", "0", "-1") == .bulk(""))
        engine.run("SET", "empty", "")
        #expect(engine.run("GETRANGE", "empty", "0", "-1") == .bulk(""))
        engine.run("SET", "n", "1234")
        engine.run("INCR", "n")
        #expect(engine.run("GETRANGE", "n", "0", "2") == .bulk("123"))
        #expect(engine.run("GETRANGE", "n", "-1", "-1") == .bulk("5"))
        engine.run("SET", "k", "abc")
        #expect(engine.run("GETRANGE", "k", "a", "1").errorMessage == RedisError.notInteger)
        #expect(engine.run("GETRANGE", "k", "0", "1.0").errorMessage == RedisError.notInteger)
        #expect(engine.run("GETRANGE", "k", "-9223372036854775808", "9223372036854775807") == .bulk("abc"))
    }

    @Test func substrIsGetrange() {
        engine.run("SET", "k", "This is a string")
        #expect(engine.run("SUBSTR", "k", "0", "3") == .bulk("This"))
        #expect(engine.run("SUBSTR", "k", "-3", "-1") == .bulk("ing"))
        #expect(engine.run("SUBSTR", "k", "10", "100") == .bulk("string"))
    }

    // MARK: - SETRANGE

    @Test func setrangeOnAMissingKeyPadsWithZeros() {
        #expect(engine.run("SETRANGE", "k", "0", "foo") == .integer(3))
        #expect(engine.run("GET", "k") == .bulk("foo"))
        #expect(engine.run("SETRANGE", "p", "1", "foo") == .integer(4))
        #expect(engine.run("GET", "p") == .bulk(Bytes([0]) + "foo"))
        #expect(engine.run("SETRANGE", "z", "5", "x") == .integer(6))
        #expect(engine.run("GET", "z") == .bulk(Bytes([0, 0, 0, 0, 0, UInt8(ascii: "x")])))
    }

    @Test func setrangeWithAnEmptyValueChangesNothing() {
        #expect(engine.run("SETRANGE", "k", "0", "") == .integer(0))
        #expect(engine.run("EXISTS", "k") == .integer(0))
        // No length check either when nothing is written.
        #expect(engine.run("SETRANGE", "k", "9223372036854775807", "") == .integer(0))
        engine.run("SET", "k", "foo")
        #expect(engine.run("SETRANGE", "k", "0", "") == .integer(3))
        #expect(engine.run("SETRANGE", "k", "100", "") == .integer(3))
        #expect(engine.run("GET", "k") == .bulk("foo"))
    }

    @Test func setrangeOverwritesAndExtends() {
        engine.run("SET", "k", "foo")
        #expect(engine.run("SETRANGE", "k", "0", "b") == .integer(3))
        #expect(engine.run("GET", "k") == .bulk("boo"))
        #expect(engine.run("SETRANGE", "k", "1", "a") == .integer(3))
        #expect(engine.run("GET", "k") == .bulk("bao"))
        #expect(engine.run("SETRANGE", "k", "4", "bar") == .integer(7))
        #expect(engine.run("GET", "k") == .bulk(Bytes("bao") + Bytes([0]) + "bar"))
        engine.run("SET", "hello", "Hello World")
        #expect(engine.run("SETRANGE", "hello", "6", "Redis") == .integer(11))
        #expect(engine.run("GET", "hello") == .bulk("Hello Redis"))
    }

    @Test func setrangeOnAnIntegerValueAndKeepsTTL() {
        engine.run("SET", "k", "1234", "EX", "100")
        engine.run("INCR", "k")
        #expect(engine.run("SETRANGE", "k", "1", "9") == .integer(4))
        #expect(engine.run("GET", "k") == .bulk("1935"))
        #expect(engine.ttl("k") == 100)
    }

    @Test func setrangeOffsetErrors() {
        engine.run("SET", "k", "hello")
        #expect(engine.run("SETRANGE", "k", "-1", "world").errorMessage == "ERR offset is out of range")
        #expect(engine.run("SETRANGE", "missing", "-1", "").errorMessage == "ERR offset is out of range")
        #expect(engine.run("SETRANGE", "k", "x", "world").errorMessage == RedisError.notInteger)
        // 512 MB is proto-max-bulk-len: one byte past it is refused.
        #expect(engine.run("SETRANGE", "k", "536870908", "world").errorMessage == RedisError.tooLong)
        #expect(engine.run("SETRANGE", "missing", "536870912", "x").errorMessage == RedisError.tooLong)
        #expect(engine.run("SETRANGE", "k", "9223372036854775807", "x").errorMessage == RedisError.tooLong)
        #expect(engine.run("EXISTS", "missing") == .integer(0))
        #expect(engine.run("GET", "k") == .bulk("hello"))
    }

    // MARK: - WRONGTYPE

    @Test func stringCommandsOnAListAreWrongType() {
        engine.run("RPUSH", "list", "a", "b")
        let wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
        let commands: [[Bytes]] = [
            ["GET", "list"], ["GETSET", "list", "v"], ["GETDEL", "list"], ["GETEX", "list", "EX", "10"],
            ["SET", "list", "v", "GET"], ["APPEND", "list", "x"], ["STRLEN", "list"],
            ["GETRANGE", "list", "0", "-1"], ["SETRANGE", "list", "0", "x"], ["SETRANGE", "list", "0", ""],
            ["INCR", "list"], ["DECRBY", "list", "2"], ["INCRBYFLOAT", "list", "1.5"],
        ]
        for command in commands {
            #expect(engine.run(command).errorMessage == wrongType, "\(command)")
        }
        #expect(engine.run("TYPE", "list") == .status("list"))
        #expect(engine.run("LRANGE", "list", "0", "-1") == .array([.bulk("a"), .bulk("b")]))
        #expect(engine.ttl("list") == -1)
    }

    @Test func stringCommandsThatDoNotReadTheValueIgnoreTheType() {
        engine.run("RPUSH", "list", "a")
        #expect(engine.run("MGET", "list", "missing") == .array([.null, .null]))
        #expect(engine.run("SETNX", "list", "v") == .integer(0))
        #expect(engine.run("MSETNX", "list", "v") == .integer(0))
        #expect(engine.run("SET", "list", "v", "NX") == .null)
        #expect(engine.run("TYPE", "list") == .status("list"))
        // A plain SET replaces whatever was there.
        #expect(engine.run("SET", "list", "v") == .ok)
        #expect(engine.run("TYPE", "list") == .status("string"))
        #expect(engine.run("GET", "list") == .bulk("v"))
    }

    // MARK: - Binary values

    @Test func valuesAreBinarySafe() {
        let value = Bytes([0, 255, 13, 10, 0, 0xC3, 0x28])
        engine.run("SET", "k", value)
        #expect(engine.run("GET", "k") == .bulk(value))
        #expect(engine.run("APPEND", "k", Bytes([0])) == .integer(8))
        #expect(engine.run("GETRANGE", "k", "0", "1") == .bulk(Bytes([0, 255])))
    }
}

extension Bytes {
    static func + (lhs: Bytes, rhs: Bytes) -> Bytes { Bytes(lhs.storage + rhs.storage) }
}
