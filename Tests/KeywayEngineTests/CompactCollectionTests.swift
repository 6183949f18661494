import Testing
@testable import KeywayEngine

/// Small hashes and sets held packed (as Redis holds a listpack) and their
/// one-way move to tables, checked against dictionary models across the
/// limits: 128 fields or members, 64 bytes per string, field TTLs.
@Suite struct CompactCollectionTests {
    // MARK: - Strings around the limits

    /// Fields and members of many shapes: empty, binary (NUL, invalid
    /// UTF-8), exactly 64 bytes (the longest a compact form keeps) and, when
    /// `long` allows it, 65 bytes (which forces a table).
    static func string(_ n: Int, long: Bool = true) -> Bytes {
        switch n % 7 {
        case 0: return Bytes()
        case 1: return Bytes([0, UInt8(n & 0xFF), 0xFF, 0xFE])
        case 2: return Bytes(Array(repeating: UInt8(65 + n % 26), count: 63) + [UInt8(n & 0x7F)])
        case 3 where long: return Bytes(Array(repeating: UInt8(97 + n % 26), count: 64) + [UInt8(n & 0x7F)])
        default: return Bytes("s\(n)")
        }
    }

    static func hashCommand(_ key: Bytes, fields: Range<Int>, value: (Int) -> Bytes = { Bytes("v\($0)") }) -> [Bytes] {
        [Bytes("HSET"), key] + fields.flatMap { [Bytes("field:\($0)"), value($0)] }
    }

    static func setCommand(_ key: Bytes, members: Range<Int>) -> [Bytes] {
        [Bytes("SADD"), key] + members.map { Bytes("member:\($0)") }
    }

    func hash(_ engine: Engine, _ key: Bytes) -> HashValue? {
        engine.withDatabase { db, _ in db.keyspace.slot(of: key).flatMap { HashValue.peek(db.keyspace[slot: $0].value) } }
    }

    func set(_ engine: Engine, _ key: Bytes) -> SetValue? {
        engine.withDatabase { db, _ in db.keyspace.slot(of: key).flatMap { SetValue.peek(db.keyspace[slot: $0].value) } }
    }

    func encoding(_ engine: Engine, _ key: Bytes) -> String? {
        engine.run("OBJECT", "ENCODING", key).bytesValue?.text
    }

    // MARK: - Against a model

    @Test func hashMatchesADictionaryAcrossTheLimits() {
        var random = SplitMix64(seed: 13)
        for round in 0..<60 {
            var hash = HashValue()
            var model: [Bytes: Bytes] = [:]
            var expectCompact = true
            // Some rounds never write a long string, so they live compact until 129 fields.
            let allowLong = round % 3 == 0
            let pool = 100 + round % 60
            for _ in 0..<600 {
                let field = Self.string(Int(random.next() % UInt64(pool)), long: allowLong && random.next() % 8 == 0)
                switch random.next() % 4 {
                case 0, 1:
                    let value = Self.string(Int(random.next() % 1_000), long: allowLong && random.next() % 20 == 0)
                    let created = hash.set(field, value)
                    #expect(created == (model.updateValue(value, forKey: field) == nil))
                    if model.count > HashValue.compactFieldLimit || field.count > 64 || value.count > 64 { expectCompact = false }
                case 2:
                    #expect(hash.remove(field) == model.removeValue(forKey: field))
                default:
                    #expect(hash[field] == model[field])
                    #expect(hash.contains(field) == (model[field] != nil))
                }
                #expect(hash.count == model.count)
                #expect(hash.isCompact == expectCompact)
                #expect(hash.memoryUsage == hash.recountMemoryUsage())
            }
            #expect(Dictionary(uniqueKeysWithValues: hash.entries.map { ($0.field, $0.value) }) == model)
            #expect(Set(hash.fieldNames) == Set(model.keys))
        }
    }

    @Test func setMatchesASetAcrossTheLimits() {
        var random = SplitMix64(seed: 17)
        for round in 0..<60 {
            var set = SetValue()
            var model = Set<Bytes>()
            var expectCompact = true
            let allowLong = round % 3 == 0
            let pool = 100 + round % 60
            for _ in 0..<600 {
                let member = Self.string(Int(random.next() % UInt64(pool)), long: allowLong && random.next() % 8 == 0)
                switch random.next() % 5 {
                case 0, 1:
                    #expect(set.insert(member) == model.insert(member).inserted)
                    if model.count > SetValue.compactMemberLimit || member.count > 64 { expectCompact = false }
                case 2:
                    #expect(set.remove(member) == (model.remove(member) != nil))
                case 3:
                    if let popped = set.popRandom(using: &random) {
                        #expect(model.remove(popped) != nil)
                    } else {
                        #expect(model.isEmpty)
                    }
                default:
                    #expect(set.contains(member) == model.contains(member))
                }
                #expect(set.count == model.count)
                #expect(set.isCompact == expectCompact)
                #expect(set.memoryUsage == set.recountMemoryUsage())
            }
            #expect(Set(set.members) == model)
            #expect(set.members.count == model.count)
        }
    }

    // MARK: - The limits exactly

    @Test func aHashConvertsAtIts129thField() {
        let (engine, _) = makeEngine()
        engine.run(Self.hashCommand("h", fields: 0..<127))
        #expect(hash(engine, "h")?.isCompact == true)
        engine.run(Self.hashCommand("h", fields: 127..<128))
        #expect(hash(engine, "h")?.isCompact == true)
        #expect(encoding(engine, "h") == "listpack")
        // Overwriting at the limit keeps the compact form.
        engine.run(Self.hashCommand("h", fields: 0..<128, value: { Bytes("new\($0)") }))
        #expect(hash(engine, "h")?.isCompact == true)
        engine.run(Self.hashCommand("h", fields: 128..<129))
        #expect(hash(engine, "h")?.isCompact == false)
        #expect(encoding(engine, "h") == "hashtable")
        #expect(engine.run("HLEN", "h") == .integer(129))
        #expect(engine.run("HGET", "h", "field:5") == .bulk("new5"))
        #expect(engine.run("HGET", "h", "field:128") == .bulk("v128"))
        // One way: shrinking back does not make it compact again, as in Redis.
        engine.run([Bytes("HDEL"), "h"] + (0..<120).map { Bytes("field:\($0)") })
        #expect(hash(engine, "h")?.isCompact == false)
        #expect(encoding(engine, "h") == "hashtable")
    }

    @Test func aHashConvertsOnA65ByteFieldOrValue() {
        let (engine, _) = makeEngine()
        let bytes64 = Bytes(Array(repeating: 120, count: 64))
        let bytes65 = Bytes(Array(repeating: 121, count: 65))
        engine.run("HSET", "field", bytes64, "v")
        engine.run("HSET", "value", "f", bytes64)
        #expect(hash(engine, "field")?.isCompact == true)
        #expect(hash(engine, "value")?.isCompact == true)
        engine.run("HSET", "field", bytes65, "v")
        #expect(hash(engine, "field")?.isCompact == false)
        #expect(engine.run("HGET", "field", bytes64) == .bulk("v"))
        #expect(engine.run("HGET", "field", bytes65) == .bulk("v"))
        // A long value on an existing field converts too.
        engine.run("HSET", "value", "f", bytes65)
        #expect(hash(engine, "value")?.isCompact == false)
        #expect(engine.run("HGET", "value", "f") == .bulk(bytes65))
        #expect(engine.run("HLEN", "value") == .integer(1))
        // HINCRBYFLOAT's result is a value like any other.
        engine.run("HSET", "counter", "n", "1")
        let sum = engine.run("HINCRBYFLOAT", "counter", "n", "1e70").bytesValue
        #expect((sum?.count ?? 0) > 64)
        #expect(hash(engine, "counter")?.isCompact == false)
        #expect(engine.run("HGET", "counter", "n").bytesValue == sum)
    }

    @Test func aSetConvertsAtIts129thMemberOrA65ByteMember() {
        let (engine, _) = makeEngine()
        engine.run(Self.setCommand("s", members: 0..<128))
        #expect(set(engine, "s")?.isCompact == true)
        #expect(encoding(engine, "s") == "listpack")
        engine.run("SADD", "s", "member:0")
        #expect(set(engine, "s")?.isCompact == true)
        engine.run("SADD", "s", "member:128")
        #expect(set(engine, "s")?.isCompact == false)
        #expect(encoding(engine, "s") == "hashtable")
        #expect(engine.run("SCARD", "s") == .integer(129))
        #expect(engine.run("SISMEMBER", "s", "member:77") == .integer(1))

        engine.run("SADD", "long", Bytes(Array(repeating: 120, count: 64)), "", Bytes([0, 0xFF]))
        #expect(set(engine, "long")?.isCompact == true)
        engine.run("SADD", "long", Bytes(Array(repeating: 120, count: 65)))
        #expect(set(engine, "long")?.isCompact == false)
        #expect(engine.run("SISMEMBER", "long", "") == .integer(1))
        #expect(engine.run("SISMEMBER", "long", Bytes([0, 0xFF])) == .integer(1))
        #expect(engine.run("SCARD", "long") == .integer(4))
    }

    @Test func integerSetsStillReportIntset() {
        let (engine, _) = makeEngine()
        engine.run([Bytes("SADD"), "ints"] + (0..<300).map { Bytes("\($0)") })
        #expect(set(engine, "ints")?.isCompact == false)
        #expect(encoding(engine, "ints") == "intset")
        engine.run("SADD", "ints", "x")
        #expect(encoding(engine, "ints") == "hashtable")
    }

    @Test func aFieldTTLMovesTheHashToItsTable() {
        let (engine, clock) = makeEngine()
        engine.run("HSET", "h", "a", "1", "b", "2", "c", "3")
        #expect(hash(engine, "h")?.isCompact == true)
        // A field that does not exist sets nothing and changes no form.
        #expect(engine.run("HEXPIRE", "h", "100", "FIELDS", "1", "missing") == .array([.integer(-2)]))
        #expect(hash(engine, "h")?.isCompact == true)
        #expect(engine.run("HEXPIRE", "h", "100", "FIELDS", "1", "a") == .array([.integer(1)]))
        #expect(hash(engine, "h")?.isCompact == false)
        #expect(encoding(engine, "h") == "listpackex")
        #expect(engine.run("HTTL", "h", "FIELDS", "2", "a", "b") == .array([.integer(100), .integer(-1)]))
        #expect(engine.run("HPERSIST", "h", "FIELDS", "1", "a") == .array([.integer(1)]))
        #expect(hash(engine, "h")?.isCompact == false)
        #expect(encoding(engine, "h") == "hashtable")
        engine.run("HPEXPIRE", "h", "10", "FIELDS", "1", "b")
        clock.advance(milliseconds: 10)
        #expect(engine.run("HGET", "h", "b") == .null)
        #expect(engine.run("HLEN", "h") == .integer(2))
        // HSETEX with a TTL goes straight to the table.
        engine.run("HSETEX", "x", "PX", "1000", "FIELDS", "1", "f", "v")
        #expect(hash(engine, "x")?.isCompact == false)
        #expect(engine.run("HPTTL", "x", "FIELDS", "1", "f") == .array([.integer(1000)]))
    }

    // MARK: - Iteration and random picks

    @Test func scansReturnEveryFieldAndMember() {
        let (engine, _) = makeEngine()
        for (key, size) in [("small", 100), ("large", 1_000)] as [(Bytes, Int)] {
            engine.run(Self.hashCommand(Bytes("h") + key, fields: 0..<size))
            engine.run(Self.setCommand(Bytes("s") + key, members: 0..<size))
            var fields: [Bytes] = [], members: [Bytes] = [], cursor = Bytes("0"), calls = 0
            repeat {
                let reply = engine.run("HSCAN", Bytes("h") + key, cursor, "COUNT", "10").arrayValue!
                cursor = reply[0].bytesValue!
                let items = reply[1].arrayValue!.map { $0.bytesValue! }
                fields += stride(from: 0, to: items.count, by: 2).map { items[$0] }
                calls += 1
            } while cursor != "0"
            #expect(Set(fields) == Set((0..<size).map { Bytes("field:\($0)") }))
            #expect(fields.count == size)
            // A compact hash comes back whole in one call, as Redis does for a listpack.
            #expect((calls == 1) == (size <= 128))
            cursor = "0"
            repeat {
                let reply = engine.run("SSCAN", Bytes("s") + key, cursor, "COUNT", "10").arrayValue!
                cursor = reply[0].bytesValue!
                members += reply[1].arrayValue!.map { $0.bytesValue! }
            } while cursor != "0"
            #expect(Set(members) == Set((0..<size).map { Bytes("member:\($0)") }))
            #expect(members.count == size)
        }
        let matched = engine.run("HSCAN", "hsmall", "0", "MATCH", "field:1?", "NOVALUES").arrayValue![1].arrayValue!
        #expect(Set(matched.map { $0.bytesValue! }) == Set((10..<20).map { Bytes("field:\($0)") }))
        let sscan = engine.run("SSCAN", "ssmall", "0", "MATCH", "member:9?").arrayValue!
        #expect(sscan[0] == .bulk("0"))
        #expect(sscan[1].arrayValue!.count == 10)
    }

    @Test func randomPicksOfACompactCollectionAreUniform() {
        var hash = HashValue(), set = SetValue()
        for n in 0..<20 {
            hash.set(Bytes("f\(n)"), Bytes("v\(n)"))
            set.insert(Bytes("m\(n)"))
        }
        #expect(hash.isCompact && set.isCompact)
        var random = SplitMix64(seed: 99)
        var fieldCounts: [Bytes: Int] = [:], memberCounts: [Bytes: Int] = [:]
        for _ in 0..<8_000 {
            let entry = hash.randomEntry(using: &random)!
            #expect(entry.value == Bytes("v" + entry.field.text.dropFirst()))
            fieldCounts[entry.field, default: 0] += 1
            memberCounts[set.randomMember(using: &random)!, default: 0] += 1
        }
        for entry in hash.randomEntries(8_000, using: &random) { fieldCounts[entry.field, default: 0] += 1 }
        for member in set.randomMembers(8_000, using: &random) { memberCounts[member, default: 0] += 1 }
        // 16,000 picks of 20: 800 each expected, a standard deviation of about 28.
        #expect(fieldCounts.count == 20 && fieldCounts.values.allSatisfy { (650...950).contains($0) })
        #expect(memberCounts.count == 20 && memberCounts.values.allSatisfy { (650...950).contains($0) })

        var firstPicks: [Bytes: Int] = [:]
        for _ in 0..<4_000 {
            let picked = hash.distinctRandomEntries(5, using: &random).map(\.field)
            #expect(Set(picked).count == 5)
            firstPicks[picked[0], default: 0] += 1
            let members = set.distinctRandomMembers(5, using: &random)
            #expect(Set(members).count == 5)
        }
        #expect(firstPicks.count == 20 && firstPicks.values.allSatisfy { (120...280).contains($0) })

        var popped: [Bytes] = []
        var copy = set
        while let member = copy.popRandom(using: &random) { popped.append(member) }
        #expect(Set(popped) == Set(set.members) && popped.count == 20)
        #expect(set.count == 20)
    }

    @Test func randomCommandsOnACompactCollection() {
        let (engine, _) = makeEngine()
        engine.run(Self.hashCommand("h", fields: 0..<10))
        engine.run(Self.setCommand("s", members: 0..<10))
        let all = Set((0..<10).map { Bytes("field:\($0)") })
        let repeated = engine.run("HRANDFIELD", "h", "-500", "WITHVALUES").arrayValue!.map { $0.bytesValue! }
        #expect(repeated.count == 1_000)
        #expect(Set(stride(from: 0, to: 1_000, by: 2).map { repeated[$0] }) == all)
        let distinct = engine.run("HRANDFIELD", "h", "7").arrayValue!.map { $0.bytesValue! }
        #expect(distinct.count == 7 && Set(distinct).count == 7 && Set(distinct).isSubset(of: all))
        #expect(Set(engine.run("HRANDFIELD", "h", "50").arrayValue!.map { $0.bytesValue! }) == all)
        let members = engine.run("SRANDMEMBER", "s", "-300").arrayValue!.map { $0.bytesValue! }
        #expect(members.count == 300 && Set(members).count == 10)
        let popped = engine.run("SPOP", "s", "4").arrayValue!.map { $0.bytesValue! }
        #expect(Set(popped).count == 4)
        #expect(engine.run("SCARD", "s") == .integer(6))
        for member in popped { #expect(engine.run("SISMEMBER", "s", member) == .integer(0)) }
    }

    // MARK: - Set algebra and stores

    @Test func storesKeepTheCompactFormWhileTheResultFits() {
        let (engine, _) = makeEngine()
        engine.run(Self.setCommand("a", members: 0..<100))
        engine.run(Self.setCommand("b", members: 50..<150))
        #expect(engine.run("SINTERSTORE", "i", "a", "b") == .integer(50))
        #expect(set(engine, "i")?.isCompact == true)
        #expect(engine.run("SUNIONSTORE", "u", "a", "b") == .integer(150))
        #expect(set(engine, "u")?.isCompact == false)
        #expect(engine.run("SDIFFSTORE", "d", "a", "b") == .integer(50))
        #expect(Set(engine.run("SMEMBERS", "d").arrayValue!.map { $0.bytesValue! }) == Set((0..<50).map { Bytes("member:\($0)") }))
        #expect(engine.run("SMOVE", "a", "i", "member:0") == .integer(1))
        #expect(engine.run("SISMEMBER", "i", "member:0") == .integer(1))
        #expect(engine.run("SINTERCARD", "2", "a", "b") == .integer(50))
    }

    // MARK: - Memory

    @Test func memoryFollowsTheBufferAndMatchesARecount() {
        let (engine, _) = makeEngine()
        // Built one field per command, the buffer keeps little spare room.
        for n in 0..<100 { engine.run("HSET", "h", Bytes(String(format: "field:%03d", n)), "12345678") }
        for n in 0..<100 { engine.run("SADD", "s", Bytes(String(format: "member:%05d", n))) }
        let packedBytes = 100 * (1 + 9 + 1 + 8)
        let hashUsage = hash(engine, "h")!.memoryUsage
        #expect(hashUsage >= MemoryCost.objectHeader + packedBytes)
        #expect(hashUsage <= MemoryCost.objectHeader + packedBytes * 9 / 8 + 16)
        #expect(set(engine, "s")!.memoryUsage <= MemoryCost.objectHeader + 100 * 13 * 9 / 8 + 16)
        let figures = engine.memoryFigures()
        #expect(figures.running == figures.recount)

        var random = SplitMix64(seed: 5)
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        func string() -> Bytes { Self.string(pick(300), long: pick(40) == 0) }
        for _ in 0..<3_000 {
            let key = Bytes("k\(pick(4))")
            let command: [Bytes]
            switch pick(12) {
            case 0, 1: command = ["HSET", key, string(), string(), string(), string()]
            case 2: command = ["HDEL", key, string(), string()]
            case 3: command = ["HPEXPIRE", key, Bytes("\(1 + pick(50))"), "FIELDS", "1", string()]
            case 4: command = ["HRANDFIELD", key, "-3"]
            case 5, 6: command = ["SADD", Bytes("s") + key, string(), string(), string()]
            case 7: command = ["SREM", Bytes("s") + key, string()]
            case 8: command = ["SPOP", Bytes("s") + key, Bytes("\(pick(3))")]
            case 9: command = ["SUNIONSTORE", Bytes("s") + key, Bytes("sk\(pick(4))"), Bytes("sk\(pick(4))")]
            case 10: command = ["SINTERSTORE", Bytes("s") + key, Bytes("sk\(pick(4))"), Bytes("sk\(pick(4))")]
            default: command = ["HINCRBY", key, string(), "1"]
            }
            engine.run(command)
            let figures = engine.memoryFigures()
            #expect(figures.running == figures.recount, "after \(command.map(\.text))")
        }
    }

    // MARK: - Persistence

    /// Compact and table hashes and sets of every kind of string.
    func populate(_ engine: Engine) {
        engine.run(Self.hashCommand("h:compact", fields: 0..<128))
        engine.run(Self.hashCommand("h:table", fields: 0..<129))
        engine.run("HSET", "h:binary", "", "", Bytes([0, 0xFF]), Bytes([0xFE, 0]), Bytes(Array(repeating: 1, count: 64)), "x")
        engine.run("HSET", "h:long", "f", Bytes(Array(repeating: 2, count: 65)))
        engine.run("HSET", "h:ttl", "a", "1", "b", "2")
        engine.run("HPEXPIRE", "h:ttl", "100000", "FIELDS", "1", "a")
        engine.run(Self.setCommand("s:compact", members: 0..<128))
        engine.run(Self.setCommand("s:table", members: 0..<129))
        engine.run("SADD", "s:binary", "", Bytes([0, 0xFF]), Bytes(Array(repeating: 3, count: 64)))
        engine.run("SADD", "s:long", Bytes(Array(repeating: 4, count: 65)))
        engine.run("SADD", "s:ints", "1", "-2", "300")
    }

    func forms(_ keyspace: Keyspace) -> [String: Bool] {
        var forms: [String: Bool] = [:]
        for entry in keyspace.entries {
            if let hash = HashValue.peek(entry.value) { forms[entry.key.text] = hash.isCompact }
            if let set = SetValue.peek(entry.value) { forms[entry.key.text] = set.isCompact }
        }
        return forms
    }

    @Test func snapshotsKeepContentsAndForms() throws {
        let (engine, _) = makeEngine()
        populate(engine)
        let keyspace = engine.withDatabase { db, _ in db.keyspace }
        var bytes: [UInt8] = []
        RDBWriter.write(keyspace, now: startMilliseconds, to: &bytes)
        let loaded = try RDBReader.load(bytes: bytes, now: startMilliseconds).keyspace
        let (reloaded, _) = makeEngine()
        reloaded.withDatabase { db, _ in db.keyspace = loaded }
        #expect(keyspaceDifferences(dumpKeyspace(reloaded), dumpKeyspace(engine)) == [])
        #expect(forms(loaded) == forms(keyspace))
        #expect(forms(loaded)["h:compact"] == true && forms(loaded)["h:table"] == false && forms(loaded)["h:ttl"] == false)
        #expect(loaded.usedMemory == loaded.recountMemoryUsage())
    }

    @Test func rewrittenLogsKeepContentsAndForms() throws {
        let (engine, _) = makeEngine()
        populate(engine)
        let directory = makeTemporaryDirectory()
        let path = directory + "/rewritten.aof"
        let keyspace = engine.withDatabase { db, _ in db.keyspace }
        try AOFRewriter.writeFile(keyspace, now: startMilliseconds, to: path)
        let (loaded, _) = makeEngine()
        _ = try AOFLoader.load(path: path, into: loaded)
        #expect(keyspaceDifferences(dumpKeyspace(loaded), dumpKeyspace(engine)) == [])
        #expect(forms(loaded.withDatabase { db, _ in db.keyspace }) == forms(keyspace))
    }
}
