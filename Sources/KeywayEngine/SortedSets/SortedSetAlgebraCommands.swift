/// Combining sorted sets: ZUNION, ZINTER, ZDIFF, their STORE forms, and
/// ZINTERCARD.
///
/// Scores are multiplied by WEIGHTS and merged by AGGREGATE SUM|MIN|MAX. As
/// in Redis, a weighted score or a sum that comes out NaN (inf × 0,
/// inf + -inf) counts as 0. In Redis plain sets may be inputs too, each
/// member scored 1: `Operand.unscored` is that input; `operand(_:_:)` maps
/// a key's value to an operand.
extension SortedSetCommands {
    enum Combination {
        case union, intersection, difference

        /// The keyspace event a STORE form emits.
        var storeEvent: KeyspaceEvent {
            switch self {
            case .union: return .zunionstore
            case .intersection: return .zinterstore
            case .difference: return .zdiffstore
            }
        }
    }
    enum Aggregate { case sum, min, max }

    /// One input of a combination.
    enum Operand {
        case scored(SortedSetValue)
        /// A plain set's members, each scored 1.
        case unscored(Set<Bytes>)
        case missing

        var count: Int {
            switch self {
            case .scored(let set): return set.count
            case .unscored(let members): return members.count
            case .missing: return 0
            }
        }

        func score(of member: Bytes) -> Double? {
            switch self {
            case .scored(let set): return set.score(of: member)
            case .unscored(let members): return members.contains(member) ? 1 : nil
            case .missing: return nil
            }
        }

        func forEach(_ body: (Bytes, Double) -> Void) {
            switch self {
            case .scored(let set): set.forEach(fromRank: 0, count: set.count, reversed: false, body)
            case .unscored(let members): for member in members { body(member, 1) }
            case .missing: break
            }
        }
    }

    /// The operand under `key`: a sorted set, nothing, or WRONGTYPE for
    /// types that cannot take part.
    static func operand(_ c: CommandContext, _ key: Bytes) throws(CommandError) -> Operand {
        guard let entry = c.db.lookupRead(key) else { return .missing }
        switch entry.value {
        case .zset(let set): return .scored(set)
        case .set(let set): return .unscored(Set(set.members))
        default: throw .wrongType
        }
    }

    /// Reads `numkeys` and the keys after it, checking their types.
    static func operands(_ c: CommandContext, numkeysAt: Int) throws(CommandError) -> [Operand] {
        let numkeys = try c.integer(at: numkeysAt)
        if numkeys < 1 {
            throw CommandError(.generic, "ERR at least 1 input key is needed for '\(c.name)' command")
        }
        if numkeys > Int64(c.argumentCount - numkeysAt - 1) { throw .syntax }
        var operands: [Operand] = []
        for key in c.arguments[(numkeysAt + 1)...(numkeysAt + Int(numkeys))] {
            operands.append(try operand(c, key))
        }
        return operands
    }

    static func aggregate(_ a: Double, _ b: Double, _ how: Aggregate) -> Double {
        switch how {
        case .sum:
            let sum = a + b
            return sum.isNaN ? 0 : sum
        case .min: return Swift.min(a, b)
        case .max: return Swift.max(a, b)
        }
    }

    static func weighted(_ score: Double, _ weight: Double) -> Double {
        let value = score * weight
        return value.isNaN ? 0 : value
    }

    /// The combined members and scores, unordered.
    static func compute(_ operation: Combination, _ operands: [Operand], weights: [Double], aggregate how: Aggregate) -> [Bytes: Double] {
        var result: [Bytes: Double] = [:]
        switch operation {
        case .union:
            for (operand, weight) in zip(operands, weights) {
                operand.forEach { member, score in
                    let value = weighted(score, weight)
                    if let current = result[member] {
                        result[member] = aggregate(current, value, how)
                    } else {
                        result[member] = value
                    }
                }
            }
        case .intersection:
            // Walk the smallest input and probe the others.
            let order = operands.indices.sorted { operands[$0].count < operands[$1].count }
            guard let smallest = order.first, operands[smallest].count > 0 else { return [:] }
            operands[smallest].forEach { member, score in
                var value = weighted(score, weights[smallest])
                for other in order.dropFirst() {
                    guard let otherScore = operands[other].score(of: member) else { return }
                    value = aggregate(value, weighted(otherScore, weights[other]), how)
                }
                result[member] = value
            }
        case .difference:
            operands[0].forEach { member, score in
                for other in operands.dropFirst() where other.score(of: member) != nil { return }
                result[member] = score
            }
        }
        return result
    }

    /// ZUNION|ZINTER|ZDIFF numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
    /// and the STORE forms with a destination first (no WITHSCORES).
    static func combine(_ c: CommandContext, _ operation: Combination, store: Bool) throws(CommandError) -> Reply {
        let numkeysAt = store ? 2 : 1
        let operands = try operands(c, numkeysAt: numkeysAt)
        var weights = Array(repeating: 1.0, count: operands.count)
        var how = Aggregate.sum
        var withScores = false
        var i = numkeysAt + 1 + operands.count
        while i < c.argumentCount {
            let remaining = c.argumentCount - i
            if operation != .difference && remaining >= operands.count + 1 && c[i].equalsIgnoringCase("weights") {
                for j in 0..<operands.count {
                    guard let weight = Parse.strictDouble(c[i + 1 + j]) else {
                        throw CommandError(.notFloat, "ERR weight value is not a float")
                    }
                    weights[j] = weight
                }
                i += operands.count + 1
            } else if operation != .difference && remaining >= 2 && c[i].equalsIgnoringCase("aggregate") {
                let name = c[i + 1]
                if name.equalsIgnoringCase("sum") { how = .sum }
                else if name.equalsIgnoringCase("min") { how = .min }
                else if name.equalsIgnoringCase("max") { how = .max }
                else { throw .syntax }
                i += 2
            } else if !store && c[i].equalsIgnoringCase("withscores") {
                withScores = true
                i += 1
            } else {
                throw .syntax
            }
        }
        let combined = compute(operation, operands, weights: weights, aggregate: how)
        if store {
            var result = SortedSetValue()
            result.reserveCapacity(combined.count)
            for (member, score) in combined { result.set(member, score: score) }
            self.store(c, result, at: c[1], event: operation.storeEvent)
            return .integer(Int64(result.count))
        }
        let ordered = combined.map { (member: $0.key, score: $0.value) }.sorted { a, b in
            a.score != b.score ? a.score < b.score : a.member < b.member
        }
        return flatReply(ordered, withScores: withScores)
    }

    /// ZINTERCARD numkeys key [key ...] [LIMIT limit]: the size of the
    /// intersection, stopping early at `limit` (0 = no limit).
    static func zintercard(_ c: CommandContext) throws(CommandError) -> Reply {
        let operands = try operands(c, numkeysAt: 1)
        var limit = 0
        var i = 2 + operands.count
        while i < c.argumentCount {
            guard c.argumentCount - i >= 2, c[i].equalsIgnoringCase("limit") else { throw .syntax }
            guard let requested = Parse.strictInt64(c[i + 1]), requested >= 0 else {
                throw CommandError(.generic, "ERR LIMIT can't be negative")
            }
            limit = Int(min(requested, Int64(Int32.max)))
            i += 2
        }
        let order = operands.indices.sorted { operands[$0].count < operands[$1].count }
        let smallest = operands[order[0]]
        var found = 0
        if smallest.count > 0 {
            var done = false
            smallest.forEach { member, _ in
                if done { return }
                for other in order.dropFirst() where operands[other].score(of: member) == nil { return }
                found += 1
                if limit > 0 && found >= limit { done = true }
            }
        }
        return .integer(Int64(found))
    }
}
