import Synchronization

/// The keyspace plus the rules every command follows when touching it:
/// lazy expiry on access, hit/miss statistics, and the one write path.
///
/// Lives inside the engine's lock; nothing here is thread-safe by itself.
public final class Database: @unchecked Sendable {
    public internal(set) var keyspace = Keyspace()
    public let clock: any EngineClock
    public var stats = EngineStats()
    /// maxmemory, its policy and eviction counters (Eviction.swift).
    public let eviction = EvictionState()

    /// Time of the command being executed, fixed for its whole run (and for a
    /// whole transaction) as Redis's command time snapshot.
    public private(set) var now: Int64

    /// Writes since the last save; bumped by `didWrite`.
    public private(set) var dirty: Int64 = 0

    /// True while the dataset is being loaded at start-up (INFO's
    /// `loading`); the gateway answers clients 503 LOADING meanwhile.
    public internal(set) var datasetLoading = false

    /// A save covered `count` of the writes counted so far.
    func resetDirty(by count: Int64) {
        dirty = max(0, dirty - count)
    }

    /// Replaces the keyspace with a loaded one.
    func install(_ loaded: Keyspace) {
        keyspace = loaded
        stampLoadedKeys()
    }

    /// Grows with every write; readable without the lock.
    let writeCounter: WriteCounter

    /// Called for every modified key with the keyspace event name ("set",
    /// "del", "expired", ...). Blocking waiters, notifications and the AOF
    /// plug in here.
    public var writeObservers: [(Bytes, String) -> Void] = []

    /// Clients parked on keys; the write path marks their keys ready.
    let blocking = BlockingRegistry()

    /// Pub/sub subscriptions (PUBLISH, keyspace notifications).
    let pubsub = PubSubRegistry()

    /// `notify-keyspace-events`: off by default, as in Redis.
    public var notifyKeyspaceEvents: KeyspaceEventFlags = []

    /// Keys of hashes with per-field TTLs (HEXPIRE family), so the active
    /// expiry cycle can sample them in O(1) each, as it samples volatile keys.
    /// Hash commands add keys; entries that went stale (key deleted, renamed
    /// away, overwritten, no TTL left) are dropped when sampled.
    public internal(set) var keysWithVolatileFields = SlotMap<Bytes, Bool>()

    public init(clock: any EngineClock, writeCounter: WriteCounter = WriteCounter()) {
        self.clock = clock
        self.writeCounter = writeCounter
        self.now = clock.nowMilliseconds()
    }

    /// Fixes `now` for the command or batch about to run.
    func beginCommand() {
        now = clock.nowMilliseconds()
        keyspace.newEntryAccess = initialAccess
    }

    // MARK: - Lookup

    /// Whether `entry` has expired at the current command time. As in Redis's
    /// `keyIsExpired` (`now > when`), a key still lives during the millisecond
    /// of its deadline: `SET k v PX 100` is readable 100 ms later, gone at 101.
    /// (Commands that *set* a deadline delete the key when `when <= now`,
    /// Redis's `checkAlreadyExpired`; that is a different rule.)
    public func isExpired(_ entry: Keyspace.Entry) -> Bool {
        entry.hasExpiry && entry.expiresAt < now && !loading
    }

    /// True while an append-only file is replayed: as in Redis, nothing
    /// counts as expired then (keys, hash fields, deadlines already past),
    /// so the log rebuilds exactly what it recorded; expiry resumes after.
    public var loading = false

    /// Redis's `checkAlreadyExpired`: a deadline set by a command that is not
    /// in the future deletes instead, except while loading.
    public func isAlreadyExpired(_ deadline: Int64) -> Bool {
        deadline <= now && !loading
    }

    /// The slot of a live key, deleting it first if it has expired. The
    /// access counts for eviction (LRU/LFU) unless `touch` is false.
    public func liveSlot(_ key: Bytes, touch: Bool = true) -> Int? {
        guard let slot = keyspace.slot(of: key) else { return nil }
        let entry = keyspace[slot: slot]
        if isExpired(entry) {
            expire(slot: slot)
            return nil
        }
        if touch { self.touch(slot: slot) }
        return slot
    }

    /// Looks a key up for reading, counting a keyspace hit or miss.
    public func lookupRead(_ key: Bytes, touch: Bool = true) -> Keyspace.Entry? {
        if let slot = liveSlot(key, touch: touch) {
            stats.keyspaceHits += 1
            return keyspace[slot: slot]
        }
        stats.keyspaceMisses += 1
        return nil
    }

    /// The string under `key`, nil when missing, WRONGTYPE for other types.
    /// `forWrite` skips the hit/miss count, as Redis's `lookupKeyWrite` does
    /// for commands that read a value only to replace it (INCR, SETRANGE).
    public func readString(_ key: Bytes, forWrite: Bool = false) throws(CommandError) -> Bytes? {
        let found = forWrite ? liveSlot(key).map { keyspace[slot: $0] } : lookupRead(key)
        guard let entry = found else { return nil }
        guard case .string(let bytes) = entry.value else { throw .wrongType }
        return bytes
    }

    public func exists(_ key: Bytes) -> Bool { liveSlot(key) != nil }

    // MARK: - Writes

    /// Stores `value` under `key`. `expiresAt` nil keeps an existing expiry
    /// only when `keepTTL`; otherwise the key becomes persistent.
    public func setKey(_ key: Bytes, _ value: Value, expiresAt: Int64? = nil, keepTTL: Bool = false) {
        if let slot = liveSlot(key) {
            keyspace.setValue(value, atSlot: slot)
            if let expiresAt {
                keyspace.setExpiry(expiresAt, atSlot: slot)
            } else if !keepTTL {
                keyspace.removeExpiry(atSlot: slot)
            }
        } else {
            keyspace.insert(key, value, expiresAt: expiresAt ?? Keyspace.Entry.persistent)
        }
        // A hash moved here by RENAME/COPY keeps its field TTLs active.
        if case .hash(let hash) = value, hash.hasVolatileFields { trackVolatileFields(key) }
    }

    /// Deletes a live key; returns whether it existed.
    @discardableResult
    public func deleteKey(_ key: Bytes) -> Bool {
        guard let slot = liveSlot(key) else { return false }
        keyspace.remove(atSlot: slot)
        return true
    }

    /// Deletes `key` and hands back its value, for UNLINK to free elsewhere.
    public func removeKey(_ key: Bytes) -> Value? {
        guard let slot = liveSlot(key) else { return nil }
        return keyspace.remove(atSlot: slot).value
    }

    public func setExpiry(_ key: Bytes, at expiresAt: Int64) {
        guard let slot = liveSlot(key) else { return }
        keyspace.setExpiry(expiresAt, atSlot: slot)
    }

    @discardableResult
    public func persist(_ key: Bytes) -> Bool {
        guard let slot = liveSlot(key) else { return false }
        return keyspace.removeExpiry(atSlot: slot)
    }

    public func removeAll() {
        keyspace.removeAll()
        keysWithVolatileFields.removeAll()
    }

    /// The one write path: every command that changes a key calls this once
    /// per key it changed.
    /// `event` names the write and its notification class (`.hset`, `.del`).
    public func didWrite(_ key: Bytes, _ event: KeyspaceEvent) {
        dirty += 1
        writeCounter.increment()
        if blocking.hasWaiters { blocking.keyWritten(key) }
        if !notifyKeyspaceEvents.isEmpty && !key.isEmpty { notifyKeyspaceEvent(event, key: key) }
        for observer in writeObservers { observer(key, event.name) }
    }

    /// A write that touched no single key (FLUSHALL).
    public func didWriteAll(event: String, changes: Int) {
        dirty += Int64(max(changes, 1))
        writeCounter.increment()
        for observer in writeObservers { observer(Bytes(), event) }
    }

    // MARK: - Expiry

    private func expire(slot: Int) {
        let entry = keyspace.remove(atSlot: slot)
        stats.expiredKeys += 1
        didWrite(entry.key, .expired)
    }

    /// One active expiry cycle as Redis runs it: sample keys with a TTL,
    /// delete the expired ones, repeat while more than a tenth of a sample
    /// was expired (Redis 7's acceptable share of stale keys), and stop when
    /// the time budget is spent. Then the same for
    /// hash fields with TTLs (`activeExpireHashFields`, in Hash.swift).
    /// Returns the number of keys removed.
    @discardableResult
    public func activeExpireCycle(budgetMicroseconds: Int64, sampleSize: Int = 20) -> Int {
        beginCommand()
        let start = monotonicMicroseconds()
        var generator = SystemRandomNumberGenerator()
        var removed = 0
        while keyspace.volatileCount > 0 {
            let samples = min(sampleSize, keyspace.volatileCount)
            var expiredInSample = 0
            for _ in 0..<samples {
                guard let slot = keyspace.randomVolatileSlot(using: &generator) else { break }
                if isExpired(keyspace[slot: slot]) {
                    expire(slot: slot)
                    expiredInSample += 1
                }
            }
            removed += expiredInSample
            if expiredInSample * 10 <= samples { break }
            if monotonicMicroseconds() - start >= budgetMicroseconds { break }
        }
        _ = activeExpireHashFields(startedAt: start, budgetMicroseconds: budgetMicroseconds, sampleSize: sampleSize)
        return removed
    }
}

/// Counters INFO reports.
public struct EngineStats: Sendable {
    public var keyspaceHits: Int64 = 0
    public var keyspaceMisses: Int64 = 0
    public var expiredKeys: Int64 = 0
    public var totalCommands: Int64 = 0
    public var totalErrors: Int64 = 0
}

/// Counts writes; read from any thread without the engine lock.
public final class WriteCounter: Sendable {
    private let count = Atomic<Int64>(0)
    public init() {}
    func increment() { count.add(1, ordering: .relaxed) }
    public var value: Int64 { count.load(ordering: .relaxed) }
}
