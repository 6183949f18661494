import KeywayEngine
import Testing

/// A fresh engine on a manual clock, driven by commands as a client would.
private final class HashHarness {
    let clock = ManualClock()
    let engine: Engine

    init() { engine = Engine(clock: clock) }

    @discardableResult
    func run(_ words: String...) -> Reply { engine.execute(Command(words.map { Bytes($0) })) }

    @discardableResult
    func run(_ arguments: [Bytes]) -> Reply { engine.execute(Command(arguments)) }

    func error(_ words: String...) -> String? {
        if case .error(let error) = engine.execute(Command(words.map { Bytes($0) })) { return error.message }
        return nil
    }
}

private func bulk(_ text: String) -> Reply { .bulk(Bytes(text)) }
private func ints(_ values: Int64...) -> Reply { .array(values.map(Reply.integer)) }

/// Flat [field, value, ...] reply → dictionary, for order-free comparison.
private func pairs(_ reply: Reply) -> [String: String]? {
    let elements: [Reply]
    switch reply {
    case .array(let e), .map(let e): elements = e
    default: return nil
    }
    var result: [String: String] = [:]
    for i in stride(from: 0, to: elements.count - 1, by: 2) {
        guard case .bulk(let f) = elements[i], case .bulk(let v) = elements[i + 1] else { return nil }
        result[f.text] = v.text
    }
    return result
}

private func strings(_ reply: Reply) -> [String]? {
    guard case .array(let elements) = reply else { return nil }
    return elements.compactMap { if case .bulk(let b) = $0 { return b.text } else { return nil } }
}


@Suite struct HashCommandsTests {
    // MARK: - HSET / HGET family

    @Test func userProfilePattern() {
        let h = HashHarness()
        #expect(h.run("HSET", "user:123", "name", "Alice", "email", "alice@example.com", "role", "admin") == .integer(3))
        #expect(h.run("HGET", "user:123", "name") == bulk("Alice"))
        #expect(pairs(h.run("HGETALL", "user:123")) == ["name": "Alice", "email": "alice@example.com", "role": "admin"])
        #expect(h.run("HINCRBY", "user:123", "login_count", "1") == .integer(1))
        #expect(h.run("HINCRBY", "user:123", "login_count", "1") == .integer(2))
        #expect(h.run("TYPE", "user:123") == .status("hash"))
    }

    @Test func hsetCountsOnlyNewFieldsAndReplaces() {
        let h = HashHarness()
        #expect(h.run("HSET", "h", "a", "1", "b", "2") == .integer(2))
        #expect(h.run("HSET", "h", "a", "10", "c", "3") == .integer(1))
        #expect(h.run("HGET", "h", "a") == bulk("10"))
        #expect(h.run("HMSET", "h", "d", "4") == .ok)
        #expect(h.run("HLEN", "h") == .integer(4))
        #expect(h.error("HSET", "h", "a", "1", "b") == "ERR wrong number of arguments for 'hset' command")
        #expect(h.error("HMSET", "h", "a", "1", "b") == "ERR wrong number of arguments for 'hmset' command")
        #expect(h.error("HSET", "h", "a") == "ERR wrong number of arguments for 'hset' command")
    }

    @Test func hsetnxOnlyCreates() {
        let h = HashHarness()
        #expect(h.run("HSETNX", "h", "f", "one") == .integer(1))
        #expect(h.run("HSETNX", "h", "f", "two") == .integer(0))
        #expect(h.run("HGET", "h", "f") == bulk("one"))
    }

    @Test func missingKeysAndFields() {
        let h = HashHarness()
        #expect(h.run("HGET", "nope", "f") == .null)
        #expect(h.run("HMGET", "nope", "a", "b") == .array([.null, .null]))
        #expect(h.run("HGETALL", "nope") == .map([]))
        #expect(h.run("HKEYS", "nope") == .array([]))
        #expect(h.run("HVALS", "nope") == .array([]))
        #expect(h.run("HLEN", "nope") == .integer(0))
        #expect(h.run("HEXISTS", "nope", "f") == .integer(0))
        #expect(h.run("HSTRLEN", "nope", "f") == .integer(0))
        #expect(h.run("HDEL", "nope", "f") == .integer(0))
        #expect(h.run("HRANDFIELD", "nope") == .null)
        #expect(h.run("HRANDFIELD", "nope", "5") == .array([]))
        #expect(h.run("HSCAN", "nope", "0") == .array([bulk("0"), .array([])]))
        h.run("HSET", "h", "a", "1")
        #expect(h.run("HMGET", "h", "a", "zz") == .array([bulk("1"), .null]))
        #expect(h.run("HSTRLEN", "h", "zz") == .integer(0))
    }

    @Test func readsAndHdel() {
        let h = HashHarness()
        h.run("HSET", "h", "a", "1", "b", "22", "c", "333")
        #expect(h.run("HEXISTS", "h", "b") == .integer(1))
        #expect(h.run("HSTRLEN", "h", "c") == .integer(3))
        #expect(strings(h.run("HKEYS", "h"))?.sorted() == ["a", "b", "c"])
        #expect(strings(h.run("HVALS", "h"))?.sorted() == ["1", "22", "333"])
        #expect(h.run("HDEL", "h", "x", "y") == .integer(0))
        #expect(h.run("HDEL", "h", "a", "c", "f") == .integer(2))
        #expect(pairs(h.run("HGETALL", "h")) == ["b": "22"])
        #expect(h.run("HDEL", "h", "b", "b") == .integer(1))
        #expect(h.run("EXISTS", "h") == .integer(0))
    }

    @Test func binaryFieldsAndValues() {
        let h = HashHarness()
        let field = Bytes([0, 255, 47, 37])
        let value = Bytes([0xC3, 0x28, 0, 10])
        #expect(h.run([Bytes("HSET"), Bytes("bin"), field, value]) == .integer(1))
        #expect(h.run([Bytes("HGET"), Bytes("bin"), field]) == .bulk(value))
        #expect(h.run([Bytes("HSTRLEN"), Bytes("bin"), field]) == .integer(4))
    }

    @Test func everyCommandRefusesOtherTypes() {
        let h = HashHarness()
        h.run("SET", "s", "v")
        let commands: [[String]] = [
            ["HSET", "s", "f", "v"], ["HMSET", "s", "f", "v"], ["HSETNX", "s", "f", "v"], ["HGET", "s", "f"],
            ["HMGET", "s", "f"], ["HGETALL", "s"], ["HKEYS", "s"], ["HVALS", "s"], ["HDEL", "s", "f"],
            ["HEXISTS", "s", "f"], ["HLEN", "s"], ["HSTRLEN", "s", "f"], ["HINCRBY", "s", "f", "1"],
            ["HINCRBYFLOAT", "s", "f", "1.5"], ["HRANDFIELD", "s"], ["HRANDFIELD", "s", "2"], ["HSCAN", "s", "0"],
            ["HEXPIRE", "s", "10", "FIELDS", "1", "f"], ["HPEXPIRE", "s", "10", "FIELDS", "1", "f"],
            ["HEXPIREAT", "s", "10", "FIELDS", "1", "f"], ["HPEXPIREAT", "s", "10", "FIELDS", "1", "f"],
            ["HTTL", "s", "FIELDS", "1", "f"], ["HPTTL", "s", "FIELDS", "1", "f"],
            ["HEXPIRETIME", "s", "FIELDS", "1", "f"], ["HPEXPIRETIME", "s", "FIELDS", "1", "f"],
            ["HPERSIST", "s", "FIELDS", "1", "f"], ["HGETEX", "s", "FIELDS", "1", "f"],
            ["HSETEX", "s", "FIELDS", "1", "f", "v"], ["HGETDEL", "s", "FIELDS", "1", "f"],
        ]
        for words in commands {
            let reply = h.run(words.map { Bytes($0) })
            #expect(reply == .error(.wrongType), "\(words[0])")
        }
        #expect(h.run("GET", "s") == bulk("v"))
    }

    // MARK: - Counters

    @Test func hincrbyRulesAndErrors() {
        let h = HashHarness()
        #expect(h.run("HINCRBY", "c", "n", "5") == .integer(5))
        #expect(h.run("HINCRBY", "c", "n", "-7") == .integer(-2))
        h.run("HSET", "c", "big", "17179869184", "s", " 11", "t", "11 ", "w", "abc")
        #expect(h.run("HINCRBY", "c", "big", "17179869184") == .integer(34_359_738_368))
        #expect(h.error("HINCRBY", "c", "s", "1") == "ERR hash value is not an integer")
        #expect(h.error("HINCRBY", "c", "t", "1") == "ERR hash value is not an integer")
        #expect(h.error("HINCRBY", "c", "w", "1") == "ERR hash value is not an integer")
        #expect(h.error("HINCRBY", "c", "n", "x") == "ERR value is not an integer or out of range")
        #expect(h.error("HINCRBY", "c", "n", "1.5") == "ERR value is not an integer or out of range")
        h.run("HSET", "c", "edge", "-9223372036854775484")
        #expect(h.run("HINCRBY", "c", "edge", "-1") == .integer(-9_223_372_036_854_775_485))
        #expect(h.error("HINCRBY", "c", "edge", "-10000") == "ERR increment or decrement would overflow")
        h.run("HSET", "c", "max", "9223372036854775807")
        #expect(h.error("HINCRBY", "c", "max", "1") == "ERR increment or decrement would overflow")
        #expect(h.run("HGET", "c", "max") == bulk("9223372036854775807"))
        // A failed increment on a new key creates nothing.
        #expect(h.error("HINCRBY", "fresh", "n", "nope") != nil)
        #expect(h.run("EXISTS", "fresh") == .integer(0))
    }

    @Test func hincrbyfloatFormatsLikeRedis() {
        let h = HashHarness()
        #expect(h.run("HINCRBYFLOAT", "f", "x", "2.5") == bulk("2.5"))
        #expect(h.run("HINCRBYFLOAT", "f", "x", "3.5") == bulk("6"))
        #expect(h.run("HINCRBYFLOAT", "f", "y", "1.23") == bulk("1.23"))
        #expect(h.run("HINCRBYFLOAT", "f", "y", "0.77") == bulk("2"))
        #expect(h.run("HINCRBYFLOAT", "f", "y", "-0.1") == bulk("1.9"))
        h.run("HSET", "f", "int", "17179869184", "s", " 11", "nul", "1\u{0}2", "e", "5.0e3")
        #expect(h.run("HINCRBYFLOAT", "f", "int", "1") == bulk("17179869185"))
        #expect(h.run("HINCRBYFLOAT", "f", "e", "1") == bulk("5001"))
        #expect(h.run("HGET", "f", "e") == bulk("5001"))
        #expect(h.error("HINCRBYFLOAT", "f", "s", "1") == "ERR hash value is not a float")
        #expect(h.error("HINCRBYFLOAT", "f", "nul", "1") == "ERR hash value is not a float")
        #expect(h.error("HINCRBYFLOAT", "f", "x", "v") == "ERR value is not a valid float")
        #expect(h.error("HINCRBYFLOAT", "hfoo", "field", "+inf") == "ERR value is NaN or Infinity")
        #expect(h.run("EXISTS", "hfoo") == .integer(0))
        h.run("HSET", "f", "huge", "1.1e4932")
        #expect(h.error("HINCRBYFLOAT", "f", "huge", "1.1e4932") == "ERR increment would produce NaN or Infinity")
    }

    // MARK: - HRANDFIELD

    @Test func hrandfieldCountsAndValues() {
        let h = HashHarness()
        let all = ["a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "6": "f", "7": "g", "8": "h", "9": "i", "10": "j"]
        for (f, v) in all { h.run("HSET", "r", f, v) }
        guard case .bulk(let one) = h.run("HRANDFIELD", "r") else { Issue.record("no field"); return }
        #expect(all[one.text] != nil)
        #expect(h.run("HRANDFIELD", "r", "0") == .array([]))
        // Negative: exactly |count| picks, repeats allowed, every one real.
        let repeated = strings(h.run("HRANDFIELD", "r", "-1001")) ?? []
        #expect(repeated.count == 1001)
        #expect(Set(repeated).isSubset(of: Set(all.keys)))
        #expect(Set(repeated).count == all.count)  // 1001 draws of 10 fields: all seen
        guard case .array(let withValues) = h.run("HRANDFIELD", "r", "-20", "WITHVALUES") else { Issue.record("no array"); return }
        #expect(withValues.count == 40)
        // Positive: distinct, capped at the hash size.
        for size in ["10", "20"] {
            #expect(Set(strings(h.run("HRANDFIELD", "r", size)) ?? []) == Set(all.keys))
            #expect(pairs(h.run("HRANDFIELD", "r", size, "withvalues")) == all)
        }
        for size in [8, 2] {
            let picked = strings(h.run("HRANDFIELD", "r", String(size))) ?? []
            #expect(picked.count == size)
            #expect(Set(picked).count == size)
            let valued = pairs(h.run("HRANDFIELD", "r", String(size), "WITHVALUES")) ?? [:]
            #expect(valued.count == size)
            for (f, v) in valued { #expect(all[f] == v) }
        }
        #expect(h.error("HRANDFIELD", "r", "2", "WITHSCORES") == "ERR syntax error")
        #expect(h.error("HRANDFIELD", "r", "2", "WITHVALUES", "x") == "ERR syntax error")
        #expect(h.error("HRANDFIELD", "r", "x") == "ERR value is not an integer or out of range")
        #expect(h.error("HRANDFIELD", "r", "-9223372036854770000", "withvalues") == "ERR value is out of range")
        #expect(h.error("HRANDFIELD", "r", "-9223372036854775808")?.hasPrefix("ERR value is out of range") == true)
        #expect(h.error("HRANDFIELD", "r", "-9223372036854775807") == "ERR value is out of range, must be between -1048576 and 9223372036854775807")
    }

    @Test func hrandfieldOnALargeHashIsUniform() {
        let h = HashHarness()
        var arguments: [Bytes] = ["HSET", "big"]
        for i in 0..<10_000 { arguments += [Bytes("f\(i)"), Bytes("v\(i)")] }
        #expect(h.run(arguments) == .integer(10_000))
        let picked = strings(h.run("HRANDFIELD", "big", "100")) ?? []
        #expect(picked.count == 100 && Set(picked).count == 100)
        let most = strings(h.run("HRANDFIELD", "big", "9000")) ?? []
        #expect(most.count == 9000 && Set(most).count == 9000)
        #expect(most.allSatisfy { $0.hasPrefix("f") })
    }

    // MARK: - HSCAN

    @Test func hscanWalksEveryFieldOnceWithOptions() {
        let h = HashHarness()
        var arguments: [Bytes] = ["HSET", "big"]
        for i in 0..<10_000 { arguments += [Bytes("field:\(i)"), Bytes("\(i)")] }
        h.run(arguments)
        var cursor = "0"
        var seen: [String: String] = [:]
        var calls = 0
        repeat {
            guard case .array(let parts) = h.run("HSCAN", "big", cursor, "COUNT", "100"),
                  case .bulk(let next) = parts[0] else { Issue.record("bad reply"); return }
            for (f, v) in pairs(parts[1]) ?? [:] {
                #expect(seen[f] == nil)
                seen[f] = v
            }
            cursor = next.text
            calls += 1
        } while cursor != "0"
        #expect(seen.count == 10_000)
        #expect(seen["field:4242"] == "4242")
        #expect(calls > 10)
        // MATCH and NOVALUES in one pass with a large COUNT.
        guard case .array(let parts) = h.run("HSCAN", "big", "0", "MATCH", "field:99*", "COUNT", "100000", "NOVALUES") else {
            Issue.record("bad reply"); return
        }
        #expect(parts[0] == bulk("0"))
        #expect(Set(strings(parts[1]) ?? []) == Set(["field:99"] + (0..<10).map { "field:99\($0)" } + (0..<100).map { "field:99\($0 / 10)\($0 % 10)" }))
        #expect(h.error("HSCAN", "big", "abc") == "ERR invalid cursor")
        #expect(h.error("HSCAN", "big", "0", "COUNT", "0") == "ERR syntax error")
        #expect(h.error("HSCAN", "big", "0", "COUNT") == "ERR syntax error")
        #expect(h.error("HSCAN", "big", "0", "FOO", "1") == "ERR syntax error")
        #expect(h.error("HSCAN", "big", "0", "COUNT", "x") == "ERR value is not an integer or out of range")
    }

    // MARK: - Field TTLs

    @Test func hexpireConditionsAndReplyCodes() {
        let h = HashHarness()
        #expect(h.run("HEXPIRE", "missing", "100", "FIELDS", "2", "a", "b") == ints(-2, -2))
        h.run("HSET", "h", "f1", "v1", "f2", "v2", "f3", "v3")
        #expect(h.run("HPEXPIRE", "h", "1000", "NX", "FIELDS", "1", "f1") == ints(1))
        #expect(h.run("HPEXPIRE", "h", "1000", "NX", "FIELDS", "2", "f1", "f2") == ints(0, 1))
        #expect(h.run("HPEXPIRE", "h", "1000", "XX", "FIELDS", "2", "f1", "f3") == ints(1, 0))
        #expect(h.run("HPEXPIRE", "h", "1500", "GT", "FIELDS", "3", "f1", "f3", "nope") == ints(1, 0, -2))
        #expect(h.run("HPEXPIRE", "h", "500", "LT", "FIELDS", "3", "f1", "f2", "f3") == ints(1, 1, 1))
        #expect(h.run("HPTTL", "h", "FIELDS", "3", "f1", "f2", "f3") == ints(500, 500, 500))
        #expect(h.run("HPEXPIRE", "h", "400", "gt", "FIELDS", "1", "f1") == ints(0))
        // Past deadlines delete; conditions are checked first.
        let now = h.clock.nowMilliseconds()
        #expect(h.run("HPEXPIREAT", "h", String(now - 1), "NX", "FIELDS", "2", "f1", "f9") == ints(0, -2))
        #expect(h.run("HEXPIRE", "h", "0", "FIELDS", "1", "f1") == ints(2))
        #expect(h.run("HEXISTS", "h", "f1") == .integer(0))
        #expect(h.run("HEXPIREAT", "h", String(now / 1000 - 1), "FIELDS", "2", "f2", "f3") == ints(2, 2))
        #expect(h.run("EXISTS", "h") == .integer(0))
    }

    @Test func httlFamilyReportsSecondsRoundedUp() {
        let h = HashHarness()
        let now = h.clock.nowMilliseconds()
        h.run("HSET", "h", "a", "1", "b", "2")
        #expect(h.run("HPEXPIRE", "h", "1500", "FIELDS", "1", "a") == ints(1))
        #expect(h.run("HTTL", "h", "FIELDS", "3", "a", "b", "c") == ints(2, -1, -2))
        #expect(h.run("HPTTL", "h", "FIELDS", "1", "a") == ints(1500))
        #expect(h.run("HPEXPIRETIME", "h", "FIELDS", "1", "a") == ints(now + 1500))
        #expect(h.run("HEXPIRETIME", "h", "FIELDS", "2", "a", "b") == .array([.integer((now + 1500 + 999) / 1000), .integer(-1)]))
        #expect(h.run("HTTL", "missing", "FIELDS", "2", "a", "b") == ints(-2, -2))
        #expect(h.run("HEXPIREAT", "h", "4000000000", "FIELDS", "1", "b") == ints(1))
        #expect(h.run("HEXPIRETIME", "h", "FIELDS", "1", "b") == ints(4_000_000_000))
        h.clock.advance(milliseconds: 1000)
        #expect(h.run("HPTTL", "h", "FIELDS", "1", "a") == ints(500))
        #expect(h.run("HTTL", "h", "FIELDS", "1", "a") == ints(1))
        h.clock.advance(milliseconds: 500)
        #expect(h.run("HTTL", "h", "FIELDS", "1", "a") == ints(-2))
    }

    @Test func hpersistAndOverwriteDiscardTTL() {
        let h = HashHarness()
        #expect(h.run("HPERSIST", "missing", "FIELDS", "1", "a") == ints(-2))
        h.run("HSET", "h", "f1", "v1", "f2", "v2", "f3", "v3")
        h.run("HEXPIRE", "h", "100", "FIELDS", "3", "f1", "f2", "f3")
        #expect(h.run("HPERSIST", "h", "FIELDS", "2", "f1", "nope") == ints(1, -2))
        #expect(h.run("HPERSIST", "h", "FIELDS", "1", "f1") == ints(-1))
        // HSET replaces the value and the TTL goes; HINCRBY keeps it.
        h.run("HSET", "h", "f2", "new")
        h.run("HSET", "h", "f3", "10")
        #expect(h.run("HINCRBY", "h", "f3", "5") == .integer(15))
        #expect(h.run("HINCRBYFLOAT", "h", "f3", "0.5") == bulk("15.5"))
        #expect(h.run("HTTL", "h", "FIELDS", "3", "f1", "f2", "f3") == ints(-1, -1, -1))
        h.run("HEXPIRE", "h", "100", "FIELDS", "1", "f3")
        #expect(h.run("HINCRBYFLOAT", "h", "f3", "0.5") == bulk("16"))
        #expect(h.run("HTTL", "h", "FIELDS", "1", "f3") == ints(100))
        #expect(h.run("HSET", "h", "f3", "x") == .integer(0))
        #expect(h.run("HTTL", "h", "FIELDS", "1", "f3") == ints(-1))
    }

    @Test func lazyExpiryHidesFieldsAndDeletesTheEmptyHash() {
        let h = HashHarness()
        h.run("HSET", "h", "f1", "v1", "f2", "v2", "f3", "v3", "keep", "k")
        h.run("HPEXPIRE", "h", "10", "FIELDS", "3", "f1", "f2", "f3")
        h.clock.advance(milliseconds: 10)
        #expect(h.run("HGET", "h", "f1") == .null)
        #expect(h.run("HLEN", "h") == .integer(1))
        #expect(pairs(h.run("HGETALL", "h")) == ["keep": "k"])
        #expect(h.run("HINCRBY", "h", "f2", "1") == .integer(1))  // an expired field counts as absent
        #expect(h.run("HTTL", "h", "FIELDS", "1", "f2") == ints(-1))
        h.run("HDEL", "h", "keep", "f2")
        #expect(h.run("EXISTS", "h") == .integer(0))

        // The last field expiring deletes the key on the next access.
        h.run("HSET", "g", "only", "1")
        h.run("HPEXPIRE", "g", "5", "FIELDS", "1", "only")
        h.clock.advance(milliseconds: 6)
        #expect(h.run("HEXISTS", "g", "only") == .integer(0))
        #expect(h.run("EXISTS", "g") == .integer(0))
        #expect(h.run("HSETNX", "g", "only", "again") == .integer(1))

        h.run("HSET", "k", "a", "1", "b", "2", "c", "3")
        h.run("HPEXPIRE", "k", "5", "FIELDS", "2", "a", "b")
        h.clock.advance(milliseconds: 5)
        #expect(h.run("HMGET", "k", "a", "b", "c") == .array([.null, .null, bulk("3")]))
        #expect(strings(h.run("HRANDFIELD", "k", "5")) == ["c"])
        guard case .array(let scan) = h.run("HSCAN", "k", "0") else { Issue.record("no scan"); return }
        #expect(pairs(scan[1]) == ["c": "3"])
    }

    @Test func activeExpiryRemovesFieldsWithoutAccess() {
        let h = HashHarness()
        var arguments: [Bytes] = ["HSET", "big"]
        for i in 0..<10_000 { arguments += [Bytes("f\(i)"), Bytes("v")] }
        h.run(arguments)
        var expire: [Bytes] = ["HPEXPIRE", "big", "100", "FIELDS", "9000"]
        for i in 0..<9000 { expire.append(Bytes("f\(i)")) }
        guard case .array(let codes) = h.run(expire) else { Issue.record("no reply"); return }
        #expect(codes.count == 9000 && codes.allSatisfy { $0 == .integer(1) })
        for i in 0..<50 {
            h.run("HSET", "small:\(i)", "a", "1")
            h.run("HPEXPIRE", "small:\(i)", "100", "FIELDS", "1", "a")
        }
        h.run("HSET", "later", "a", "1")
        h.run("HEXPIRE", "later", "1000", "FIELDS", "1", "a")
        h.clock.advance(milliseconds: 100)
        // Run cycles until done, never touching the hashes with a command.
        for _ in 0..<1000 { h.engine.runActiveExpiryCycle(budgetMicroseconds: 1_000_000) }
        let (bigCount, smallLeft, laterFields) = h.engine.withDatabase { db, _ -> (Int, Int, Int) in
            var big = -1, later = -1
            if let slot = db.keyspace.slot(of: "big"), case .hash(let hash) = db.keyspace[slot: slot].value { big = hash.count }
            if let slot = db.keyspace.slot(of: "later"), case .hash(let hash) = db.keyspace[slot: slot].value { later = hash.count }
            let small = (0..<50).filter { db.keyspace.slot(of: Bytes("small:\($0)")) != nil }.count
            return (big, small, later)
        }
        #expect(bigCount == 1000)
        #expect(smallLeft == 0)
        #expect(laterFields == 1)
    }

    @Test func renamedHashKeepsFieldExpiry() {
        let h = HashHarness()
        h.run("HSET", "src", "a", "1", "b", "2")
        h.run("HPEXPIRE", "src", "20", "FIELDS", "1", "a")
        #expect(h.run("RENAME", "src", "dst") == .ok)
        #expect(h.run("HPTTL", "dst", "FIELDS", "1", "a") == ints(20))
        h.clock.advance(milliseconds: 20)
        h.engine.runActiveExpiryCycle()
        let fields = h.engine.withDatabase { db, _ -> Int in
            guard let slot = db.keyspace.slot(of: "dst"), case .hash(let hash) = db.keyspace[slot: slot].value else { return -1 }
            return hash.count
        }
        #expect(fields == 1)
    }

    @Test func fieldTTLArgumentErrors() {
        let h = HashHarness()
        h.run("HSET", "h", "f1", "v1")
        #expect(h.error("HEXPIRE", "h", "-1", "FIELDS", "1", "f1") == "ERR invalid expire time, must be >= 0")
        #expect(h.error("HEXPIRE", "h", "x", "FIELDS", "1", "f1") == "ERR value is not an integer or out of range")
        #expect(h.error("HEXPIRE", "h", String((1 << 48) / 1000), "FIELDS", "1", "f1") == "ERR invalid expire time in 'hexpire' command")
        #expect(h.error("HPEXPIRE", "h", String(1 << 48), "FIELDS", "1", "f1") == "ERR invalid expire time in 'hpexpire' command")
        #expect(h.error("HPEXPIREAT", "h", String((1 << 46) + 100), "FIELDS", "1", "f1") == "ERR invalid expire time in 'hpexpireat' command")
        #expect(h.run("HPEXPIREAT", "h", String((1 << 46) - 1000), "FIELDS", "1", "f1") == ints(1))
        #expect(h.error("HPEXPIRE", "h", "1000", "NX", "FIELDS", "0", "f1") == "ERR Parameter `numFields` should be greater than 0")
        #expect(h.error("HPEXPIRE", "h", "1000", "FIELDS", "x", "f1") == "ERR Parameter `numFields` should be greater than 0")
        #expect(h.error("HPEXPIRE", "h", "1000", "NX", "FIELDS", "4", "f1", "f2", "f3") == "ERR The `numfields` parameter must match the number of arguments")
        #expect(h.error("HPEXPIRE", "h", "1000", "NX", "FIELDS", "2", "f1", "f2", "f3") == "ERR The `numfields` parameter must match the number of arguments")
        #expect(h.error("HPEXPIRE", "h", "1000", "NOPE", "1", "f1") == "ERR Mandatory argument FIELDS is missing or not at the right position")
        #expect(h.error("HPEXPIRE", "h", "1000", "FIELDS", "1") == "ERR wrong number of arguments for 'hpexpire' command")
        #expect(h.error("HTTL", "h", "FIELDS", "3", "a", "b") == "ERR The `numfields` parameter must match the number of arguments")
        #expect(h.error("HTTL", "h", "FIELDS", "0", "a") == "ERR Parameter `numFields` should be greater than 0")
        #expect(h.error("HTTL", "h", "FELDS", "1", "a") == "ERR Mandatory argument FIELDS is missing or not at the right position")
        #expect(h.error("HPERSIST", "h", "FIELDS", "2", "f1", "f2", "f3") == "ERR The `numfields` parameter must match the number of arguments")
        #expect(h.error("HPERSIST", "h") == "ERR wrong number of arguments for 'hpersist' command")
    }

    // MARK: - HGETEX / HSETEX / HGETDEL

    @Test func hgetexReadsAndSetsTTL() {
        let h = HashHarness()
        let now = h.clock.nowMilliseconds()
        #expect(h.run("HGETEX", "missing", "EX", "10", "FIELDS", "2", "a", "b") == .array([.null, .null]))
        h.run("HSET", "h", "a", "1", "b", "2", "c", "strval")
        #expect(h.run("HGETEX", "h", "FIELDS", "3", "a", "b", "c") == .array([bulk("1"), bulk("2"), bulk("strval")]))
        #expect(h.run("HTTL", "h", "FIELDS", "3", "a", "b", "c") == ints(-1, -1, -1))
        #expect(h.run("HGETEX", "h", "EX", "100", "FIELDS", "2", "a", "zz") == .array([bulk("1"), .null]))
        #expect(h.run("HTTL", "h", "FIELDS", "1", "a") == ints(100))
        #expect(h.run("HGETEX", "h", "PX", "5000", "FIELDS", "1", "b") == .array([bulk("2")]))
        #expect(h.run("HPTTL", "h", "FIELDS", "1", "b") == ints(5000))
        #expect(h.run("HGETEX", "h", "EXAT", String(now / 1000 + 10), "FIELDS", "1", "c") == .array([bulk("strval")]))
        #expect(h.run("HPEXPIRETIME", "h", "FIELDS", "1", "c") == ints((now / 1000 + 10) * 1000))
        #expect(h.run("HGETEX", "h", "PXAT", String(now + 700), "FIELDS", "1", "c") == .array([bulk("strval")]))
        #expect(h.run("HPTTL", "h", "FIELDS", "1", "c") == ints(700))
        #expect(h.run("HGETEX", "h", "PERSIST", "FIELDS", "2", "a", "b") == .array([bulk("1"), bulk("2")]))
        #expect(h.run("HTTL", "h", "FIELDS", "2", "a", "b") == ints(-1, -1))
        // A deadline in the past deletes after reading; the key goes with its last field.
        #expect(h.run("HGETEX", "h", "PXAT", "1", "FIELDS", "3", "a", "b", "c") == .array([bulk("1"), bulk("2"), bulk("strval")]))
        #expect(h.run("EXISTS", "h") == .integer(0))

        #expect(h.error("HGETEX", "h", "XFIELDX", "1", "a") == "ERR Mandatory argument FIELDS is missing or not at the right position")
        #expect(h.error("HGETEX", "h", "PXAT", "1", "1") == "ERR Mandatory argument FIELDS is missing or not at the right position")
        #expect(h.error("HGETEX", "h", "PERSIST", "1", "FIELDS", "1", "a") == "ERR Mandatory argument FIELDS is missing or not at the right position")
        #expect(h.error("HGETEX", "h", "FIELDS", "2", "a") == "ERR The `numfields` parameter must match the number of arguments")
        #expect(h.error("HGETEX", "h", "FIELDS", "0", "a") == "ERR Number of fields must be a positive integer")
        #expect(h.error("HGETEX", "h", "FIELDS", "-1", "a") == "ERR Number of fields must be a positive integer")
        #expect(h.error("HGETEX", "h", "FIELDS", "9223372036854775808", "a") == "ERR Number of fields must be a positive integer")
        #expect(h.error("HGETEX", "h", "EX", "bla", "FIELDS", "1", "a") == "ERR value is not an integer or out of range")
        #expect(h.error("HGETEX", "h", "PX", "-1", "FIELDS", "1", "a") == "ERR invalid expire time, must be >= 0")
        #expect(h.error("HGETEX", "h", "EXAT", String((1 << 46) / 1000 + 100), "FIELDS", "1", "a") == "ERR invalid expire time in 'hgetex' command")
        #expect(h.error("HGETEX", "h", "FIELDS", "1") == "ERR wrong number of arguments for 'hgetex' command")
    }

    @Test func hsetexConditionsAndTTLs() {
        let h = HashHarness()
        #expect(h.run("HSETEX", "h", "FXX", "FIELDS", "2", "f1", "v1", "f2", "v2") == .integer(0))
        #expect(h.run("EXISTS", "h") == .integer(0))
        #expect(h.run("HSETEX", "h", "FNX", "EX", "100", "FIELDS", "2", "f1", "v1", "f2", "v2") == .integer(1))
        #expect(h.run("HTTL", "h", "FIELDS", "2", "f1", "f2") == ints(100, 100))
        #expect(h.run("HSETEX", "h", "FNX", "FIELDS", "2", "f2", "x", "f3", "y") == .integer(0))
        #expect(h.run("HEXISTS", "h", "f3") == .integer(0))
        #expect(h.run("HSETEX", "h", "FXX", "FIELDS", "2", "f1", "v1", "f3", "v3") == .integer(0))
        #expect(h.run("HSETEX", "h", "PX", "5000", "FXX", "FIELDS", "1", "f1", "w1") == .integer(1))
        #expect(h.run("HPTTL", "h", "FIELDS", "2", "f1", "f2") == ints(5000, 100_000))
        #expect(h.run("HSETEX", "h", "KEEPTTL", "FIELDS", "1", "f2", "w2") == .integer(1))
        #expect(h.run("HGET", "h", "f2") == bulk("w2"))
        #expect(h.run("HTTL", "h", "FIELDS", "1", "f2") == ints(100))
        #expect(h.run("HSETEX", "h", "FIELDS", "2", "f1", "z1", "f2", "z2") == .integer(1))
        #expect(h.run("HTTL", "h", "FIELDS", "2", "f1", "f2") == ints(-1, -1))
        let now = h.clock.nowMilliseconds()
        #expect(h.run("HSETEX", "h", "PXAT", String(now + 250), "FIELDS", "1", "f9", "v9") == .integer(1))
        #expect(h.run("HPTTL", "h", "FIELDS", "1", "f9") == ints(250))
        #expect(h.run("HSETEX", "h", "EXAT", String(now / 1000 - 1), "FIELDS", "2", "f1", "a", "new", "b") == .integer(1))
        #expect(h.run("HMGET", "h", "f1", "new", "f2") == .array([.null, .null, bulk("z2")]))
        // FXX after the only field expired: refused, and the empty hash is gone.
        h.run("HSETEX", "e", "PX", "10", "FIELDS", "1", "f1", "v1")
        h.clock.advance(milliseconds: 15)
        #expect(h.run("HSETEX", "e", "FXX", "FIELDS", "1", "f1", "v11") == .integer(0))
        #expect(h.run("EXISTS", "e") == .integer(0))
    }

    @Test func hsetexArgumentErrors() {
        let h = HashHarness()
        let arity = "ERR wrong number of arguments for 'hsetex' command"
        #expect(h.error("HSETEX", "h", "FIELDS", "2", "a", "b") == arity)
        #expect(h.error("HSETEX", "h", "FIELDS", "2", "a", "b", "c") == arity)
        #expect(h.error("HSETEX", "h", "FIELDS", "1", "a", "b", "unknown") == arity)
        #expect(h.error("HSETEX", "h", "NX", "FIELDS", "1", "a", "b") == "ERR unknown argument: NX")
        #expect(h.error("HSETEX", "h", "FXX", "FNX", "EX", "100", "FIELDS", "1", "a", "b") == "ERR Only one of FXX or FNX arguments can be specified")
        #expect(h.error("HSETEX", "h", "EX", "100", "PX", "1000", "FIELDS", "1", "a", "b") == "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified")
        #expect(h.error("HSETEX", "h", "KEEPTTL", "EX", "100", "FIELDS", "1", "a", "b") == "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified")
        #expect(h.error("HSETEX", "h", "EX", "FIELDS", "1", "a", "b") == "ERR value is not an integer or out of range")
        #expect(h.error("HSETEX", "h", "EXAT", "-1", "FIELDS", "1", "a", "b") == "ERR invalid expire time, must be >= 0")
        #expect(h.error("HSETEX", "h", "PXAT", String(1 << 48), "FIELDS", "1", "a", "b") == "ERR invalid expire time in 'hsetex' command")
        for bad in ["x", "0", "-1", "9223372036854775808"] {
            #expect(h.error("HSETEX", "h", "FIELDS", bad, "a", "b") == "ERR invalid number of fields")
        }
        #expect(h.run("EXISTS", "h") == .integer(0))
    }

    @Test func hgetdelReturnsAndDeletes() {
        let h = HashHarness()
        #expect(h.run("HGETDEL", "missing", "FIELDS", "2", "a", "b") == .array([.null, .null]))
        h.run("HSET", "k", "f1", "1", "f2", "2", "f3", "3", "strfield", "strval")
        #expect(h.run("HGETDEL", "k", "FIELDS", "1", "f2") == .array([bulk("2")]))
        #expect(h.run("HLEN", "k") == .integer(3))
        #expect(h.run("HGETDEL", "k", "fields", "4", "x1", "x2", "f3", "x4") == .array([.null, .null, bulk("3"), .null]))
        #expect(h.run("HGETDEL", "k", "FIELDS", "3", "f1", "strfield", "f1") == .array([bulk("1"), bulk("strval"), .null]))
        #expect(h.run("EXISTS", "k") == .integer(0))
        #expect(h.error("HGETDEL", "k", "XFIELDX", "1", "a") == "ERR Mandatory argument FIELDS is missing or not at the right position")
        #expect(h.error("HGETDEL", "k", "FIELDS", "2", "a") == "ERR The `numfields` parameter must match the number of arguments")
        #expect(h.error("HGETDEL", "k", "FIELDS", "2", "a", "b", "c") == "ERR The `numfields` parameter must match the number of arguments")
        #expect(h.error("HGETDEL", "k", "FIELDS", "b", "a") == "ERR Number of fields must be a positive integer")
        #expect(h.error("HGETDEL", "k", "FIELDS", "0") == "ERR wrong number of arguments for 'hgetdel' command")
    }

    // MARK: - Transactions and scale

    @Test func hashCommandsInATransaction() {
        let h = HashHarness()
        let result = h.engine.executeTransaction([
            Command("DEL", ["t"]),
            Command("HSET", ["t", "a", "1", "b", "2"]),
            Command("HINCRBY", ["t", "a", "41"]),
            Command("HGETALL", ["t"]),
        ])
        guard case .success(let replies) = result else { Issue.record("aborted"); return }
        #expect(replies[1] == .integer(2))
        #expect(replies[2] == .integer(42))
        #expect(pairs(replies[3]) == ["a": "42", "b": "2"])
    }

    @Test func largeHashRoundTrip() {
        let h = HashHarness()
        for i in 0..<10_000 { h.run("HSET", "big", "k\(i)", "v\(i)") }
        #expect(h.run("HLEN", "big") == .integer(10_000))
        for i in stride(from: 0, to: 10_000, by: 7) { #expect(h.run("HGET", "big", "k\(i)") == bulk("v\(i)")) }
        #expect(pairs(h.run("HGETALL", "big"))?.count == 10_000)
        var del: [Bytes] = ["HDEL", "big"]
        for i in 0..<5000 { del.append(Bytes("k\(i * 2)")) }
        #expect(h.run(del) == .integer(5000))
        #expect(h.run("HLEN", "big") == .integer(5000))
        #expect(h.run("HEXISTS", "big", "k2") == .integer(0))
        #expect(h.run("HEXISTS", "big", "k3") == .integer(1))
    }
}
