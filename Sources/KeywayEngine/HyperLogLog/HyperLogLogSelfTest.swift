/// PFSELFTEST: checks the representation on this build. Dense registers
/// read back what was written at every position; sparse and dense HLLs
/// fed the same members hold the same registers and estimate the same; and
/// estimates of growing sets stay within five standard errors (the
/// standard error is 1.04/sqrt(16384), 0.81%).
enum HyperLogLogSelfTest {
    static func run() throws(CommandError) -> Reply {
        var random = SplitMix64(seed: 0x5EED)
        var dense = HyperLogLog.empty()
        _ = try dense.makeDense()
        var written = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        for round in 0..<4 {
            for register in 0..<HyperLogLog.registerCount {
                let value = round == 3 ? 63 : UInt8(random.next() % 64)
                HyperLogLog.setDenseRegister(&dense.bytes, register, value)
                written[register] = value
            }
            for register in 0..<HyperLogLog.registerCount where HyperLogLog.denseRegister(dense.bytes, register) != written[register] {
                throw failure("dense register \(register) read back wrong")
            }
        }
        var sparse = HyperLogLog.empty(), promoted = HyperLogLog.empty()
        _ = try promoted.makeDense()
        var members: [Bytes] = []
        for count in 1...10_000 {
            members.append(Bytes("selftest:\(random.next())"))
            guard count % 100 == 0 || count < 100 else { continue }
            _ = try sparse.add(members, sparseMaxBytes: HyperLogLog.defaultSparseMaxBytes)
            _ = try promoted.add(members, sparseMaxBytes: HyperLogLog.defaultSparseMaxBytes)
            members.removeAll(keepingCapacity: true)
            guard try sparse.registers() == promoted.registers() else { throw failure("sparse and dense registers differ at \(count)") }
            let estimate = HyperLogLog.estimate(try sparse.histogram())
            let error = abs(Double(estimate) - Double(count)) / Double(count)
            if error > 5 * 1.04 / Double(HyperLogLog.registerCount).squareRoot() {
                throw failure("estimate \(estimate) for \(count) members")
            }
        }
        return .ok
    }

    static func failure(_ what: String) -> CommandError {
        CommandError(.generic, "ERR TESTFAILED \(what)")
    }
}
