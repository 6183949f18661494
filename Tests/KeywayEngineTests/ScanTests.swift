import Testing
import KeywayEngine

/// SCAN cursor [MATCH pattern] [COUNT n] [TYPE type] (db.c scanGenericCommand).
@Suite struct ScanTests {
    let engine: Engine
    let clock: ManualClock

    init() { (engine, clock) = makeEngine() }

    /// One SCAN call: the next cursor and the keys of this batch.
    private func scan(_ cursor: Bytes, _ options: [Bytes] = []) -> (cursor: Bytes, keys: [Bytes])? {
        guard let parts = engine.run(["SCAN", cursor] + options).arrayValue, parts.count == 2,
              let next = parts[0].bytesValue, let batch = parts[1].arrayValue else { return nil }
        return (next, batch.compactMap(\.bytesValue))
    }

    /// A full iteration: every key returned, in order, duplicates kept.
    private func scanAll(_ options: [Bytes] = []) -> [Bytes] {
        var cursor: Bytes = "0"
        var keys: [Bytes] = []
        for _ in 0..<1_000_000 {
            guard let step = scan(cursor, options) else {
                Issue.record("SCAN \(cursor) did not reply [cursor, [keys]]")
                return keys
            }
            keys += step.keys
            cursor = step.cursor
            if cursor == "0" { return keys }
        }
        Issue.record("SCAN never returned cursor 0")
        return keys
    }

    @Test(arguments: [0, 1, 10, 10_000])
    func fullIterationReturnsEveryKeyExactlyOnce(_ count: Int) {
        let expected = (0..<count).map { Bytes("key:\($0)") }
        for key in expected { engine.run("SET", key, "v") }
        let found = scanAll()
        #expect(found.count == count)
        #expect(Set(found) == Set(expected))
    }

    @Test func replyShape() {
        #expect(engine.run("SCAN", "0") == .array([.bulk("0"), .array([])]))
        engine.run("SET", "k", "v")
        #expect(engine.run("SCAN", "0") == .array([.bulk("0"), .array([.bulk("k")])]))
    }

    /// Client code that reads one page of a small keyspace finds every key:
    /// up to the default COUNT of 10, the first call returns them all.
    @Test func aHandfulOfKeysComeBackInTheFirstCall() {
        for i in 0..<10 { engine.run("SET", Bytes("user:session:\(i)"), "v") }
        let step = scan("0", [])
        #expect(step?.cursor == "0")
        #expect(Set(step?.keys ?? []).count == 10)
    }

    @Test func countLargeEnoughReturnsEverythingAtOnce() {
        for i in 0..<100 { engine.run("SET", Bytes("k\(i)"), "v") }
        let step = scan("0", ["COUNT", "1000"])
        #expect(step?.cursor == "0")
        #expect(step?.keys.count == 100)
        // Any positive 64-bit COUNT is accepted.
        let huge = scan("0", ["COUNT", "9223372036854775807"])
        #expect(huge?.cursor == "0")
        #expect(huge?.keys.count == 100)
    }

    @Test func smallCountsStillCoverEverything() {
        for i in 0..<50 { engine.run("SET", Bytes("k\(i)"), "v") }
        let found = scanAll(["COUNT", "1"])
        #expect(found.count == 50)
        #expect(Set(found).count == 50)
        // With COUNT 1 the work is split over many calls.
        #expect(scan("0", ["COUNT", "1"])?.cursor != "0")
    }

    @Test func matchFiltersByGlob() {
        for i in 0..<100 {
            engine.run("SET", Bytes("user:\(i)"), "v")
            engine.run("SET", Bytes("order:\(i)"), "v")
        }
        let users = scanAll(["MATCH", "user:*"])
        #expect(users.count == 100)
        #expect(users.allSatisfy { $0.text.hasPrefix("user:") })
        #expect(Set(scanAll(["MATCH", "user:1?"])) == Set((10..<20).map { Bytes("user:\($0)") }))
        #expect(scanAll(["MATCH", "nothing*"]).isEmpty)
        #expect(scanAll(["MATCH", "*"]).count == 200)
        #expect(scanAll(["match", "order:[0-4]", "count", "7"]).count == 5)
    }

    @Test func typeFilter() {
        for i in 0..<20 { engine.run("SET", Bytes("s\(i)"), "v") }
        #expect(scanAll(["TYPE", "string"]).count == 20)
        #expect(scanAll(["TYPE", "STRING"]).count == 20)
        #expect(scanAll(["TYPE", "hash"]).isEmpty)
        // Redis 7 ignores an unknown type name: nothing matches it.
        #expect(scanAll(["TYPE", "nosuchtype"]).isEmpty)
        #expect(scanAll(["TYPE", "string", "MATCH", "s1*", "COUNT", "3"]).count == 11)
    }

    @Test func expiredKeysAreNotReturned() {
        engine.run("SET", "live", "v")
        engine.run("SET", "dying", "v", "PX", "10")
        clock.advance(milliseconds: 11)
        #expect(scanAll() == ["live"])
    }

    @Test func keysPresentForTheWholeScanAreReturnedDespiteChurn() {
        let stable = (0..<500).map { Bytes("stable:\($0)") }
        var churn = (0..<500).map { Bytes("churn:\($0)") }
        for key in stable + churn { engine.run("SET", key, "v") }

        var seen: [Bytes: Int] = [:]
        var cursor: Bytes = "0"
        var step = 0
        repeat {
            guard let reply = scan(cursor, ["COUNT", "7"]) else {
                Issue.record("bad SCAN reply")
                return
            }
            for key in reply.keys { seen[key, default: 0] += 1 }
            cursor = reply.cursor
            // Between calls: delete three churning keys, add five new ones.
            if step < 300 {
                for _ in 0..<3 where !churn.isEmpty {
                    engine.run("DEL", churn.removeFirst())
                }
                for j in 0..<5 { engine.run("SET", Bytes("new:\(step):\(j)"), "v") }
            }
            step += 1
        } while cursor != "0" && step < 100_000

        #expect(cursor == "0")
        let missing = stable.filter { seen[$0] == nil }
        #expect(missing.isEmpty, "stable keys never returned: \(missing.prefix(5))")
    }

    @Test func keysOverwrittenMidScanAreStillReturned() {
        let keys = (0..<200).map { Bytes("k\($0)") }
        for key in keys { engine.run("SET", key, "v") }
        var seen = Set<Bytes>()
        var cursor: Bytes = "0"
        repeat {
            guard let reply = scan(cursor, ["COUNT", "5"]) else { return }
            seen.formUnion(reply.keys)
            cursor = reply.cursor
            // Rewriting values (and TTLs) must not move keys around.
            for key in keys.shuffled().prefix(10) { engine.run("SET", key, "w", "EX", "100") }
            engine.run("INCR", "counter")
        } while cursor != "0"
        #expect(seen.isSuperset(of: keys))
    }

    @Test(arguments: ["abc", "1x", " 1", "1 ", "-", "0.5", "99999999999999999999999"])
    func invalidCursor(_ cursor: String) {
        engine.run("SET", "k", "v")
        #expect(engine.run("SCAN", Bytes(cursor)).errorMessage == "ERR invalid cursor")
    }

    @Test func invalidOptions() {
        #expect(engine.run("SCAN", "0", "COUNT", "0").errorMessage == RedisError.syntax)
        #expect(engine.run("SCAN", "0", "COUNT", "-1").errorMessage == RedisError.syntax)
        #expect(engine.run("SCAN", "0", "COUNT", "ten").errorMessage == RedisError.notInteger)
        #expect(engine.run("SCAN", "0", "COUNT").errorMessage == RedisError.syntax)
        #expect(engine.run("SCAN", "0", "MATCH").errorMessage == RedisError.syntax)
        #expect(engine.run("SCAN", "0", "TYPE").errorMessage == RedisError.syntax)
        #expect(engine.run("SCAN", "0", "LIMIT", "10").errorMessage == RedisError.syntax)
    }
}
