/// Set commands: membership (SADD, SREM, SISMEMBER, ...), random members
/// (SPOP, SRANDMEMBER), SMOVE, set algebra across keys (SINTER, SUNION,
/// SDIFF, their STORE forms, SINTERCARD) and SSCAN.
///
/// Replies list members in no particular order, as Redis's do.
enum SetCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("sadd", arity: -3, flags: [.write, .denyOOM, .fast], handler: sadd),
        CommandSpec("srem", arity: -3, flags: [.write, .fast], handler: srem),
        CommandSpec("sismember", arity: 3, flags: [.readonly, .fast], handler: sismember),
        CommandSpec("smismember", arity: -3, flags: [.readonly, .fast], handler: smismember),
        CommandSpec("smembers", arity: 2, flags: [.readonly], handler: smembers),
        CommandSpec("scard", arity: 2, flags: [.readonly, .fast], handler: scard),
        CommandSpec("spop", arity: -2, flags: [.write, .fast], handler: spop),
        CommandSpec("srandmember", arity: -2, flags: [.readonly], handler: srandmember),
        CommandSpec("smove", arity: 4, flags: [.write, .fast], keys: (1, 2, 1), handler: smove),
        CommandSpec("sinter", arity: -2, flags: [.readonly], keys: (1, -1, 1), handler: { c throws(CommandError) in try combine(c, .intersection) }),
        CommandSpec("sunion", arity: -2, flags: [.readonly], keys: (1, -1, 1), handler: { c throws(CommandError) in try combine(c, .union) }),
        CommandSpec("sdiff", arity: -2, flags: [.readonly], keys: (1, -1, 1), handler: { c throws(CommandError) in try combine(c, .difference) }),
        CommandSpec("sinterstore", arity: -3, flags: [.write, .denyOOM], keys: (1, -1, 1), handler: { c throws(CommandError) in try combineAndStore(c, .intersection) }),
        CommandSpec("sunionstore", arity: -3, flags: [.write, .denyOOM], keys: (1, -1, 1), handler: { c throws(CommandError) in try combineAndStore(c, .union) }),
        CommandSpec("sdiffstore", arity: -3, flags: [.write, .denyOOM], keys: (1, -1, 1), handler: { c throws(CommandError) in try combineAndStore(c, .difference) }),
        // Keys follow `numkeys`, so no fixed positions describe them (Redis
        // declares 0 0 0 plus "movablekeys" for the same reason).
        CommandSpec("sintercard", arity: -3, flags: [.readonly], keys: (0, 0, 0), variableKeys: .counted(at: 1), handler: sintercard),
        CommandSpec("sscan", arity: -3, flags: [.readonly], handler: sscan),
    ]

    /// SPOP's count error, Redis's text for "a count that must be >= 0".
    static let countMustBePositive = CommandError(.generic, "ERR value is out of range, must be positive")

    // MARK: - Membership

    static func sadd(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        let added = try c.db.modify(SetValue.self, key, create: true) { set throws(CommandError) -> Int64 in
            var added: Int64 = 0
            for member in c.arguments.dropFirst(2) where set.insert(member) { added += 1 }
            return added
        } ?? 0
        if added > 0 { c.db.didWrite(key, .sadd) }
        return .integer(added)
    }

    static func srem(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        var emptied = false
        let removed = try c.db.modify(SetValue.self, key, create: false) { set throws(CommandError) -> Int64 in
            var removed: Int64 = 0
            for member in c.arguments.dropFirst(2) where set.contains(member) {
                if set.count == 1 {
                    emptied = true
                    return removed + 1
                }
                set.remove(member)
                removed += 1
            }
            return removed
        } ?? 0
        if removed > 0 { finishRemoval(c, key, event: .srem, emptied: emptied) }
        return .integer(removed)
    }

    /// Reports a removal in Redis's order: the command's event, then `del`
    /// when the set lost its last member. A handler that is about to take
    /// the last member leaves it in place instead (had `modify` emptied the
    /// set, it would delete the key and report `del` first); the key is
    /// deleted here.
    static func finishRemoval(_ c: CommandContext, _ key: Bytes, event: KeyspaceEvent, emptied: Bool) {
        if emptied { c.db.deleteKey(key) }
        c.db.didWrite(key, event)
        if emptied { c.db.didWrite(key, .del) }
    }

    static func sismember(_ c: CommandContext) throws(CommandError) -> Reply {
        let set = try c.db.read(SetValue.self, c[1])
        return .integer(set?.contains(c[2]) == true ? 1 : 0)
    }

    static func smismember(_ c: CommandContext) throws(CommandError) -> Reply {
        let set = try c.db.read(SetValue.self, c[1])
        return .array(c.arguments.dropFirst(2).map { .integer(set?.contains($0) == true ? 1 : 0) })
    }

    static func smembers(_ c: CommandContext) throws(CommandError) -> Reply {
        guard let set = try c.db.read(SetValue.self, c[1]) else { return .array([]) }
        return memberArray(set.members)
    }

    static func scard(_ c: CommandContext) throws(CommandError) -> Reply {
        .integer(Int64(try c.db.read(SetValue.self, c[1])?.count ?? 0))
    }

    static func memberArray<S: Sequence>(_ members: S) -> Reply where S.Element == Bytes {
        .array(members.map(Reply.bulk))
    }

    // MARK: - Random members

    /// SPOP key [count]. Without a count: one member or nil. With one: an
    /// array of distinct members, O(count) (each pop is O(1)); a count
    /// reaching the size takes the whole set and deletes the key.
    static func spop(_ c: CommandContext) throws(CommandError) -> Reply {
        if c.argumentCount > 3 { throw .syntax }
        let key = c[1]
        var generator = SystemRandomNumberGenerator()
        var emptied = false
        if c.argumentCount == 2 {
            let popped = try c.db.modify(SetValue.self, key, create: false) { set throws(CommandError) -> Bytes? in
                if set.count == 1 {
                    emptied = true
                    return set.members[0]
                }
                return set.popRandom(using: &generator)
            } ?? nil
            guard let popped else { return .null }
            finishRemoval(c, key, event: .spop, emptied: emptied)
            c.propagate(argv("SREM", key, popped))
            return .bulk(popped)
        }
        guard let requested = Parse.strictInt64(c[2]) else { throw .notInteger }
        if requested < 0 { throw countMustBePositive }
        let popped = try c.db.modify(SetValue.self, key, create: false) { set throws(CommandError) -> [Bytes] in
            if requested == 0 { return [] }
            if requested >= Int64(set.count) {
                emptied = true
                return set.members
            }
            var popped: [Bytes] = []
            popped.reserveCapacity(Int(requested))
            for _ in 0..<requested {
                if let member = set.popRandom(using: &generator) { popped.append(member) }
            }
            return popped
        } ?? []
        if !popped.isEmpty {
            finishRemoval(c, key, event: .spop, emptied: emptied)
            c.propagate(emptied ? argv("DEL", key) : [Bytes("SREM"), key] + popped)
        }
        return memberArray(popped)
    }

    /// SRANDMEMBER key [count]. A positive count returns that many distinct
    /// members (the whole set at most); a negative one returns exactly
    /// |count| members, each picked independently, so repeats are possible.
    static func srandmember(_ c: CommandContext) throws(CommandError) -> Reply {
        if c.argumentCount > 3 { throw .syntax }
        var generator = SystemRandomNumberGenerator()
        if c.argumentCount == 2 {
            guard let set = try c.db.read(SetValue.self, c[1]),
                  let member = set.randomMember(using: &generator) else { return .null }
            return .bulk(member)
        }
        guard let count = Parse.strictInt64(c[2]) else { throw .notInteger }
        if count == Int64.min {
            throw CommandError(.generic, "ERR value is out of range, must be between \(-Int64.max) and \(Int64.max)")
        }
        try RandomPicks.check(count)
        guard let set = try c.db.read(SetValue.self, c[1]), count != 0 else { return .array([]) }
        if count > 0 {
            return memberArray(set.distinctRandomMembers(Int(min(count, Int64(set.count))), using: &generator))
        }
        return memberArray(set.randomMembers(Int(-count), using: &generator))
    }

    // MARK: - SMOVE

    /// SMOVE source destination member: atomically moves one member.
    /// A missing source answers 0 before the destination's type is looked
    /// at, as in Redis; a source that is its own destination only answers
    /// whether the member is there.
    static func smove(_ c: CommandContext) throws(CommandError) -> Reply {
        let source = c[1], destination = c[2], member = c[3]
        try c.db.checkType(SetValue.self, source)
        guard c.db.exists(source) else { return .integer(0) }
        try c.db.checkType(SetValue.self, destination)
        if source == destination {
            return .integer(try c.db.read(SetValue.self, source)?.contains(member) == true ? 1 : 0)
        }
        var emptied = false
        let removed = try c.db.modify(SetValue.self, source, create: false) { set throws(CommandError) -> Bool in
            guard set.contains(member) else { return false }
            if set.count == 1 {
                emptied = true
                return true
            }
            return set.remove(member)
        } ?? false
        guard removed else { return .integer(0) }
        finishRemoval(c, source, event: .srem, emptied: emptied)
        let added = try c.db.modify(SetValue.self, destination, create: true) { set throws(CommandError) in
            set.insert(member)
        } ?? false
        if added { c.db.didWrite(destination, .sadd) }
        return .integer(1)
    }

    // MARK: - Set algebra

    enum Operation {
        case intersection, union, difference

        /// The keyspace event a STORE form emits.
        var storeEvent: KeyspaceEvent {
            switch self {
            case .intersection: return .sinterstore
            case .union: return .sunionstore
            case .difference: return .sdiffstore
            }
        }
    }

    /// The sets under `keys`, nil for missing keys. Every key is type-checked
    /// before any result is computed, so a non-set anywhere is WRONGTYPE even
    /// when an earlier key is missing.
    static func loadSets(_ c: CommandContext, _ keys: ArraySlice<Bytes>) throws(CommandError) -> [SetValue?] {
        var sets: [SetValue?] = []
        sets.reserveCapacity(keys.count)
        for key in keys { sets.append(try c.db.read(SetValue.self, key)) }
        return sets
    }

    /// Visits the members common to all `sets`, stopping after `limit` of
    /// them when `limit` > 0. Iterates the smallest set and probes the
    /// others, smallest first, so the work is O(smallest × sets).
    static func forEachCommonMember(_ sets: [SetValue?], limit: Int = 0, _ visit: (Bytes) -> Void) {
        var present: [SetValue] = []
        for set in sets {
            guard let set else { return }
            present.append(set)
        }
        present.sort { $0.count < $1.count }
        guard let smallest = present.first else { return }
        let others = present.dropFirst()
        var found = 0
        for member in smallest.members where others.allSatisfy({ $0.contains(member) }) {
            visit(member)
            found += 1
            if found == limit { return }
        }
    }

    /// The result of `operation` over `sets` as a new set.
    static func evaluate(_ operation: Operation, _ sets: [SetValue?]) -> SetValue {
        switch operation {
        case .intersection:
            var result = SetValue()
            forEachCommonMember(sets) { result.insert($0) }
            return result
        case .union:
            let present = sets.compactMap { $0 }
            // Start from a copy of the largest set: copying its storage is
            // cheaper than hashing its members again.
            guard let largestIndex = present.indices.max(by: { present[$0].count < present[$1].count }) else { return SetValue() }
            var result = present[largestIndex]
            for (index, set) in present.enumerated() where index != largestIndex {
                for member in set.members { result.insert(member) }
            }
            return result
        case .difference:
            guard let first = sets.first, let first else { return SetValue() }
            let others = sets.dropFirst().compactMap { $0 }.filter { !$0.isEmpty }
            if others.isEmpty { return first }
            // Either probe every other set for each member of the first, or
            // copy the first and remove the others' members from it: pick
            // whichever touches fewer members (Redis weighs the same two).
            let probing = first.count * others.count / 2
            let removing = others.reduce(first.count) { $0 + $1.count }
            if probing <= removing {
                var result = SetValue()
                for member in first.members where !others.contains(where: { $0.contains(member) }) {
                    result.insert(member)
                }
                return result
            }
            var result = first
            for set in others {
                for member in set.members {
                    result.remove(member)
                    if result.isEmpty { return result }
                }
            }
            return result
        }
    }

    /// SINTER / SUNION / SDIFF key [key ...].
    static func combine(_ c: CommandContext, _ operation: Operation) throws(CommandError) -> Reply {
        let sets = try loadSets(c, c.arguments.dropFirst())
        if operation == .intersection {
            var members: [Reply] = []
            forEachCommonMember(sets) { members.append(.bulk($0)) }
            return .array(members)
        }
        return memberArray(evaluate(operation, sets).members)
    }

    /// SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]:
    /// the destination is replaced whatever it held (no TTL kept), or deleted
    /// when the result is empty. Replies with the result's size.
    static func combineAndStore(_ c: CommandContext, _ operation: Operation) throws(CommandError) -> Reply {
        let destination = c[1]
        let result = evaluate(operation, try loadSets(c, c.arguments.dropFirst(2)))
        if result.isEmpty {
            if c.db.deleteKey(destination) { c.db.didWrite(destination, .del) }
            return .integer(0)
        }
        c.db.replace(destination, with: result)
        c.db.didWrite(destination, operation.storeEvent)
        return .integer(Int64(result.count))
    }

    /// SINTERCARD numkeys key [key ...] [LIMIT limit]: the intersection's
    /// size without building it, stopping early at LIMIT (0 = no limit).
    static func sintercard(_ c: CommandContext) throws(CommandError) -> Reply {
        guard let numkeys = Parse.strictInt64(c[1]), numkeys > 0 else {
            throw CommandError(.generic, "ERR numkeys should be greater than 0")
        }
        guard numkeys <= Int64(c.argumentCount - 2) else {
            throw CommandError(.generic, "ERR Number of keys can't be greater than number of args")
        }
        let firstOption = 2 + Int(numkeys)
        var limit: Int64 = 0
        var i = firstOption
        while i < c.argumentCount {
            if c[i].equalsIgnoringCase("limit") && i + 1 < c.argumentCount {
                guard let value = Parse.strictInt64(c[i + 1]), value >= 0 else {
                    throw CommandError(.generic, "ERR LIMIT can't be negative")
                }
                limit = value
                i += 2
            } else {
                throw .syntax
            }
        }
        let sets = try loadSets(c, c.arguments[2..<firstOption])
        var count: Int64 = 0
        forEachCommonMember(sets, limit: Int(min(limit, Int64(Int.max)))) { _ in count += 1 }
        return .integer(count)
    }

    // MARK: - SSCAN

    /// SSCAN key cursor [MATCH pattern] [COUNT count]. The cursor is a slot
    /// position of the set's member map, so members present for the whole
    /// iteration come back exactly once; a compact set comes back whole with
    /// cursor 0. A missing key is an empty, finished
    /// scan (its options are not even parsed, as in Redis).
    static func sscan(_ c: CommandContext) throws(CommandError) -> Reply {
        guard ScanOptions.cursor(c[2]) != nil else { throw .invalidCursor }
        guard let set = try c.db.read(SetValue.self, c[1]) else { return ScanOptions.empty }
        let options = try ScanOptions(c, cursorAt: 2, optionsFrom: 3)
        var found: [Reply] = []
        let next = set.scan(from: options.start(capacity: set.cursorCapacity), count: options.count) { member in
            if options.matches(member) { found.append(.bulk(member)) }
        }
        return ScanOptions.reply(next: next, found)
    }
}

/// Set events (`s`). SMOVE emits `srem` on the source and `sadd` on the destination.
extension KeyspaceEvent {
    static let sadd = KeyspaceEvent("sadd", .set)
    static let srem = KeyspaceEvent("srem", .set)
    static let spop = KeyspaceEvent("spop", .set)
    static let sinterstore = KeyspaceEvent("sinterstore", .set)
    static let sunionstore = KeyspaceEvent("sunionstore", .set)
    static let sdiffstore = KeyspaceEvent("sdiffstore", .set)
}
