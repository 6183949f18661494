/// Eviction under `maxmemory`, approximated by sampling as Redis does.
///
/// Each key carries one 32-bit access field (`Keyspace.Entry.access`):
/// - under LRU (and the non-LFU policies) a 24-bit clock of seconds, set on
///   every read or write of the key;
/// - under LFU 16 bits of minutes (last decrement time) and an 8-bit
///   logarithmic counter: each access increments it with probability
///   1 / ((counter - 5) * lfu-log-factor + 1), and it loses one per
///   `lfu-decay-time` minutes without access. New keys start at 5 so they
///   are not the first to go.
///
/// When a command arrives with the estimate above the limit, keys are evicted
/// until it is below: random policies pick a random (volatile) key; the
/// others sample `maxmemory-samples` random keys into a pool of the 16 best
/// candidates seen so far and evict the best of the pool. No step scans the
/// keyspace: random slots and random volatile slots are O(1).
extension Database {
    /// Redis's LRU clock: seconds, 24 bits (wraps after 194 days).
    static let lruClockMax: UInt32 = (1 << 24) - 1
    /// A new key's LFU counter (Redis's LFU_INIT_VAL).
    static let lfuInitialValue: UInt32 = 5

    /// The bytes used, as INFO's `used_memory` and the limit see them.
    public var usedMemory: Int { keyspace.usedMemory }

    var lruClock: UInt32 { UInt32(truncatingIfNeeded: max(0, now) / 1000) & Self.lruClockMax }
    var lfuMinutes: UInt32 { UInt32(truncatingIfNeeded: max(0, now) / 60_000) & 0xFFFF }

    /// The access field a key gets when it is created.
    var initialAccess: UInt32 {
        eviction.policy.usesLFU ? (lfuMinutes << 8) | Self.lfuInitialValue : lruClock
    }

    /// Records a read or write of the key in `slot` (not introspection:
    /// OBJECT, TYPE and MEMORY USAGE look without touching).
    func touch(slot: Int) {
        let old = keyspace.access(atSlot: slot)
        let new: UInt32
        if eviction.policy.usesLFU {
            let counter = lfuIncremented(lfuDecayed(old))
            new = (lfuMinutes << 8) | counter
        } else {
            new = lruClock
        }
        if new != old { keyspace.setAccess(new, atSlot: slot) }
    }

    /// Milliseconds since the key was last accessed, by the LRU clock.
    func idleMilliseconds(_ access: UInt32) -> Int64 {
        let clock = lruClock, stamp = access & Self.lruClockMax
        let seconds = clock >= stamp ? clock - stamp : clock + (Self.lruClockMax - stamp)
        return Int64(seconds) * 1000
    }

    /// The LFU counter after the decay due since its stored time.
    func lfuDecayed(_ access: UInt32) -> UInt32 {
        let stamp = access >> 8, counter = access & 255, minutes = lfuMinutes
        let elapsed = minutes >= stamp ? minutes - stamp : 65535 - stamp + minutes
        let periods = eviction.lfuDecayTime > 0 ? elapsed / UInt32(eviction.lfuDecayTime) : 0
        return periods > counter ? 0 : counter - periods
    }

    /// One logarithmic increment: the higher the counter, the less likely.
    func lfuIncremented(_ counter: UInt32) -> UInt32 {
        if counter == 255 { return 255 }
        let draw = Double(eviction.generator.next() >> 11) / Double(UInt64(1) << 53)
        let base = Double(counter > Self.lfuInitialValue ? counter - Self.lfuInitialValue : 0)
        let probability = 1.0 / (base * Double(eviction.lfuLogFactor) + 1)
        return draw < probability ? counter + 1 : counter
    }

    /// Gives keys loaded from a snapshot the access field of a new key, as
    /// Redis does for keys its RDB carries no LRU/LFU data for, so they are
    /// not all taken for the coldest. O(n), once at load.
    func stampLoadedKeys() {
        beginCommand()
        let access = initialAccess
        for slot in 0..<keyspace.slotCapacity where keyspace.entry(at: slot) != nil {
            keyspace.setAccess(access, atSlot: slot)
        }
    }

    // MARK: - Enforcing the limit

    /// Redis's performEvictions before a command: evicts while above the
    /// limit, and refuses the command (OOM) when it may grow memory and the
    /// usage is still above the limit (noeviction, or nothing evictable).
    /// Eviction stops after a time budget, as Redis's does, so a limit
    /// lowered far below the usage is worked off over the next commands
    /// rather than in one long pause; a command is not refused meanwhile.
    func enforceMemoryLimit(for spec: CommandSpec) -> CommandError? {
        let limit = eviction.maxMemory
        guard limit > 0, !loading, !datasetLoading else { return nil }
        if usedMemory > limit, evictUntilUnder(limit) == .budgetSpent { return nil }
        guard usedMemory > limit, spec.flags.contains(.denyOOM) else { return nil }
        eviction.outOfMemoryFlag.store(true, ordering: .relaxed)
        return .outOfMemory
    }

    /// After a command: the peak, and whether OOM refusals are over.
    func noteMemoryAfterCommand() {
        let used = usedMemory
        if used > eviction.peakMemory { eviction.peakMemory = used }
        if eviction.outOfMemory && (eviction.maxMemory == 0 || used <= eviction.maxMemory) {
            eviction.outOfMemoryFlag.store(false, ordering: .relaxed)
        }
    }

    enum EvictionOutcome { case underLimit, nothingEvictable, budgetSpent }

    /// Microseconds one command may spend evicting.
    static let evictionBudgetMicroseconds: Int64 = 2_000

    /// Evicts keys until the estimate is at or below `limit`, no key is
    /// evictable under the policy, or the time budget is spent.
    @discardableResult
    func evictUntilUnder(_ limit: Int64) -> EvictionOutcome {
        let start = monotonicMicroseconds()
        var evicted = 0
        while usedMemory > limit {
            guard let slot = chooseVictim() else { return .nothingEvictable }
            evict(slot: slot)
            evicted += 1
            if evicted % 16 == 0 && monotonicMicroseconds() - start > Self.evictionBudgetMicroseconds {
                return usedMemory > limit ? .budgetSpent : .underLimit
            }
        }
        return .underLimit
    }

    private func evict(slot: Int) {
        let entry = keyspace.remove(atSlot: slot)
        eviction.evictedKeys += 1
        didWrite(entry.key, .evicted)
    }

    /// Whether any key qualifies under the policy.
    private var hasCandidates: Bool {
        eviction.policy.volatileOnly ? keyspace.volatileCount > 0 : keyspace.count > 0
    }

    private func randomCandidate() -> Int? {
        if eviction.policy.volatileOnly { return keyspace.randomVolatileSlot(using: &eviction.generator) }
        return keyspace.randomSlot(using: &eviction.generator)
    }

    /// The next key to evict, nil when none qualifies.
    func chooseVictim() -> Int? {
        guard eviction.policy != .noEviction, hasCandidates else { return nil }
        if eviction.policy.isRandom { return randomCandidate() }
        // Each refill adds live keys, so this ends after a round or two;
        // the bound only guards against a logic error.
        for _ in 0..<64 {
            refillPool()
            while let best = eviction.pool.popBest() {
                // The pool may hold keys deleted (or persisted) since.
                guard let slot = keyspace.slot(of: best) else { continue }
                if eviction.policy.volatileOnly && !keyspace[slot: slot].hasExpiry { continue }
                return slot
            }
        }
        return randomCandidate()
    }

    /// Samples `maxmemory-samples` keys into the pool.
    private func refillPool() {
        for _ in 0..<max(1, eviction.samples) {
            guard let slot = randomCandidate() else { return }
            let entry = keyspace[slot: slot]
            eviction.pool.offer(entry.key, score: evictionScore(entry))
        }
    }

    /// Higher is a better victim: idle time (LRU), 255 minus the counter
    /// (LFU), or how soon the key expires (volatile-ttl).
    func evictionScore(_ entry: Keyspace.Entry) -> UInt64 {
        switch eviction.policy {
        case .allKeysLFU, .volatileLFU: return UInt64(255 - lfuDecayed(entry.access))
        case .volatileTTL: return UInt64.max - UInt64(max(0, entry.expiresAt))
        default: return UInt64(idleMilliseconds(entry.access))
        }
    }
}

/// Redis's eviction pool: the best `capacity` candidates seen by sampling,
/// kept ascending by score so the best victim is the last.
struct EvictionPool {
    static let capacity = 16
    private(set) var candidates: [(score: UInt64, key: Bytes)] = []

    mutating func offer(_ key: Bytes, score: UInt64) {
        if let existing = candidates.firstIndex(where: { $0.key == key }) { candidates.remove(at: existing) }
        if candidates.count == Self.capacity, let worst = candidates.first, score <= worst.score { return }
        let position = candidates.firstIndex { $0.score >= score } ?? candidates.count
        candidates.insert((score, key), at: position)
        if candidates.count > Self.capacity { candidates.removeFirst() }
    }

    mutating func popBest() -> Bytes? { candidates.popLast()?.key }

    mutating func removeAll() { candidates.removeAll() }
}

extension CommandError {
    /// Redis's refusal of a command that may grow memory above `maxmemory`.
    public static let outOfMemory = CommandError(.outOfMemory, "OOM command not allowed when used memory > 'maxmemory'.")
}

extension Database {
    /// Admits a command's planned growth of `bytes` against `maxmemory`
    /// before it allocates them (SETBIT at a far offset asks for up to
    /// 512 MiB at once): evicts what the policy allows to make room, else
    /// refuses with OOM. No limit, or no growth, admits at once.
    func admitGrowth(_ bytes: Int) throws(CommandError) {
        let limit = eviction.maxMemory
        guard limit > 0, bytes > 0, !loading, !datasetLoading else { return }
        let room = limit - Int64(bytes)
        if usedMemory <= room { return }
        // Past the time budget too: the room is for this command's own
        // allocation, so the work is bounded by what it asked for.
        while room >= 0, usedMemory > room, evictUntilUnder(room) != .nothingEvictable {}
        guard usedMemory > room else { return }
        eviction.outOfMemoryFlag.store(true, ordering: .relaxed)
        throw .outOfMemory
    }
}
