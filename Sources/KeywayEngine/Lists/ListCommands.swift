/// List commands: pushes and pops at both ends, index access, ranges,
/// moves between lists, and the blocking pops job queues are built on.
enum ListCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("lpush", arity: -3, flags: [.write, .denyOOM, .fast], handler: { c throws(CommandError) in try push(c, to: .left, onlyIfExists: false) }),
        CommandSpec("rpush", arity: -3, flags: [.write, .denyOOM, .fast], handler: { c throws(CommandError) in try push(c, to: .right, onlyIfExists: false) }),
        CommandSpec("lpushx", arity: -3, flags: [.write, .denyOOM, .fast], handler: { c throws(CommandError) in try push(c, to: .left, onlyIfExists: true) }),
        CommandSpec("rpushx", arity: -3, flags: [.write, .denyOOM, .fast], handler: { c throws(CommandError) in try push(c, to: .right, onlyIfExists: true) }),
        CommandSpec("lpop", arity: -2, flags: [.write, .fast], handler: { c throws(CommandError) in try pop(c, from: .left) }),
        CommandSpec("rpop", arity: -2, flags: [.write, .fast], handler: { c throws(CommandError) in try pop(c, from: .right) }),
        CommandSpec("llen", arity: 2, flags: [.readonly, .fast], handler: llen),
        CommandSpec("lrange", arity: 4, flags: [.readonly], handler: lrange),
        CommandSpec("lindex", arity: 3, flags: [.readonly], handler: lindex),
        CommandSpec("lset", arity: 4, flags: [.write, .denyOOM], handler: lset),
        CommandSpec("linsert", arity: 5, flags: [.write, .denyOOM], handler: linsert),
        CommandSpec("lrem", arity: 4, flags: [.write], handler: lrem),
        CommandSpec("ltrim", arity: 4, flags: [.write], handler: ltrim),
        CommandSpec("lpos", arity: -3, flags: [.readonly], handler: lpos),
        CommandSpec("lmove", arity: 5, flags: [.write, .denyOOM], keys: (1, 2, 1), handler: lmove),
        CommandSpec("rpoplpush", arity: 3, flags: [.write, .denyOOM], keys: (1, 2, 1), handler: rpoplpush),
        CommandSpec("lmpop", arity: -4, flags: [.write], keys: (0, 0, 0), variableKeys: .counted(at: 1), handler: { c throws(CommandError) in try lmpop(c, blocking: false) }),
        CommandSpec("blpop", arity: -3, flags: [.write, .blocking], keys: (1, -2, 1), handler: { c throws(CommandError) in try blockingPop(c, from: .left) }),
        CommandSpec("brpop", arity: -3, flags: [.write, .blocking], keys: (1, -2, 1), handler: { c throws(CommandError) in try blockingPop(c, from: .right) }),
        CommandSpec("blmove", arity: 6, flags: [.write, .denyOOM, .blocking], keys: (1, 2, 1), handler: blmove),
        CommandSpec("brpoplpush", arity: 4, flags: [.write, .denyOOM, .blocking], keys: (1, 2, 1), handler: brpoplpush),
        CommandSpec("blmpop", arity: -5, flags: [.write, .blocking], keys: (0, 0, 0), variableKeys: .counted(at: 2), handler: { c throws(CommandError) in try lmpop(c, blocking: true) }),
    ]

    // MARK: - Push and pop

    static func push(_ c: CommandContext, to end: ListValue.End, onlyIfExists: Bool) throws(CommandError) -> Reply {
        let key = c[1]
        let length = try c.db.modify(ListValue.self, key, create: !onlyIfExists) { list throws(CommandError) -> Int in
            for element in c.arguments.dropFirst(2) { list.push(element, to: end) }
            return list.count
        }
        guard let length else { return .integer(0) }
        c.db.didWrite(key, end == .left ? .lpush : .rpush)
        return .integer(Int64(length))
    }

    /// LPOP/RPOP key [count]: one element, or an array with a count.
    static func pop(_ c: CommandContext, from end: ListValue.End) throws(CommandError) -> Reply {
        if c.argumentCount > 3 { throw .wrongArity(c.name) }
        var count: Int64? = nil
        if c.argumentCount == 3 {
            guard let parsed = Parse.strictInt64(c[2]), parsed >= 0 else {
                throw CommandError(.notInteger, "ERR value is out of range, must be positive")
            }
            count = parsed
        }
        let key = c[1]
        guard try c.db.read(ListValue.self, key) != nil else { return .null }
        if count == 0 { return .array([]) }
        let popped = try c.db.modify(ListValue.self, key, create: false) { list throws(CommandError) -> [Bytes] in
            var taken: [Bytes] = []
            for _ in 0..<min(count ?? 1, Int64(list.count)) {
                if let element = list.pop(from: end) { taken.append(element) }
            }
            return taken
        } ?? []
        c.db.didWrite(key, end == .left ? .lpop : .rpop)
        if count == nil { return popped.first.map(Reply.bulk) ?? .null }
        return .array(popped.map(Reply.bulk))
    }

    // MARK: - Reading

    static func llen(_ c: CommandContext) throws(CommandError) -> Reply {
        .integer(Int64(try c.db.read(ListValue.self, c[1])?.count ?? 0))
    }

    static func lrange(_ c: CommandContext) throws(CommandError) -> Reply {
        let start = try c.integer(at: 2), stop = try c.integer(at: 3)
        guard let list = try c.db.read(ListValue.self, c[1]), let range = list.clampedRange(start, stop) else { return .array([]) }
        return .array(list.elements(in: range).map(Reply.bulk))
    }

    static func lindex(_ c: CommandContext) throws(CommandError) -> Reply {
        let index = try c.integer(at: 2)
        guard let list = try c.db.read(ListValue.self, c[1]), let position = list.position(of: index) else { return .null }
        return .bulk(list.element(at: position))
    }

    /// LPOS key element [RANK r] [COUNT n] [MAXLEN m].
    static func lpos(_ c: CommandContext) throws(CommandError) -> Reply {
        var rank: Int64 = 1
        var count: Int64? = nil
        var maxLength: Int64 = 0
        var i = 3
        while i < c.argumentCount {
            guard i + 1 < c.argumentCount else { throw .syntax }
            let option = c[i]
            if option.equalsIgnoringCase("rank") {
                rank = try c.integer(at: i + 1)
                if rank == 0 {
                    throw CommandError(.generic, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
                }
                if rank == Int64.min { throw CommandError(.notInteger, "ERR value is out of range") }
            } else if option.equalsIgnoringCase("count") {
                let n = try c.integer(at: i + 1)
                if n < 0 { throw CommandError(.generic, "ERR COUNT can't be negative") }
                count = n
            } else if option.equalsIgnoringCase("maxlen") {
                maxLength = try c.integer(at: i + 1)
                if maxLength < 0 { throw CommandError(.generic, "ERR MAXLEN can't be negative") }
            } else {
                throw .syntax
            }
            i += 2
        }
        guard let list = try c.db.read(ListValue.self, c[1]) else {
            return count == nil ? .null : .array([])
        }
        let target = c[2]
        let wanted = count.map { $0 == 0 ? Int64.max : $0 } ?? 1
        var matches: [Reply] = []
        var skip = abs(rank) - 1
        list.visitMatches(of: target, fromTail: rank < 0, maxScanned: Int(clamping: maxLength)) { position in
            if skip > 0 {
                skip -= 1
                return true
            }
            matches.append(.integer(Int64(position)))
            return Int64(matches.count) < wanted
        }
        if count == nil { return matches.first ?? .null }
        return .array(matches)
    }

    // MARK: - Editing

    static func lset(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        let index = try c.integer(at: 2)
        guard try c.db.read(ListValue.self, key) != nil else { throw .noSuchKey }
        try c.db.modify(ListValue.self, key, create: false) { list throws(CommandError) in
            guard let position = list.position(of: index) else { throw CommandError(.generic, "ERR index out of range") }
            list.replace(at: position, with: c[3])
        }
        c.db.didWrite(key, .lset)
        return .ok
    }

    static func linsert(_ c: CommandContext) throws(CommandError) -> Reply {
        let after: Bool
        if c[2].equalsIgnoringCase("after") { after = true }
        else if c[2].equalsIgnoringCase("before") { after = false }
        else { throw .syntax }
        let key = c[1]
        guard try c.db.read(ListValue.self, key) != nil else { return .integer(0) }
        let length = try c.db.modify(ListValue.self, key, create: false) { list throws(CommandError) -> Int in
            guard let pivot = list.firstPosition(of: c[3]) else { return -1 }
            list.insert(c[4], at: after ? pivot + 1 : pivot)
            return list.count
        } ?? -1
        if length > 0 { c.db.didWrite(key, .linsert) }
        return .integer(Int64(length))
    }

    /// LREM key count element: count > 0 from the head, < 0 from the tail, 0 all.
    static func lrem(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        let count = try c.integer(at: 2)
        let target = c[3]
        let removed = try c.db.modify(ListValue.self, key, create: false) { list throws(CommandError) -> Int in
            let limit = count == 0 ? Int.max : Int(clamping: count.magnitude)
            return list.removeMatches(of: target, limit: limit, fromTail: count < 0)
        } ?? 0
        if removed > 0 { c.db.didWrite(key, .lrem) }
        return .integer(Int64(removed))
    }

    static func ltrim(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        let start = try c.integer(at: 2), stop = try c.integer(at: 3)
        let changed = try c.db.modify(ListValue.self, key, create: false) { list throws(CommandError) -> Bool in
            guard let range = list.clampedRange(start, stop) else {
                list.keep(nil)
                return true
            }
            if range.count == list.count { return false }
            list.keep(range)
            return true
        } ?? false
        if changed { c.db.didWrite(key, .ltrim) }
        return .ok
    }

    // MARK: - Moving between lists

    /// Pops from `source` and pushes to `destination` atomically; nil when
    /// the source is empty. WRONGTYPE is checked on both before anything moves.
    static func move(_ c: CommandContext, _ source: Bytes, _ destination: Bytes,
                     from: ListValue.End, to: ListValue.End) throws(CommandError) -> Reply {
        guard let list = try c.db.read(ListValue.self, source), !list.isEmpty else { return .null }
        try c.db.checkType(ListValue.self, destination)
        guard let element = try c.db.modify(ListValue.self, source, create: false, { list throws(CommandError) in list.pop(from: from) }) ?? nil else {
            return .null
        }
        c.db.didWrite(source, from == .left ? .lpop : .rpop)
        try c.db.modify(ListValue.self, destination, create: true) { list throws(CommandError) in list.push(element, to: to) }
        c.db.didWrite(destination, to == .left ? .lpush : .rpush)
        return .bulk(element)
    }

    static func ends(_ c: CommandContext, _ fromIndex: Int) throws(CommandError) -> (ListValue.End, ListValue.End) {
        guard let from = ListValue.End(c[fromIndex]), let to = ListValue.End(c[fromIndex + 1]) else { throw .syntax }
        return (from, to)
    }

    static func lmove(_ c: CommandContext) throws(CommandError) -> Reply {
        let (from, to) = try ends(c, 3)
        return try move(c, c[1], c[2], from: from, to: to)
    }

    static func rpoplpush(_ c: CommandContext) throws(CommandError) -> Reply {
        try move(c, c[1], c[2], from: .right, to: .left)
    }

    // MARK: - Blocking

    /// BLPOP/BRPOP key [key ...] timeout: the first non-empty list in order.
    static func blockingPop(_ c: CommandContext, from end: ListValue.End) throws(CommandError) -> Reply {
        let timeout = try c.timeout(at: c.argumentCount - 1)
        let keys = Array(c.arguments[1..<(c.argumentCount - 1)])
        for key in keys {
            guard let list = try c.db.read(ListValue.self, key), !list.isEmpty else { continue }
            let element = try c.db.modify(ListValue.self, key, create: false) { list throws(CommandError) in list.pop(from: end) } ?? nil
            guard let element else { continue }
            c.db.didWrite(key, end == .left ? .lpop : .rpop)
            c.propagate(argv(end == .left ? "LPOP" : "RPOP", key))
            return .array([.bulk(key), .bulk(element)])
        }
        return c.block(on: keys, timeoutMilliseconds: timeout)
    }

    static func blmove(_ c: CommandContext) throws(CommandError) -> Reply {
        let (from, to) = try ends(c, 3)
        let timeout = try c.timeout(at: 5)
        let reply = try move(c, c[1], c[2], from: from, to: to)
        if reply != .null {
            c.propagate(argv("LMOVE", c[1], c[2], from == .left ? "LEFT" : "RIGHT", to == .left ? "LEFT" : "RIGHT"))
            return reply
        }
        return c.block(on: [c[1]], timeoutMilliseconds: timeout)
    }

    static func brpoplpush(_ c: CommandContext) throws(CommandError) -> Reply {
        let timeout = try c.timeout(at: 3)
        let reply = try move(c, c[1], c[2], from: .right, to: .left)
        if reply != .null {
            c.propagate(argv("RPOPLPUSH", c[1], c[2]))
            return reply
        }
        return c.block(on: [c[1]], timeoutMilliseconds: timeout)
    }

    /// LMPOP numkeys key... LEFT|RIGHT [COUNT n] and BLMPOP timeout numkeys ...
    static func lmpop(_ c: CommandContext, blocking: Bool) throws(CommandError) -> Reply {
        let first = blocking ? 2 : 1
        let timeout = blocking ? try c.timeout(at: 1) : 0
        // Redis answers a non-number and a non-positive number alike here.
        guard let numKeys = Parse.strictInt64(c[first]), numKeys > 0 else {
            throw CommandError(.generic, "ERR numkeys should be greater than 0")
        }
        guard numKeys <= Int64(c.argumentCount - first - 2) else { throw .syntax }
        let keys = Array(c.arguments[(first + 1)...(first + Int(numKeys))])
        var position = first + Int(numKeys) + 1
        guard let end = ListValue.End(c[position]) else { throw .syntax }
        position += 1
        var count: Int64 = 1
        var sawCount = false
        while position < c.argumentCount {
            guard !sawCount, c[position].equalsIgnoringCase("count"), position + 1 < c.argumentCount else { throw .syntax }
            guard let n = Parse.strictInt64(c[position + 1]), n > 0 else {
                throw CommandError(.generic, "ERR count should be greater than 0")
            }
            count = n
            sawCount = true
            position += 2
        }
        for key in keys {
            guard let list = try c.db.read(ListValue.self, key), !list.isEmpty else { continue }
            let popped = try c.db.modify(ListValue.self, key, create: false) { list throws(CommandError) -> [Bytes] in
                var taken: [Bytes] = []
                while Int64(taken.count) < count, let element = list.pop(from: end) { taken.append(element) }
                return taken
            } ?? []
            c.db.didWrite(key, end == .left ? .lpop : .rpop)
            c.propagate(argv(end == .left ? "LPOP" : "RPOP", key, Int64(popped.count)))
            return .array([.bulk(key), .array(popped.map(Reply.bulk))])
        }
        return blocking ? c.block(on: keys, timeoutMilliseconds: timeout) : .null
    }
}

/// List events (`l`). LMOVE and the blocking pops emit the pop and push events of their ends.
extension KeyspaceEvent {
    static let lpush = KeyspaceEvent("lpush", .list)
    static let rpush = KeyspaceEvent("rpush", .list)
    static let lpop = KeyspaceEvent("lpop", .list)
    static let rpop = KeyspaceEvent("rpop", .list)
    static let lset = KeyspaceEvent("lset", .list)
    static let linsert = KeyspaceEvent("linsert", .list)
    static let lrem = KeyspaceEvent("lrem", .list)
    static let ltrim = KeyspaceEvent("ltrim", .list)
}
