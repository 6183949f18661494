/// Strings and counters: SET and friends, INCR family, ranges.
///
/// Values are stored as bytes; counters are parsed on each INCR with Redis's
/// strict integer rules and written back as decimal text, so GET sees exactly
/// what Redis would return.
enum StringCommands {
    /// Redis's proto-max-bulk-len: the largest string a command may create.
    static let maxStringLength = 512 * 1024 * 1024

    static let commands: [CommandSpec] = [
        CommandSpec("set", arity: -3, flags: [.write, .denyOOM], handler: set),
        CommandSpec("get", arity: 2, flags: [.readonly, .fast], handler: get),
        CommandSpec("getset", arity: 3, flags: [.write, .denyOOM, .fast], handler: getset),
        CommandSpec("getdel", arity: 2, flags: [.write, .fast], handler: getdel),
        CommandSpec("getex", arity: -2, flags: [.write, .fast], handler: getex),
        CommandSpec("setnx", arity: 3, flags: [.write, .denyOOM, .fast], handler: setnx),
        CommandSpec("setex", arity: 4, flags: [.write, .denyOOM], handler: { c throws(CommandError) in try setWithExpiry(c, unit: .seconds) }),
        CommandSpec("psetex", arity: 4, flags: [.write, .denyOOM], handler: { c throws(CommandError) in try setWithExpiry(c, unit: .milliseconds) }),
        CommandSpec("mget", arity: -2, flags: [.readonly, .fast], keys: (1, -1, 1), handler: mget),
        CommandSpec("mset", arity: -3, flags: [.write, .denyOOM], keys: (1, -1, 2), handler: mset),
        CommandSpec("msetnx", arity: -3, flags: [.write, .denyOOM], keys: (1, -1, 2), handler: msetnx),
        CommandSpec("incr", arity: 2, flags: [.write, .denyOOM, .fast], handler: { c throws(CommandError) in try incrementBy(c, 1) }),
        CommandSpec("decr", arity: 2, flags: [.write, .denyOOM, .fast], handler: { c throws(CommandError) in try incrementBy(c, -1) }),
        CommandSpec("incrby", arity: 3, flags: [.write, .denyOOM, .fast], handler: { c throws(CommandError) in try incrementBy(c, c.integer(at: 2)) }),
        CommandSpec("decrby", arity: 3, flags: [.write, .denyOOM, .fast], handler: decrby),
        CommandSpec("incrbyfloat", arity: 3, flags: [.write, .denyOOM, .fast], handler: incrbyfloat),
        CommandSpec("append", arity: 3, flags: [.write, .denyOOM, .fast], handler: append),
        CommandSpec("strlen", arity: 2, flags: [.readonly, .fast], handler: strlen),
        CommandSpec("getrange", arity: 4, flags: [.readonly], handler: getrange),
        CommandSpec("substr", arity: 4, flags: [.readonly], handler: getrange),
        CommandSpec("setrange", arity: 4, flags: [.write, .denyOOM], handler: setrange),
    ]

    // MARK: - SET family

    /// Options shared by SET and GETEX.
    struct SetOptions {
        enum Condition { case none, ifAbsent, ifPresent }
        var condition = Condition.none
        var returnOld = false
        var keepTTL = false
        var persist = false
        /// The EX/PX/EXAT/PXAT argument and its unit, when given. Turned into
        /// a deadline by `deadline(_:)`: SET validates it before anything
        /// else, GETEX only once the key is found, as Redis does.
        var expiry: (argument: Bytes, unit: ExpiryUnit)?

        /// The absolute expiry in ms, or nil without EX/PX/EXAT/PXAT.
        func deadline(_ c: CommandContext) throws(CommandError) -> Int64? {
            guard let expiry else { return nil }
            return try ExpiryUnit.deadline(expiry.argument, unit: expiry.unit, now: c.db.now, command: c.name)
        }
    }

    /// Parses `[NX|XX] [GET] [EX|PX|EXAT|PXAT n|KEEPTTL|PERSIST]` from
    /// `position` on with Redis's conflict rules.
    static func parseSetOptions(_ c: CommandContext, from position: Int, forGetEx: Bool) throws(CommandError) -> SetOptions {
        var options = SetOptions()
        var i = position
        while i < c.argumentCount {
            let option = c[i]
            let hasNext = i + 1 < c.argumentCount
            if !forGetEx && option.equalsIgnoringCase("nx") && options.condition != .ifPresent {
                options.condition = .ifAbsent
            } else if !forGetEx && option.equalsIgnoringCase("xx") && options.condition != .ifAbsent {
                options.condition = .ifPresent
            } else if !forGetEx && option.equalsIgnoringCase("get") {
                options.returnOld = true
            } else if !forGetEx && option.equalsIgnoringCase("keepttl") && options.expiry == nil && !options.persist {
                options.keepTTL = true
            } else if forGetEx && option.equalsIgnoringCase("persist") && options.expiry == nil && !options.keepTTL {
                options.persist = true
            } else if let unit = ExpiryUnit(option), hasNext, !options.keepTTL, !options.persist,
                      options.expiry == nil || options.expiry?.unit == unit {
                options.expiry = (c[i + 1], unit)
                i += 1
            } else {
                throw .syntax
            }
            i += 1
        }
        return options
    }

    static func set(_ c: CommandContext) throws(CommandError) -> Reply {
        let options = try parseSetOptions(c, from: 3, forGetEx: false)
        let expiresAt = try options.deadline(c)
        let key = c[1]
        var old: Bytes? = nil
        if options.returnOld {
            old = try c.db.readString(key)
        }
        // Whether the key exists matters only to NX/XX and to how an expiry
        // is propagated; a plain SET does not look the key up twice.
        let exists = options.returnOld ? old != nil
            : (options.condition != .none || expiresAt != nil) && c.db.exists(key)
        let blocked = (options.condition == .ifAbsent && exists) || (options.condition == .ifPresent && !exists)
        if !blocked {
            store(c, key, c[2], expiresAt: expiresAt, keepTTL: options.keepTTL)
            if let expiresAt { propagateSet(c, key, c[2], expiresAt: expiresAt, existed: exists) }
        }
        if options.returnOld { return old.map(Reply.bulk) ?? .null }
        return blocked ? .null : .ok
    }

    /// Logs a SET with an expiry as `SET key value PXAT <abs>`, or as `DEL`
    /// when the deadline had already passed (Redis's propagation).
    static func propagateSet(_ c: CommandContext, _ key: Bytes, _ value: Bytes, expiresAt: Int64, existed: Bool) {
        guard c.isPropagating else { return }
        if expiresAt <= c.db.now {
            if existed { c.propagate(argv("DEL", key)) } else { c.propagateNothing() }
        } else {
            c.propagate(argv("SET", key, value, "PXAT", expiresAt))
        }
    }

    /// Writes a string, honouring an expiry already in the past by deleting
    /// the key, as Redis does.
    static func store(_ c: CommandContext, _ key: Bytes, _ value: Bytes, expiresAt: Int64?, keepTTL: Bool = false) {
        if let expiresAt, c.db.isAlreadyExpired(expiresAt) {
            if c.db.deleteKey(key) { c.db.didWrite(key, .del) }
            return
        }
        c.db.setKey(key, .string(value), expiresAt: expiresAt, keepTTL: keepTTL)
        c.db.didWrite(key, .set)
        if expiresAt != nil { c.db.didWrite(key, .expire) }
    }

    static func get(_ c: CommandContext) throws(CommandError) -> Reply {
        try c.db.readString(c[1]).map(Reply.bulk) ?? .null
    }

    static func getset(_ c: CommandContext) throws(CommandError) -> Reply {
        let old = try c.db.readString(c[1])
        store(c, c[1], c[2], expiresAt: nil)
        return old.map(Reply.bulk) ?? .null
    }

    static func getdel(_ c: CommandContext) throws(CommandError) -> Reply {
        guard let old = try c.db.readString(c[1]) else { return .null }
        c.db.deleteKey(c[1])
        c.db.didWrite(c[1], .del)
        return .bulk(old)
    }

    static func getex(_ c: CommandContext) throws(CommandError) -> Reply {
        let options = try parseSetOptions(c, from: 2, forGetEx: true)
        let key = c[1]
        guard let value = try c.db.readString(key) else { return .null }
        // Only now the expiry value is checked: GETEX on a missing key with
        // `EX 0` or `EX abc` replies nil in Redis, not an error.
        if let expiresAt = try options.deadline(c) {
            if expiresAt <= c.db.now {
                c.db.deleteKey(key)
                c.db.didWrite(key, .del)
                c.propagate(argv("DEL", key))
            } else {
                c.db.setExpiry(key, at: expiresAt)
                c.db.didWrite(key, .expire)
                c.propagate(argv("PEXPIREAT", key, expiresAt))
            }
        } else if options.persist, c.db.persist(key) {
            c.db.didWrite(key, .persist)
            c.propagate(argv("PERSIST", key))
        }
        return .bulk(value)
    }

    static func setnx(_ c: CommandContext) throws(CommandError) -> Reply {
        if c.db.exists(c[1]) { return .integer(0) }
        store(c, c[1], c[2], expiresAt: nil)
        return .integer(1)
    }

    static func setWithExpiry(_ c: CommandContext, unit: ExpiryUnit) throws(CommandError) -> Reply {
        let expiresAt = try ExpiryUnit.deadline(c[2], unit: unit, now: c.db.now, command: c.name)
        let existed = c.isPropagating && c.db.exists(c[1])
        store(c, c[1], c[3], expiresAt: expiresAt)
        propagateSet(c, c[1], c[3], expiresAt: expiresAt, existed: existed)
        return .ok
    }

    static func mget(_ c: CommandContext) throws(CommandError) -> Reply {
        .array(c.arguments.dropFirst().map { key in
            if let entry = c.db.lookupRead(key), case .string(let value) = entry.value { return .bulk(value) }
            return .null
        })
    }

    static func mset(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount % 2 == 1 else { throw .wrongArity(c.name) }
        for i in stride(from: 1, to: c.argumentCount, by: 2) {
            store(c, c[i], c[i + 1], expiresAt: nil)
        }
        return .ok
    }

    static func msetnx(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount % 2 == 1 else { throw .wrongArity(c.name) }
        for i in stride(from: 1, to: c.argumentCount, by: 2) where c.db.exists(c[i]) {
            return .integer(0)
        }
        for i in stride(from: 1, to: c.argumentCount, by: 2) {
            store(c, c[i], c[i + 1], expiresAt: nil)
        }
        return .integer(1)
    }

    // MARK: - Counters

    static func incrementBy(_ c: CommandContext, _ increment: Int64) throws(CommandError) -> Reply {
        let key = c[1]
        var current: Int64 = 0
        if let value = try c.db.readString(key, forWrite: true) {
            guard let parsed = Parse.strictInt64(value) else { throw .notInteger }
            current = parsed
        }
        let (result, overflow) = current.addingReportingOverflow(increment)
        if overflow { throw .overflow }
        c.db.setKey(key, .string(Parse.bytes(result)), keepTTL: true)
        // Redis notifies "incrby" for INCR, DECR, INCRBY and DECRBY alike.
        c.db.didWrite(key, .incrby)
        return .integer(result)
    }

    static func decrby(_ c: CommandContext) throws(CommandError) -> Reply {
        let decrement = try c.integer(at: 2)
        if decrement == Int64.min { throw CommandError(.overflow, "ERR decrement would overflow") }
        return try incrementBy(c, -decrement)
    }

    static func incrbyfloat(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        var current: Parse.LongDouble = 0
        if let value = try c.db.readString(key, forWrite: true) {
            guard let parsed = Parse.strictLongDouble(value) else { throw .notFloat }
            current = parsed
        }
        guard let increment = Parse.strictLongDouble(c[2]) else { throw .notFloat }
        let result = current + increment
        if result.isNaN || result.isInfinite { throw .nanOrInfinity }
        let text = Bytes(Parse.formatLongDouble(result))
        c.db.setKey(key, .string(text), keepTTL: true)
        c.db.didWrite(key, .incrbyfloat)
        c.propagate(argv("SET", key, text, "KEEPTTL"))
        return .bulk(text)
    }

    // MARK: - Ranges and length

    static func append(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        guard let slot = c.db.liveSlot(key) else {
            store(c, key, c[2], expiresAt: nil)
            return .integer(Int64(c[2].count))
        }
        let length = try c.db.keyspace.modifyValue(atSlot: slot) { value throws(CommandError) -> Int in
            guard case .string(var bytes) = value else { throw .wrongType }
            guard bytes.count + c[2].count <= maxStringLength else { throw .stringTooLong }
            value = .string(Bytes())  // drop the reference so the append is in place
            bytes.storage.append(contentsOf: c[2].storage)
            value = .string(bytes)
            return bytes.count
        }
        c.db.didWrite(key, .append)
        return .integer(Int64(length))
    }

    static func strlen(_ c: CommandContext) throws(CommandError) -> Reply {
        .integer(Int64(try c.db.readString(c[1])?.count ?? 0))
    }

    static func getrange(_ c: CommandContext) throws(CommandError) -> Reply {
        var start = try c.integer(at: 2)
        var end = try c.integer(at: 3)
        let value = try c.db.readString(c[1]) ?? Bytes()
        let length = Int64(value.count)
        if start < 0 && end < 0 && start > end { return .bulk(Bytes()) }
        if start < 0 { start = length + start }
        if end < 0 { end = length + end }
        if start < 0 { start = 0 }
        if end < 0 { end = 0 }
        if end >= length { end = length - 1 }
        if start > end || length == 0 { return .bulk(Bytes()) }
        return .bulk(Bytes(value.storage[Int(start)...Int(end)]))
    }

    static func setrange(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        let offset = try c.integer(at: 2)
        let patch = c[3]
        if offset < 0 { throw CommandError(.generic, "ERR offset is out of range") }
        let current = try c.db.readString(key, forWrite: true)
        if current == nil && patch.isEmpty { return .integer(0) }
        if patch.isEmpty { return .integer(Int64(current!.count)) }
        // Compared without adding so a huge offset (up to Int64.max) is the
        // proto-max-bulk-len error, as in Redis's checkStringLength, not a trap.
        if offset > Int64(maxStringLength) - Int64(patch.count) { throw .stringTooLong }
        let end = Int(offset) + patch.count
        try c.db.admitGrowth(end - (current?.count ?? 0))
        var bytes = current?.storage ?? []
        if bytes.count < end { bytes.append(contentsOf: repeatElement(0, count: end - bytes.count)) }
        bytes.replaceSubrange(Int(offset)..<end, with: patch.storage)
        c.db.setKey(key, .string(Bytes(bytes)), keepTTL: true)
        c.db.didWrite(key, .setrange)
        return .integer(Int64(bytes.count))
    }
}

/// The time units of EX/PX/EXAT/PXAT options and the EXPIRE family.
enum ExpiryUnit: Equatable {
    case seconds, milliseconds, unixSeconds, unixMilliseconds

    init?(_ option: Bytes) {
        if option.equalsIgnoringCase("ex") { self = .seconds }
        else if option.equalsIgnoringCase("px") { self = .milliseconds }
        else if option.equalsIgnoringCase("exat") { self = .unixSeconds }
        else if option.equalsIgnoringCase("pxat") { self = .unixMilliseconds }
        else { return nil }
    }

    var inSeconds: Bool { self == .seconds || self == .unixSeconds }
    var isRelative: Bool { self == .seconds || self == .milliseconds }

    /// An option value turned into an absolute Unix-ms deadline, with Redis's
    /// checks: a positive integer that doesn't overflow.
    static func deadline(_ argument: Bytes, unit: ExpiryUnit, now: Int64, command: String) throws(CommandError) -> Int64 {
        var milliseconds = try Parse.integer(argument)
        if milliseconds <= 0 || (unit.inSeconds && milliseconds > Int64.max / 1000) {
            throw .invalidExpire(command)
        }
        if unit.inSeconds { milliseconds *= 1000 }
        if unit.isRelative {
            if milliseconds > Int64.max - now { throw .invalidExpire(command) }
            milliseconds += now
        }
        return milliseconds
    }
}

/// String events (`$`).
extension KeyspaceEvent {
    static let set = KeyspaceEvent("set", .string)
    static let setrange = KeyspaceEvent("setrange", .string)
    static let incrby = KeyspaceEvent("incrby", .string)
    static let incrbyfloat = KeyspaceEvent("incrbyfloat", .string)
    static let append = KeyspaceEvent("append", .string)
}
