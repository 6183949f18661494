/// Hash commands: fields and values (HSET family, HINCRBY, HRANDFIELD,
/// HSCAN) and per-field TTLs as Redis 7.4/8 define them (HEXPIRE family,
/// HTTL family, HPERSIST, HGETEX, HSETEX, HGETDEL).
///
/// Every command first drops the hash's expired fields (an O(1) check when
/// none is due), so a field past its deadline is never seen, and a hash whose
/// last field expired is deleted, before the command looks at it.
enum HashCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("hset", arity: -4, flags: [.write, .denyOOM, .fast], handler: hset),
        CommandSpec("hmset", arity: -4, flags: [.write, .denyOOM, .fast], handler: hset),
        CommandSpec("hsetnx", arity: 4, flags: [.write, .denyOOM, .fast], handler: hsetnx),
        CommandSpec("hget", arity: 3, flags: [.readonly, .fast], handler: hget),
        CommandSpec("hmget", arity: -3, flags: [.readonly, .fast], handler: hmget),
        CommandSpec("hgetall", arity: 2, flags: [.readonly], handler: hgetall),
        CommandSpec("hkeys", arity: 2, flags: [.readonly], handler: hkeys),
        CommandSpec("hvals", arity: 2, flags: [.readonly], handler: hvals),
        CommandSpec("hdel", arity: -3, flags: [.write, .fast], handler: hdel),
        CommandSpec("hexists", arity: 3, flags: [.readonly, .fast], handler: hexists),
        CommandSpec("hlen", arity: 2, flags: [.readonly, .fast], handler: hlen),
        CommandSpec("hstrlen", arity: 3, flags: [.readonly, .fast], handler: hstrlen),
        CommandSpec("hincrby", arity: 4, flags: [.write, .denyOOM, .fast], handler: hincrby),
        CommandSpec("hincrbyfloat", arity: 4, flags: [.write, .denyOOM, .fast], handler: hincrbyfloat),
        CommandSpec("hrandfield", arity: -2, flags: [.readonly], handler: hrandfield),
        CommandSpec("hscan", arity: -3, flags: [.readonly], handler: hscan),
        CommandSpec("hexpire", arity: -6, flags: [.write, .fast], handler: { c throws(CommandError) in try hexpire(c, unit: .seconds) }),
        CommandSpec("hpexpire", arity: -6, flags: [.write, .fast], handler: { c throws(CommandError) in try hexpire(c, unit: .milliseconds) }),
        CommandSpec("hexpireat", arity: -6, flags: [.write, .fast], handler: { c throws(CommandError) in try hexpire(c, unit: .unixSeconds) }),
        CommandSpec("hpexpireat", arity: -6, flags: [.write, .fast], handler: { c throws(CommandError) in try hexpire(c, unit: .unixMilliseconds) }),
        CommandSpec("httl", arity: -5, flags: [.readonly, .fast], handler: { c throws(CommandError) in try httl(c, milliseconds: false, absolute: false) }),
        CommandSpec("hpttl", arity: -5, flags: [.readonly, .fast], handler: { c throws(CommandError) in try httl(c, milliseconds: true, absolute: false) }),
        CommandSpec("hexpiretime", arity: -5, flags: [.readonly, .fast], handler: { c throws(CommandError) in try httl(c, milliseconds: false, absolute: true) }),
        CommandSpec("hpexpiretime", arity: -5, flags: [.readonly, .fast], handler: { c throws(CommandError) in try httl(c, milliseconds: true, absolute: true) }),
        CommandSpec("hpersist", arity: -5, flags: [.write, .fast], handler: hpersist),
        CommandSpec("hgetex", arity: -5, flags: [.write, .fast], handler: hgetex),
        CommandSpec("hsetex", arity: -6, flags: [.write, .denyOOM, .fast], handler: hsetex),
        CommandSpec("hgetdel", arity: -5, flags: [.write, .fast], handler: hgetdel),
    ]

    // MARK: - Errors (Redis's texts)

    static let hashValueNotInteger = CommandError(.notInteger, "ERR hash value is not an integer")
    static let hashValueNotFloat = CommandError(.notFloat, "ERR hash value is not a float")
    static let incrementNotFinite = CommandError(.notFloat, "ERR value is NaN or Infinity")
    static let negativeExpire = CommandError(.invalidExpire, "ERR invalid expire time, must be >= 0")
    static let missingFields = CommandError(.syntax, "ERR Mandatory argument FIELDS is missing or not at the right position")
    static let numFieldsNotPositive = CommandError(.generic, "ERR Parameter `numFields` should be greater than 0")
    static let numberOfFieldsNotPositive = CommandError(.generic, "ERR Number of fields must be a positive integer")
    static let numFieldsMismatch = CommandError(.generic, "ERR The `numfields` parameter must match the number of arguments")
    static let invalidNumberOfFields = CommandError(.generic, "ERR invalid number of fields")
    static let countOutOfRange = CommandError(.generic, "ERR value is out of range")

    /// The latest field deadline Redis accepts (2^46 - 1 ms, year 4199).
    static let maxFieldDeadline: Int64 = ((1 << 48) - 1) >> 2

    // MARK: - Access with lazy field expiry

    /// The hash under `key` for reading, its expired fields dropped first
    /// (which may delete the key); nil when missing, WRONGTYPE for others.
    static func readHash(_ c: CommandContext, _ key: Bytes) throws(CommandError) -> HashValue? {
        do {
            guard let hash = try c.db.read(HashValue.self, key) else { return nil }
            if !hash.hasDueFields(at: c.db.now) { return hash }
        }
        // The copy above is gone, so the purge mutates in place.
        c.db.expireHashFields(key)
        return try c.db.read(HashValue.self, key)
    }

    /// `Database.modify` for hashes, dropping expired fields before `body`
    /// sees the hash and reporting them as `hexpired`.
    static func modifyHash<R>(
        _ c: CommandContext, _ key: Bytes, create: Bool,
        _ body: (inout HashValue) throws(CommandError) -> R
    ) throws(CommandError) -> R? {
        let now = c.db.now
        var expired = 0
        let result = try c.db.modify(HashValue.self, key, create: create) { hash throws(CommandError) -> R in
            expired = c.db.loading ? 0 : hash.removeExpiredFields(now: now)
            return try body(&hash)
        }
        if expired > 0 { c.db.didWrite(key, .hexpired) }
        return result
    }

    // MARK: - Fields and values

    /// HSET key field value [field value ...] → fields created; HMSET → OK.
    /// A new value discards the field's TTL.
    static func hset(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount % 2 == 0 else { throw .wrongArity(c.name) }
        let created = try modifyHash(c, c[1], create: true) { hash -> Int64 in
            var created: Int64 = 0
            for i in stride(from: 2, to: c.argumentCount, by: 2) where hash.set(c[i], c[i + 1]) {
                created += 1
            }
            return created
        } ?? 0
        c.db.didWrite(c[1], .hset)
        return c.name == "hmset" ? .ok : .integer(created)
    }

    static func hsetnx(_ c: CommandContext) throws(CommandError) -> Reply {
        let created = try modifyHash(c, c[1], create: true) { hash in
            hash.contains(c[2]) ? false : hash.set(c[2], c[3])
        } ?? false
        guard created else { return .integer(0) }
        c.db.didWrite(c[1], .hset)
        return .integer(1)
    }

    static func hget(_ c: CommandContext) throws(CommandError) -> Reply {
        try readHash(c, c[1])?[c[2]].map(Reply.bulk) ?? .null
    }

    static func hmget(_ c: CommandContext) throws(CommandError) -> Reply {
        let hash = try readHash(c, c[1])
        return .array(c.arguments.dropFirst(2).map { field in hash?[field].map(Reply.bulk) ?? .null })
    }

    /// Field/value pairs as a map (a flat array in RESP2).
    static func hgetall(_ c: CommandContext) throws(CommandError) -> Reply {
        guard let hash = try readHash(c, c[1]) else { return .map([]) }
        var pairs: [Reply] = []
        pairs.reserveCapacity(hash.count * 2)
        hash.forEach { field, value in
            pairs.append(.bulk(field))
            pairs.append(.bulk(value))
        }
        return .map(pairs)
    }

    static func hkeys(_ c: CommandContext) throws(CommandError) -> Reply {
        .array(try readHash(c, c[1])?.fieldNames.map(Reply.bulk) ?? [])
    }

    static func hvals(_ c: CommandContext) throws(CommandError) -> Reply {
        .array(try readHash(c, c[1])?.values.map(Reply.bulk) ?? [])
    }

    static func hdel(_ c: CommandContext) throws(CommandError) -> Reply {
        let deleted = try modifyHash(c, c[1], create: false) { hash -> Int64 in
            var deleted: Int64 = 0
            for field in c.arguments.dropFirst(2) where hash.remove(field) != nil { deleted += 1 }
            return deleted
        } ?? 0
        if deleted > 0 { c.db.didWrite(c[1], .hdel) }
        return .integer(deleted)
    }

    static func hexists(_ c: CommandContext) throws(CommandError) -> Reply {
        .integer(try readHash(c, c[1])?.contains(c[2]) == true ? 1 : 0)
    }

    static func hlen(_ c: CommandContext) throws(CommandError) -> Reply {
        .integer(Int64(try readHash(c, c[1])?.count ?? 0))
    }

    static func hstrlen(_ c: CommandContext) throws(CommandError) -> Reply {
        .integer(Int64(try readHash(c, c[1])?[c[2]]?.count ?? 0))
    }

    // MARK: - Counters

    /// HINCRBY key field increment. Keeps the field's TTL, as Redis does.
    static func hincrby(_ c: CommandContext) throws(CommandError) -> Reply {
        let increment = try c.integer(at: 3)
        let field = c[2]
        let result = try modifyHash(c, c[1], create: true) { hash throws(CommandError) -> Int64 in
            var current: Int64 = 0
            if let value = hash[field] {
                guard let parsed = Parse.strictInt64(value) else { throw hashValueNotInteger }
                current = parsed
            }
            let (sum, overflow) = current.addingReportingOverflow(increment)
            if overflow { throw .overflow }
            hash.set(field, Parse.bytes(sum), keepTTL: true)
            return sum
        }!
        c.db.didWrite(c[1], .hincrby)
        return .integer(result)
    }

    /// HINCRBYFLOAT key field increment, in long double with Redis's
    /// INCRBYFLOAT formatting. Keeps the field's TTL.
    static func hincrbyfloat(_ c: CommandContext) throws(CommandError) -> Reply {
        guard let increment = Parse.strictLongDouble(c[3]) else { throw .notFloat }
        if increment.isNaN || increment.isInfinite { throw incrementNotFinite }
        let field = c[2]
        var fieldHasTTL = false
        let text = try modifyHash(c, c[1], create: true) { hash throws(CommandError) -> Bytes in
            var current: Parse.LongDouble = 0
            if let value = hash[field] {
                guard let parsed = Parse.strictLongDouble(value) else { throw hashValueNotFloat }
                current = parsed
            }
            let result = current + increment
            if result.isNaN || result.isInfinite { throw .nanOrInfinity }
            let text = Bytes(Parse.formatLongDouble(result))
            hash.set(field, text, keepTTL: true)
            fieldHasTTL = hash.expiry(of: field) != nil
            return text
        }!
        c.db.didWrite(c[1], .hincrbyfloat)
        c.propagate(fieldHasTTL ? argv("HSETEX", c[1], "KEEPTTL", "FIELDS", "1", field, text) : argv("HSET", c[1], field, text))
        return .bulk(text)
    }

    // MARK: - Random fields and iteration

    /// HRANDFIELD key [count [WITHVALUES]]. A positive count returns distinct
    /// fields (at most all of them); a negative one may repeat fields.
    static func hrandfield(_ c: CommandContext) throws(CommandError) -> Reply {
        var generator = SystemRandomNumberGenerator()
        guard c.argumentCount >= 3 else {
            guard let hash = try readHash(c, c[1]) else { return .null }
            return hash.randomEntry(using: &generator).map { Reply.bulk($0.field) } ?? .null
        }
        let count = try c.integer(at: 2)
        if count == Int64.min {
            throw CommandError(.generic, "ERR value is out of range, must be between \(-Int64.max) and \(Int64.max)")
        }
        var withValues = false
        if c.argumentCount > 4 || (c.argumentCount == 4 && !c[3].equalsIgnoringCase("withvalues")) {
            throw .syntax
        } else if c.argumentCount == 4 {
            withValues = true
            if count < -Int64.max / 2 || count > Int64.max / 2 { throw countOutOfRange }
        }
        guard let hash = try readHash(c, c[1]), count != 0 else { return .array([]) }
        let picked: [(field: Bytes, value: Bytes)]
        if count < 0 {
            try RandomPicks.check(count)
            picked = hash.randomEntries(Int(-count), using: &generator)
        } else {
            picked = hash.distinctRandomEntries(Int(count), using: &generator)
        }
        var reply: [Reply] = []
        reply.reserveCapacity(picked.count * (withValues ? 2 : 1))
        for entry in picked {
            reply.append(.bulk(entry.field))
            if withValues { reply.append(.bulk(entry.value)) }
        }
        return .array(reply)
    }

    /// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]. The cursor
    /// is a slot position, so fields present for the whole walk come back
    /// exactly once; a compact hash comes back whole with cursor 0.
    static func hscan(_ c: CommandContext) throws(CommandError) -> Reply {
        guard ScanOptions.cursor(c[2]) != nil else { throw .invalidCursor }
        guard let hash = try readHash(c, c[1]) else { return ScanOptions.empty }
        let options = try ScanOptions(c, cursorAt: 2, optionsFrom: 3, allowNoValues: true)
        var items: [Reply] = []
        let next = hash.scan(from: options.start(capacity: hash.cursorCapacity), count: options.count) { field, value in
            guard options.matches(field) else { return }
            items.append(.bulk(field))
            if !options.noValues { items.append(.bulk(value)) }
        }
        return ScanOptions.reply(next: next, items)
    }

    // MARK: - Field TTLs

    /// Parses a field deadline as Redis's hash commands do: a non-negative
    /// integer in `unit`, turned absolute, no later than `maxFieldDeadline`.
    static func fieldDeadline(_ c: CommandContext, at position: Int, unit: ExpiryUnit) throws(CommandError) -> Int64 {
        var value = try c.integer(at: position)
        if value < 0 { throw negativeExpire }
        if unit.inSeconds {
            if value > maxFieldDeadline / 1000 { throw .invalidExpire(c.name) }
            value *= 1000
        }
        let base = unit.isRelative ? c.db.now : 0
        if value > maxFieldDeadline - base { throw .invalidExpire(c.name) }
        return value + base
    }

    /// The `FIELDS numfields field ...` block that ends these commands,
    /// starting at `position` (where the FIELDS keyword must be).
    static func fieldsBlock(_ c: CommandContext, at position: Int, countError: CommandError) throws(CommandError) -> ArraySlice<Bytes> {
        guard position < c.argumentCount, c[position].equalsIgnoringCase("fields") else { throw missingFields }
        guard position + 1 < c.argumentCount else { throw .wrongArity(c.name) }
        guard let count = Parse.strictInt64(c[position + 1]), count >= 1 else { throw countError }
        guard count == Int64(c.argumentCount - position - 2) else { throw numFieldsMismatch }
        return c.arguments[(position + 2)...]
    }

    /// What HEXPIRE reports per field.
    enum ExpireOutcome: Int64 {
        case noSuchField = -2, conditionNotMet = 0, set = 1, deleted = 2
    }

    enum ExpireCondition { case none, nx, xx, gt, lt }

    /// HEXPIRE/HPEXPIRE/HEXPIREAT/HPEXPIREAT key time [NX|XX|GT|LT] FIELDS
    /// numfields field ... → per field -2 (no such field), 0 (condition not
    /// met), 1 (set), 2 (deleted: the deadline is not in the future).
    static func hexpire(_ c: CommandContext, unit: ExpiryUnit) throws(CommandError) -> Reply {
        let key = c[1]
        try c.db.checkType(HashValue.self, key)
        let deadline = try fieldDeadline(c, at: 2, unit: unit)
        var condition = ExpireCondition.none
        let option = c[3]
        if option.equalsIgnoringCase("nx") { condition = .nx }
        else if option.equalsIgnoringCase("xx") { condition = .xx }
        else if option.equalsIgnoringCase("gt") { condition = .gt }
        else if option.equalsIgnoringCase("lt") { condition = .lt }
        let fields = try fieldsBlock(c, at: condition == .none ? 3 : 4, countError: numFieldsNotPositive)
        let now = c.db.now
        var updated = 0, deleted = 0
        let outcomes = try modifyHash(c, key, create: false) { hash -> [Reply] in
            fields.map { field -> Reply in
                guard hash.contains(field) else { return .integer(ExpireOutcome.noSuchField.rawValue) }
                let current = hash.expiry(of: field)
                let allowed: Bool
                switch condition {
                case .none: allowed = true
                case .nx: allowed = current == nil
                case .xx: allowed = current != nil
                // A field without TTL counts as an infinite TTL.
                case .gt: allowed = current.map { deadline > $0 } ?? false
                case .lt: allowed = current.map { deadline < $0 } ?? true
                }
                guard allowed else { return .integer(ExpireOutcome.conditionNotMet.rawValue) }
                if c.db.isAlreadyExpired(deadline) {
                    hash.remove(field)
                    deleted += 1
                    return .integer(ExpireOutcome.deleted.rawValue)
                }
                hash.setExpiry(field, at: deadline)
                updated += 1
                return .integer(ExpireOutcome.set.rawValue)
            }
        }
        guard let outcomes else {
            return .array(fields.map { _ in .integer(ExpireOutcome.noSuchField.rawValue) })
        }
        if updated > 0 {
            c.db.trackVolatileFields(key)
            c.db.didWrite(key, .hexpire)
        }
        if deleted > 0 { c.db.didWrite(key, .hdel) }
        if c.isPropagating {
            let outcomeOf = Array(zip(fields, outcomes))
            propagateFieldChanges(c, key, deadline: deadline,
                                  timed: outcomeOf.filter { $0.1 == .integer(ExpireOutcome.set.rawValue) }.map(\.0),
                                  removed: outcomeOf.filter { $0.1 == .integer(ExpireOutcome.deleted.rawValue) }.map(\.0))
        }
        return .array(outcomes)
    }

    /// Logs field TTL changes with absolute deadlines: `HPEXPIREAT` for the
    /// fields given a deadline, `HDEL` for those it deleted.
    static func propagateFieldChanges(_ c: CommandContext, _ key: Bytes, deadline: Int64?, timed: [Bytes], removed: [Bytes], persisted: [Bytes] = []) {
        var effects: [[Bytes]] = []
        if let deadline, !timed.isEmpty {
            effects.append(argv("HPEXPIREAT", key, deadline, "FIELDS", timed.count) + timed)
        }
        if !persisted.isEmpty { effects.append(argv("HPERSIST", key, "FIELDS", persisted.count) + persisted) }
        if !removed.isEmpty { effects.append([Bytes("HDEL"), key] + removed) }
        c.propagate(effects)
    }

    /// HTTL/HPTTL/HEXPIRETIME/HPEXPIRETIME key FIELDS numfields field ... →
    /// per field -2 (no such field), -1 (no TTL) or the TTL / deadline.
    /// Seconds round up, as Redis's hash commands do.
    static func httl(_ c: CommandContext, milliseconds: Bool, absolute: Bool) throws(CommandError) -> Reply {
        try c.db.checkType(HashValue.self, c[1])
        let fields = try fieldsBlock(c, at: 2, countError: numFieldsNotPositive)
        let hash = try readHash(c, c[1])
        let now = c.db.now
        return .array(fields.map { field -> Reply in
            guard let hash, hash.contains(field) else { return .integer(-2) }
            guard let deadline = hash.expiry(of: field) else { return .integer(-1) }
            let value = absolute ? deadline : deadline - now
            return .integer(milliseconds ? value : (value + 999) / 1000)
        })
    }

    /// HPERSIST key FIELDS numfields field ... → per field -2 (no such
    /// field), -1 (no TTL), 1 (TTL removed).
    static func hpersist(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        try c.db.checkType(HashValue.self, key)
        let fields = try fieldsBlock(c, at: 2, countError: numFieldsNotPositive)
        var persisted = 0
        let outcomes = try modifyHash(c, key, create: false) { hash -> [Reply] in
            fields.map { field -> Reply in
                guard hash.contains(field) else { return .integer(-2) }
                guard hash.persist(field) else { return .integer(-1) }
                persisted += 1
                return .integer(1)
            }
        }
        if persisted > 0 { c.db.didWrite(key, .hpersist) }
        return .array(outcomes ?? fields.map { _ in .integer(-2) })
    }

    /// HGETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST] FIELDS numfields
    /// field ... → the values (nil when missing), setting or removing the TTL
    /// of the fields that exist. A deadline not in the future deletes them.
    static func hgetex(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        try c.db.checkType(HashValue.self, key)
        var deadline: Int64? = nil
        var persist = false
        var fieldsAt = 2
        if let unit = ExpiryUnit(c[2]) {
            deadline = try fieldDeadline(c, at: 3, unit: unit)
            fieldsAt = 4
        } else if c[2].equalsIgnoringCase("persist") {
            persist = true
            fieldsAt = 3
        }
        let fields = try fieldsBlock(c, at: fieldsAt, countError: numberOfFieldsNotPositive)
        let now = c.db.now
        var updated = 0, deleted = 0
        let values = try modifyHash(c, key, create: false) { hash -> [Reply] in
            fields.map { field -> Reply in
                guard let value = hash[field] else { return .null }
                if persist {
                    if hash.persist(field) { updated += 1 }
                } else if let deadline {
                    if deadline <= now {
                        hash.remove(field)
                        deleted += 1
                    } else {
                        hash.setExpiry(field, at: deadline)
                        updated += 1
                    }
                }
                return .bulk(value)
            }
        }
        guard let values else { return .array(fields.map { _ in .null }) }
        if updated > 0 {
            if !persist { c.db.trackVolatileFields(key) }
            c.db.didWrite(key, persist ? .hpersist : .hexpire)
        }
        if deleted > 0 { c.db.didWrite(key, .hdel) }
        if c.isPropagating && (persist || deadline != nil) {
            let present = zip(fields, values).filter { $0.1 != .null }.map(\.0)
            if persist {
                propagateFieldChanges(c, key, deadline: nil, timed: [], removed: [], persisted: present)
            } else if let deadline {
                propagateFieldChanges(c, key, deadline: deadline, timed: deadline > now ? present : [], removed: deadline > now ? [] : present)
            }
        }
        return .array(values)
    }

    /// HSETEX key [FNX|FXX] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL] FIELDS
    /// numfields field value ... → 1 when every field was set, 0 when FNX/FXX
    /// refused (then nothing is set). Without an expiry option or KEEPTTL the
    /// fields lose any TTL, as with HSET.
    static func hsetex(_ c: CommandContext) throws(CommandError) -> Reply {
        enum FieldCondition { case none, onlyNew, onlyExisting }
        var condition = FieldCondition.none
        var deadline: Int64? = nil
        var keepTTL = false
        var pairs: ArraySlice<Bytes>? = nil
        var i = 2
        parsing: while i < c.argumentCount {
            let option = c[i]
            if option.equalsIgnoringCase("fields") {
                guard i < c.argumentCount - 3 else { throw .wrongArity(c.name) }
                guard let count = Parse.strictInt64(c[i + 1]), count >= 1, count <= Int64(Int32.max) else {
                    throw invalidNumberOfFields
                }
                let remaining = c.argumentCount - i - 2
                guard remaining % 2 == 0, count == Int64(remaining / 2) else { throw .wrongArity(c.name) }
                pairs = c.arguments[(i + 2)...]
                break parsing
            } else if let unit = ExpiryUnit(option) {
                guard deadline == nil && !keepTTL else {
                    throw CommandError(.syntax, "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified")
                }
                guard i < c.argumentCount - 1 else { throw CommandError(.syntax, "ERR missing expire time") }
                deadline = try fieldDeadline(c, at: i + 1, unit: unit)
                i += 1
            } else if option.equalsIgnoringCase("keepttl") {
                guard deadline == nil && !keepTTL else {
                    throw CommandError(.syntax, "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified")
                }
                keepTTL = true
            } else if option.equalsIgnoringCase("fnx") || option.equalsIgnoringCase("fxx") {
                guard condition == .none else {
                    throw CommandError(.syntax, "ERR Only one of FXX or FNX arguments can be specified")
                }
                condition = option.equalsIgnoringCase("fnx") ? .onlyNew : .onlyExisting
            } else {
                throw CommandError(.syntax, "ERR unknown argument: \(option.text)")
            }
            i += 1
        }
        guard let pairs else { throw .wrongArity(c.name) }
        let key = c[1]
        try c.db.checkType(HashValue.self, key)
        let now = c.db.now
        var updated = 0, deleted = 0
        let fields = stride(from: pairs.startIndex, to: pairs.endIndex, by: 2).map { pairs[$0] }
        let applied = try modifyHash(c, key, create: condition != .onlyExisting) { hash -> Bool in
            switch condition {
            case .none: break
            case .onlyNew: if fields.contains(where: hash.contains) { return false }
            case .onlyExisting: if !fields.allSatisfy(hash.contains) { return false }
            }
            for index in stride(from: pairs.startIndex, to: pairs.endIndex, by: 2) {
                let field = pairs[index]
                hash.set(field, pairs[index + 1], keepTTL: keepTTL || deadline != nil)
                guard let deadline else { continue }
                if c.db.isAlreadyExpired(deadline) {
                    hash.remove(field)
                    deleted += 1
                } else {
                    hash.setExpiry(field, at: deadline)
                    updated += 1
                }
            }
            return true
        } ?? false
        guard applied else { return .integer(0) }
        if let deadline, c.isPropagating {
            if deadline > now {
                c.propagate(argv("HSETEX", key, "PXAT", deadline, "FIELDS", fields.count) + Array(pairs))
            } else {
                c.propagate([Bytes("HDEL"), key] + fields)
            }
        }
        c.db.didWrite(key, .hset)
        if updated > 0 {
            c.db.trackVolatileFields(key)
            c.db.didWrite(key, .hexpire)
        }
        if deleted > 0 { c.db.didWrite(key, .hdel) }
        return .integer(1)
    }

    /// HGETDEL key FIELDS numfields field ... → the values (nil when
    /// missing), deleting the fields; the key goes with its last field.
    static func hgetdel(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        try c.db.checkType(HashValue.self, key)
        let fields = try fieldsBlock(c, at: 2, countError: numberOfFieldsNotPositive)
        var deleted = 0
        let values = try modifyHash(c, key, create: false) { hash -> [Reply] in
            fields.map { field -> Reply in
                guard let value = hash.remove(field) else { return .null }
                deleted += 1
                return .bulk(value)
            }
        }
        if deleted > 0 { c.db.didWrite(key, .hdel) }
        return .array(values ?? fields.map { _ in .null })
    }
}

/// Hash events (`h`), field expiry included.
extension KeyspaceEvent {
    static let hset = KeyspaceEvent("hset", .hash)
    static let hdel = KeyspaceEvent("hdel", .hash)
    static let hincrby = KeyspaceEvent("hincrby", .hash)
    static let hincrbyfloat = KeyspaceEvent("hincrbyfloat", .hash)
    static let hexpire = KeyspaceEvent("hexpire", .hash)
    static let hpersist = KeyspaceEvent("hpersist", .hash)
    static let hexpired = KeyspaceEvent("hexpired", .hash)
}
