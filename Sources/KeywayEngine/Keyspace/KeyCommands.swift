/// Commands on keys whatever their type: existence, deletion, renaming,
/// copying, iteration (KEYS, SCAN, RANDOMKEY) and flushing.
enum KeyCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("del", arity: -2, flags: [.write], keys: (1, -1, 1), handler: del),
        CommandSpec("unlink", arity: -2, flags: [.write, .fast], keys: (1, -1, 1), handler: unlink),
        CommandSpec("exists", arity: -2, flags: [.readonly, .fast], keys: (1, -1, 1), handler: exists),
        CommandSpec("touch", arity: -2, flags: [.readonly, .fast], keys: (1, -1, 1), handler: exists),
        CommandSpec("type", arity: 2, flags: [.readonly, .fast], handler: type),
        CommandSpec("rename", arity: 3, flags: [.write], keys: (1, 2, 1), handler: { c throws(CommandError) in try rename(c, onlyIfAbsent: false) }),
        CommandSpec("renamenx", arity: 3, flags: [.write, .fast], keys: (1, 2, 1), handler: { c throws(CommandError) in try rename(c, onlyIfAbsent: true) }),
        CommandSpec("copy", arity: -3, flags: [.write, .denyOOM], keys: (1, 2, 1), handler: copy),
        CommandSpec("keys", arity: 2, flags: [.readonly], keys: (0, 0, 0), handler: keys),
        CommandSpec("scan", arity: -2, flags: [.readonly], keys: (0, 0, 0), handler: scan),
        CommandSpec("randomkey", arity: 1, flags: [.readonly], keys: (0, 0, 0), handler: randomkey),
        CommandSpec("dbsize", arity: 1, flags: [.readonly, .fast], keys: (0, 0, 0), handler: { c throws(CommandError) in .integer(Int64(c.db.keyspace.count)) }),
        CommandSpec("flushdb", arity: -1, flags: [.write], keys: (0, 0, 0), handler: flush),
        CommandSpec("flushall", arity: -1, flags: [.write], keys: (0, 0, 0), handler: flush),
    ]

    static func del(_ c: CommandContext) throws(CommandError) -> Reply {
        if c.server.lazyFree.userDel { return try unlink(c) }
        var deleted: Int64 = 0
        for key in c.arguments.dropFirst() where c.db.deleteKey(key) {
            c.db.didWrite(key, .del)
            deleted += 1
        }
        return .integer(deleted)
    }

    /// UNLINK: DEL whose big values are freed off the engine (`LazyFree`).
    static func unlink(_ c: CommandContext) throws(CommandError) -> Reply {
        var deleted: Int64 = 0
        for key in c.arguments.dropFirst() {
            guard let value = c.db.removeKey(key) else { continue }
            LazyFree.dispose(value)
            c.db.didWrite(key, .del)
            deleted += 1
        }
        return .integer(deleted)
    }

    /// EXISTS counts a key once per mention, as Redis does; TOUCH the same.
    /// Both are read lookups in Redis, so they count keyspace hits/misses.
    static func exists(_ c: CommandContext) throws(CommandError) -> Reply {
        var count: Int64 = 0
        for key in c.arguments.dropFirst() where c.db.lookupRead(key) != nil { count += 1 }
        return .integer(count)
    }

    static func type(_ c: CommandContext) throws(CommandError) -> Reply {
        // A read lookup in Redis (counts a hit or miss) that does not touch.
        guard let entry = c.db.lookupRead(c[1], touch: false) else { return .status("none") }
        return .status(entry.value.typeName)
    }

    static func rename(_ c: CommandContext, onlyIfAbsent: Bool) throws(CommandError) -> Reply {
        let source = c[1], target = c[2]
        guard let slot = c.db.liveSlot(source) else { throw .noSuchKey }
        if source == target { return onlyIfAbsent ? .integer(0) : .ok }
        if onlyIfAbsent && c.db.exists(target) { return .integer(0) }
        let entry = c.db.keyspace[slot: slot]
        c.db.deleteKey(source)
        c.db.deleteKey(target)
        c.db.setKey(target, entry.value, expiresAt: entry.hasExpiry ? entry.expiresAt : nil)
        c.db.didWrite(source, .renameFrom)
        c.db.didWrite(target, .renameTo)
        return onlyIfAbsent ? .integer(1) : .ok
    }

    /// COPY source destination [DB 0] [REPLACE]. One database, so only DB 0.
    static func copy(_ c: CommandContext) throws(CommandError) -> Reply {
        var replace = false
        var i = 3
        while i < c.argumentCount {
            if c[i].equalsIgnoringCase("replace") {
                replace = true
            } else if c[i].equalsIgnoringCase("db") && i + 1 < c.argumentCount {
                let db = try c.integer(at: i + 1)
                if db != 0 { throw CommandError(.generic, "ERR DB index is out of range") }
                i += 1
            } else {
                throw .syntax
            }
            i += 1
        }
        let source = c[1], target = c[2]
        if source == target { throw CommandError(.generic, "ERR source and destination objects are the same") }
        // Redis reads the source with a read lookup (a keyspace hit or miss).
        guard let entry = c.db.lookupRead(source) else { return .integer(0) }
        if c.db.exists(target) {
            if !replace { return .integer(0) }
            c.db.deleteKey(target)
        }
        c.db.setKey(target, entry.value, expiresAt: entry.hasExpiry ? entry.expiresAt : nil)
        c.db.didWrite(target, .copyTo)
        return .integer(1)
    }

    static func keys(_ c: CommandContext) throws(CommandError) -> Reply {
        let pattern = c[1]
        let matchAll = pattern == Bytes("*")
        var result: [Reply] = []
        for entry in Array(c.db.keyspace.entries) {
            if c.db.isExpired(entry) { continue }
            if matchAll || GlobPattern.matches(pattern, entry.key) { result.append(.bulk(entry.key)) }
        }
        return .array(result)
    }

    /// SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]. The cursor is a
    /// slot position: keys present for the whole iteration come back exactly once.
    static func scan(_ c: CommandContext) throws(CommandError) -> Reply {
        let options = try ScanOptions(c, cursorAt: 1, optionsFrom: 2, allowType: true)
        var found: [Reply] = []
        let next = c.db.keyspace.scan(from: options.start(capacity: c.db.keyspace.slotCapacity), count: options.count) { entry in
            if c.db.isExpired(entry) { return }
            if !options.matches(entry.key) { return }
            if let type = options.type, entry.value.typeName != type { return }
            found.append(.bulk(entry.key))
        }
        return ScanOptions.reply(next: next, found)
    }

    static func randomkey(_ c: CommandContext) throws(CommandError) -> Reply {
        var generator = SystemRandomNumberGenerator()
        // Expired keys met on the way are removed, as Redis does; bounded tries.
        for _ in 0..<100 {
            guard let slot = c.db.keyspace.randomSlot(using: &generator) else { return .null }
            let key = c.db.keyspace[slot: slot].key
            if c.db.liveSlot(key) != nil { return .bulk(key) }
        }
        return .null
    }

    /// FLUSHDB / FLUSHALL [ASYNC|SYNC]: both run synchronously here.
    static func flush(_ c: CommandContext) throws(CommandError) -> Reply {
        if c.argumentCount > 2 { throw .syntax }
        if c.argumentCount == 2 && !c[1].equalsIgnoringCase("async") && !c[1].equalsIgnoringCase("sync") {
            throw .syntax
        }
        let removed = c.db.keyspace.count
        let async = c.argumentCount == 2 ? c[1].equalsIgnoringCase("async") : c.server.lazyFree.userFlush
        if async { LazyFree.release(c.db.keyspace) }
        c.db.removeAll()
        c.db.didWriteAll(event: c.name, changes: removed)
        return .ok
    }
}
