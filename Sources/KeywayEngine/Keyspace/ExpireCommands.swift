/// Key expiry: EXPIRE family with NX/XX/GT/LT, TTL family, PERSIST.
/// Expired keys go lazily on access (`Database.liveSlot`) and actively in
/// `Database.activeExpireCycle`.
enum ExpireCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("expire", arity: -3, flags: [.write, .fast], handler: { c throws(CommandError) in try expire(c, unit: .seconds) }),
        CommandSpec("pexpire", arity: -3, flags: [.write, .fast], handler: { c throws(CommandError) in try expire(c, unit: .milliseconds) }),
        CommandSpec("expireat", arity: -3, flags: [.write, .fast], handler: { c throws(CommandError) in try expire(c, unit: .unixSeconds) }),
        CommandSpec("pexpireat", arity: -3, flags: [.write, .fast], handler: { c throws(CommandError) in try expire(c, unit: .unixMilliseconds) }),
        CommandSpec("ttl", arity: 2, flags: [.readonly, .fast], handler: { c throws(CommandError) in ttl(c, milliseconds: false, absolute: false) }),
        CommandSpec("pttl", arity: 2, flags: [.readonly, .fast], handler: { c throws(CommandError) in ttl(c, milliseconds: true, absolute: false) }),
        CommandSpec("expiretime", arity: 2, flags: [.readonly, .fast], handler: { c throws(CommandError) in ttl(c, milliseconds: false, absolute: true) }),
        CommandSpec("pexpiretime", arity: 2, flags: [.readonly, .fast], handler: { c throws(CommandError) in ttl(c, milliseconds: true, absolute: true) }),
        CommandSpec("persist", arity: 2, flags: [.write, .fast], handler: persist),
    ]

    /// EXPIRE key time [NX|XX|GT|LT]. A deadline in the past deletes the key.
    static func expire(_ c: CommandContext, unit: ExpiryUnit) throws(CommandError) -> Reply {
        var nx = false, xx = false, gt = false, lt = false
        for option in c.arguments.dropFirst(3) {
            if option.equalsIgnoringCase("nx") { nx = true }
            else if option.equalsIgnoringCase("xx") { xx = true }
            else if option.equalsIgnoringCase("gt") { gt = true }
            else if option.equalsIgnoringCase("lt") { lt = true }
            else { throw CommandError(.syntax, "ERR Unsupported option \(option.text)") }
        }
        if nx && (xx || gt || lt) {
            throw CommandError(.syntax, "ERR NX and XX, GT or LT options at the same time are not compatible")
        }
        if gt && lt {
            throw CommandError(.syntax, "ERR GT and LT options at the same time are not compatible")
        }
        var when = try c.integer(at: 2)
        if unit.inSeconds {
            guard when <= Int64.max / 1000 && when >= Int64.min / 1000 else { throw .invalidExpire(c.name) }
            when *= 1000
        }
        if unit.isRelative {
            let (sum, overflow) = when.addingReportingOverflow(c.db.now)
            if overflow { throw .invalidExpire(c.name) }
            when = sum
        }
        let key = c[1]
        guard let slot = c.db.liveSlot(key) else { return .integer(0) }
        let entry = c.db.keyspace[slot: slot]
        if nx && entry.hasExpiry { return .integer(0) }
        if xx && !entry.hasExpiry { return .integer(0) }
        // A key without expiry counts as an infinite TTL for GT and LT.
        if gt && (!entry.hasExpiry || when <= entry.expiresAt) { return .integer(0) }
        if lt && entry.hasExpiry && when >= entry.expiresAt { return .integer(0) }
        if c.db.isAlreadyExpired(when) {
            c.db.deleteKey(key)
            c.db.didWrite(key, .del)
            c.propagate(argv("DEL", key))
        } else {
            c.db.keyspace.setExpiry(when, atSlot: slot)
            c.db.didWrite(key, .expire)
            c.propagate(argv("PEXPIREAT", key, when))
        }
        return .integer(1)
    }

    /// TTL, PTTL, EXPIRETIME, PEXPIRETIME. Redis rounds to the nearest second
    /// for the second-based replies, the absolute ones included
    /// (`(ttl+500)/1000` in expire.c), so EXPIRETIME of a deadline at
    /// x.500 s is x+1.
    static func ttl(_ c: CommandContext, milliseconds: Bool, absolute: Bool) -> Reply {
        guard let entry = c.db.lookupRead(c[1]) else { return .integer(-2) }
        guard entry.hasExpiry else { return .integer(-1) }
        let value = absolute ? entry.expiresAt : max(entry.expiresAt - c.db.now, 0)
        return .integer(milliseconds ? value : roundedToSeconds(value))
    }

    /// `(ms + 500) / 1000` for non-negative `ms`, without overflowing near Int64.max.
    static func roundedToSeconds(_ ms: Int64) -> Int64 {
        ms / 1000 + (ms % 1000 >= 500 ? 1 : 0)
    }

    static func persist(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.db.persist(c[1]) else { return .integer(0) }
        c.db.didWrite(c[1], .persist)
        return .integer(1)
    }
}
