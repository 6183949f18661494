import Testing
import KeywayEngine


extension Engine {
    /// The running estimate and a full recount, read under one lock.
    func memoryFigures() -> (running: Int, recount: Int) {
        withDatabase { db, _ in (db.keyspace.usedMemory, db.keyspace.recountMemoryUsage()) }
    }
}

@Suite("Memory accounting")
struct MemoryAccountingTests {
    @Test("an empty keyspace uses nothing, and one key costs its parts")
    func emptyAndOneKey() {
        let (engine, _) = makeEngine()
        #expect(engine.memoryFigures().running == 0)
        engine.run("SET", "k", "12345")
        let figures = engine.memoryFigures()
        #expect(figures.running == figures.recount)
        // The key and the value together are short enough to sit inline in the entry.
        #expect(figures.running == MemoryCost.keyEntry)
        engine.run("SET", "k", "a value longer than fourteen bytes")
        // Longer, the key and value share one heap object.
        #expect(engine.memoryFigures().running == MemoryCost.keyEntry + MemoryCost.packedHeader + 1 + 34)
        engine.run("SET", "k", "12345")
        engine.run("EXPIRE", "k", "100")
        #expect(engine.memoryFigures().running == figures.running + MemoryCost.expiryEntry)
        engine.run("DEL", "k")
        #expect(engine.memoryFigures().running == 0)
    }

    @Test("the running figure equals a full recount after every random write, of every family")
    func randomizedAgainstRecount() {
        let (engine, clock) = makeEngine()
        var random = SplitMix64(seed: 20_261_126)
        // Each family mostly uses its own keys (so its writes succeed);
        // generic commands (RENAME, COPY, DEL, EXPIRE, ...) use any key.
        let families = ["s", "h", "l", "t", "z", "x"]
        let keys: [Bytes] = families.flatMap { family in (0..<3).map { Bytes("\(family)\($0)") } }
        func key() -> Bytes { keys.randomElement(using: &random)! }
        func key(_ family: String) -> Bytes {
            // One time in ten another family's key: WRONGTYPE paths too.
            if Int.random(in: 0..<10, using: &random) == 0 { return key() }
            return Bytes("\(family)\(Int.random(in: 0..<3, using: &random))")
        }
        func word() -> Bytes {
            let length = Int.random(in: 0...40, using: &random)
            return Bytes((0..<length).map { _ in UInt8.random(in: 97...122, using: &random) })
        }
        func small() -> Bytes { Bytes(String(Int.random(in: 0...20, using: &random))) }
        func member() -> Bytes { Bytes("m\(Int.random(in: 0...15, using: &random))") }
        func signed() -> Bytes { Bytes(String(Int.random(in: -6...6, using: &random))) }

        let makers: [() -> [Bytes]] = [
            { ["SET", key("s"), word()] },
            { ["SET", key("s"), small(), "PX", Bytes(String(Int.random(in: 1...500, using: &random)))] },
            { ["APPEND", key("s"), word()] },
            { ["SETRANGE", key("s"), small(), word()] },
            { ["INCR", key("s")] },
            { ["INCRBYFLOAT", key("s"), "1.5"] },
            { ["GETDEL", key("s")] },
            { ["HSET", key("h"), member(), word(), member(), word()] },
            { ["HDEL", key("h"), member()] },
            { ["HINCRBY", key("h"), member(), "3"] },
            { ["HEXPIRE", key("h"), "1", "FIELDS", "2", member(), member()] },
            { ["HPEXPIRE", key("h"), Bytes(String(Int.random(in: 1...400, using: &random))), "FIELDS", "1", member()] },
            { ["HPERSIST", key("h"), "FIELDS", "1", member()] },
            { ["LPUSH", key("l"), word(), word()] },
            { ["RPUSH", key("l"), word()] },
            { ["LPOP", key("l")] },
            { ["RPOP", key("l"), "2"] },
            { ["LSET", key("l"), signed(), word()] },
            { ["LTRIM", key("l"), signed(), signed()] },
            { ["LINSERT", key("l"), "BEFORE", word(), word()] },
            { ["LREM", key("l"), "0", word()] },
            { ["LMOVE", key("l"), key("l"), "LEFT", "RIGHT"] },
            { ["SADD", key("t"), member(), member(), small()] },
            { ["SREM", key("t"), member()] },
            { ["SPOP", key("t")] },
            { ["SINTERSTORE", key("t"), key("t"), key("t")] },
            { ["SUNIONSTORE", key("t"), key("t"), key("t")] },
            { ["SMOVE", key("t"), key("t"), member()] },
            { ["ZADD", key("z"), signed(), member(), signed(), member()] },
            { ["ZINCRBY", key("z"), "2", member()] },
            { ["ZREM", key("z"), member()] },
            { ["ZREMRANGEBYRANK", key("z"), "0", "1"] },
            { ["ZREMRANGEBYSCORE", key("z"), "-2", "2"] },
            { ["ZREMRANGEBYLEX", key("z"), "[m1", "[m5"] },
            { ["ZPOPMIN", key("z")] },
            { ["ZUNIONSTORE", key("z"), "2", key("z"), key("z")] },
            { ["XADD", key("x"), "*", member(), word()] },
            { ["XADD", key("x"), "MAXLEN", "3", "*", member(), word(), member(), word()] },
            { ["XTRIM", key("x"), "MAXLEN", small()] },
            { ["XDEL", key("x"), "0-1", Bytes("\(startMilliseconds)-0")] },
            { ["XGROUP", "CREATE", key("x"), Bytes("g\(Int.random(in: 0...2, using: &random))"), "0", "MKSTREAM"] },
            { ["XREADGROUP", "GROUP", Bytes("g\(Int.random(in: 0...2, using: &random))"), Bytes("c\(Int.random(in: 0...2, using: &random))"), "COUNT", "2", "STREAMS", key("x"), ">"] },
            { ["XACK", key("x"), "g0", Bytes("\(startMilliseconds)-0"), Bytes("\(startMilliseconds)-1")] },
            { ["XGROUP", "DELCONSUMER", key("x"), "g1", "c1"] },
            { ["XGROUP", "DESTROY", key("x"), "g2"] },
            { ["XAUTOCLAIM", key("x"), "g0", "c9", "0", "0"] },
            { ["RENAME", key(), key()] },
            { ["COPY", key(), key(), "REPLACE"] },
            { ["EXPIRE", key(), Bytes(String(Int.random(in: 1...3, using: &random)))] },
            { ["PEXPIRE", key(), Bytes(String(Int.random(in: 1...900, using: &random)))] },
            { ["PERSIST", key()] },
            { ["DEL", key(), key()] },
            { ["UNLINK", key()] },
            { ["GETEX", key("s"), "PX", Bytes(String(Int.random(in: 1...500, using: &random)))] },
            { ["HGETDEL", key("h"), "FIELDS", "1", member()] },
            { ["HSETEX", key("h"), "PX", "200", "FIELDS", "1", member(), word()] },
            { ["LMPOP", "2", key("l"), key("l"), "RIGHT", "COUNT", "2"] },
            { ["ZPOPMAX", key("z"), "2"] },
            { ["ZRANGESTORE", key("z"), key("z"), "0", "2"] },
            { ["SDIFFSTORE", key("t"), key("t"), key("t")] },
            { ["XGROUP", "SETID", key("x"), "g0", "0"] },
            { ["XCLAIM", key("x"), "g0", "c2", "0", Bytes("\(startMilliseconds)-0")] },
            { ["XGROUP", "CREATECONSUMER", key("x"), "g0", Bytes("c\(Int.random(in: 3...5, using: &random))")] },
            { ["MSET", key("s"), word(), key("s"), word()] },
            { ["GETSET", key("s"), word()] },
            { ["INCRBY", key("s"), signed()] },
            { ["GET", key("s")] },
            { ["HGETALL", key("h")] },
            { ["LRANGE", key("l"), "0", "-1"] },
        ]
        var succeeded: Set<String> = [], tried: Set<String> = []
        for step in 0..<4000 {
            if step % 997 == 996 {
                engine.run("FLUSHALL")
            } else {
                let command = makers.randomElement(using: &random)!()
                let name = command[0].text + (command[0].text == "XGROUP" ? " " + command[1].text : "")
                tried.insert(name)
                if engine.run(command).errorMessage == nil { succeeded.insert(name) }
            }
            if step % 7 == 0 { clock.advance(milliseconds: Int64.random(in: 0...300, using: &random)) }
            if step % 50 == 0 { engine.runActiveExpiryCycle() }
            let figures = engine.memoryFigures()
            #expect(figures.running == figures.recount, "step \(step)")
            if figures.running != figures.recount { return }
        }
        // Every command family really wrote at some point, not only failed.
        #expect(tried.subtracting(succeeded).sorted() == [])
    }

    @Test("MEMORY USAGE grows with the value and answers null for a missing key")
    func memoryUsage() {
        let (engine, _) = makeEngine()
        engine.run("SET", "small", "x")
        engine.run("SET", "big", Bytes([UInt8](repeating: 65, count: 10_000)))
        let small = engine.run("MEMORY", "USAGE", "small").integerValue!
        let big = engine.run("MEMORY", "USAGE", "big").integerValue!
        // "small" and "x" sit inline in their entry; the big value (past
        // the packed limit) has its own array beside its key's object.
        #expect(small == MemoryCost.keyEntry)
        #expect(big - small == MemoryCost.keyedHeader + 3 + MemoryCost.objectHeader + 10_000)
        #expect(engine.run("MEMORY", "USAGE", "missing") == .null)
        #expect(engine.run("MEMORY", "USAGE", "big", "SAMPLES", "0").integerValue == big)
        #expect(engine.run("MEMORY", "USAGE", "big", "SAMPLES", "x").errorMessage == "ERR value is not an integer or out of range")
        #expect(engine.run("MEMORY", "USAGE", "big", "BOGUS").errorMessage == "ERR syntax error")
        for i in 0..<100 { engine.run("RPUSH", "list", Bytes("element-\(i)")) }
        let hundred = engine.run("MEMORY", "USAGE", "list").integerValue!
        for i in 100..<200 { engine.run("RPUSH", "list", Bytes("element-\(i)")) }
        let twoHundred = engine.run("MEMORY", "USAGE", "list").integerValue!
        #expect(twoHundred > hundred * 19 / 10 && twoHundred < hundred * 21 / 10)
    }

    @Test("MEMORY STATS and the INFO memory section report the estimate")
    func statsAndInfo() {
        let (engine, _) = makeEngine()
        for i in 0..<10 { engine.run("SET", Bytes("key:\(i)"), "value") }
        engine.run("CONFIG", "SET", "maxmemory", "100mb")
        let used = engine.memoryFigures().running
        let info = engine.infoFields("memory")
        #expect(info["used_memory"] == String(used))
        #expect(info["maxmemory"] == String(100 << 20))
        #expect(info["maxmemory_human"] == "100.00M")
        #expect(info["maxmemory_policy"] == "noeviction")
        #expect(Int(info["used_memory_rss"] ?? "") ?? 0 > 0)
        #expect(Int(info["used_memory_peak"] ?? "") ?? 0 >= used)
        #expect(info["used_memory_human"]?.hasSuffix("B") == true || info["used_memory_human"]?.hasSuffix("K") == true)
        #expect(info["mem_fragmentation_ratio"] != nil)
        #expect(engine.infoFields("stats")["evicted_keys"] == "0")
        guard case .map(let pairs) = engine.run("MEMORY", "STATS") else {
            Issue.record("MEMORY STATS is not a map")
            return
        }
        var stats: [String: Reply] = [:]
        for index in stride(from: 0, to: pairs.count, by: 2) {
            if case .bulk(let name) = pairs[index] { stats[name.text] = pairs[index + 1] }
        }
        for name in ["peak.allocated", "total.allocated", "startup.allocated", "keys.count", "keys.bytes-per-key", "dataset.bytes", "overhead.total"] {
            #expect(stats[name] != nil, "\(name)")
        }
        #expect(stats["keys.count"] == .integer(10))
        #expect(stats["total.allocated"] == .integer(Int64(used)))
        #expect(stats["keys.bytes-per-key"] == .integer(Int64(used / 10)))
        #expect(engine.run("MEMORY", "NOPE").errorMessage?.hasPrefix("ERR unknown subcommand or wrong number of arguments for 'NOPE'") == true)
        #expect(engine.run("MEMORY", "DOCTOR").bytesValue != nil)
        #expect(engine.run("MEMORY", "HELP").arrayValue?.isEmpty == false)
    }

    @Test("units for maxmemory, and CONFIG's validation of the eviction parameters")
    func configParameters() {
        let (engine, _) = makeEngine()
        #expect(engine.run("CONFIG", "SET", "maxmemory", "1gb") == .ok)
        #expect(engine.run("CONFIG", "GET", "maxmemory") == .map([.bulk("maxmemory"), .bulk(Bytes(String(1 << 30)))]))
        #expect(engine.run("CONFIG", "SET", "maxmemory", "12345") == .ok)
        #expect(engine.run("CONFIG", "GET", "maxmemory") == .map([.bulk("maxmemory"), .bulk("12345")]))
        #expect(engine.run("CONFIG", "SET", "maxmemory", "-5").errorMessage == "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value")
        #expect(engine.run("CONFIG", "SET", "maxmemory", "lots").errorMessage != nil)
        #expect(engine.run("CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LFU") == .ok)
        #expect(engine.run("CONFIG", "GET", "maxmemory-policy") == .map([.bulk("maxmemory-policy"), .bulk("allkeys-lfu")]))
        #expect(engine.run("CONFIG", "SET", "maxmemory-policy", "most-recent").errorMessage == "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction")
        #expect(engine.run("CONFIG", "GET", "maxmemory-samples") == .map([.bulk("maxmemory-samples"), .bulk("5")]))
        #expect(engine.run("CONFIG", "SET", "maxmemory-samples", "0").errorMessage == "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 64 inclusive")
        #expect(engine.run("CONFIG", "GET", "lfu-log-factor") == .map([.bulk("lfu-log-factor"), .bulk("10")]))
        #expect(engine.run("CONFIG", "GET", "lfu-decay-time") == .map([.bulk("lfu-decay-time"), .bulk("1")]))
        #expect(engine.run("CONFIG", "SET", "lfu-decay-time", "-1").errorMessage != nil)
        #expect(engine.run("CONFIG", "SET", "lfu-log-factor", "20") == .ok)
    }
}
