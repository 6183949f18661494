/// ZRANGE and its older spellings (ZREVRANGE, ZRANGEBYSCORE,
/// ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX) and ZRANGESTORE: one
/// parser and one selector, as Redis 7 unified them.
///
/// Every selection is O(log n + m): the tree finds where the range starts
/// by rank, then walks m members in order.
extension SortedSetCommands {
    enum RangeKind { case rank, score, lex }

    /// A parsed ZRANGE request.
    struct RangeRequest {
        var kind: RangeKind
        var reversed: Bool
        var withScores = false
        /// LIMIT offset count (count < 0: no limit).
        var offset: Int64 = 0
        var limit: Int64 = -1
        var ranks: (start: Int64, stop: Int64) = (0, -1)
        var scores: ScoreRange?
        var lex: LexRange?

        /// The members selected from `set`, in reply order.
        func select(in set: SortedSetValue) -> [(member: Bytes, score: Double)] {
            switch kind {
            case .rank:
                guard let ranks = normalizedRankRange(start: ranks.start, stop: ranks.stop, count: set.count) else { return [] }
                return set.elements(fromRank: ranks.lowerBound, count: ranks.count, reversed: reversed)
            case .score, .lex:
                let ranks = scores?.ranks(in: set) ?? lex!.ranks(in: set)
                if offset < 0 || offset >= Int64(ranks.count) { return [] }
                let available = ranks.count - Int(offset)
                let wanted = limit < 0 ? available : Int(min(Int64(available), limit))
                let first = reversed ? set.count - ranks.upperBound : ranks.lowerBound
                return set.elements(fromRank: first + Int(offset), count: wanted, reversed: reversed)
            }
        }
    }

    /// Parses `<min> <max> [BYSCORE|BYLEX] [REV] [LIMIT offset count]
    /// [WITHSCORES]` with the bounds at `boundsAt` and options after them.
    /// `kind`/`reversed` are fixed by the older commands (which then refuse
    /// BYSCORE/BYLEX/REV); `store` refuses WITHSCORES.
    static func parseRange(_ c: CommandContext, boundsAt: Int, kind fixedKind: RangeKind?, reversed fixedReversed: Bool?, store: Bool) throws(CommandError) -> RangeRequest {
        var kind = fixedKind
        var reversed = fixedReversed
        var withScores = false
        var hasLimit = false
        var offset: Int64 = 0, limit: Int64 = -1
        var i = boundsAt + 2
        while i < c.argumentCount {
            let word = c[i]
            let remaining = c.argumentCount - i - 1
            if !store && word.equalsIgnoringCase("withscores") {
                withScores = true
            } else if word.equalsIgnoringCase("limit") && remaining >= 2 {
                offset = try c.integer(at: i + 1)
                limit = try c.integer(at: i + 2)
                hasLimit = true
                i += 2
            } else if reversed == nil && word.equalsIgnoringCase("rev") {
                reversed = true
            } else if kind == nil && word.equalsIgnoringCase("bylex") {
                kind = .lex
            } else if kind == nil && word.equalsIgnoringCase("byscore") {
                kind = .score
            } else {
                throw .syntax
            }
            i += 1
        }
        var request = RangeRequest(kind: kind ?? .rank, reversed: reversed ?? false)
        request.withScores = withScores
        request.offset = offset
        request.limit = limit
        if hasLimit && request.kind == .rank {
            throw CommandError(.syntax, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        }
        if withScores && request.kind == .lex {
            throw CommandError(.syntax, "ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        }
        // Reversed score and lex ranges are written max first.
        let swap = request.reversed && request.kind != .rank
        let low = c[swap ? boundsAt + 1 : boundsAt], high = c[swap ? boundsAt : boundsAt + 1]
        switch request.kind {
        case .rank: request.ranks = (try Parse.integer(low), try Parse.integer(high))
        case .score: request.scores = try ScoreRange(min: low, max: high)
        case .lex: request.lex = try LexRange(min: low, max: high)
        }
        return request
    }

    /// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES], and the older forms.
    static func range(_ c: CommandContext, firstOption: Int, kind: RangeKind?, reversed: Bool?) throws(CommandError) -> Reply {
        let request = try parseRange(c, boundsAt: firstOption - 2, kind: kind, reversed: reversed, store: false)
        guard let set = try c.db.read(SortedSetValue.self, c[1]) else { return .array([]) }
        return flatReply(request.select(in: set), withScores: request.withScores)
    }

    /// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
    static func zrangestore(_ c: CommandContext) throws(CommandError) -> Reply {
        let request = try parseRange(c, boundsAt: 3, kind: nil, reversed: nil, store: true)
        let source = try c.db.read(SortedSetValue.self, c[2])
        var result = SortedSetValue()
        if let source {
            for element in request.select(in: source) { result.set(element.member, score: element.score) }
        }
        store(c, result, at: c[1], event: .zrangestore)
        return .integer(Int64(result.count))
    }

    /// Writes a STORE command's result over whatever `key` held (deleting
    /// the key when the result is empty) and emits the matching event.
    static func store(_ c: CommandContext, _ result: SortedSetValue, at key: Bytes, event: KeyspaceEvent) {
        let existed = c.db.exists(key)
        c.db.replace(key, with: result)
        if !result.isEmpty {
            c.db.didWrite(key, event)
        } else if existed {
            c.db.didWrite(key, .del)
        }
    }
}
