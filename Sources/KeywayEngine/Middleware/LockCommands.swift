/// Keyway's lock commands: the `/v1/locks` routes run on them.
///
/// A lock is the plain Redis pattern, `SET lock token NX PX ttl`, so clients
/// using that pattern directly interoperate: the lock key holds the owner's
/// token and lapses by TTL. These commands add what one SET cannot do
/// atomically: a fencing counter bumped on every acquisition (never reset by
/// a release, so a downstream store can refuse a stale holder), waiting in
/// line for a held lock without holding a thread, and compare-and-delete /
/// compare-and-extend by token.
///
/// Redis has no such commands, hence the `KEYWAY.` prefix. They log plain
/// Redis commands to the AOF (`SET ... PXAT`, `INCR`, `DEL`, `PEXPIREAT`).
enum LockCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("keyway.lock", arity: 6, flags: [.write, .denyOOM, .blocking], keys: (1, 2, 1), handler: lock),
        CommandSpec("keyway.unlock", arity: 3, flags: [.write, .fast], handler: unlock),
        CommandSpec("keyway.extend", arity: 4, flags: [.write, .fast], handler: extend),
    ]

    /// KEYWAY.LOCK lock-key fencing-key token ttl-ms wait-ms
    ///
    /// Acquires when the lock key is free: sets it to `token` with a PX TTL
    /// and increments the fencing key, replying `[fencing, ttl-ms]`. When
    /// held, replies nil at once if `wait-ms` is 0 (or inside MULTI or a
    /// pipeline); otherwise parks until the holder releases it or it expires,
    /// or `wait-ms` passes (nil). Waiters are served first come first served;
    /// a newcomer never takes a lock that parked waiters are in line for.
    static func lock(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1], fencingKey = c[2], token = c[3]
        let ttl = try c.integer(at: 4)
        guard ttl > 0, ttl <= Int64.max / 2 - c.db.now else { throw .invalidExpire(c.name) }
        let wait = try c.integer(at: 5)
        if wait < 0 { throw CommandError(.generic, "ERR timeout is negative") }
        // Check the counter before touching anything, so a bad one fails cleanly.
        var fencing: Int64 = 0
        if let text = try c.db.readString(fencingKey, forWrite: true) {
            guard let value = Parse.strictInt64(text) else { throw .notInteger }
            fencing = value
        }
        if fencing == Int64.max { throw CommandError(.overflow, "ERR increment or decrement would overflow") }

        if let slot = c.db.liveSlot(key) {
            let entry = c.db.keyspace[slot: slot]
            // A key lives through the millisecond of its deadline; look again just after.
            let lapse = entry.hasExpiry ? entry.expiresAt + 1 : nil
            return wait > 0 ? c.block(on: [key], timeoutMilliseconds: wait, recheckAt: lapse) : .null
        }
        if let first = c.db.blocking.firstWaiter(on: key), first.id != c.execution.servingWaiter {
            // Free, but others are in line: the serve pass after this command
            // hands it to the first of them; this caller queues behind.
            c.db.blocking.keyWritten(key)
            return wait > 0 ? c.block(on: [key], timeoutMilliseconds: wait) : .null
        }

        let expiresAt = c.db.now + ttl
        c.db.setKey(key, .string(token), expiresAt: expiresAt)
        c.db.didWrite(key, .set)
        fencing += 1
        c.db.setKey(fencingKey, .string(Parse.bytes(fencing)), keepTTL: true)
        c.db.didWrite(fencingKey, .incrby)
        c.propagate([argv("SET", key, token, "PXAT", expiresAt), argv("INCR", fencingKey)])
        return .array([.integer(fencing), .integer(ttl)])
    }

    /// The lock key's holder token: nil when the key is missing.
    private static func holder(_ c: CommandContext, _ key: Bytes) -> Bytes?? {
        guard let slot = c.db.liveSlot(key) else { return nil }
        if case .string(let token) = c.db.keyspace[slot: slot].value { return .some(token) }
        return .some(nil)
    }

    /// KEYWAY.UNLOCK lock-key token: deletes the key only if it holds
    /// `token`. 1 released, 0 held by another token, -1 not held.
    static func unlock(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        guard let current = holder(c, key) else { return .integer(-1) }
        guard current == c[2] else { return .integer(0) }
        c.db.deleteKey(key)
        c.db.didWrite(key, .del)
        c.propagate(argv("DEL", key))
        return .integer(1)
    }

    /// KEYWAY.EXTEND lock-key token ttl-ms: sets the TTL to `ttl-ms` from
    /// now only if the key holds `token`. 1 extended, 0 another token, -1 not held.
    static func extend(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        let ttl = try c.integer(at: 3)
        guard ttl > 0, ttl <= Int64.max / 2 - c.db.now else { throw .invalidExpire(c.name) }
        guard let current = holder(c, key) else { return .integer(-1) }
        guard current == c[2] else { return .integer(0) }
        let expiresAt = c.db.now + ttl
        c.db.setExpiry(key, at: expiresAt)
        c.db.didWrite(key, .expire)
        c.propagate(argv("PEXPIREAT", key, expiresAt))
        return .integer(1)
    }
}
