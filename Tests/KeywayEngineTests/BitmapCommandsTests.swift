import Testing
@testable import KeywayEngine

/// Bitmaps on string values (bitops.c's commands): what the comparison with
/// a real redis-server in the Python suite cannot cover. Redis 8's BITOP
/// operations, limits, `maxmemory` admission before a far SETBIT
/// allocates, and the scans against a bit-by-bit model.
@Suite struct BitmapCommandsTests {
    let engine: Engine

    init() { (engine, _) = makeEngine() }

    @Test func setbitGrowsTheStringAndGetSeesTheBytes() {
        #expect(engine.run("SETBIT", "k", "1", "1") == .integer(0))
        #expect(engine.run("SETBIT", "k", "7", "1") == .integer(0))
        #expect(engine.run("GET", "k") == .bulk(Bytes([0x41])))
        #expect(engine.run("SETBIT", "k", "7", "0") == .integer(1))
        #expect(engine.run("SETBIT", "k", "23", "1") == .integer(0))
        #expect(engine.run("GET", "k") == .bulk(Bytes([0x40, 0x00, 0x01])))
        #expect(engine.run("GETBIT", "k", "23") == .integer(1))
        #expect(engine.run("GETBIT", "k", "4294967295") == .integer(0))
        #expect(engine.run("SETBIT", "list", "0", "1", ) == .integer(0))
        engine.run("RPUSH", "l", "a")
        #expect(engine.run("SETBIT", "l", "0", "1").errorMessage == RedisError.wrongType)
        #expect(engine.run("GETBIT", "l", "0").errorMessage == RedisError.wrongType)
    }

    @Test func setbitKeepsTheTTL() {
        engine.run("SET", "k", "a", "EX", "100")
        engine.run("SETBIT", "k", "100", "1")
        #expect((engine.ttl("k") ?? -1) > 0)
    }

    @Test func offsetsAndBitsOutsideRedisLimitsAreRefused() {
        let offsetError = "ERR bit offset is not an integer or out of range"
        for offset in ["-1", "4294967296", "1.5", "x", "01", ""] {
            #expect(engine.run("SETBIT", "k", Bytes(offset), "1").errorMessage == offsetError, "\(offset)")
            #expect(engine.run("GETBIT", "k", Bytes(offset)).errorMessage == offsetError, "\(offset)")
        }
        for bit in ["2", "-1", "01", "true"] {
            #expect(engine.run("SETBIT", "k", "0", Bytes(bit)).errorMessage == "ERR bit is not an integer or out of range")
        }
        #expect(engine.run("EXISTS", "k") == .integer(0))
        #expect(engine.run("BITFIELD", "k", "GET", "u8", "#536870912").errorMessage == offsetError)
        #expect(engine.run("BITFIELD", "k", "GET", "i64", "#9223372036854775807").errorMessage == offsetError)
    }

    /// The far end of the largest bitmap asks for 512 MiB at once: with a
    /// limit it is refused before anything is allocated, and nothing is
    /// stored; without one nothing stops it (not run here).
    @Test func aFarOffsetIsChargedToMaxmemoryBeforeItAllocates() {
        engine.run("CONFIG", "SET", "maxmemory", "100mb")
        #expect(engine.run("SETBIT", "big", "4294967295", "1").errorMessage == EvictionTests.oom)
        #expect(engine.run("EXISTS", "big") == .integer(0))
        engine.run("SET", "small", "x")
        #expect(engine.run("SETBIT", "small", "4294967295", "1").errorMessage == EvictionTests.oom)
        #expect(engine.run("GET", "small") == .bulk("x"))
        #expect(engine.run("BITFIELD", "big", "SET", "u8", "4294967280", "1").errorMessage == EvictionTests.oom)
        #expect(engine.run("SETRANGE", "big", "536870000", "x").errorMessage == EvictionTests.oom)
        #expect(engine.usedMemory < 1_000_000)
        // Room for it: admitted.
        #expect(engine.run("SETBIT", "k", "8000000", "1") == .integer(0))
        #expect(engine.run("STRLEN", "k") == .integer(1_000_001))
    }

    @Test func aFarOffsetEvictsToMakeRoomUnderAnEvictingPolicy() {
        for index in 0..<200 { engine.run("SET", Bytes("filler:\(index)"), Bytes(String(repeating: "v", count: 1000))) }
        engine.run("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
        engine.run("CONFIG", "SET", "maxmemory", Bytes(String(engine.usedMemory + 50_000)))
        #expect(engine.run("SETBIT", "k", Bytes(String(8 * 100_000)), "1") == .integer(0))
        #expect((engine.run("DBSIZE").integerValue ?? 0) < 201)
    }

    // MARK: - BITOP

    @Test func bitopOfRedis8() {
        engine.run("SET", "x", Bytes([0b1111_0000, 0xFF]))
        engine.run("SET", "y1", Bytes([0b1100_1100]))
        engine.run("SET", "y2", Bytes([0b0000_0011]))
        #expect(engine.run("BITOP", "DIFF", "d", "x", "y1", "y2") == .integer(2))
        #expect(engine.run("GET", "d") == .bulk(Bytes([0b0011_0000, 0xFF])))
        #expect(engine.run("BITOP", "diff1", "d", "x", "y1", "y2") == .integer(2))
        #expect(engine.run("GET", "d") == .bulk(Bytes([0b0000_1111, 0x00])))
        #expect(engine.run("BITOP", "ANDOR", "d", "x", "y1", "y2") == .integer(2))
        #expect(engine.run("GET", "d") == .bulk(Bytes([0b1100_0000, 0x00])))
        #expect(engine.run("BITOP", "ONE", "d", "x", "y1", "y2") == .integer(2))
        #expect(engine.run("GET", "d") == .bulk(Bytes([0b0011_1111, 0xFF])))
        #expect(engine.run("BITOP", "ONE", "d", "x") == .integer(2))
        #expect(engine.run("GET", "d") == .bulk(Bytes([0b1111_0000, 0xFF])))
        #expect(engine.run("BITOP", "DIFF", "d", "x").errorMessage == "ERR BITOP DIFF must be called with at least two source keys.")
        #expect(engine.run("BITOP", "andor", "d", "x").errorMessage == "ERR BITOP ANDOR must be called with at least two source keys.")
        #expect(engine.run("BITOP", "NOT", "d", "x", "y1").errorMessage == "ERR BITOP NOT must be called with a single source key.")
        #expect(engine.run("BITOP", "NAND", "d", "x").errorMessage == RedisError.syntax)
    }

    @Test func bitopOfNothingDeletesTheDestination() {
        engine.run("SET", "d", "old")
        #expect(engine.run("BITOP", "OR", "d", "missing1", "missing2") == .integer(0))
        #expect(engine.run("EXISTS", "d") == .integer(0))
        engine.run("LPUSH", "l", "a")
        #expect(engine.run("BITOP", "OR", "d", "l").errorMessage == RedisError.wrongType)
    }

    // MARK: - Scans against a model

    /// BITCOUNT and BITPOS over every range of random strings, in both
    /// units, against a bit-by-bit reading of Redis's rules.
    @Test func countsAndPositionsMatchABitModel() {
        var random = SplitMix64(seed: 11)
        for round in 0..<40 {
            let length = Int(random.next() % 24) + 1
            let fill: [UInt8] = [0x00, 0xFF, 0x0F]
            let bytes = (0..<length).map { _ in random.next() % 3 == 0 ? fill[Int(random.next() % 3)] : UInt8(truncatingIfNeeded: random.next()) }
            engine.run("SET", "k", Bytes(bytes))
            let bits: [Bool] = bytes.flatMap { byte -> [Bool] in (0..<8).map { byte & (UInt8(0x80) >> UInt8($0)) != 0 } }
            for inBits in [false, true] {
                let length = inBits ? bits.count : bytes.count
                for _ in 0..<30 {
                    let start = Int(random.next() % UInt64(2 * length + 4)) - length - 2
                    let end = Int(random.next() % UInt64(2 * length + 4)) - length - 2
                    let unit: Bytes = inBits ? "BIT" : "BYTE"
                    var first = start < 0 ? length + start : start, last = end < 0 ? length + end : end
                    first = max(first, 0); last = min(max(last, 0), length - 1)
                    let range = first <= last ? (inBits ? first..<last + 1 : first * 8..<(last + 1) * 8) : 0..<0
                    let expectedCount = (start < 0 && end < 0 && start > end) ? 0 : bits[range].filter { $0 }.count
                    #expect(engine.run("BITCOUNT", "k", Bytes(String(start)), Bytes(String(end)), unit) == .integer(Int64(expectedCount)),
                            "round \(round) \(start) \(end) \(unit.text)")
                    for bit in [false, true] {
                        let found = range.first { bits[$0] == bit }
                        #expect(engine.run("BITPOS", "k", bit ? "1" : "0", Bytes(String(start)), Bytes(String(end)), unit)
                                == .integer(Int64(found ?? -1)), "round \(round) bitpos \(bit) \(start) \(end) \(unit.text)")
                    }
                }
            }
            #expect(engine.run("BITCOUNT", "k") == .integer(Int64(bits.filter { $0 }.count)))
            let firstZero = bits.firstIndex(of: false) ?? bits.count
            #expect(engine.run("BITPOS", "k", "0") == .integer(Int64(firstZero)))
        }
    }

    // MARK: - BITFIELD

    @Test func bitfieldOverflowRules() {
        #expect(engine.run("BITFIELD", "k", "SET", "i8", "0", "127", "INCRBY", "i8", "0", "1") == .array([.integer(0), .integer(-128)]))
        #expect(engine.run("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-1000") == .array([.integer(-128)]))
        #expect(engine.run("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1", "GET", "i8", "0") == .array([.null, .integer(-128)]))
        #expect(engine.run("BITFIELD", "k", "SET", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "1")
                == .array([.integer(Int64.min), .integer(Int64.min)]))
        #expect(engine.run("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1") == .array([.integer(Int64.min)]))
        #expect(engine.run("BITFIELD", "u", "SET", "u63", "0", "-1", "GET", "u63", "0")
                == .array([.integer(0), .integer(Int64.max)]))
        #expect(engine.run("BITFIELD", "u", "OVERFLOW", "SAT", "INCRBY", "u63", "0", "1", "INCRBY", "u4", "#0", "-100")
                == .array([.integer(Int64.max), .integer(0)]))
        #expect(engine.run("BITFIELD", "u", "OVERFLOW", "WRAP", "INCRBY", "u2", "100", "5") == .array([.integer(1)]))
    }

    @Test func bitfieldParsesEverythingBeforeItChangesAnything() {
        #expect(engine.run("BITFIELD", "k", "SET", "u8", "0", "1", "GET", "u64", "0").errorMessage
                == "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
        #expect(engine.run("BITFIELD", "k", "SET", "u8", "0", "1", "OVERFLOW", "NEVER").errorMessage == "ERR Invalid OVERFLOW type specified")
        #expect(engine.run("BITFIELD", "k", "SET", "u8", "0", "1", "INCRBY", "u8", "0").errorMessage == RedisError.syntax)
        #expect(engine.run("EXISTS", "k") == .integer(0))
        #expect(engine.run("BITFIELD_RO", "k", "SET", "u8", "0", "1").errorMessage == "ERR BITFIELD_RO only supports the GET subcommand")
        #expect(engine.run("BITFIELD_RO", "k", "OVERFLOW", "SAT", "GET", "u8", "0") == .array([.integer(0)]))
        #expect(engine.run("EXISTS", "k") == .integer(0))
    }

    /// A field is MSB-first at any bit offset, across byte boundaries.
    @Test func bitfieldReadsAndWritesAcrossBytes() {
        #expect(engine.run("BITFIELD", "k", "SET", "u12", "4", "4095") == .array([.integer(0)]))
        #expect(engine.run("GET", "k") == .bulk(Bytes([0x0F, 0xFF])))
        #expect(engine.run("BITFIELD", "k", "GET", "i4", "4", "GET", "u4", "#1", "GET", "i16", "0", "GET", "u8", "12")
                == .array([.integer(-1), .integer(15), .integer(4095), .integer(240)]))
    }
}
