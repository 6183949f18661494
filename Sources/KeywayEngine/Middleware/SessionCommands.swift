/// The one session operation plain hash commands cannot do atomically: a
/// merge into a hash that must already exist.
///
/// A session is the hash `session:{id}` with a TTL (the usual Redis session
/// pattern), so creation, reads and deletion are HSET/PEXPIRE, HGETALL and
/// DEL. A PATCH, though, must not recreate a session that just expired (HSET
/// would, without a TTL), and must not leave an empty hash behind (which
/// would silently end the session). Redis has no such command, hence the
/// `KEYWAY.` prefix; it logs HSET/HDEL/PEXPIREAT to the AOF.
enum SessionCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("keyway.hpatch", arity: -4, flags: [.write, .denyOOM], handler: hpatch),
    ]

    /// KEYWAY.HPATCH key ttl-ms numset field value [...] [field-to-delete ...]
    ///
    /// On an existing hash: sets `numset` field/value pairs, deletes the
    /// fields after them, and when `ttl-ms` > 0 sets the key's TTL to it
    /// (0 keeps the TTL). Replies `[fields-map, pttl]`; nil when the key is
    /// missing (nothing is created); 0 when the change would leave no field
    /// (nothing is changed).
    static func hpatch(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        let ttl = try c.integer(at: 2)
        guard ttl >= 0, ttl <= Int64.max / 2 - c.db.now else { throw .invalidExpire(c.name) }
        let setCount = try c.integer(at: 3)
        guard setCount >= 0, setCount <= Int64(c.argumentCount - 4) / 2 else { throw .syntax }
        let setEnd = 4 + Int(setCount) * 2
        let sets = c.arguments[4..<setEnd], deletions = c.arguments[setEnd...]

        guard let hash = try HashCommands.readHash(c, key) else { return .null }
        // Refuse before changing anything when no field would be left.
        var remaining = Set(hash.fieldNames)
        for field in deletions { remaining.remove(field) }
        for i in stride(from: sets.startIndex, to: sets.endIndex, by: 2) { remaining.insert(sets[i]) }
        if remaining.isEmpty { return .integer(0) }

        var removed: [Bytes] = []
        _ = try HashCommands.modifyHash(c, key, create: false) { hash in
            for i in stride(from: sets.startIndex, to: sets.endIndex, by: 2) { _ = hash.set(sets[i], sets[i + 1]) }
            for field in deletions where hash.remove(field) != nil { removed.append(field) }
        }
        var effects: [[Bytes]] = []
        if !sets.isEmpty {
            c.db.didWrite(key, .hset)
            effects.append([Bytes("HSET"), key] + sets)
        }
        if !removed.isEmpty {
            c.db.didWrite(key, .hdel)
            effects.append([Bytes("HDEL"), key] + removed)
        }
        if ttl > 0 {
            let expiresAt = c.db.now + ttl
            c.db.setExpiry(key, at: expiresAt)
            c.db.didWrite(key, .expire)
            effects.append(argv("PEXPIREAT", key, expiresAt))
        }
        c.propagate(effects)

        var pairs: [Reply] = []
        var pttl: Int64 = -1
        if let slot = c.db.liveSlot(key) {
            let entry = c.db.keyspace[slot: slot]
            if entry.hasExpiry { pttl = max(0, entry.expiresAt - c.db.now) }
            if let patched = HashValue.peek(entry.value) {
                patched.forEach { field, value in
                    pairs.append(.bulk(field))
                    pairs.append(.bulk(value))
                }
            }
        }
        return .array([.map(pairs), .integer(pttl)])
    }
}
