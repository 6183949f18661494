/// Sorted sets (leaderboards, priority queues, time indexes): the command
/// table, and the single-key commands that add, score, rank, remove,
/// sample and scan members.
///
/// Ranges live in `SortedSetRangeCommands.swift`, pops (blocking too) in
/// `SortedSetPopCommands.swift`, ZUNION/ZINTER/ZDIFF in
/// `SortedSetAlgebraCommands.swift`. Scores in replies are bulk strings in
/// Redis 7.2's format (`ScoreFormatting`), WITHSCORES replies flat arrays.
///
/// Commands taking `numkeys` declare only their first key position; the
/// others follow from `numkeys` at run time.
enum SortedSetCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("zadd", arity: -4, flags: [.write, .denyOOM, .fast], handler: zadd),
        CommandSpec("zincrby", arity: 4, flags: [.write, .denyOOM, .fast], handler: zincrby),
        CommandSpec("zscore", arity: 3, flags: [.readonly, .fast], handler: zscore),
        CommandSpec("zmscore", arity: -3, flags: [.readonly, .fast], handler: zmscore),
        CommandSpec("zcard", arity: 2, flags: [.readonly, .fast], handler: zcard),
        CommandSpec("zcount", arity: 4, flags: [.readonly, .fast], handler: zcount),
        CommandSpec("zlexcount", arity: 4, flags: [.readonly, .fast], handler: zlexcount),
        CommandSpec("zrank", arity: -3, flags: [.readonly, .fast], handler: { c throws(CommandError) in try zrank(c, reversed: false) }),
        CommandSpec("zrevrank", arity: -3, flags: [.readonly, .fast], handler: { c throws(CommandError) in try zrank(c, reversed: true) }),
        CommandSpec("zrem", arity: -3, flags: [.write, .fast], handler: zrem),
        CommandSpec("zremrangebyrank", arity: 4, flags: [.write], handler: zremrangebyrank),
        CommandSpec("zremrangebyscore", arity: 4, flags: [.write], handler: zremrangebyscore),
        CommandSpec("zremrangebylex", arity: 4, flags: [.write], handler: zremrangebylex),
        CommandSpec("zrandmember", arity: -2, flags: [.readonly], handler: zrandmember),
        CommandSpec("zscan", arity: -3, flags: [.readonly], handler: zscan),

        CommandSpec("zrange", arity: -4, flags: [.readonly], handler: { c throws(CommandError) in
            try range(c, firstOption: 4, kind: nil, reversed: nil) }),
        CommandSpec("zrevrange", arity: -4, flags: [.readonly], handler: { c throws(CommandError) in
            try range(c, firstOption: 4, kind: .rank, reversed: true) }),
        CommandSpec("zrangebyscore", arity: -4, flags: [.readonly], handler: { c throws(CommandError) in
            try range(c, firstOption: 4, kind: .score, reversed: false) }),
        CommandSpec("zrevrangebyscore", arity: -4, flags: [.readonly], handler: { c throws(CommandError) in
            try range(c, firstOption: 4, kind: .score, reversed: true) }),
        CommandSpec("zrangebylex", arity: -4, flags: [.readonly], handler: { c throws(CommandError) in
            try range(c, firstOption: 4, kind: .lex, reversed: false) }),
        CommandSpec("zrevrangebylex", arity: -4, flags: [.readonly], handler: { c throws(CommandError) in
            try range(c, firstOption: 4, kind: .lex, reversed: true) }),
        CommandSpec("zrangestore", arity: -5, flags: [.write, .denyOOM], keys: (1, 2, 1), handler: zrangestore),

        CommandSpec("zpopmin", arity: -2, flags: [.write, .fast], handler: { c throws(CommandError) in try zpop(c, end: .min) }),
        CommandSpec("zpopmax", arity: -2, flags: [.write, .fast], handler: { c throws(CommandError) in try zpop(c, end: .max) }),
        CommandSpec("zmpop", arity: -4, flags: [.write], keys: (0, 0, 0), variableKeys: .counted(at: 1), handler: { c throws(CommandError) in try zmpop(c, blocking: false) }),
        CommandSpec("bzpopmin", arity: -3, flags: [.write, .fast, .blocking], keys: (1, -2, 1), handler: { c throws(CommandError) in try bzpop(c, end: .min) }),
        CommandSpec("bzpopmax", arity: -3, flags: [.write, .fast, .blocking], keys: (1, -2, 1), handler: { c throws(CommandError) in try bzpop(c, end: .max) }),
        CommandSpec("bzmpop", arity: -5, flags: [.write, .blocking], keys: (0, 0, 0), variableKeys: .counted(at: 2), handler: { c throws(CommandError) in try zmpop(c, blocking: true) }),

        CommandSpec("zunion", arity: -3, flags: [.readonly], keys: (0, 0, 0), variableKeys: .counted(at: 1), handler: { c throws(CommandError) in try combine(c, .union, store: false) }),
        CommandSpec("zinter", arity: -3, flags: [.readonly], keys: (0, 0, 0), variableKeys: .counted(at: 1), handler: { c throws(CommandError) in try combine(c, .intersection, store: false) }),
        CommandSpec("zdiff", arity: -3, flags: [.readonly], keys: (0, 0, 0), variableKeys: .counted(at: 1), handler: { c throws(CommandError) in try combine(c, .difference, store: false) }),
        CommandSpec("zunionstore", arity: -4, flags: [.write, .denyOOM], keys: (1, 1, 1), variableKeys: .counted(at: 2), handler: { c throws(CommandError) in try combine(c, .union, store: true) }),
        CommandSpec("zinterstore", arity: -4, flags: [.write, .denyOOM], keys: (1, 1, 1), variableKeys: .counted(at: 2), handler: { c throws(CommandError) in try combine(c, .intersection, store: true) }),
        CommandSpec("zdiffstore", arity: -4, flags: [.write, .denyOOM], keys: (1, 1, 1), variableKeys: .counted(at: 2), handler: { c throws(CommandError) in try combine(c, .difference, store: true) }),
        CommandSpec("zintercard", arity: -3, flags: [.readonly], keys: (0, 0, 0), variableKeys: .counted(at: 1), handler: zintercard),
    ]

    static let nanScore = CommandError(.notFloat, "ERR resulting score is not a number (NaN)")

    // MARK: - Reply shapes

    static func scoreReply(_ score: Double) -> Reply { .bulk(ScoreFormatting.bytes(score)) }

    /// Members, or `member, score, member, score, ...` with scores (RESP2).
    static func flatReply(_ elements: [(member: Bytes, score: Double)], withScores: Bool) -> Reply {
        var replies: [Reply] = []
        replies.reserveCapacity(withScores ? elements.count * 2 : elements.count)
        for element in elements {
            replies.append(.bulk(element.member))
            if withScores { replies.append(scoreReply(element.score)) }
        }
        return .array(replies)
    }

    // MARK: - ZADD, ZINCRBY

    /// ZADD's options. `incr` makes ZADD behave like ZINCRBY.
    struct AddOptions {
        var onlyNew = false       // NX
        var onlyExisting = false  // XX
        var onlyGreater = false   // GT
        var onlyLess = false      // LT
        var countChanged = false  // CH
        var increment = false     // INCR
    }

    /// The outcome for one member: its score afterwards (nil when the options
    /// skipped it) and whether it was added or its score changed.
    struct AddResult {
        var score: Double?
        var added = false
        var updated = false
    }

    /// Adds or updates one member under ZADD's rules.
    static func add(_ set: inout SortedSetValue, _ member: Bytes, _ score: Double, _ options: AddOptions) throws(CommandError) -> AddResult {
        guard let current = set.score(of: member) else {
            if options.onlyExisting { return AddResult(score: nil) }
            set.set(member, score: score)
            return AddResult(score: score, added: true)
        }
        if options.onlyNew { return AddResult(score: nil) }
        var new = score
        if options.increment {
            new = current + score
            if new.isNaN { throw nanScore }
        }
        if (options.onlyLess && new >= current) || (options.onlyGreater && new <= current) {
            return AddResult(score: nil)
        }
        if new != current {
            set.set(member, score: new)
            return AddResult(score: new, updated: true)
        }
        return AddResult(score: new)
    }

    /// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
    static func zadd(_ c: CommandContext) throws(CommandError) -> Reply {
        var options = AddOptions()
        var i = 2
        while i < c.argumentCount {
            let word = c[i]
            if word.equalsIgnoringCase("nx") { options.onlyNew = true }
            else if word.equalsIgnoringCase("xx") { options.onlyExisting = true }
            else if word.equalsIgnoringCase("gt") { options.onlyGreater = true }
            else if word.equalsIgnoringCase("lt") { options.onlyLess = true }
            else if word.equalsIgnoringCase("ch") { options.countChanged = true }
            else if word.equalsIgnoringCase("incr") { options.increment = true }
            else { break }
            i += 1
        }
        let remaining = c.argumentCount - i
        if remaining == 0 || remaining % 2 != 0 { throw .syntax }
        if options.onlyNew && options.onlyExisting {
            throw CommandError(.generic, "ERR XX and NX options at the same time are not compatible")
        }
        if (options.onlyGreater && options.onlyNew) || (options.onlyLess && options.onlyNew) || (options.onlyGreater && options.onlyLess) {
            throw CommandError(.generic, "ERR GT, LT, and/or NX options at the same time are not compatible")
        }
        if options.increment && remaining > 2 {
            throw CommandError(.generic, "ERR INCR option supports a single increment-element pair")
        }
        var pairs: [(score: Double, member: Bytes)] = []
        pairs.reserveCapacity(remaining / 2)
        for j in stride(from: i, to: c.argumentCount, by: 2) {
            pairs.append((try c.double(at: j), c[j + 1]))
        }

        let key = c[1]
        var added = 0, updated = 0
        var lastScore: Double? = nil
        _ = try c.db.modify(SortedSetValue.self, key, create: !options.onlyExisting) { set throws(CommandError) in
            for pair in pairs {
                let result = try add(&set, pair.member, pair.score, options)
                if result.added { added += 1 }
                if result.updated { updated += 1 }
                lastScore = result.score
            }
        }
        if added + updated > 0 { c.db.didWrite(key, options.increment ? .zincr : .zadd) }
        if options.increment { return lastScore.map(scoreReply) ?? .null }
        return .integer(Int64(options.countChanged ? added + updated : added))
    }

    /// ZINCRBY key increment member
    static func zincrby(_ c: CommandContext) throws(CommandError) -> Reply {
        let increment = try c.double(at: 2)
        var options = AddOptions()
        options.increment = true
        let key = c[1]
        let result = try c.db.modify(SortedSetValue.self, key, create: true) { set throws(CommandError) in
            try add(&set, c[3], increment, options)
        }
        guard let result, let score = result.score else { return .null }
        c.db.didWrite(key, .zincr)
        return scoreReply(score)
    }

    // MARK: - Reading members

    static func zscore(_ c: CommandContext) throws(CommandError) -> Reply {
        try c.db.read(SortedSetValue.self, c[1])?.score(of: c[2]).map(scoreReply) ?? .null
    }

    static func zmscore(_ c: CommandContext) throws(CommandError) -> Reply {
        let set = try c.db.read(SortedSetValue.self, c[1])
        return .array(c.arguments.dropFirst(2).map { member in
            set?.score(of: member).map(scoreReply) ?? .null
        })
    }

    static func zcard(_ c: CommandContext) throws(CommandError) -> Reply {
        .integer(Int64(try c.db.read(SortedSetValue.self, c[1])?.count ?? 0))
    }

    static func zcount(_ c: CommandContext) throws(CommandError) -> Reply {
        let range = try ScoreRange(min: c[2], max: c[3])
        guard let set = try c.db.read(SortedSetValue.self, c[1]) else { return .integer(0) }
        return .integer(Int64(range.ranks(in: set).count))
    }

    static func zlexcount(_ c: CommandContext) throws(CommandError) -> Reply {
        let range = try LexRange(min: c[2], max: c[3])
        guard let set = try c.db.read(SortedSetValue.self, c[1]) else { return .integer(0) }
        return .integer(Int64(range.ranks(in: set).count))
    }

    /// ZRANK / ZREVRANK key member [WITHSCORE]
    static func zrank(_ c: CommandContext, reversed: Bool) throws(CommandError) -> Reply {
        if c.argumentCount > 4 { throw .syntax }
        let withScore = c.argumentCount == 4
        if withScore && !c[3].equalsIgnoringCase("withscore") { throw .syntax }
        guard let set = try c.db.read(SortedSetValue.self, c[1]),
              let rank = set.rank(of: c[2]), let score = set.score(of: c[2]) else { return .null }
        let position = Int64(reversed ? set.count - 1 - rank : rank)
        return withScore ? .array([.integer(position), scoreReply(score)]) : .integer(position)
    }

    // MARK: - Removing members

    static func zrem(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        let removed = try c.db.modify(SortedSetValue.self, key, create: false) { set throws(CommandError) in
            var removed = 0
            for member in c.arguments.dropFirst(2) where set.remove(member) != nil { removed += 1 }
            return removed
        } ?? 0
        if removed > 0 { c.db.didWrite(key, .zrem) }
        return .integer(Int64(removed))
    }

    /// Removes the members at `ranks` and emits `event`. `Database.modify`
    /// has already emitted `del` if the set became empty.
    static func removeRanks(_ c: CommandContext, _ event: KeyspaceEvent, _ ranks: (SortedSetValue) -> Range<Int>) throws(CommandError) -> Reply {
        let key = c[1]
        let removed = try c.db.modify(SortedSetValue.self, key, create: false) { set throws(CommandError) in
            set.removeRanks(ranks(set)).count
        } ?? 0
        if removed > 0 { c.db.didWrite(key, event) }
        return .integer(Int64(removed))
    }

    static func zremrangebyrank(_ c: CommandContext) throws(CommandError) -> Reply {
        let start = try c.integer(at: 2), stop = try c.integer(at: 3)
        return try removeRanks(c, .zremrangebyrank) { set in normalizedRankRange(start: start, stop: stop, count: set.count) ?? 0..<0 }
    }

    static func zremrangebyscore(_ c: CommandContext) throws(CommandError) -> Reply {
        let range = try ScoreRange(min: c[2], max: c[3])
        return try removeRanks(c, .zremrangebyscore) { range.ranks(in: $0) }
    }

    static func zremrangebylex(_ c: CommandContext) throws(CommandError) -> Reply {
        let range = try LexRange(min: c[2], max: c[3])
        return try removeRanks(c, .zremrangebylex) { range.ranks(in: $0) }
    }

    // MARK: - Sampling and scanning

    /// ZRANDMEMBER key [count [WITHSCORES]]: a positive count gives distinct
    /// members, a negative one may repeat them.
    static func zrandmember(_ c: CommandContext) throws(CommandError) -> Reply {
        var generator = SystemRandomNumberGenerator()
        if c.argumentCount == 2 {
            guard let set = try c.db.read(SortedSetValue.self, c[1]) else { return .null }
            return set.randomElement(using: &generator).map { .bulk($0.member) } ?? .null
        }
        let requested = try c.integer(at: 2)
        if requested == Int64.min { throw CommandError(.generic, "ERR value is out of range") }
        var withScores = false
        if c.argumentCount == 4 && c[3].equalsIgnoringCase("withscores") {
            withScores = true
        } else if c.argumentCount > 3 {
            throw .syntax
        }
        if withScores && (requested < -(Int64.max / 2) || requested > Int64.max / 2) {
            throw CommandError(.generic, "ERR value is out of range")
        }
        guard let set = try c.db.read(SortedSetValue.self, c[1]), requested != 0 else { return .array([]) }
        var picked: [(member: Bytes, score: Double)] = []
        if requested < 0 {
            try RandomPicks.check(requested)
            let wanted = Int(-requested)
            var ranks: [Int] = []
            ranks.reserveCapacity(min(wanted, 1 << 20))
            for _ in 0..<wanted { ranks.append(Int.random(in: 0..<set.count, using: &generator)) }
            picked = set.elements(atRanks: ranks)
        } else if requested >= Int64(set.count) {
            picked = set.allElements
        } else {
            let wanted = Int(requested)
            if wanted * 3 > set.count {
                var ranks = Array(0..<set.count)
                ranks.shuffle(using: &generator)
                picked = set.elements(atRanks: Array(ranks.prefix(wanted)))
            } else {
                var ranks = Set<Int>()
                while ranks.count < wanted { ranks.insert(Int.random(in: 0..<set.count, using: &generator)) }
                picked = set.elements(atRanks: Array(ranks))
            }
        }
        return flatReply(picked, withScores: withScores)
    }

    /// ZSCAN key cursor [MATCH pattern] [COUNT count]
    /// As in Redis, the options are read after the key: a missing key
    /// answers an empty, finished scan whatever follows.
    static func zscan(_ c: CommandContext) throws(CommandError) -> Reply {
        guard ScanOptions.cursor(c[2]) != nil else { throw .invalidCursor }
        guard let set = try c.db.read(SortedSetValue.self, c[1]) else { return ScanOptions.empty }
        let options = try ScanOptions(c, cursorAt: 2, optionsFrom: 3)
        var found: [Reply] = []
        let next = set.scan(from: options.start(capacity: set.cursorCapacity), count: options.count) { member, score in
            guard options.matches(member) else { return }
            found.append(.bulk(member))
            found.append(scoreReply(score))
        }
        return ScanOptions.reply(next: next, found)
    }
}

/// Sorted-set events (`z`). ZINCRBY and ZADD INCR emit `zincr`.
extension KeyspaceEvent {
    static let zadd = KeyspaceEvent("zadd", .zset)
    static let zincr = KeyspaceEvent("zincr", .zset)
    static let zrem = KeyspaceEvent("zrem", .zset)
    static let zremrangebyscore = KeyspaceEvent("zremrangebyscore", .zset)
    static let zremrangebyrank = KeyspaceEvent("zremrangebyrank", .zset)
    static let zremrangebylex = KeyspaceEvent("zremrangebylex", .zset)
    static let zpopmin = KeyspaceEvent("zpopmin", .zset)
    static let zpopmax = KeyspaceEvent("zpopmax", .zset)
    static let zrangestore = KeyspaceEvent("zrangestore", .zset)
    static let zunionstore = KeyspaceEvent("zunionstore", .zset)
    static let zinterstore = KeyspaceEvent("zinterstore", .zset)
    static let zdiffstore = KeyspaceEvent("zdiffstore", .zset)
}
