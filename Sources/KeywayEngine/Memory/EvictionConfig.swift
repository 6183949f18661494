/// The CONFIG parameters of memory limits and eviction, with Redis's names,
/// validation and error texts.
enum EvictionConfig {
    static func failure(_ name: String, _ reason: String) -> CommandError {
        CommandError(.generic, "ERR CONFIG SET failed (possibly related to argument '\(name)') - \(reason)")
    }

    static func integer(_ name: String, _ value: Bytes, in range: ClosedRange<Int64>) throws(CommandError) -> Int {
        guard let number = Parse.strictInt64(value), range.contains(number) else {
            throw failure(name, "argument must be between \(range.lowerBound) and \(range.upperBound) inclusive")
        }
        return Int(number)
    }

    /// Redis lists the policies in this order in its error.
    static let policyNames = "volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction"

    static let parameters: [ConfigCommands.Parameter] = [
        .init(name: "maxmemory", get: { db, _ in String(db.eviction.maxMemory) }) { db, _, value throws(CommandError) in
            guard let bytes = MemorySize.parse(value.text) else { throw failure("maxmemory", "argument must be a memory value") }
            db.eviction.maxMemory = bytes
        },
        .init(name: "maxmemory-policy", get: { db, _ in db.eviction.policy.rawValue }) { db, _, value throws(CommandError) in
            guard let policy = EvictionPolicy(rawValue: value.lowercasedASCII) else {
                throw failure("maxmemory-policy", "argument(s) must be one of the following: \(policyNames)")
            }
            if policy != db.eviction.policy { db.eviction.pool.removeAll() }
            db.eviction.policy = policy
        },
        .init(name: "maxmemory-samples", get: { db, _ in String(db.eviction.samples) }) { db, _, value throws(CommandError) in
            db.eviction.samples = try integer("maxmemory-samples", value, in: 1...64)
        },
        .init(name: "lfu-log-factor", get: { db, _ in String(db.eviction.lfuLogFactor) }) { db, _, value throws(CommandError) in
            db.eviction.lfuLogFactor = try integer("lfu-log-factor", value, in: 0...Int64(Int32.max))
        },
        .init(name: "lfu-decay-time", get: { db, _ in String(db.eviction.lfuDecayTime) }) { db, _, value throws(CommandError) in
            db.eviction.lfuDecayTime = try integer("lfu-decay-time", value, in: 0...Int64(Int32.max))
        },
    ]
}
