import Synchronization

/// Redis's `maxmemory-policy`: what to do when a write needs memory beyond
/// `maxmemory`.
public enum EvictionPolicy: String, Sendable, CaseIterable {
    case noEviction = "noeviction"
    case allKeysLRU = "allkeys-lru"
    case volatileLRU = "volatile-lru"
    case allKeysLFU = "allkeys-lfu"
    case volatileLFU = "volatile-lfu"
    case allKeysRandom = "allkeys-random"
    case volatileRandom = "volatile-random"
    case volatileTTL = "volatile-ttl"

    /// Only keys with a TTL may be evicted.
    public var volatileOnly: Bool {
        switch self {
        case .volatileLRU, .volatileLFU, .volatileRandom, .volatileTTL: return true
        default: return false
        }
    }

    /// The per-key access field holds an LFU counter rather than an LRU clock.
    public var usesLFU: Bool { self == .allKeysLFU || self == .volatileLFU }

    /// Victims are drawn at random rather than from the sampled pool.
    public var isRandom: Bool { self == .allKeysRandom || self == .volatileRandom }
}

/// The memory limit, its policy, and what eviction has done: the settings
/// behind CONFIG's `maxmemory*`/`lfu-*` parameters and INFO's memory figures.
/// Lives in `Database`, under the engine lock, except `outOfMemory`, which
/// `/readyz` reads without it.
public final class EvictionState: @unchecked Sendable {
    /// Bytes; 0 means no limit (Redis's default on 64-bit).
    public var maxMemory: Int64 = 0
    public var policy = EvictionPolicy.noEviction
    /// Keys sampled per pool refill (`maxmemory-samples`).
    public var samples = 5
    /// `lfu-log-factor`: how slowly the LFU counter grows.
    public var lfuLogFactor = 10
    /// `lfu-decay-time`: minutes per step the counter decays when idle.
    public var lfuDecayTime = 1
    /// Keys evicted since start (INFO's `evicted_keys`).
    public var evictedKeys: Int64 = 0
    /// The highest `used_memory` seen.
    public var peakMemory = 0
    /// The best candidates seen so far (see `EvictionPool`).
    var pool = EvictionPool()
    /// For LFU's probabilistic increment and random victims.
    var generator = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))
    /// Set while denyoom commands are refused; cleared once under the limit.
    let outOfMemoryFlag = Atomic<Bool>(false)

    public init() {}

    public var outOfMemory: Bool { outOfMemoryFlag.load(ordering: .relaxed) }

    /// Reseeds the generator, for deterministic tests.
    public func seed(_ seed: UInt64) { generator = SplitMix64(seed: seed) }
}


/// Redis's memory units: `100mb`, `1gb`, `64k`, plain bytes.
public enum MemorySize {
    public static func parse(_ text: String) -> Int64? {
        let lower = text.lowercased()
        let units: [(String, Int64)] = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1000), ("b", 1)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let value = Int64(lower.dropLast(suffix.count)), value >= 0 else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: factor)
            return overflow ? nil : product
        }
        return Int64(lower).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Redis's `bytesToHuman`: `1023B`, `1.50K`, `2.00M`, ...
    public static func human(_ bytes: Int64) -> String {
        let units: [(Double, String)] = [(0x1p50, "P"), (0x1p40, "T"), (0x1p30, "G"), (0x1p20, "M"), (0x1p10, "K")]
        let value = Double(bytes)
        for (factor, suffix) in units where value >= factor {
            return format2(value / factor) + suffix
        }
        return "\(bytes)B"
    }

    static func format2(_ value: Double) -> String {
        let hundredths = Int64((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
