import KeywayEngine
import KeywayHTTP

/// `/v1/sets`: sets, their members, random members and set algebra across
/// keys, as resources. Every route builds S* commands; reads that must tell
/// "no such key" from "not a member" run with SCARD in one transaction.
///
/// `/v1/sets/intersection`, `/v1/sets/union` and `/v1/sets/difference` are
/// algebra routes: the router prefers literal segments, so GET and POST on
/// those three paths never reach a key of that name (the command API still
/// does).
enum SetRoutes {
    static func register(_ routes: Routes) {
        let sets = routes.resource.group("/v1/sets")
        for operation in Algebra.allCases {
            sets.get("/\(operation.path)") { context throws(HTTPResponse) in try combine(context, operation) }
            sets.post("/\(operation.path)") { context throws(HTTPResponse) in try combineFromBody(context, operation) }
        }
        let set = sets.group("/{key}")
        set.get(get)
        set.post(add)
        set.delete { context throws(HTTPResponse) in try context.deleteKey(ofType: "set") }
        set.post("/remove", remove)
        let member = set.group("/members/{member}")
        member.get(isMember)
        member.put(addMember)
        member.delete(removeMember)
        set.get("/random") { context throws(HTTPResponse) in try sample(context, "SRANDMEMBER") }
        set.post("/pop") { context throws(HTTPResponse) in try sample(context, "SPOP") }
    }

    static func notAMember(_ member: Bytes) -> HTTPResponse {
        Problem.response(404, code: "NO_SUCH_MEMBER", detail: "not a member of the set: \(member.text)")
    }

    /// The bulk strings of an array reply.
    static func bulks(_ reply: Reply) -> [Bytes] {
        guard case .array(let items) = reply else { return [] }
        return items.compactMap { if case .bulk(let bytes) = $0 { return bytes } else { return nil } }
    }

    // MARK: - Bodies

    /// A JSON array of strings from the body, decoded per `encoding`.
    static func byteStrings(_ object: JSONValue, _ name: String, encoding: String?) throws(FieldError) -> [Bytes]? {
        guard let value = object[name], value != .null else { return nil }
        guard case .array(let elements) = value else { throw FieldError("'\(name)' must be an array of strings") }
        var result: [Bytes] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard case .string(let text) = element else { throw FieldError("'\(name)' must be an array of strings") }
            result.append(Bytes(try decode(text, encoding: encoding, field: name)))
        }
        return result
    }

    static func decode(_ text: String, encoding: String?, field: String) throws(FieldError) -> [UInt8] {
        do throws(FieldError) {
            return try ValueEncoding.decode(text, encoding: encoding)
        } catch {
            throw FieldError(error.message.replacingOccurrences(of: "'value'", with: "'\(field)'"))
        }
    }

    /// The `members` of a JSON body (`{"members": [...], "encoding": "base64"?}`), at least one.
    static func membersFromBody(_ context: ResourceContext) throws(HTTPResponse) -> [Bytes] {
        let object = try context.jsonObject(hint: "send {\"members\": [\"a\", \"b\"]}")
        return try context.reading { () throws(FieldError) in
            let encoding = try Fields(json: object, request: context.request).string("encoding")
            guard let members = try byteStrings(object, "members", encoding: encoding), !members.isEmpty else {
                throw FieldError("'members' (a non-empty array of strings) is required")
            }
            return members
        }
    }

    /// `{"key", "members", "encoding"}`.
    static func membersBody(_ context: ResourceContext, key: Bytes, _ members: [Bytes]) -> HTTPResponse {
        let base64 = context.wantsBase64
        return context.json { o in
            JSONResponse.writeKey(key, base64: base64, into: &o)
            JSONResponse.writeEncodedList("members", members, forceBase64: base64, into: &o)
        }
    }

    /// `"key"`, then a count per slot (`"added"`, `"removed"`, `"cardinality"`).
    static func countsBody(_ context: ResourceContext, status: Int = 200, _ counts: KeyValuePairs<String, Int64>) -> HTTPResponse {
        context.json(status) { o in
            JSONResponse.writeKey(context.key, into: &o)
            for (name, count) in counts { o.member(name) { $0.integer(count) } }
        }
    }

    // MARK: - The whole set

    /// SMEMBERS: `{"key", "type", "members", "encoding", "cardinality"}`.
    static func get(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        var batch = CommandBatch()
        let all = batch.bulkArray("SMEMBERS", [context.key])
        let members = try context.atomically(&batch)[all]
        // Redis never keeps an empty set, so no members means no key.
        guard !members.isEmpty else { throw context.noSuchKey }
        let base64 = context.wantsBase64
        return context.json { o in
            JSONResponse.writeKey(context.key, base64: base64, into: &o)
            o.member("type") { $0.string("set") }
            JSONResponse.writeEncodedList("members", members, forceBase64: base64, into: &o)
            o.member("cardinality") { $0.integer(Int64(members.count)) }
        }
    }

    /// SADD of a body's members: 201 when this created the set, else 200,
    /// with `added` (new members) and the resulting `cardinality`.
    static func add(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let members = try membersFromBody(context)
        let key = context.key
        var batch = CommandBatch()
        let existed = batch.flag("EXISTS", [key])
        let added = batch.integer("SADD", [key] + members)
        let cardinality = batch.integer("SCARD", [key])
        let replies = try context.atomically(&batch)
        return countsBody(context, status: try replies[existed] ? 200 : 201,
                          ["added": try replies[added], "cardinality": try replies[cardinality]])
    }

    /// SREM of a body's members: `{"removed": n, "cardinality": m}`; 404
    /// when the set does not exist.
    static func remove(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let members = try membersFromBody(context)
        let key = context.key
        var batch = CommandBatch()
        let before = batch.integer("SCARD", [key])
        let removed = batch.integer("SREM", [key] + members)
        let after = batch.integer("SCARD", [key])
        let replies = try context.atomically(&batch)
        guard try replies[before] != 0 else { throw context.noSuchKey }
        return countsBody(context, ["removed": try replies[removed], "cardinality": try replies[after]])
    }

    // MARK: - One member

    static func memberBody(_ context: ResourceContext, _ status: Int, added: Bool? = nil) -> HTTPResponse {
        context.json(status) { o in
            ValueEncoding.writeValue(context.member.storage, forceBase64: context.wantsBase64, into: &o, name: "member")
            o.member("isMember") { $0.bool(true) }
            if let added { o.member("added") { $0.bool(added) } }
        }
    }

    /// SCARD then `name` on the route's member, in one transaction: 404
    /// NO_SUCH_KEY when the set does not exist, else whether `name` answered 1.
    static func memberFlag(_ context: ResourceContext, _ name: String) throws(HTTPResponse) -> Bool {
        var batch = CommandBatch()
        let cardinality = batch.integer("SCARD", [context.key])
        let flag = batch.flag(name, [context.key, context.member])
        let replies = try context.atomically(&batch)
        guard try replies[cardinality] != 0 else { throw context.noSuchKey }
        return try replies[flag]
    }

    /// SISMEMBER: 200 when a member; 404 `NO_SUCH_MEMBER` when not, 404
    /// `NO_SUCH_KEY` when the set does not exist.
    static func isMember(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        guard try memberFlag(context, "SISMEMBER") else { throw notAMember(context.member) }
        return memberBody(context, 200)
    }

    /// SADD of one member: 201 when added, 200 when it was already there.
    static func addMember(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let added = try context.execute("SADD", [context.key, context.member]) == .integer(1)
        return memberBody(context, added ? 201 : 200, added: added)
    }

    /// SREM of one member: 204 when removed; 404 `NO_SUCH_MEMBER` when it
    /// was not a member, 404 `NO_SUCH_KEY` when the set does not exist.
    static func removeMember(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        guard try memberFlag(context, "SREM") else { throw notAMember(context.member) }
        return HTTPResponse(status: 204)
    }

    // MARK: - Random members

    /// SRANDMEMBER key count (`GET .../random`; a negative count may repeat
    /// members) or SPOP key count (`POST .../pop`, which removes them; the
    /// set is deleted when it empties): `{"key", "members"}`. `count` goes
    /// to the engine as given, so its errors are Redis's own; 1 when absent.
    /// 404 when the set does not exist.
    static func sample(_ context: ResourceContext, _ name: String) throws(HTTPResponse) -> HTTPResponse {
        let count = Bytes(context.request.queryValue("count") ?? Array("1".utf8))
        var batch = CommandBatch()
        let cardinality = batch.integer("SCARD", [context.key])
        let members = batch.bulkArray(name, [context.key, count])
        let replies = try context.atomically(&batch)
        guard try replies[cardinality] != 0 else { throw context.noSuchKey }
        return membersBody(context, key: context.key, try replies[members])
    }

    // MARK: - Set algebra

    enum Algebra: CaseIterable {
        case intersection, union, difference

        var path: String {
            switch self {
            case .intersection: return "intersection"
            case .union: return "union"
            case .difference: return "difference"
            }
        }

        var command: String {
            switch self {
            case .intersection: return "SINTER"
            case .union: return "SUNION"
            case .difference: return "SDIFF"
            }
        }

        var storeCommand: String { command + "STORE" }
    }

    /// `GET /v1/sets/union?keys=a&keys=b`: the members of the result.
    /// Missing keys count as empty sets; storing needs POST.
    static func combine(_ context: ResourceContext, _ operation: Algebra) throws(HTTPResponse) -> HTTPResponse {
        let request = context.request
        if request.queryValue("store") != nil {
            throw Problem.badRequest("storing a result changes data: use POST with {\"keys\": [...], \"store\": \"destination\"}")
        }
        let keys = request.queryValues("keys").map { Bytes($0) }
        guard !keys.isEmpty else { throw Problem.badRequest("at least one 'keys' query parameter is required (?keys=a&keys=b)") }
        return try runAlgebra(context, operation, keys: keys, store: nil)
    }

    /// `POST /v1/sets/union` with `{"keys": [...], "store": "dest"?, "encoding": "base64"?}`:
    /// with `store`, the result replaces `dest` (deleted when empty) and the
    /// reply is `{"stored": n}`; without it, the members as for GET.
    static func combineFromBody(_ context: ResourceContext, _ operation: Algebra) throws(HTTPResponse) -> HTTPResponse {
        let object = try context.jsonObject(hint: "send {\"keys\": [\"a\", \"b\"], \"store\": \"destination\"}")
        let (keys, store) = try context.reading { () throws(FieldError) in
            let fields = Fields(json: object, request: context.request)
            let encoding = try fields.string("encoding")
            guard let keys = try byteStrings(object, "keys", encoding: encoding), !keys.isEmpty else {
                throw FieldError("'keys' (a non-empty array of strings) is required")
            }
            let store = try fields.string("store").map { text throws(FieldError) in Bytes(try decode(text, encoding: encoding, field: "store")) }
            if let store, store.isEmpty { throw FieldError("'store' must not be empty") }
            return (keys, store)
        }
        return try runAlgebra(context, operation, keys: keys, store: store)
    }

    static func runAlgebra(_ context: ResourceContext, _ operation: Algebra, keys: [Bytes], store: Bytes?) throws(HTTPResponse) -> HTTPResponse {
        let base64 = context.wantsBase64
        if let store {
            let reply = try context.execute(operation.storeCommand, [store] + keys)
            return context.json { o in
                JSONResponse.writeKey(store, base64: base64, into: &o)
                if case .integer(let stored) = reply { o.member("stored") { $0.integer(stored) } }
            }
        }
        let members = bulks(try context.execute(operation.command, keys))
        return context.json { o in
            JSONResponse.writeEncodedList("members", members, forceBase64: base64, into: &o)
            o.member("cardinality") { $0.integer(Int64(members.count)) }
        }
    }
}
