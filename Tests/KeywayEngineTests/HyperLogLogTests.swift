import Testing
@testable import KeywayEngine

/// The HyperLogLog representation (Redis's layout): what the comparison with
/// a real redis-server in the Python suite does not reach.
@Suite struct HyperLogLogTests {
    let engine: Engine

    init() { (engine, _) = makeEngine() }

    @Test func murmurHashMatchesRedisRegisters() {
        // Register and rank of "a", as redis-server's PFDEBUG GETREG shows them.
        let (register, rank) = HyperLogLog.registerAndRank(of: Array("a".utf8))
        #expect(engine.run("PFADD", "h", "a") == .integer(1))
        guard case .array(let registers) = engine.run("PFDEBUG", "GETREG", "h") else { Issue.record("no registers"); return }
        #expect(registers[register] == .integer(Int64(rank)))
        #expect(registers.filter { $0 != .integer(0) }.count == 1)
    }

    /// Sparse runs, changed member by member, hold the same registers as a
    /// dense HLL fed the same members, and encode to the length tracked.
    @Test func sparseAndDenseAgree() throws {
        var random = SplitMix64(seed: 3)
        var sparse = HyperLogLog.empty(), dense = HyperLogLog.empty()
        #expect(try dense.makeDense())
        for round in 0..<300 {
            let members = (0..<Int(random.next() % 8 + 1)).map { _ in Bytes("m\(random.next() % 5000)") }
            let sparseChanged = try sparse.add(members, sparseMaxBytes: 100_000)
            let denseChanged = try dense.add(members, sparseMaxBytes: 100_000)
            #expect(sparseChanged == denseChanged, "round \(round)")
            #expect(try sparse.registers() == dense.registers(), "round \(round)")
        }
        #expect(sparse.encoding == .sparse)
        let runs = try #require(HyperLogLog.decodeRuns(sparse.bytes))
        #expect(HyperLogLog.encode(runs) == Array(sparse.bytes[HyperLogLog.headerSize...]))
        #expect(HyperLogLog.estimate(try sparse.histogram()) == HyperLogLog.estimate(try dense.histogram()))
    }

    @Test func aSparseHLLTurnsDensePastTheConfiguredSize() {
        engine.run("CONFIG", "SET", "hll-sparse-max-bytes", "100")
        engine.run("PFADD", "h", "a", "b", "c")
        #expect(engine.run("PFDEBUG", "ENCODING", "h") == .status("sparse"))
        engine.run("PFADD", "h", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v",
                   "w", "x", "y", "z", "aa", "bb", "cc", "dd", "ee", "ff", "gg", "hh", "ii", "jj", "kk", "ll", "mm")
        #expect(engine.run("PFDEBUG", "ENCODING", "h") == .status("dense"))
        #expect(engine.run("STRLEN", "h") == .integer(Int64(HyperLogLog.denseSize)))
        let count = engine.run("PFCOUNT", "h").integerValue ?? 0
        #expect(abs(count - 39) <= 2, "\(count)")
    }

    @Test func theCachedCountIsKeptAndInvalidated() {
        engine.run("PFADD", "h", "a", "b")
        #expect(engine.run("PFCOUNT", "h") == .integer(2))
        guard case .bulk(let bytes) = engine.run("GET", "h") else { Issue.record("no value"); return }
        #expect(bytes.storage[8] == 2 && bytes.storage[15] & 0x80 == 0)
        engine.run("PFADD", "h", "c")
        guard case .bulk(let after) = engine.run("GET", "h") else { Issue.record("no value"); return }
        #expect(after.storage[15] & 0x80 != 0)
        #expect(engine.run("PFCOUNT", "h") == .integer(3))
    }

    @Test func selfTestPasses() {
        #expect(engine.run("PFSELFTEST") == .ok)
    }
}
