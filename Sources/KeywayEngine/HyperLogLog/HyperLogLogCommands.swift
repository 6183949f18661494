/// HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, and PFDEBUG and
/// PFSELFTEST for inspecting the representation. An HLL is a string value
/// in Redis's layout (see `HyperLogLog`); GET returns its bytes, and a
/// string that is not one is refused with Redis's own WRONGTYPE text.
enum HyperLogLogCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("pfadd", arity: -2, flags: [.write, .denyOOM, .fast], handler: pfadd),
        CommandSpec("pfcount", arity: -2, flags: [.readonly], keys: (1, -1, 1), handler: pfcount),
        CommandSpec("pfmerge", arity: -2, flags: [.write, .denyOOM], keys: (1, -1, 1), handler: pfmerge),
        CommandSpec("pfdebug", arity: 3, flags: [.write, .denyOOM, .admin], keys: (2, 2, 1), handler: pfdebug),
        CommandSpec("pfselftest", arity: 1, flags: [.admin], handler: { _ throws(CommandError) in try HyperLogLogSelfTest.run() }),
    ]

    /// PFADD key [member ...]: 1 when a register grew or the key was created.
    static func pfadd(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        let members = Array(c.arguments.dropFirst(2))
        let sparseMaxBytes = c.server.hyperLogLogSparseMaxBytes
        let existed = c.db.liveSlot(key) != nil
        let (changed, created) = try c.db.withHyperLogLog(key, create: true) { hll throws(CommandError) in
            // A new key counts as a change: its cached count is stale too, as in Redis.
            if !existed { hll.invalidateCache() }
            return try hll.add(members, sparseMaxBytes: sparseMaxBytes)
        }
        guard changed || created else { return .integer(0) }
        c.db.didWrite(key, .pfadd)
        return .integer(1)
    }

    /// PFCOUNT key [key ...]. One key answers from, or fills, the cached
    /// cardinality in its header (a cache, so not a write); several keys
    /// count the union of their registers and cache nothing.
    static func pfcount(_ c: CommandContext) throws(CommandError) -> Reply {
        if c.argumentCount == 2 {
            guard c.db.liveSlot(c[1]) != nil else { return .integer(0) }
            let (count, _) = try c.db.withHyperLogLog(c[1], create: false) { hll throws(CommandError) -> Int64 in
                if let cached = hll.cachedCardinality { return cached }
                let count = HyperLogLog.estimate(try hll.histogram())
                hll.storeCardinality(count)
                return count
            }
            return .integer(count)
        }
        let union = try unionOfRegisters(c, keys: c.arguments.dropFirst()).registers
        return .integer(HyperLogLog.estimate(HyperLogLog.histogram(ofRegisters: union)))
    }

    /// The register-wise maximum of the HLLs at `keys` (missing keys count
    /// as empty), and whether any of them was dense.
    static func unionOfRegisters(_ c: CommandContext, keys: ArraySlice<Bytes>) throws(CommandError) -> (registers: [UInt8], anyDense: Bool) {
        var union = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        var anyDense = false
        for key in keys {
            guard let bytes = try c.db.readString(key) else { continue }
            guard let hll = HyperLogLog(validating: bytes.storage) else { throw HyperLogLog.notAHyperLogLog }
            if hll.encoding == .dense { anyDense = true }
            let registers = try hll.registers()
            for index in 0..<HyperLogLog.registerCount where registers[index] > union[index] { union[index] = registers[index] }
        }
        return (union, anyDense)
    }

    /// PFMERGE destkey [sourcekey ...]: the union of the sources and the
    /// destination's own registers, stored at `destkey`; dense when any of
    /// them was, as in Redis.
    static func pfmerge(_ c: CommandContext) throws(CommandError) -> Reply {
        let destination = c[1]
        let (union, anyDense) = try unionOfRegisters(c, keys: c.arguments.dropFirst())
        let sparseMaxBytes = c.server.hyperLogLogSparseMaxBytes
        _ = try c.db.withHyperLogLog(destination, create: true) { hll throws(CommandError) in
            hll.setRegisters(union, preferSparse: !anyDense, sparseMaxBytes: sparseMaxBytes)
        }
        c.db.didWrite(destination, .pfadd)
        return .ok
    }

    /// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key.
    static func pfdebug(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[2]
        guard let bytes = try c.db.readString(key, forWrite: true) else {
            throw CommandError(.generic, "ERR The specified key does not exist")
        }
        guard let hll = HyperLogLog(validating: bytes.storage) else { throw HyperLogLog.notAHyperLogLog }
        let subcommand = c[1]
        if subcommand.equalsIgnoringCase("getreg") {
            // As in Redis, reading the registers leaves the HLL dense.
            if try makeDense(c, key) { c.db.didWrite(key, KeyspaceEvent(unannounced: "pfdebug")) }
            return .array(try hll.registers().map { .integer(Int64($0)) })
        }
        if subcommand.equalsIgnoringCase("todense") {
            let converted = try makeDense(c, key)
            if converted { c.db.didWrite(key, KeyspaceEvent(unannounced: "pfdebug")) }
            return .integer(converted ? 1 : 0)
        }
        if subcommand.equalsIgnoringCase("encoding") { return .status(hll.encoding == .dense ? "dense" : "sparse") }
        if subcommand.equalsIgnoringCase("decode") {
            guard hll.encoding == .sparse else { throw CommandError(.generic, "ERR HLL encoding is not sparse") }
            return .status(try decodeOpcodes(hll.bytes))
        }
        throw CommandError(.generic, "ERR Unknown PFDEBUG subcommand '\(subcommand.text)'")
    }

    static func makeDense(_ c: CommandContext, _ key: Bytes) throws(CommandError) -> Bool {
        try c.db.withHyperLogLog(key, create: false) { hll throws(CommandError) in try hll.makeDense() }.result
    }

    /// The sparse opcodes as PFDEBUG DECODE prints them: `z:len` (short zero
    /// run), `Z:len` (long zero run), `v:value,len`.
    static func decodeOpcodes(_ bytes: [UInt8]) throws(CommandError) -> String {
        guard HyperLogLog.decodeRuns(bytes) != nil else { throw HyperLogLog.corrupted }
        var parts: [String] = []
        var position = HyperLogLog.headerSize
        while position < bytes.count {
            let opcode = bytes[position]
            if opcode & 0xC0 == 0x00 {
                parts.append("z:\(Int(opcode & 0x3F) + 1)")
                position += 1
            } else if opcode & 0xC0 == 0x40 {
                parts.append("Z:\((Int(opcode & 0x3F) << 8 | Int(bytes[position + 1])) + 1)")
                position += 2
            } else {
                parts.append("v:\(Int((opcode >> 2) & 0x1F) + 1),\(Int(opcode & 3) + 1)")
                position += 1
            }
        }
        return parts.joined(separator: " ")
    }
}

extension KeyspaceEvent {
    static let pfadd = KeyspaceEvent("pfadd", .string)
}

extension Database {
    /// Runs `body` on the HLL at `key`, in place when the value is held only
    /// here; with `create`, a missing key becomes an empty HLL first.
    /// `created` tells whether it did. Another type, or a string that is
    /// not an HLL, is WRONGTYPE before anything changes.
    func withHyperLogLog<R>(_ key: Bytes, create: Bool,
                            _ body: (inout HyperLogLog) throws(CommandError) -> R) throws(CommandError) -> (result: R, created: Bool) {
        guard let slot = liveSlot(key) else {
            guard create else { throw .noSuchKey }
            var hll = HyperLogLog.empty()
            let result = try body(&hll)
            setKey(key, .string(Bytes(hll.bytes)))
            return (result, true)
        }
        return (try keyspace.modifyValue(atSlot: slot) { value throws(CommandError) -> R in
            guard case .string(var current) = value else { throw .wrongType }
            guard HyperLogLog.isValid(current.storage) else { throw HyperLogLog.notAHyperLogLog }
            value = .string(Bytes())  // drop the entry's reference so the change is in place
            var hll = HyperLogLog(trusted: current.storage)
            current = Bytes()
            defer { value = .string(Bytes(hll.bytes)) }
            return try body(&hll)
        }, false)
    }
}
