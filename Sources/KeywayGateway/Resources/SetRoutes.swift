import Foundation
import KeywayEngine
import KeywayHTTP

/// `/v1/sets`: sets, their members, random members and set algebra across
/// keys, as resources. Every route builds S* commands; reads that must tell
/// "no such key" from "not a member" run with EXISTS in one transaction.
///
/// `/v1/sets/intersection`, `/v1/sets/union` and `/v1/sets/difference` are
/// algebra routes: the router prefers literal segments, so GET and POST on
/// those three paths never reach a key of that name (the command API still
/// does).
enum SetRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        for (name, operation) in [("intersection", Algebra.intersection), ("union", .union), ("difference", .difference)] {
            router.add("GET", "/v1/sets/\(name)", gateway.route(.resource) { request, _ in combine(request, operation, gateway) })
            router.add("POST", "/v1/sets/\(name)", gateway.route(.resource) { request, _ in combineFromBody(request, operation, gateway) })
        }
        router.add("GET", "/v1/sets/{key}", gateway.route(.resource) { request, p in get(request, key(p), gateway) })
        router.add("POST", "/v1/sets/{key}", gateway.route(.resource) { request, p in add(request, key(p), gateway) })
        router.add("DELETE", "/v1/sets/{key}", gateway.route(.resource) { _, p in delete(key(p), gateway) })
        router.add("POST", "/v1/sets/{key}/remove", gateway.route(.resource) { request, p in remove(request, key(p), gateway) })
        router.add("GET", "/v1/sets/{key}/members/{member}", gateway.route(.resource) { request, p in isMember(request, key(p), member(p), gateway) })
        router.add("PUT", "/v1/sets/{key}/members/{member}", gateway.route(.resource) { request, p in addMember(request, key(p), member(p), gateway) })
        router.add("DELETE", "/v1/sets/{key}/members/{member}", gateway.route(.resource) { _, p in removeMember(key(p), member(p), gateway) })
        router.add("GET", "/v1/sets/{key}/random", gateway.route(.resource) { request, p in random(request, key(p), gateway) })
        router.add("POST", "/v1/sets/{key}/pop", gateway.route(.resource) { request, p in pop(request, key(p), gateway) })
    }

    static func key(_ parameters: RouteParameters) -> Bytes { Bytes(parameters["key"] ?? []) }
    static func member(_ parameters: RouteParameters) -> Bytes { Bytes(parameters["member"] ?? []) }

    static func notAMember(_ member: Bytes) -> HTTPResponse {
        Problem.response(404, code: "NO_SUCH_MEMBER", detail: "not a member of the set: \(member.text)")
    }

    // MARK: - JSON pieces

    /// `"members": [...], "encoding": "utf-8"|"base64"`: one encoding for the
    /// whole list, base64 when asked for or when any member is not UTF-8.
    static func writeMembers(_ members: [Bytes], forceBase64: Bool, into o: inout ObjectWriter) {
        let base64 = forceBase64 || members.contains { !$0.isValidUTF8 }
        o.member("members") { json in
            json.array(members) { json, member in
                if base64 { json.string(Data(member.storage).base64EncodedString()) } else { json.string(bytes: member.storage) }
            }
        }
        o.member("encoding") { $0.string(base64 ? "base64" : "utf-8") }
    }

    /// The bulk strings of an array reply.
    static func bulks(_ reply: Reply) -> [Bytes] {
        guard case .array(let items) = reply else { return [] }
        return items.compactMap { if case .bulk(let bytes) = $0 { return bytes } else { return nil } }
    }

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
    static func membersFromBody(_ request: HTTPRequest) -> Result<[Bytes], HTTPResponse> {
        switch RequestBody.read(request, allowRaw: false) {
        case .failure(let problem): return .failure(problem)
        case .success(.json(let object)):
            do throws(FieldError) {
                let encoding = try Fields(json: object, request: request).string("encoding")
                guard let members = try byteStrings(object, "members", encoding: encoding), !members.isEmpty else {
                    return .failure(Problem.badRequest("'members' (a non-empty array of strings) is required"))
                }
                return .success(members)
            } catch {
                return .failure(Problem.badRequest(error.message))
            }
        case .success:
            return .failure(Problem.badRequest("send {\"members\": [\"a\", \"b\"]}"))
        }
    }

    // MARK: - The whole set

    /// SMEMBERS + SCARD: `{"key", "members", "encoding", "cardinality"}`.
    static func get(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically([Command("SMEMBERS", [key])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            // Redis never keeps an empty set, so no members means no key.
            let members = bulks(replies[0])
            if members.isEmpty { return Problem.noSuchKey(key.storage) }
            let base64 = ValueEncoding.wantsBase64(request)
            return KeyRoutes.json(200) { o in
                KeyRoutes.writeKey(key, base64: base64, into: &o)
                o.member("type") { $0.string("set") }
                writeMembers(members, forceBase64: base64, into: &o)
                o.member("cardinality") { $0.integer(Int64(members.count)) }
            }
        }
    }

    /// SADD of a body's members: 201 when this created the set, else 200,
    /// with `added` (new members) and the resulting `cardinality`.
    static func add(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let members: [Bytes]
        switch membersFromBody(request) {
        case .failure(let problem): return problem
        case .success(let parsed): members = parsed
        }
        switch gateway.runAtomically([Command("EXISTS", [key]), Command("SADD", [key] + members), Command("SCARD", [key])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            let created = replies[0] == Reply.integer(0)
            return KeyRoutes.json(created ? 201 : 200) { o in
                KeyRoutes.writeKey(key, base64: false, into: &o)
                if case .integer(let added) = replies[1] { o.member("added") { $0.integer(added) } }
                if case .integer(let cardinality) = replies[2] { o.member("cardinality") { $0.integer(cardinality) } }
            }
        }
    }

    /// Deletes the set: 204, 404 when missing, 409 (and nothing deleted)
    /// when the key holds another type. `SDIFFSTORE key key key` stores "the set
    /// minus itself", which deletes it, and refuses non-sets, so the type
    /// check and the delete are one atomic step.
    static func delete(_ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically([Command("SCARD", [key]), Command("SDIFFSTORE", [key, key, key])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            return replies[0] == Reply.integer(0) ? Problem.noSuchKey(key.storage) : HTTPResponse(status: 204)
        }
    }

    /// SREM of a body's members: `{"removed": n, "cardinality": m}`; 404
    /// when the set does not exist.
    static func remove(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let members: [Bytes]
        switch membersFromBody(request) {
        case .failure(let problem): return problem
        case .success(let parsed): members = parsed
        }
        switch gateway.runAtomically([Command("SCARD", [key]), Command("SREM", [key] + members), Command("SCARD", [key])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            if replies[0] == Reply.integer(0) { return Problem.noSuchKey(key.storage) }
            return KeyRoutes.json(200) { o in
                KeyRoutes.writeKey(key, base64: false, into: &o)
                if case .integer(let removed) = replies[1] { o.member("removed") { $0.integer(removed) } }
                if case .integer(let cardinality) = replies[2] { o.member("cardinality") { $0.integer(cardinality) } }
            }
        }
    }

    // MARK: - One member

    static func memberBody(_ status: Int, _ member: Bytes, base64: Bool, added: Bool? = nil) -> HTTPResponse {
        KeyRoutes.json(status) { o in
            ValueEncoding.writeValue(member.storage, forceBase64: base64, into: &o, name: "member")
            o.member("isMember") { $0.bool(true) }
            if let added { o.member("added") { $0.bool(added) } }
        }
    }

    /// SISMEMBER: 200 when a member; 404 `NO_SUCH_MEMBER` when not, 404
    /// `NO_SUCH_KEY` when the set does not exist.
    static func isMember(_ request: HTTPRequest, _ key: Bytes, _ member: Bytes, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically([Command("SCARD", [key]), Command("SISMEMBER", [key, member])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            if replies[0] == Reply.integer(0) { return Problem.noSuchKey(key.storage) }
            if replies[1] != Reply.integer(1) { return notAMember(member) }
            return memberBody(200, member, base64: ValueEncoding.wantsBase64(request))
        }
    }

    /// SADD of one member: 201 when added, 200 when it was already there.
    static func addMember(_ request: HTTPRequest, _ key: Bytes, _ member: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let reply = gateway.executor.execute(Command("SADD", [key, member]))
        if case .error(let error) = reply { return Problem.from(error) }
        let added = reply == Reply.integer(1)
        return memberBody(added ? 201 : 200, member, base64: ValueEncoding.wantsBase64(request), added: added)
    }

    /// SREM of one member: 204 when removed; 404 `NO_SUCH_MEMBER` when it
    /// was not a member, 404 `NO_SUCH_KEY` when the set does not exist.
    static func removeMember(_ key: Bytes, _ member: Bytes, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically([Command("SCARD", [key]), Command("SREM", [key, member])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            if replies[0] == Reply.integer(0) { return Problem.noSuchKey(key.storage) }
            return replies[1] == Reply.integer(1) ? HTTPResponse(status: 204) : notAMember(member)
        }
    }

    // MARK: - Random members

    /// The `count` query parameter, passed to the engine as given so its
    /// errors (NOT_INTEGER, range) are Redis's own; 1 when absent.
    static func countArgument(_ request: HTTPRequest) -> Bytes {
        Bytes(request.queryValue("count") ?? Array("1".utf8))
    }

    /// SRANDMEMBER key count: `{"key", "members"}`; a negative count may
    /// repeat members. 404 when the set does not exist.
    static func random(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically([Command("SCARD", [key]), Command("SRANDMEMBER", [key, countArgument(request)])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            if replies[0] == Reply.integer(0) { return Problem.noSuchKey(key.storage) }
            return membersBody(key, bulks(replies[1]), request)
        }
    }

    /// SPOP key count: removes and returns up to `count` distinct members
    /// (the set is deleted when it empties). 404 when the set does not exist.
    static func pop(_ request: HTTPRequest, _ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        switch gateway.runAtomically([Command("SCARD", [key]), Command("SPOP", [key, countArgument(request)])]) {
        case .failure(let problem): return problem
        case .success(let replies):
            if replies[0] == Reply.integer(0) { return Problem.noSuchKey(key.storage) }
            return membersBody(key, bulks(replies[1]), request)
        }
    }

    static func membersBody(_ key: Bytes, _ members: [Bytes], _ request: HTTPRequest) -> HTTPResponse {
        let base64 = ValueEncoding.wantsBase64(request)
        return KeyRoutes.json(200) { o in
            KeyRoutes.writeKey(key, base64: base64, into: &o)
            writeMembers(members, forceBase64: base64, into: &o)
        }
    }

    // MARK: - Set algebra

    enum Algebra {
        case intersection, union, difference

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
    static func combine(_ request: HTTPRequest, _ operation: Algebra, _ gateway: Gateway) -> HTTPResponse {
        if request.queryValue("store") != nil {
            return Problem.badRequest("storing a result changes data: use POST with {\"keys\": [...], \"store\": \"destination\"}")
        }
        let keys = request.queryValues("keys").map { Bytes($0) }
        guard !keys.isEmpty else { return Problem.badRequest("at least one 'keys' query parameter is required (?keys=a&keys=b)") }
        return runAlgebra(operation, keys: keys, store: nil, request, gateway)
    }

    /// `POST /v1/sets/union` with `{"keys": [...], "store": "dest"?, "encoding": "base64"?}`:
    /// with `store`, the result replaces `dest` (deleted when empty) and the
    /// reply is `{"stored": n}`; without it, the members as for GET.
    static func combineFromBody(_ request: HTTPRequest, _ operation: Algebra, _ gateway: Gateway) -> HTTPResponse {
        guard case .success(.json(let object)) = RequestBody.read(request, allowRaw: false) else {
            if case .failure(let problem) = RequestBody.read(request, allowRaw: false) { return problem }
            return Problem.badRequest("send {\"keys\": [\"a\", \"b\"], \"store\": \"destination\"}")
        }
        do throws(FieldError) {
            let fields = Fields(json: object, request: request)
            let encoding = try fields.string("encoding")
            guard let keys = try byteStrings(object, "keys", encoding: encoding), !keys.isEmpty else {
                return Problem.badRequest("'keys' (a non-empty array of strings) is required")
            }
            let store = try fields.string("store").map { text throws(FieldError) in Bytes(try decode(text, encoding: encoding, field: "store")) }
            if let store, store.isEmpty { return Problem.badRequest("'store' must not be empty") }
            return runAlgebra(operation, keys: keys, store: store, request, gateway)
        } catch {
            return Problem.badRequest(error.message)
        }
    }

    static func runAlgebra(_ operation: Algebra, keys: [Bytes], store: Bytes?, _ request: HTTPRequest, _ gateway: Gateway) -> HTTPResponse {
        if let store {
            let reply = gateway.executor.execute(Command(operation.storeCommand, [store] + keys))
            if case .error(let error) = reply { return Problem.from(error) }
            return KeyRoutes.json(200) { o in
                KeyRoutes.writeKey(store, base64: ValueEncoding.wantsBase64(request), into: &o)
                if case .integer(let stored) = reply { o.member("stored") { $0.integer(stored) } }
            }
        }
        let reply = gateway.executor.execute(Command(operation.command, keys))
        if case .error(let error) = reply { return Problem.from(error) }
        let members = bulks(reply)
        return KeyRoutes.json(200) { o in
            writeMembers(members, forceBase64: ValueEncoding.wantsBase64(request), into: &o)
            o.member("cardinality") { $0.integer(Int64(members.count)) }
        }
    }
}
