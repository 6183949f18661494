/// OBJECT ENCODING / FREQ / IDLETIME / REFCOUNT / HELP: introspection that
/// looks at a key without touching its access time (Redis's LOOKUP_NOTOUCH).
///
/// ENCODING reports the name Redis would use for the same contents under its
/// default thresholds (`hash-max-listpack-entries` 128 and `-value` 64,
/// `set-max-intset-entries` 512, `set-max-listpack-entries` 128,
/// `zset-max-listpack-entries` 128, `list-max-listpack-size` -2 = 8 KB),
/// because tools and people read these names. A hash, set, sorted set or
/// list reports the form Keyway holds it in, chosen at the same thresholds
/// as Redis: compact `listpack`, or `hashtable`, `skiplist` (both converted
/// one way, as in Redis), `quicklist` (packed again at half the size, as in
/// Redis 7.2). A set of integers reports `intset` as Redis would hold it.
enum ObjectCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("object", arity: -2, flags: [.readonly], keys: (2, 2, 1), handler: object),
    ]

    static let lfuNotSelected = CommandError(.generic, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
    static let lfuSelected = CommandError(.generic, "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")

    static func object(_ c: CommandContext) throws(CommandError) -> Reply {
        let sub = c[1]
        if sub.equalsIgnoringCase("help") && c.argumentCount == 2 {
            return .array([
                "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ENCODING <key>",
                "    Return the kind of internal representation used in order to store the value",
                "    associated with a <key>.",
                "FREQ <key>",
                "    Return the access frequency index of the <key>. The returned integer is",
                "    proportional to the logarithm of the recent access frequency of the key.",
                "IDLETIME <key>",
                "    Return the idle time of the <key>, that is the approximated number of",
                "    seconds elapsed since the last access to the key.",
                "REFCOUNT <key>",
                "    Return the number of references of the value associated with the specified",
                "    <key>.",
                "HELP",
                "    Print this help.",
            ].map { Reply.status($0) })
        }
        guard c.argumentCount == 3 else {
            throw CommandError(.syntax, "ERR unknown subcommand or wrong number of arguments for '\(sub.text)'. Try OBJECT HELP.")
        }
        let known = ["encoding", "freq", "idletime", "refcount"].contains { sub.equalsIgnoringCase($0) }
        guard known else {
            throw CommandError(.syntax, "ERR unknown subcommand '\(sub.text)'. Try OBJECT HELP.")
        }
        guard let slot = c.db.liveSlot(c[2], touch: false) else { return .null }
        let entry = c.db.keyspace[slot: slot]
        if sub.equalsIgnoringCase("encoding") {
            return .bulk(Bytes(encoding(of: entry.value)))
        }
        if sub.equalsIgnoringCase("freq") {
            guard c.db.eviction.policy.usesLFU else { throw lfuNotSelected }
            return .integer(Int64(c.db.lfuDecayed(entry.access)))
        }
        if sub.equalsIgnoringCase("idletime") {
            guard !c.db.eviction.policy.usesLFU else { throw lfuSelected }
            return .integer(c.db.idleMilliseconds(entry.access) / 1000)
        }
        return .integer(refcount(of: entry.value, db: c.db))
    }

    /// Redis shares the integers 0..9999 between keys (refcount INT_MAX),
    /// except under an LRU/LFU policy with a limit, where each key needs its
    /// own access time.
    static func refcount(of value: Value, db: Database) -> Int64 {
        guard case .string(let bytes) = value, let number = Parse.strictInt64(bytes), (0..<10_000).contains(number),
              bytes.count == String(number).utf8.count else { return 1 }
        let sharing = db.eviction.maxMemory == 0 || db.eviction.policy.isRandom || db.eviction.policy == .noEviction
            || db.eviction.policy == .volatileTTL
        return sharing ? Int64(Int32.max) : 1
    }

    static let listpackEntries = 128
    static let listpackValueBytes = 64
    static let intsetEntries = 512
    static let embstrLimit = 44

    /// The Redis encoding name for `value` (see the type's comment).
    static func encoding(of value: Value) -> String {
        switch value {
        case .string(let bytes):
            if bytes.count <= 20, let number = Parse.strictInt64(bytes), String(number).utf8.count == bytes.count { return "int" }
            return bytes.count <= embstrLimit ? "embstr" : "raw"
        case .list(let list):
            return list.isCompact ? "listpack" : "quicklist"
        case .hash(let hash):
            if hash.isCompact { return "listpack" }
            // Field TTLs force the table form; Redis keeps a small hash with
            // them as a listpackex.
            guard hash.hasVolatileFields, hash.count <= listpackEntries,
                  hash.entries.allSatisfy({ $0.field.count <= listpackValueBytes && $0.value.count <= listpackValueBytes })
            else { return "hashtable" }
            return "listpackex"
        case .set(let set):
            if set.count <= intsetEntries && set.members.allSatisfy({ isIntsetMember($0) }) { return "intset" }
            return set.isCompact ? "listpack" : "hashtable"
        case .zset(let zset):
            return zset.isCompact ? "listpack" : "skiplist"
        case .stream:
            return "stream"
        case .json:
            return "json"
        }
    }

    /// An integer as Redis's intset takes it: canonical decimal, 64-bit.
    static func isIntsetMember(_ bytes: Bytes) -> Bool {
        guard bytes.count <= 20, let number = Parse.strictInt64(bytes) else { return false }
        return String(number).utf8.count == bytes.count
    }
}
