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
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("GET", "/v1/leaderboards/{key}", gateway.route(.resource) { request, p in top(request, key(p), gateway) })
        router.add("POST", "/v1/leaderboards/{key}", gateway.route(.resource) { request, p in submit(request, key(p), gateway) })
        router.add("DELETE", "/v1/leaderboards/{key}", gateway.route(.resource) { _, p in delete(key(p), gateway) })
        router.add("GET", "/v1/leaderboards/{key}/members/{member}", gateway.route(.resource) { request, p in
            standing(request, key(p), member(p), gateway) })
        router.add("PUT", "/v1/leaderboards/{key}/members/{member}", gateway.route(.resource) { request, p in
            setScore(request, key(p), member(p), gateway) })
        router.add("DELETE", "/v1/leaderboards/{key}/members/{member}", gateway.route(.resource) { _, p in
            removeMember(key(p), member(p), gateway) })
        router.add("POST", "/v1/leaderboards/{key}/members/{member}/incr", gateway.route(.resource) { request, p in
            increment(request, key(p), member(p), gateway) })
    }

    static func key(_ parameters: RouteParameters) -> Bytes { Bytes(parameters["key"] ?? []) }
    static func member(_ parameters: RouteParameters) -> Bytes { Bytes(parameters["member"] ?? []) }

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

    static func noSuchMember(_ member: Bytes) -> HTTPResponse {
        Problem.response(404, code: "NO_SUCH_MEMBER", detail: "no such member: \(member.text)")
    }

    static func wantsBase64(_ request: HTTPRequest) -> Bool { ValueEncoding.wantsBase64(request) }

    /// A JSON object body, an empty body as nil, or the problem to answer.
    static func jsonObject(_ request: HTTPRequest) -> Result<JSONValue?, HTTPResponse> {
        switch RequestBody.read(request, allowRaw: false) {
        case .failure(let problem): return .failure(problem)
        case .success(.json(let object)): return .success(object)
        case .success: return .success(nil)
        }
    }

    /// ZADD's condition from a `mode` field.
    static func mode(_ fields: Fields) throws(FieldError) -> Bytes? {
        guard let mode = try fields.string("mode") else { return nil }
        guard ["nx", "xx", "gt", "lt"].contains(mode.lowercased()) else {
            throw FieldError("'mode' must be nx, xx, gt or lt")
        }
        return Bytes(mode.uppercased())
    }

    // MARK: - The whole leaderboard

    /// `{"scores": {"p1": 1500, ...}, "mode": "nx"|"xx"|"gt"|"lt"}` → ZADD
    /// [mode] CH. `added` counts new members, `changed` new members plus
    /// members whose score changed (ZADD CH's count). 201 when the
    /// leaderboard was created, else 200.
    static func submit(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let object: JSONValue
        switch jsonObject(request) {
        case .failure(let problem): return problem
        case .success(nil): return Problem.badRequest("send {\"scores\": {\"member\": score, ...}}")
        case .success(let body?): object = body
        }
        var zadd: [Bytes] = [key]
        do throws(FieldError) {
            let fields = Fields(json: object, request: request)
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
        } catch {
            return Problem.badRequest(error.message)
        }
        switch gateway.runAtomically([Command("ZCARD", [key]), Command("ZADD", zadd), Command("ZCARD", [key])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            guard case .integer(let before) = replies[0], case .integer(let changed) = replies[1],
                  case .integer(let after) = replies[2] else {
                return Problem.response(500, code: "ERR", detail: "unexpected ZADD reply")
            }
            return KeyRoutes.json(before == 0 && after > 0 ? 201 : 200) { o in
                KeyRoutes.writeKey(key, base64: false, into: &o)
                o.member("added") { $0.integer(after - before) }
                o.member("changed") { $0.integer(changed) }
            }
        }
    }

    /// The top N (`?order=desc&offset=0&limit=10`), or a score window with
    /// `?min=&max=` (`(` exclusive, `-inf`/`+inf`). `rank` is the position
    /// in the requested order, counted over the whole leaderboard.
    static func top(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let descending: Bool
        switch request.queryString("order")?.lowercased() {
        case nil, "desc": descending = true
        case "asc": descending = false
        default: return Problem.badRequest("'order' must be asc or desc")
        }
        guard let offset = nonNegativeInteger(request, "offset", default: 0) else {
            return Problem.badRequest("'offset' must be a non-negative integer")
        }
        guard let limit = nonNegativeInteger(request, "limit", default: 10) else {
            return Problem.badRequest("'limit' must be a non-negative integer")
        }
        let minimum = request.queryValue("min").map(Bytes.init)
        let maximum = request.queryValue("max").map(Bytes.init)
        let byScore = minimum != nil || maximum != nil

        var commands = [Command("ZCARD", [key])]
        if byScore {
            let low = minimum ?? "-inf", high = maximum ?? "+inf"
            var range: [Bytes] = descending ? [key, high, low, "BYSCORE", "REV"] : [key, low, high, "BYSCORE"]
            range += ["LIMIT", Bytes(String(offset)), Bytes(String(limit)), "WITHSCORES"]
            commands.append(Command("ZRANGE", range))
            // Members before the window: their count is the window's first rank.
            commands.append(descending
                ? Command("ZCOUNT", [key, complement(high), "+inf"])
                : Command("ZCOUNT", [key, "-inf", complement(low)]))
        } else if limit > 0 {
            var range: [Bytes] = [key, Bytes(String(offset)), Bytes(String(offset + limit - 1))]
            if descending { range.append("REV") }
            range.append("WITHSCORES")
            commands.append(Command("ZRANGE", range))
        }
        switch gateway.runAtomically(commands) {
        case .failure(let problem):
            return problem
        case .success(let replies):
            guard case .integer(let total) = replies[0], total > 0 else { return Problem.noSuchKey(key.storage) }
            var flat: [Reply] = []
            if replies.count > 1, case .array(let elements) = replies[1] { flat = elements }
            var firstRank = Int64(offset)
            if byScore, case .integer(let before) = replies[2] { firstRank += before }
            let base64 = wantsBase64(request)
            return KeyRoutes.json(200) { o in
                KeyRoutes.writeKey(key, base64: false, into: &o)
                o.member("total") { $0.integer(total) }
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

    /// Removes every member (ZREMRANGEBYRANK 0 -1, which refuses other
    /// types atomically): 204, 404 when there is no leaderboard.
    static func delete(_ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let reply = gateway.executor.execute(Command("ZREMRANGEBYRANK", [key, "0", "-1"]))
        if case .error(let error) = reply { return Problem.from(error) }
        return reply == .integer(0) ? Problem.noSuchKey(key.storage) : HTTPResponse(status: 204)
    }

    // MARK: - One member

    /// `{"member","score","rank","reverseRank"}`: `rank` is ZRANK (lowest
    /// score first); with `?order=desc` it is the leaderboard rank (ZREVRANK)
    /// and `reverseRank` the other.
    static func standing(_ request: HTTPRequest, _ key: Bytes, _ member: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let descending: Bool
        switch request.queryString("order")?.lowercased() {
        case nil, "asc": descending = false
        case "desc": descending = true
        default: return Problem.badRequest("'order' must be asc or desc")
        }
        let commands = [Command("ZSCORE", [key, member]), Command("ZRANK", [key, member]), Command("ZREVRANK", [key, member])]
        switch gateway.runAtomically(commands) {
        case .failure(let problem): return problem
        case .success(let replies):
            guard case .bulk(let score) = replies[0], case .integer(let ascending) = replies[1],
                  case .integer(let reverse) = replies[2] else { return noSuchMember(member) }
            return KeyRoutes.json(200) { o in
                writeMember(member, base64: wantsBase64(request), into: &o)
                o.member("score") { writeScore(score, into: &$0) }
                o.member("rank") { $0.integer(descending ? reverse : ascending) }
                o.member("reverseRank") { $0.integer(descending ? ascending : reverse) }
            }
        }
    }

    /// `{"score": 1500, "mode": "nx"|"xx"|"gt"|"lt"}` → ZADD. 201 when the
    /// member was added, 200 when updated, 412 when `mode` kept the old score.
    static func setScore(_ request: HTTPRequest, _ key: Bytes, _ member: Bytes, _ gateway: Gateway) -> HTTPResponse {
        guard case .success(let body) = jsonObject(request), let object = body else {
            if case .failure(let problem) = jsonObject(request) { return problem }
            return Problem.badRequest("send {\"score\": number}")
        }
        var zadd: [Bytes] = [key]
        let requested: String
        do throws(FieldError) {
            let fields = Fields(json: object, request: request)
            guard let score = try fields.number("score") else { throw FieldError("'score' (a number) is required") }
            requested = score
            if let mode = try mode(fields) { zadd.append(mode) }
            zadd += [Bytes(score), member]
        } catch {
            return Problem.badRequest(error.message)
        }
        let commands = [Command("ZSCORE", [key, member]), Command("ZADD", zadd), Command("ZSCORE", [key, member])]
        switch gateway.runAtomically(commands) {
        case .failure(let problem): return problem
        case .success(let replies):
            guard case .bulk(let now) = replies[2], Double(now.text) == Double(requested) else {
                return Problem.conditionNotMet("the mode kept the member's current score")
            }
            let existed = replies[0] != .null
            return KeyRoutes.json(existed ? 200 : 201) { o in
                writeMember(member, base64: false, into: &o)
                o.member("score") { writeScore(now, into: &$0) }
            }
        }
    }

    static func removeMember(_ key: Bytes, _ member: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let reply = gateway.executor.execute(Command("ZREM", [key, member]))
        if case .error(let error) = reply { return Problem.from(error) }
        return reply == .integer(1) ? HTTPResponse(status: 204) : noSuchMember(member)
    }

    /// `{"by": 100}` → ZINCRBY (no body: by 1) → `{"member","score"}`.
    static func increment(_ request: HTTPRequest, _ key: Bytes, _ member: Bytes, _ gateway: Gateway) -> HTTPResponse {
        var by = "1"
        switch jsonObject(request) {
        case .failure(let problem): return problem
        case .success(let object?):
            do throws(FieldError) {
                if let number = try Fields(json: object, request: request).number("by") { by = number }
            } catch {
                return Problem.badRequest(error.message)
            }
        case .success(nil): break
        }
        let reply = gateway.executor.execute(Command("ZINCRBY", [key, Bytes(by), member]))
        guard case .bulk(let score) = reply else {
            if case .error(let error) = reply { return Problem.from(error) }
            return Problem.response(500, code: "ERR", detail: "unexpected ZINCRBY reply")
        }
        return KeyRoutes.json(200) { o in
            writeMember(member, base64: false, into: &o)
            o.member("score") { writeScore(score, into: &$0) }
        }
    }
}
