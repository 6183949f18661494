/// The configuration parameters of memory limits and eviction, with Redis's
/// names, ranges and error texts; part of `ConfigTable.engine`.
enum EvictionConfig {
    /// Redis lists the policies in this order in its error.
    static let policies: [EvictionPolicy] = [
        .volatileLRU, .allKeysLRU, .volatileLFU, .allKeysLFU, .volatileRandom, .allKeysRandom, .volatileTTL, .noEviction,
    ]

    static let parameters: [ConfigParameter<EngineSettings>] = [
        .init("maxmemory", ConfigValueType<Int64>.memory, default: "0",
              help: "Memory limit for keys and values, with Redis's units (100mb, 1gb); 0 means none.",
              get: { $0.db.eviction.maxMemory }, set: { $0.db.eviction.maxMemory = $1 }),
        .init("maxmemory-policy", ConfigValueType<EvictionPolicy>.enumeration(policies, noun: "maxmemory policy"), default: "noeviction",
              help: "What a write does above maxmemory: evict keys by this policy, or fail with OOM (noeviction).",
              get: { $0.db.eviction.policy },
              set: { target, policy in
                  if policy != target.db.eviction.policy { target.db.eviction.pool.removeAll() }
                  target.db.eviction.policy = policy
              }),
        .init("maxmemory-samples", ConfigValueType<Int>.int(1...64), default: "5",
              help: "Keys sampled per eviction pool refill.",
              get: { $0.db.eviction.samples }, set: { $0.db.eviction.samples = $1 }),
        .init("lfu-log-factor", ConfigValueType<Int>.int(0...Int(Int32.max)), default: "10",
              help: "How slowly the LFU counter grows.",
              get: { $0.db.eviction.lfuLogFactor }, set: { $0.db.eviction.lfuLogFactor = $1 }),
        .init("lfu-decay-time", ConfigValueType<Int>.int(0...Int(Int32.max), unit: "minutes"), default: "1",
              help: "Minutes per step the LFU counter of an idle key decays; 0 never decays.",
              get: { $0.db.eviction.lfuDecayTime }, set: { $0.db.eviction.lfuDecayTime = $1 }),
    ]
}
