import Foundation
import KeywayEngine
import KeywayHTTP

/// `/v1/leaderboards`: sorted sets as leaderboards. Submitting scores is
/// ZADD, the top N is ZRANGE ... REV, a player's standing is ZSCORE + ZRANK
/// + ZREVRANK, an increment is ZINCRBY.
///
/// Scores are JSON numbers both ways (`inf`/`-inf` travel as the strings
/// `"inf"`/`"-inf"`, JSON having no infinities). Members that are not
/// UTF-8 come back base64-encoded with `"encoding": "base64"` beside them;
/// in request bodies, `"encoding": "base64"` says the member names are.
enum LeaderboardRoutes {
    static func register(_ routes: Routes) {
        let board = routes.resource.group("/v1/leaderboards/{key}")
        board.get(top)
        board.post(submit)
        board.delete { context throws(HTTPResponse) in try context.deleteKey(ofType: "zset") }
        let member = board.group("/members/{member}")
        member.get(standing)
        member.put(setScore)
        member.delete(removeMember)
        member.post("/incr", increment)
    }

    // MARK: - JSON pieces

    /// `"member": "p1"`, or base64 with `"encoding": "base64"` when the
    /// bytes are not UTF-8 or base64 was asked for.
    static func writeMember(_ member: Bytes, base64: Bool, into o: inout ObjectWriter) {
        if !base64, member.isValidUTF8 {
            o.member("member") { $0.string(bytes: member.storage) }
        } else {
            o.member("member") { $0.string(Data(member.storage).base64EncodedString()) }
            o.member("encoding") { $0.string("base64") }
        }
    }

    /// A score reply (Redis's text) as a JSON number; infinities as strings.
    static func writeScore(_ text: Bytes, into json: inout JSONWriter) {
        switch text.text {
        case "inf", "+inf": json.string("inf")
        case "-inf": json.string("-inf")
        case "nan": json.string("nan")
        default: json.raw(text.text)
        }
    }

    /// `{"member", "score"}` of the route's member (never base64-forced).
    static func scoreBody(_ context: ResourceContext, status: Int = 200, _ score: Bytes) -> HTTPResponse {
        context.json(status) { o in
            writeMember(context.member, base64: false, into: &o)
            o.member("score") { writeScore(score, into: &$0) }
        }
    }

    static func noSuchMember(_ member: Bytes) -> HTTPResponse {
        Problem.response(404, code: "NO_SUCH_MEMBER", detail: "no such member: \(member.text)")
    }

    /// ZADD's condition from a `mode` field.
    static func mode(_ fields: Fields) throws(FieldError) -> Bytes? {
        guard let mode = try fields.string("mode") else { return nil }
        guard ["nx", "xx", "gt", "lt"].contains(mode.lowercased()) else {
            throw FieldError("'mode' must be nx, xx, gt or lt")
        }
        return Bytes(mode.uppercased())
    }

    /// `?order=asc|desc`, `fallback` when absent.
    static func descending(_ context: ResourceContext, default fallback: Bool) throws(HTTPResponse) -> Bool {
        switch context.request.queryString("order")?.lowercased() {
        case nil: return fallback
        case "desc": return true
        case "asc": return false
        default: throw Problem.badRequest("'order' must be asc or desc")
        }
    }

    // MARK: - The whole leaderboard

    /// `{"scores": {"p1": 1500, ...}, "mode": "nx"|"xx"|"gt"|"lt"}` → ZADD
    /// [mode] CH. `added` counts new members, `changed` new members plus
    /// members whose score changed (ZADD CH's count). 201 when the
    /// leaderboard was created, else 200.
    static func submit(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let object = try context.jsonObject(hint: "send {\"scores\": {\"member\": score, ...}}")
        let key = context.key
        let zadd = try context.reading { () throws(FieldError) in
            var zadd: [Bytes] = [key]
            let fields = Fields(json: object, request: context.request)
            if let mode = try mode(fields) { zadd.append(mode) }
            zadd.append("CH")
            let base64 = try fields.string("encoding").map { encoding -> Bool in
                encoding.lowercased() == "base64"
            } ?? false
            guard case .object(let scores)? = object["scores"], !scores.isEmpty else {
                throw FieldError("'scores' must be a non-empty object of member: score")
            }
            for (name, value) in scores {
                guard case .number(let score) = value else { throw FieldError("the score of '\(name)' must be a number") }
                let member = try ValueEncoding.decode(name, encoding: base64 ? "base64" : nil)
                zadd += [Bytes(score), Bytes(member)]
            }
            return zadd
        }
        var batch = CommandBatch()
        let before = batch.integer("ZCARD", [key])
        let changed = batch.integer("ZADD", zadd)
        let after = batch.integer("ZCARD", [key])
        let replies = try context.atomically(&batch)
        let (count, changedCount, total) = (try replies[before], try replies[changed], try replies[after])
        return context.json(count == 0 && total > 0 ? 201 : 200) { o in
            JSONResponse.writeKey(key, into: &o)
            o.member("added") { $0.integer(total - count) }
            o.member("changed") { $0.integer(changedCount) }
        }
    }

    /// The top N (`?order=desc&offset=0&limit=10`), or a score window with
    /// `?min=&max=` (`(` exclusive, `-inf`/`+inf`). `rank` is the position
    /// in the requested order, counted over the whole leaderboard.
    static func top(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let request = context.request, key = context.key
        let descending = try descending(context, default: true)
        guard let offset = nonNegativeInteger(request, "offset", default: 0) else {
            throw Problem.badRequest("'offset' must be a non-negative integer")
        }
        guard let limit = nonNegativeInteger(request, "limit", default: 10) else {
            throw Problem.badRequest("'limit' must be a non-negative integer")
        }
        let minimum = request.queryValue("min").map(Bytes.init)
        let maximum = request.queryValue("max").map(Bytes.init)
        let byScore = minimum != nil || maximum != nil

        var batch = CommandBatch()
        let total = batch.integer("ZCARD", [key])
        var window: ReplySlot<Reply>?
        var skipped: ReplySlot<Int64>?
        if byScore {
            let low = minimum ?? "-inf", high = maximum ?? "+inf"
            var range: [Bytes] = descending ? [key, high, low, "BYSCORE", "REV"] : [key, low, high, "BYSCORE"]
            range += ["LIMIT", Bytes(String(offset)), Bytes(String(limit)), "WITHSCORES"]
            window = batch.reply("ZRANGE", range)
            // Members before the window: their count is the window's first rank.
            skipped = descending
                ? batch.integer("ZCOUNT", [key, complement(high), "+inf"])
                : batch.integer("ZCOUNT", [key, "-inf", complement(low)])
        } else if limit > 0 {
            var range: [Bytes] = [key, Bytes(String(offset)), Bytes(String(offset + limit - 1))]
            if descending { range.append("REV") }
            range.append("WITHSCORES")
            window = batch.reply("ZRANGE", range)
        }
        let replies = try context.atomically(&batch)
        let count = try replies[total]
        guard count > 0 else { throw context.noSuchKey }
        var flat: [Reply] = []
        if let window, case .array(let elements) = try replies[window] { flat = elements }
        var firstRank = Int64(offset)
        if let skipped { firstRank += try replies[skipped] }
        let base64 = context.wantsBase64
        return context.json { o in
            JSONResponse.writeKey(key, into: &o)
            o.member("total") { $0.integer(count) }
            o.member("entries") { json in
                json.array(stride(from: 0, to: flat.count - 1, by: 2)) { json, i in
                    guard case .bulk(let member) = flat[i], case .bulk(let score) = flat[i + 1] else { json.null(); return }
                    json.object { e in
                        writeMember(member, base64: base64, into: &e)
                        e.member("score") { writeScore(score, into: &$0) }
                        e.member("rank") { $0.integer(firstRank + Int64(i / 2)) }
                    }
                }
            }
        }
    }

    /// The bound that ends where `bound` begins: `100` → `(100`, `(100` → `100`.
    static func complement(_ bound: Bytes) -> Bytes {
        if bound.storage.first == UInt8(ascii: "(") { return Bytes(bound.storage.dropFirst()) }
        return Bytes([UInt8(ascii: "(")] + bound.storage)
    }

    static func nonNegativeInteger(_ request: HTTPRequest, _ name: String, default fallback: Int) -> Int? {
        guard let text = request.queryString(name) else { return fallback }
        guard let value = Int(text), value >= 0, value <= Int(Int32.max) else { return nil }
        return value
    }

    // MARK: - One member

    /// `{"member","score","rank","reverseRank"}`: `rank` is ZRANK (lowest
    /// score first); with `?order=desc` it is the leaderboard rank (ZREVRANK)
    /// and `reverseRank` the other.
    static func standing(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let descending = try descending(context, default: false)
        let key = context.key, member = context.member
        var batch = CommandBatch()
        let score = batch.bulk("ZSCORE", [key, member])
        let rank = batch.optionalInteger("ZRANK", [key, member])
        let reverseRank = batch.optionalInteger("ZREVRANK", [key, member])
        let replies = try context.atomically(&batch)
        guard let score = try replies[score], let ascending = try replies[rank], let reverse = try replies[reverseRank] else {
            throw noSuchMember(member)
        }
        return context.json { o in
            writeMember(member, base64: context.wantsBase64, into: &o)
            o.member("score") { writeScore(score, into: &$0) }
            o.member("rank") { $0.integer(descending ? reverse : ascending) }
            o.member("reverseRank") { $0.integer(descending ? ascending : reverse) }
        }
    }

    /// `{"score": 1500, "mode": "nx"|"xx"|"gt"|"lt"}` → ZADD. 201 when the
    /// member was added, 200 when updated, 412 when `mode` kept the old score.
    static func setScore(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let object = try context.jsonObject(hint: "send {\"score\": number}")
        let key = context.key, member = context.member
        let (requested, zadd) = try context.reading { () throws(FieldError) in
            let fields = Fields(json: object, request: context.request)
            guard let score = try fields.number("score") else { throw FieldError("'score' (a number) is required") }
            var zadd: [Bytes] = [key]
            if let mode = try mode(fields) { zadd.append(mode) }
            zadd += [Bytes(score), member]
            return (score, zadd)
        }
        var batch = CommandBatch()
        let previous = batch.bulk("ZSCORE", [key, member])
        batch.run("ZADD", zadd)
        let current = batch.bulk("ZSCORE", [key, member])
        let replies = try context.atomically(&batch)
        guard let now = try replies[current], Double(now.text) == Double(requested) else {
            throw Problem.conditionNotMet("the mode kept the member's current score")
        }
        return scoreBody(context, status: try replies[previous] != nil ? 200 : 201, now)
    }

    static func removeMember(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        guard try context.execute("ZREM", [context.key, context.member]) == .integer(1) else {
            throw noSuchMember(context.member)
        }
        return HTTPResponse(status: 204)
    }

    /// `{"by": 100}` → ZINCRBY (no body: by 1) → `{"member","score"}`.
    static func increment(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let by = try context.incrementAmount()?.text ?? "1"
        guard case .bulk(let score) = try context.execute("ZINCRBY", [context.key, Bytes(by), context.member]) else {
            throw Problem.response(500, code: "ERR", detail: "unexpected ZINCRBY reply")
        }
        return scoreBody(context, score)
    }
}
