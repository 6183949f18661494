import KeywayEngine
import Testing

/// Runs set commands against a fresh engine under a manual clock and reads
/// replies in the shapes the set tests need.
private final class SetFixture {
    let clock = ManualClock()
    let engine: Engine
    /// Every `(key, event)` the write path reported, in order.
    private(set) var events: [(key: String, event: String)] = []

    init() {
        engine = Engine(clock: clock)
        engine.withDatabase { db, _ in
            db.writeObservers.append { [unowned self] key, event in self.events.append((key.text, event)) }
        }
    }

    @discardableResult
    func run(_ words: String...) -> Reply { engine.execute(Command(words.map { Bytes($0) })) }

    func run(_ arguments: [Bytes]) -> Reply { engine.execute(Command(arguments)) }

    func clearEvents() { events.removeAll() }
    var eventList: [String] { events.map { "\($0.event) \($0.key)" } }

    /// Adds members in one SADD.
    func fill(_ key: String, _ members: [String]) {
        _ = run([Bytes("SADD"), Bytes(key)] + members.map { Bytes($0) })
    }

    func members(_ key: String) -> Set<String> { texts(run("SMEMBERS", key)) }
}

/// The bulk strings of an array reply as a Swift set (order is not part of
/// set semantics); fails the test when the reply is something else.
private func texts(_ reply: Reply, sourceLocation: SourceLocation = #_sourceLocation) -> Set<String> {
    Set(list(reply, sourceLocation: sourceLocation))
}

/// The bulk strings of an array reply in order, duplicates kept.
private func list(_ reply: Reply, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
    guard case .array(let items) = reply else {
        Issue.record("expected an array, got \(reply)", sourceLocation: sourceLocation)
        return []
    }
    return items.compactMap { item in
        guard case .bulk(let bytes) = item else {
            Issue.record("expected bulk strings, got \(item)", sourceLocation: sourceLocation)
            return nil
        }
        return bytes.text
    }
}

private func error(_ message: String) -> Reply {
    let code: ErrorCode = message.hasPrefix("WRONGTYPE") ? .wrongType : .generic
    return .error(CommandError(code, message))
}

private func errorText(_ reply: Reply) -> String? {
    if case .error(let error) = reply { return error.message }
    return nil
}


private func numbered(_ prefix: String, _ range: Range<Int>) -> [String] { range.map { "\(prefix)\($0)" } }

@Suite struct SetCommandsTests {
    // MARK: - SADD, SREM, SISMEMBER, SMISMEMBER, SMEMBERS, SCARD

    @Test func saddCountsOnlyNewMembers() {
        let f = SetFixture()
        #expect(f.run("SADD", "s", "a", "b", "a") == .integer(2))
        #expect(f.run("SADD", "s", "b", "c") == .integer(1))
        #expect(f.run("SADD", "s", "a") == .integer(0))
        #expect(f.run("SCARD", "s") == .integer(3))
        #expect(f.members("s") == ["a", "b", "c"])
        #expect(f.run("TYPE", "s") == .status("set"))
    }

    @Test func membershipQueries() {
        let f = SetFixture()
        f.fill("s", ["a", "b"])
        #expect(f.run("SISMEMBER", "s", "a") == .integer(1))
        #expect(f.run("SISMEMBER", "s", "z") == .integer(0))
        #expect(f.run("SISMEMBER", "missing", "a") == .integer(0))
        #expect(f.run("SMISMEMBER", "s", "a", "z", "b", "a") == .array([.integer(1), .integer(0), .integer(1), .integer(1)]))
        #expect(f.run("SMISMEMBER", "missing", "a", "b") == .array([.integer(0), .integer(0)]))
        #expect(f.run("SMEMBERS", "missing") == .array([]))
        #expect(f.run("SCARD", "missing") == .integer(0))
    }

    @Test func sremRemovesAndDeletesTheEmptiedKey() {
        let f = SetFixture()
        f.fill("s", ["a", "b", "c"])
        #expect(f.run("SREM", "s", "a", "z", "a") == .integer(1))
        #expect(f.members("s") == ["b", "c"])
        #expect(f.run("SREM", "s", "b", "c", "d") == .integer(2))
        #expect(f.run("EXISTS", "s") == .integer(0))
        #expect(f.run("SREM", "s", "a") == .integer(0))
        #expect(f.run("SREM", "missing", "a") == .integer(0))
    }

    @Test func binaryMembersAreExact() {
        let f = SetFixture()
        let odd = Bytes([0, 255, 0x80, 10])
        let nul = Bytes([0])
        #expect(f.run([Bytes("SADD"), "bin", odd, nul, Bytes()]) == .integer(3))
        #expect(f.run([Bytes("SISMEMBER"), "bin", odd]) == .integer(1))
        #expect(f.run([Bytes("SISMEMBER"), "bin", Bytes([0, 255])]) == .integer(0))
        #expect(f.run([Bytes("SISMEMBER"), "bin", Bytes()]) == .integer(1))
        guard case .array(let members) = f.run("SMEMBERS", "bin") else { Issue.record("no array"); return }
        #expect(Set(members.compactMap { if case .bulk(let b) = $0 { return b } else { return nil } }) == [odd, nul, Bytes()])
    }

    @Test func everySetCommandRefusesOtherTypes() {
        let f = SetFixture()
        f.run("SET", "str", "v")
        f.fill("s", ["a"])
        let commands: [[String]] = [
            ["SADD", "str", "a"], ["SREM", "str", "a"], ["SISMEMBER", "str", "a"], ["SMISMEMBER", "str", "a"],
            ["SMEMBERS", "str"], ["SCARD", "str"], ["SPOP", "str"], ["SPOP", "str", "2"], ["SPOP", "str", "0"],
            ["SRANDMEMBER", "str"], ["SRANDMEMBER", "str", "2"], ["SRANDMEMBER", "str", "-2"],
            ["SMOVE", "str", "s", "a"], ["SMOVE", "s", "str", "a"],
            ["SINTER", "s", "str"], ["SINTER", "missing", "str"], ["SUNION", "s", "str"], ["SDIFF", "s", "str"],
            ["SDIFF", "str", "s"], ["SDIFF", "missing", "str"],
            ["SINTERSTORE", "d", "s", "str"], ["SUNIONSTORE", "d", "str"], ["SDIFFSTORE", "d", "s", "str"],
            ["SINTERCARD", "2", "missing", "str"], ["SSCAN", "str", "0"],
        ]
        for command in commands {
            #expect(f.run(command.map { Bytes($0) }) == error(wrongType), "\(command)")
        }
        #expect(f.run("GET", "str") == .bulk("v"))
        #expect(f.run("EXISTS", "d") == .integer(0))
    }

    @Test func arityIsRedis() {
        let f = SetFixture()
        for (command, name) in [(["SADD", "s"], "sadd"), (["SREM", "s"], "srem"), (["SISMEMBER", "s"], "sismember"),
                                (["SISMEMBER", "s", "a", "b"], "sismember"), (["SMISMEMBER", "s"], "smismember"),
                                (["SMEMBERS"], "smembers"), (["SCARD", "a", "b"], "scard"), (["SPOP"], "spop"),
                                (["SRANDMEMBER"], "srandmember"), (["SMOVE", "a", "b"], "smove"), (["SINTER"], "sinter"),
                                (["SUNION"], "sunion"), (["SDIFF"], "sdiff"), (["SINTERSTORE", "d"], "sinterstore"),
                                (["SUNIONSTORE", "d"], "sunionstore"), (["SDIFFSTORE", "d"], "sdiffstore"),
                                (["SINTERCARD", "1"], "sintercard"), (["SSCAN", "s"], "sscan")] {
            #expect(errorText(f.run(command.map { Bytes($0) })) == "ERR wrong number of arguments for '\(name)' command")
        }
    }

    @Test func expiredSetIsGoneForReadsAndRecreatedByWrites() {
        let f = SetFixture()
        f.fill("s", ["a", "b"])
        #expect(f.run("PEXPIRE", "s", "100") == .integer(1))
        f.clock.advance(milliseconds: 101)
        #expect(f.run("SCARD", "s") == .integer(0))
        #expect(f.run("SADD", "s", "c") == .integer(1))
        #expect(f.members("s") == ["c"])
        #expect(f.run("PTTL", "s") == .integer(-1))
    }

    // MARK: - SPOP

    @Test func spopWithoutCount() {
        let f = SetFixture()
        f.fill("s", ["a", "b", "c"])
        var popped: Set<String> = []
        for _ in 0..<3 {
            guard case .bulk(let member) = f.run("SPOP", "s") else { Issue.record("no member"); return }
            popped.insert(member.text)
        }
        #expect(popped == ["a", "b", "c"])
        #expect(f.run("EXISTS", "s") == .integer(0))
        #expect(f.run("SPOP", "s") == .null)
    }

    @Test func spopWithCount() {
        let f = SetFixture()
        let all = numbered("m", 0..<10)
        f.fill("s", all)
        let first = list(f.run("SPOP", "s", "4"))
        #expect(first.count == 4)
        #expect(Set(first).count == 4)
        #expect(Set(first).isSubset(of: Set(all)))
        #expect(f.members("s") == Set(all).subtracting(first))
        #expect(f.run("SPOP", "s", "0") == .array([]))
        #expect(f.run("SCARD", "s") == .integer(6))
        // A count beyond the size takes everything and deletes the key.
        let rest = list(f.run("SPOP", "s", "100"))
        #expect(Set(rest) == Set(all).subtracting(first))
        #expect(rest.count == 6)
        #expect(f.run("EXISTS", "s") == .integer(0))
        #expect(f.run("SPOP", "s", "3") == .array([]))
        #expect(f.run("SPOP", "s", "0") == .array([]))
    }

    @Test func spopCountErrors() {
        let f = SetFixture()
        f.fill("s", ["a"])
        #expect(errorText(f.run("SPOP", "s", "-1")) == "ERR value is out of range, must be positive")
        #expect(errorText(f.run("SPOP", "missing", "-1")) == "ERR value is out of range, must be positive")
        #expect(f.run("SPOP", "s", "x") == .error(.notInteger))
        #expect(f.run("SPOP", "s", "1.5") == .error(.notInteger))
        #expect(f.run("SPOP", "s", "1", "2") == .error(.syntax))
        #expect(f.run("SCARD", "s") == .integer(1))
    }

    @Test func spopDrainsALargeSetInBatchesWithoutRepeats() {
        let f = SetFixture()
        let all = numbered("member:", 0..<10_000)
        f.fill("big", all)
        var seen: Set<String> = []
        var total = 0
        for _ in 0..<9 {
            let batch = list(f.run("SPOP", "big", "1000"))
            #expect(batch.count == 1000)
            total += batch.count
            seen.formUnion(batch)
        }
        // Single pops on what remains after the map has become mostly holes.
        for _ in 0..<500 {
            guard case .bulk(let member) = f.run("SPOP", "big") else { Issue.record("no member"); return }
            total += 1
            seen.insert(member.text)
        }
        #expect(f.run("SCARD", "big") == .integer(500))
        let last = list(f.run("SPOP", "big", "500"))
        total += last.count
        seen.formUnion(last)
        #expect(total == 10_000)
        #expect(seen == Set(all))
        #expect(f.run("EXISTS", "big") == .integer(0))
    }

    // MARK: - SRANDMEMBER

    @Test func srandmemberWithoutCount() {
        let f = SetFixture()
        f.fill("s", ["a", "b", "c"])
        for _ in 0..<20 {
            guard case .bulk(let member) = f.run("SRANDMEMBER", "s") else { Issue.record("no member"); return }
            #expect(["a", "b", "c"].contains(member.text))
        }
        #expect(f.run("SCARD", "s") == .integer(3))
        #expect(f.run("SRANDMEMBER", "missing") == .null)
    }

    @Test func srandmemberPositiveCountIsDistinct() {
        let f = SetFixture()
        let all = numbered("m", 0..<20)
        f.fill("s", all)
        for count in [1, 5, 7, 19] {
            let picked = list(f.run("SRANDMEMBER", "s", String(count)))
            #expect(picked.count == count)
            #expect(Set(picked).count == count)
            #expect(Set(picked).isSubset(of: Set(all)))
        }
        let everything = list(f.run("SRANDMEMBER", "s", "20"))
        #expect(everything.count == 20 && Set(everything) == Set(all))
        let beyond = list(f.run("SRANDMEMBER", "s", "1000"))
        #expect(beyond.count == 20 && Set(beyond) == Set(all))
        #expect(f.run("SRANDMEMBER", "s", "0") == .array([]))
        #expect(f.run("SRANDMEMBER", "missing", "5") == .array([]))
        #expect(f.run("SRANDMEMBER", "missing", "-5") == .array([]))
        #expect(f.run("SCARD", "s") == .integer(20))
    }

    @Test func srandmemberNegativeCountRepeats() {
        let f = SetFixture()
        f.fill("one", ["x"])
        #expect(list(f.run("SRANDMEMBER", "one", "-5")) == ["x", "x", "x", "x", "x"])
        f.fill("s", numbered("m", 0..<10))
        // Independent picks: every member shows up near its expected share.
        let picks = list(f.run("SRANDMEMBER", "s", "-10000"))
        #expect(picks.count == 10_000)
        var tally: [String: Int] = [:]
        for pick in picks { tally[pick, default: 0] += 1 }
        #expect(Set(tally.keys) == Set(numbered("m", 0..<10)))
        for (member, hits) in tally {
            #expect((700...1300).contains(hits), "\(member) picked \(hits) times of 10000")
        }
    }

    @Test func srandmemberCountErrorsAndLimits() {
        let f = SetFixture()
        f.fill("s", ["a"])
        #expect(errorText(f.run("SRANDMEMBER", "s", "-9223372036854775808"))
                == "ERR value is out of range, must be between -9223372036854775807 and 9223372036854775807")
        #expect(errorText(f.run("SRANDMEMBER", "s", "-9223372036854775807"))
                == "ERR value is out of range, must be between -1048576 and 9223372036854775807")
        #expect(f.run("SRANDMEMBER", "s", "-1048576").arrayValue?.count == 1_048_576)
        #expect(errorText(f.run("SRANDMEMBER", "s", "-67108864"))
                == "ERR value is out of range, must be between -1048576 and 9223372036854775807")
        #expect(f.run("SRANDMEMBER", "s", "9223372036854775807") == .array([.bulk("a")]))
        #expect(f.run("SRANDMEMBER", "s", "9223372036854775808") == .error(.notInteger))
        #expect(f.run("SRANDMEMBER", "s", "abc") == .error(.notInteger))
        #expect(f.run("SRANDMEMBER", "s", "1", "2") == .error(.syntax))
        // The count is checked before the key, as in Redis.
        #expect(f.run("SRANDMEMBER", "missing", "abc") == .error(.notInteger))
    }

    @Test func srandmemberOnALargeSet() {
        let f = SetFixture()
        let all = Set(numbered("e", 0..<10_000))
        f.fill("big", Array(all))
        for count in [10, 3_000, 5_000, 9_999] {
            let picked = list(f.run("SRANDMEMBER", "big", String(count)))
            #expect(picked.count == count)
            #expect(Set(picked).count == count)
            #expect(Set(picked).isSubset(of: all))
        }
        let repeated = list(f.run("SRANDMEMBER", "big", "-20000"))
        #expect(repeated.count == 20_000)
        #expect(Set(repeated).isSubset(of: all))
        // Pick after heavy removal: still members only.
        _ = f.run("SPOP", "big", "9900")
        let survivors = f.members("big")
        #expect(survivors.count == 100)
        for _ in 0..<50 {
            guard case .bulk(let member) = f.run("SRANDMEMBER", "big") else { Issue.record("no member"); return }
            #expect(survivors.contains(member.text))
        }
    }

    // MARK: - SMOVE

    @Test func smoveMovesOneMember() {
        let f = SetFixture()
        f.fill("src", ["a", "b"])
        f.fill("dst", ["c"])
        #expect(f.run("SMOVE", "src", "dst", "a") == .integer(1))
        #expect(f.members("src") == ["b"])
        #expect(f.members("dst") == ["a", "c"])
        #expect(f.run("SMOVE", "src", "dst", "zzz") == .integer(0))
        // Already in the destination: still moved out of the source.
        f.fill("src", ["c"])
        #expect(f.run("SMOVE", "src", "dst", "c") == .integer(1))
        #expect(f.members("src") == ["b"])
        #expect(f.members("dst") == ["a", "c"])
        // Emptying the source deletes it; a missing destination is created.
        #expect(f.run("SMOVE", "src", "fresh", "b") == .integer(1))
        #expect(f.run("EXISTS", "src") == .integer(0))
        #expect(f.members("fresh") == ["b"])
    }

    @Test func smoveEdgeCases() {
        let f = SetFixture()
        f.run("SET", "str", "v")
        f.fill("s", ["a"])
        // A missing source answers 0 before the destination's type matters.
        #expect(f.run("SMOVE", "missing", "str", "a") == .integer(0))
        #expect(f.run("SMOVE", "missing", "s", "a") == .integer(0))
        #expect(f.run("SMOVE", "s", "str", "a") == error(wrongType))
        #expect(f.run("SMOVE", "str", "s", "a") == error(wrongType))
        #expect(f.members("s") == ["a"])
        // Same key: 1 when a member, 0 otherwise, nothing changes.
        f.clearEvents()
        #expect(f.run("SMOVE", "s", "s", "a") == .integer(1))
        #expect(f.run("SMOVE", "s", "s", "b") == .integer(0))
        #expect(f.members("s") == ["a"])
        #expect(f.events.isEmpty)
    }

    // MARK: - SINTER, SUNION, SDIFF

    @Test func algebraOnSmallSets() {
        let f = SetFixture()
        f.fill("a", ["1", "2", "3", "4"])
        f.fill("b", ["2", "3", "5"])
        f.fill("c", ["3", "6", "2"])
        #expect(texts(f.run("SINTER", "a", "b", "c")) == ["2", "3"])
        #expect(texts(f.run("SINTER", "a")) == ["1", "2", "3", "4"])
        #expect(texts(f.run("SINTER", "a", "a")) == ["1", "2", "3", "4"])
        #expect(f.run("SINTER", "a", "missing") == .array([]))
        #expect(texts(f.run("SUNION", "a", "b", "c")) == ["1", "2", "3", "4", "5", "6"])
        #expect(texts(f.run("SUNION", "missing", "b")) == ["2", "3", "5"])
        #expect(f.run("SUNION", "missing") == .array([]))
        #expect(texts(f.run("SDIFF", "a", "b")) == ["1", "4"])
        #expect(texts(f.run("SDIFF", "a", "b", "c")) == ["1", "4"])
        #expect(texts(f.run("SDIFF", "a", "missing")) == ["1", "2", "3", "4"])
        #expect(f.run("SDIFF", "missing", "a") == .array([]))
        #expect(f.run("SDIFF", "a", "a") == .array([]))
        // Replies carry each member once.
        #expect(list(f.run("SUNION", "a", "b", "c")).count == 6)
    }

    @Test func algebraOnLargeSets() {
        let f = SetFixture()
        // evens: 0, 2, ..., 19998; threes: 0, 3, ..., 29997 (10_000 each).
        f.fill("evens", (0..<10_000).map { String($0 * 2) })
        f.fill("threes", (0..<10_000).map { String($0 * 3) })
        f.fill("small", ["0", "6", "7", "30000"])
        let evens = Set((0..<10_000).map { $0 * 2 })
        let threes = Set((0..<10_000).map { $0 * 3 })
        func numbers(_ reply: Reply) -> Set<Int> { Set(texts(reply).compactMap { Int($0) }) }
        #expect(numbers(f.run("SINTER", "evens", "threes")) == evens.intersection(threes))
        #expect(numbers(f.run("SINTER", "evens", "threes", "small")) == [0, 6])
        #expect(numbers(f.run("SUNION", "evens", "threes")) == evens.union(threes))
        #expect(numbers(f.run("SDIFF", "evens", "threes")) == evens.subtracting(threes))
        #expect(numbers(f.run("SDIFF", "small", "evens", "threes")) == [7, 30000])
        #expect(f.run("SINTERCARD", "2", "evens", "threes") == .integer(Int64(evens.intersection(threes).count)))
        #expect(f.run("SINTERCARD", "2", "evens", "threes", "LIMIT", "100") == .integer(100))
        #expect(f.run("SUNIONSTORE", "u", "evens", "threes") == .integer(Int64(evens.union(threes).count)))
        #expect(f.run("SDIFFSTORE", "d", "threes", "evens") == .integer(Int64(threes.subtracting(evens).count)))
        #expect(numbers(f.run("SMEMBERS", "d")) == threes.subtracting(evens))
    }

    // MARK: - STORE forms

    @Test func storeReplacesTheDestinationWhateverItHeld() {
        let f = SetFixture()
        f.fill("a", ["x", "y", "z"])
        f.fill("b", ["y", "z", "w"])
        f.run("SET", "dest", "a string", "EX", "100")
        #expect(f.run("SINTERSTORE", "dest", "a", "b") == .integer(2))
        #expect(f.run("TYPE", "dest") == .status("set"))
        #expect(f.members("dest") == ["y", "z"])
        #expect(f.run("TTL", "dest") == .integer(-1))
        #expect(f.run("SUNIONSTORE", "dest", "a", "b") == .integer(4))
        #expect(f.members("dest") == ["w", "x", "y", "z"])
        #expect(f.run("SDIFFSTORE", "dest", "a", "b") == .integer(1))
        #expect(f.members("dest") == ["x"])
        // The destination may be one of the sources.
        #expect(f.run("SUNIONSTORE", "a", "a", "b") == .integer(4))
        #expect(f.members("a") == ["w", "x", "y", "z"])
        // Sources are left alone.
        #expect(f.members("b") == ["y", "z", "w"])
    }

    @Test func emptyResultDeletesTheDestination() {
        let f = SetFixture()
        f.fill("a", ["x"])
        f.fill("b", ["y"])
        for command in ["SINTERSTORE", "SDIFFSTORE"] {
            f.run("SET", "dest", "old")
            #expect(f.run(command, "dest", "a", command == "SDIFFSTORE" ? "a" : "b") == .integer(0))
            #expect(f.run("EXISTS", "dest") == .integer(0))
        }
        f.run("SET", "dest", "old")
        #expect(f.run("SUNIONSTORE", "dest", "nothing", "nada") == .integer(0))
        #expect(f.run("EXISTS", "dest") == .integer(0))
        #expect(f.run("SINTERSTORE", "dest", "a", "missing") == .integer(0))
        #expect(f.run("EXISTS", "dest") == .integer(0))
    }

    @Test func storeWithANonSetSourceChangesNothing() {
        let f = SetFixture()
        f.fill("a", ["x"])
        f.fill("dest", ["keep"])
        f.run("SET", "str", "v")
        #expect(f.run("SUNIONSTORE", "dest", "a", "str") == error(wrongType))
        #expect(f.run("SINTERSTORE", "dest", "missing", "str") == error(wrongType))
        #expect(f.members("dest") == ["keep"])
    }

    // MARK: - SINTERCARD

    @Test func sintercardCountsAndLimits() {
        let f = SetFixture()
        f.fill("a", ["1", "2", "3", "4"])
        f.fill("b", ["2", "3", "4", "5"])
        #expect(f.run("SINTERCARD", "2", "a", "b") == .integer(3))
        #expect(f.run("SINTERCARD", "1", "a") == .integer(4))
        #expect(f.run("SINTERCARD", "2", "a", "b", "LIMIT", "2") == .integer(2))
        #expect(f.run("SINTERCARD", "2", "a", "b", "limit", "0") == .integer(3))
        #expect(f.run("SINTERCARD", "2", "a", "b", "LIMIT", "10") == .integer(3))
        #expect(f.run("SINTERCARD", "2", "a", "missing") == .integer(0))
        #expect(f.run("SINTERCARD", "2", "a", "b", "LIMIT", "1", "LIMIT", "3") == .integer(3))
    }

    @Test func sintercardErrors() {
        let f = SetFixture()
        f.fill("a", ["1"])
        #expect(errorText(f.run("SINTERCARD", "0", "a")) == "ERR numkeys should be greater than 0")
        #expect(errorText(f.run("SINTERCARD", "-1", "a")) == "ERR numkeys should be greater than 0")
        #expect(errorText(f.run("SINTERCARD", "x", "a")) == "ERR numkeys should be greater than 0")
        #expect(errorText(f.run("SINTERCARD", "3", "a", "b")) == "ERR Number of keys can't be greater than number of args")
        #expect(errorText(f.run("SINTERCARD", "1", "a", "LIMIT", "-1")) == "ERR LIMIT can't be negative")
        #expect(errorText(f.run("SINTERCARD", "1", "a", "LIMIT", "x")) == "ERR LIMIT can't be negative")
        #expect(f.run("SINTERCARD", "1", "a", "b") == .error(.syntax))
        #expect(f.run("SINTERCARD", "1", "a", "LIMIT") == .error(.syntax))
        #expect(f.run("SINTERCARD", "1", "a", "COUNT", "1") == .error(.syntax))
    }

    // MARK: - SSCAN

    /// Walks a whole SSCAN, returning every member seen (with repeats).
    private func scanAll(_ f: SetFixture, _ key: String, _ options: [String] = [], between: (() -> Void)? = nil) -> [String] {
        var cursor = "0"
        var seen: [String] = []
        var steps = 0
        repeat {
            let reply = f.run([Bytes("SSCAN"), Bytes(key), Bytes(cursor)] + options.map { Bytes($0) })
            guard case .array(let parts) = reply, parts.count == 2, case .bulk(let next) = parts[0] else {
                Issue.record("bad SSCAN reply \(reply)")
                return seen
            }
            seen += list(parts[1])
            cursor = next.text
            steps += 1
            between?()
        } while cursor != "0" && steps < 100_000
        return seen
    }

    @Test func sscanVisitsEveryMemberOnce() {
        let f = SetFixture()
        f.fill("small", ["a", "b", "c"])
        #expect(Set(scanAll(f, "small")) == ["a", "b", "c"])
        let all = numbered("k", 0..<10_000)
        f.fill("big", all)
        let seen = scanAll(f, "big", ["COUNT", "100"])
        #expect(seen.count == 10_000)
        #expect(Set(seen) == Set(all))
        // COUNT bounds a step's work.
        guard case .array(let parts) = f.run("SSCAN", "big", "0", "COUNT", "50"), case .bulk(let cursor) = parts[0] else {
            Issue.record("no reply")
            return
        }
        #expect(cursor != Bytes("0"))
        #expect(list(parts[1]).count == 50)
    }

    @Test func sscanMatch() {
        let f = SetFixture()
        f.fill("s", numbered("user:", 0..<300) + numbered("post:", 0..<300))
        let users = scanAll(f, "s", ["MATCH", "user:*", "COUNT", "37"])
        #expect(Set(users) == Set(numbered("user:", 0..<300)))
        #expect(users.count == 300)
        #expect(Set(scanAll(f, "s", ["MATCH", "post:1?"])) == Set(numbered("post:", 10..<20)))
        #expect(scanAll(f, "s", ["MATCH", "nothing*"]).isEmpty)
    }

    @Test func sscanKeepsItsPromiseWhileTheSetChanges() {
        let f = SetFixture()
        let stable = numbered("stable", 0..<2_000)
        f.fill("s", stable + numbered("gone", 0..<2_000))
        var removed = 0
        var added = 0
        let seen = scanAll(f, "s", ["COUNT", "64"]) {
            // Between steps, remove members that were there at the start and
            // add new ones; members present throughout must all be seen.
            if removed < 2_000 {
                f.run("SREM", "s", "gone\(removed)", "gone\(removed + 1)")
                removed += 2
            }
            f.run("SADD", "s", "new\(added)")
            added += 1
        }
        #expect(Set(stable).isSubset(of: Set(seen)))
        #expect(seen.filter { $0.hasPrefix("stable") }.count == 2_000)
    }

    @Test func sscanErrorsAndEdges() {
        let f = SetFixture()
        f.fill("s", ["a"])
        #expect(f.run("SSCAN", "s", "abc") == .error(.invalidCursor))
        #expect(f.run("SSCAN", "s", "-1") == .error(.invalidCursor))
        #expect(f.run("SSCAN", "missing", "x") == .error(.invalidCursor))
        #expect(f.run("SSCAN", "s", "0", "COUNT", "0") == .error(.syntax))
        #expect(f.run("SSCAN", "s", "0", "COUNT", "x") == .error(.notInteger))
        #expect(f.run("SSCAN", "s", "0", "COUNT") == .error(.syntax))
        #expect(f.run("SSCAN", "s", "0", "TYPE", "set") == .error(.syntax))
        #expect(f.run("SSCAN", "missing", "0") == .array([.bulk("0"), .array([])]))
        #expect(f.run("SSCAN", "s", "0") == .array([.bulk("0"), .array([.bulk("a")])]))
        // A small set comes back whole whatever the cursor, as Redis answers
        // for a listpack; past the end of a large one, nothing is left.
        #expect(f.run("SSCAN", "s", "999999") == .array([.bulk("0"), .array([.bulk("a")])]))
        f.fill("large", (0..<200).map { "m\($0)" })
        #expect(f.run("SSCAN", "large", "999999") == .array([.bulk("0"), .array([])]))
    }

    // MARK: - Keyspace events

    @Test func keyspaceEventsUseRedisNames() {
        let f = SetFixture()
        f.run("SADD", "a", "1", "2")
        f.run("SADD", "a", "1")
        f.run("SREM", "a", "nope")
        f.run("SREM", "a", "2")
        #expect(f.eventList == ["sadd a", "srem a"])
        f.clearEvents()
        f.fill("b", ["1", "9"])
        f.run("SMOVE", "a", "b", "1")
        // The emptied source is deleted too.
        #expect(f.eventList == ["sadd b", "srem a", "del a"])
        f.clearEvents()
        f.run("SPOP", "b")
        f.run("SPOP", "b", "0")
        #expect(f.eventList == ["spop b"])
        f.run("SPOP", "b")
        f.fill("p", ["1", "2"])
        f.run("SPOP", "p", "2")
        f.fill("r", ["1", "2"])
        f.run("SREM", "r", "1", "2", "3")
        // The command's event comes first, then del, as in Redis.
        #expect(f.eventList == ["spop b", "spop b", "del b", "sadd p", "spop p", "del p", "sadd r", "srem r", "del r"])
        f.clearEvents()
        f.fill("c", ["1", "2"])
        f.fill("d", ["2", "3"])
        f.run("SINTERSTORE", "i", "c", "d")
        f.run("SUNIONSTORE", "u", "c", "d")
        f.run("SDIFFSTORE", "x", "c", "d")
        f.run("SDIFFSTORE", "x", "c", "c")
        f.run("SDIFFSTORE", "never", "c", "c")
        #expect(f.eventList == ["sadd c", "sadd d", "sinterstore i", "sunionstore u", "sdiffstore x", "del x"])
        f.clearEvents()
        f.run("SISMEMBER", "c", "1")
        f.run("SMEMBERS", "c")
        f.run("SRANDMEMBER", "c", "-3")
        f.run("SINTER", "c", "d")
        #expect(f.events.isEmpty)
    }

    // MARK: - The patterns users know

    @Test func tagsAndInterests() {
        let f = SetFixture()
        #expect(f.run("SADD", "post:123:tags", "rust", "backend", "axum") == .integer(3))
        #expect(f.run("SISMEMBER", "post:123:tags", "rust") == .integer(1))
        #expect(f.run("SISMEMBER", "post:123:tags", "go") == .integer(0))
        f.fill("user:123:interests", ["rust", "chess", "hiking"])
        f.fill("user:456:interests", ["hiking", "rust", "jazz"])
        #expect(texts(f.run("SINTER", "user:123:interests", "user:456:interests")) == ["rust", "hiking"])
        f.fill("tag:rust", ["post:1", "post:2"])
        f.fill("tag:backend", ["post:2", "post:3"])
        #expect(texts(f.run("SUNION", "tag:rust", "tag:backend")) == ["post:1", "post:2", "post:3"])
    }
}

/// The structure itself: the packed array and the slot map must agree
/// after any mix of operations.
@Suite struct SetValueTests {
    @Test func insertRemoveAndRandomAgreeAfterChurn() {
        var set = SetValue()
        var model: Set<Bytes> = []
        var generator = SystemRandomNumberGenerator()
        for round in 0..<20_000 {
            let member = Bytes("m\(Int.random(in: 0..<3_000, using: &generator))")
            if round % 3 == 0 {
                #expect(set.remove(member) == (model.remove(member) != nil))
            } else {
                #expect(set.insert(member) == model.insert(member).inserted)
            }
        }
        #expect(set.count == model.count)
        #expect(Set(set.members) == model)
        for member in model { #expect(set.contains(member)) }
        for _ in 0..<100 {
            #expect(set.randomMember(using: &generator).map { model.contains($0) } == true)
        }
        var scanned: [Bytes] = []
        var cursor = 0
        repeat { cursor = set.scan(from: cursor, count: 100) { scanned.append($0) } } while cursor != 0
        #expect(scanned.count == model.count && Set(scanned) == model)
    }

    @Test func popRandomEmptiesTheSet() {
        var set = SetValue(numbered("p", 0..<1_000).map { Bytes($0) })
        var generator = SystemRandomNumberGenerator()
        var popped: Set<Bytes> = []
        while let member = set.popRandom(using: &generator) {
            #expect(popped.insert(member).inserted)
        }
        #expect(popped.count == 1_000)
        #expect(set.isEmpty)
        #expect(set.randomMember(using: &generator) == nil)
    }

    @Test func distinctRandomMembersCoverEveryMember() {
        let set = SetValue(numbered("d", 0..<10).map { Bytes($0) })
        var generator = SystemRandomNumberGenerator()
        var hits: [Bytes: Int] = [:]
        for _ in 0..<2_000 {
            let picked = set.distinctRandomMembers(3, using: &generator)
            #expect(Set(picked).count == 3)
            for member in picked { hits[member, default: 0] += 1 }
        }
        // Each member is expected in 600 of 2000 draws of 3 out of 10.
        #expect(hits.count == 10)
        for (_, count) in hits { #expect((450...750).contains(count)) }
    }
}
