import KeywayEngine
import KeywayHTTP

/// `/v1/json`: RedisJSON documents (type `ReJSON-RL`) as resources. The
/// body of a write is the document itself and the body of a read is the
/// stored JSON, not a string holding it. Each route runs JSON.* commands,
/// so paths (`$...` JSONPath or legacy `.a.b`), errors and limits are the
/// engine's: malformed JSON or nesting past 128 levels is 400
/// INVALID_JSON with the parser's line and column, a bad path 400
/// INVALID_PATH, a legacy path that matches nothing 404 NO_SUCH_PATH.
enum JSONDocumentRoutes {
    static func register(_ routes: Routes) {
        let document = routes.resource.group("/v1/json/{key}")
        document.get(get)
        document.put(put)
        document.patch(merge)
        document.delete(delete)
    }

    /// The `?path=` of a route (default `$`, the root).
    static func path(_ context: ResourceContext) -> Bytes {
        context.request.queryValue("path").map { Bytes($0) } ?? "$"
    }

    /// Whether a path names the document's root (`$` or legacy `.`).
    static func isRoot(_ path: Bytes) -> Bool { path == "$" || path == "." }

    /// The body as the JSON text to hand the engine: any JSON value (the
    /// engine parses it and reports malformed text itself), sent as
    /// `application/json`, a `+json` type, no type, or curl -d's form type.
    static func documentBody(_ context: ResourceContext, hint: String) throws(HTTPResponse) -> Bytes {
        let request = context.request
        guard RequestBody.readsAsJSON(request.contentType) else {
            throw Problem.response(415, code: "UNSUPPORTED_MEDIA_TYPE", detail: "send the document as application/json")
        }
        guard !request.body.isEmpty else { throw Problem.badRequest(hint) }
        return Bytes(request.body)
    }

    // MARK: - Read

    /// JSON.GET: the stored JSON as the response body. One `?path=` gives
    /// that path's value (legacy) or the array of matches (`$...`); several
    /// give an object keyed by path. `?pretty=true` indents by two spaces;
    /// `?indent=`, `?newline=`, `?space=` set JSON.GET's layout strings
    /// (JSON whitespace only, so the body stays JSON).
    static func get(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let request = context.request
        var arguments: [Bytes] = [context.key]
        let pretty = try context.reading { () throws(FieldError) in try Fields(json: nil, request: request).bool("pretty") }
        var layout: [String: Bytes] = pretty ? ["INDENT": "  ", "NEWLINE": "\n", "SPACE": " "] : [:]
        for (name, option) in [("indent", "INDENT"), ("newline", "NEWLINE"), ("space", "SPACE")] {
            guard let value = request.queryValue(name) else { continue }
            // Only JSON whitespace, so the body stays JSON.
            guard value.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else {
                throw Problem.badRequest("'\(name)' may hold only spaces, tabs and line breaks")
            }
            layout[option] = Bytes(value)
        }
        for option in ["INDENT", "NEWLINE", "SPACE"] {
            if let value = layout[option] { arguments += [Bytes(option), value] }
        }
        arguments += request.queryValues("path").map { Bytes($0) }
        switch try context.execute("JSON.GET", arguments) {
        case .bulk(let text):
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: text.storage)
        case .null:
            throw context.noSuchKey
        default:
            throw Problem.response(500, code: "ERR", detail: "unexpected JSON.GET reply")
        }
    }

    // MARK: - Write

    /// JSON.SET of the body at `?path=` (default `$`), only if absent with
    /// `?nx=true`, only if present with `?xx=true`: `{"key", "path",
    /// "created"}`, 201 when this created the key, else 200.
    static func put(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let key = context.key
        let path = path(context)
        let (nx, xx) = try context.reading { () throws(FieldError) -> (Bool, Bool) in
            let fields = Fields(json: nil, request: context.request)
            let nx = try fields.bool("nx"), xx = try fields.bool("xx")
            if nx && xx { throw FieldError("'nx' and 'xx' exclude each other") }
            return (nx, xx)
        }
        let document = try documentBody(context, hint: "send the JSON document as the body")
        var set: [Bytes] = [key, path, document]
        if nx { set.append("NX") }
        if xx { set.append("XX") }
        // Probes that need no right beyond @json (no EXISTS): whether the
        // document and the path were there before the write.
        let replies = try context.atomicallyKeepingErrors([
            Command("JSON.TYPE", [key, "."]),
            Command("JSON.TYPE", [key, path]),
            Command("JSON.SET", set),
        ])
        let existed = matched(replies[0])
        switch replies[2] {
        case .error(let error):
            throw Problem.from(error)
        case .null:
            let pathExisted = isRoot(path) ? existed : matched(replies[1])
            if nx && pathExisted {
                throw Problem.conditionNotMet(isRoot(path) ? "the key already exists (nx)" : "the path already exists (nx)")
            }
            if xx && !pathExisted {
                throw Problem.conditionNotMet(existed ? "the path does not exist (xx)" : "the key does not exist (xx)")
            }
            throw Problem.response(404, code: "NO_SUCH_PATH", detail: "the parent of path '\(path.text)' does not exist")
        default:
            return context.json(existed ? 200 : 201) { o in
                JSONResponse.writeKey(key, into: &o)
                o.member("path") { $0.string(bytes: path.storage) }
                o.member("created") { $0.bool(!existed) }
            }
        }
    }

    /// Whether a JSON.TYPE reply says the path matched: a type for a
    /// legacy path, a non-empty array for JSONPath. A missing key (nil) or
    /// a legacy path that matches nothing (an error) did not.
    static func matched(_ reply: Reply) -> Bool {
        switch reply {
        case .bulk, .status: return true
        case .array(let types): return !types.isEmpty
        default: return false
        }
    }

    /// JSON.MERGE of an RFC 7386 merge patch (`application/merge-patch+json`
    /// or `application/json`) at `?path=` (default `$`), then JSON.GET of
    /// the whole document in the same transaction: the merged document as
    /// the body, 201 when this created the key, else 200; 204 when the
    /// patch left no document.
    static func merge(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let key = context.key
        let patch = try documentBody(context, hint: "send a JSON merge patch as the body")
        let replies = try context.atomicallyKeepingErrors([
            Command("JSON.TYPE", [key, "."]),
            Command("JSON.MERGE", [key, path(context), patch]),
            Command("JSON.GET", [key]),
        ])
        if case .error(let error) = replies[1] { throw Problem.from(error) }
        switch replies[2] {
        case .bulk(let document):
            return HTTPResponse(status: matched(replies[0]) ? 200 : 201,
                                headers: [("Content-Type", "application/json")], body: document.storage)
        case .null:
            return HTTPResponse(status: 204)
        case .error(let error):
            throw Problem.from(error)
        default:
            throw Problem.response(500, code: "ERR", detail: "unexpected JSON.GET reply")
        }
    }

    /// JSON.DEL at `?path=` (default `$`, the whole key): `{"key",
    /// "deleted"}`, the number of values deleted (0 when the path matched
    /// nothing); 404 when the key does not exist.
    static func delete(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResponse {
        let key = context.key
        let replies = try context.atomicallyKeepingErrors([
            Command("JSON.TYPE", [key, "."]),
            Command("JSON.DEL", [key, path(context)]),
        ])
        if case .error(let error) = replies[1] { throw Problem.from(error) }
        guard matched(replies[0]) else { throw context.noSuchKey }
        guard case .integer(let count) = replies[1] else {
            throw Problem.response(500, code: "ERR", detail: "unexpected JSON.DEL reply")
        }
        return context.json { o in
            JSONResponse.writeKey(key, into: &o)
            o.member("deleted") { $0.integer(count) }
        }
    }
}

extension ResourceContext {
    /// Runs commands as one transaction and hands back every reply, error
    /// replies included, for a route that reads a probe's error as an
    /// answer (JSON.TYPE of a path that matches nothing). A batch that
    /// could not be queued is thrown as its problem response.
    func atomicallyKeepingErrors(_ commands: [Command]) throws(HTTPResponse) -> [Reply] {
        let client = self.client
        let commands = commands.map { command -> Command in
            var command = command
            client.stamp(&command)
            return command
        }
        switch executor.executeTransaction(commands) {
        case .failure(let error): throw Problem.from(error)
        case .success(let replies): return replies
        }
    }
}
