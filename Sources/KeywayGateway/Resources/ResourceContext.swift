import Foundation
import KeywayEngine
import KeywayHTTP

/// The kit a resource handler works with: typed path parameters, the body,
/// commands that carry the client and turn error replies into thrown
/// problems, typed replies, and JSON responses.
///
/// A handler never checks-then-acts across two engine calls: what must be
/// consistent goes in one `atomically` batch (or one engine command).
struct ResourceContext: Sendable {
    private let context: RequestContext
    var request: HTTPRequest { _read { yield context.request } }
    var parameters: RouteParameters { _read { yield context.parameters } }
    var gateway: Gateway { _read { yield context.gateway } }
    var client: ClientIdentity { _read { yield context.client } }
    /// The session the session middleware loaded, on `/v1/session` routes.
    var session: Session? { _read { yield context.session } }
    /// The ACL user the request authenticated as.
    var user: ACLUser? { context.user }

    init(_ context: RequestContext) {
        self.context = context
    }

    var executor: any CommandExecutor { gateway.executor }

    /// Resolves a request this handler parked, once the writes the response
    /// may depend on are durable (see `DurabilityMiddleware`).
    func resolve(_ parked: ParkedResponse, with response: HTTPResponse, undosBefore: UInt64) {
        DurabilityMiddleware.resolve(parked, with: response, context, undosBefore: undosBefore)
    }

    /// 503 MISCONF, for a handler that waits for durability itself.
    func durabilityRefusal() -> HTTPResponse { DurabilityMiddleware.refusal(context) }

    // MARK: - Path parameters

    /// The `{key}` segment, as bytes.
    var key: Bytes { parameter("key") }
    /// The `{field}` segment, as bytes.
    var field: Bytes { parameter("field") }
    /// The `{member}` segment, as bytes.
    var member: Bytes { parameter("member") }

    /// A path parameter the route pattern binds, percent-decoded to bytes.
    func parameter(_ name: String) -> Bytes { Bytes(parameters[name] ?? []) }

    /// A path parameter that must be UTF-8 text (a group or origin name):
    /// 400 otherwise.
    func textParameter(_ name: String) throws(HTTPResponse) -> String {
        let bytes = parameters[name] ?? []
        guard UTF8Validation.isValid(bytes) else { throw Problem.badRequest("'\(name)' must be UTF-8 text") }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Query and body

    /// `?encoding=base64` was asked for.
    var wantsBase64: Bool { ValueEncoding.wantsBase64(request) }

    /// The client asked for the raw value (`Accept: application/octet-stream`).
    var wantsOctetStream: Bool { request.header("accept")?.contains("application/octet-stream") == true }

    /// The body as JSON, raw bytes (when `allowRaw`) or nothing; 400/415 otherwise.
    func body(allowRaw: Bool = false) throws(HTTPResponse) -> RequestBody.Kind {
        try RequestBody.read(request, allowRaw: allowRaw).get()
    }

    /// A JSON object body, required: 400 with `hint` when the body is empty or raw.
    func jsonObject(hint: String) throws(HTTPResponse) -> JSONValue {
        guard case .json(let object) = try body() else { throw Problem.badRequest(hint) }
        return object
    }

    /// Typed fields of a JSON body, or of the query string when there is no body.
    func fields() throws(HTTPResponse) -> Fields {
        if case .json(let object) = try body() { return Fields(json: object, request: request) }
        return Fields(json: nil, request: request)
    }

    /// A value sent as `{"value": ...}` (or another member) or as a raw
    /// `application/octet-stream` body, with the request's other fields.
    func value(field: String = "value") throws(HTTPResponse) -> (value: [UInt8], fields: Fields) {
        try RequestBody.value(request, field: field).get()
    }

    /// Runs `body`, which reads typed fields; a field error is 400 BAD_REQUEST.
    func reading<Value>(_ body: () throws(FieldError) -> Value) throws(HTTPResponse) -> Value {
        do throws(FieldError) { return try body() } catch { throw Problem.badRequest(error.message) }
    }

    /// The `PUT .../ttl` body (`ttl`, `pttl` or `expiresAt`, and a condition).
    func expiry() throws(HTTPResponse) -> ExpiryRequest {
        try ExpiryRequest.read(request).get()
    }

    // MARK: - Commands

    /// A command the gateway runs for its own bookkeeping once the route
    /// has authorized the request (a cache-aside entry stored on a miss):
    /// it carries the client, but no user's rules restrict it.
    func serverCommand(_ name: String, _ arguments: [Bytes]) -> Command {
        var command = Command(name, arguments)
        command.client = client.address
        command.clientID = client.connectionID
        return command
    }

    /// A command stamped with this request's client (MONITOR, CLIENT LIST).
    func command(_ name: String, _ arguments: [Bytes]) -> Command {
        var command = Command(name, arguments)
        client.stamp(&command)
        return command
    }

    /// Checks, without running it, that the request's user may run a
    /// command: for what reaches the engine other than as a command
    /// (MONITOR). 403 NOPERM otherwise.
    func authorize(_ name: String, _ arguments: [Bytes] = []) throws(HTTPResponse) {
        if let refusal = executor.authorize(command(name, arguments)) { throw Problem.from(refusal) }
    }

    /// Checks that the request's user may subscribe to these channels and
    /// patterns (SUBSCRIBE, PSUBSCRIBE and `&` rules). 403 NOPERM otherwise.
    func authorizeSubscription(channels: [Bytes], patterns: [Bytes], shardChannels: [Bytes] = []) throws(HTTPResponse) {
        guard let user = context.user, !user.isUnrestricted, let access = executor.accessControl else { return }
        if let refusal = access.checkSubscription(user, channels: channels, patterns: patterns, shardChannels: shardChannels, client: ACLLog.clientInfo(id: client.connectionID, address: client.address),
                                                  nowMilliseconds: Authentication.nowMilliseconds()) {
            throw Problem.from(refusal)
        }
    }

    /// Runs one command; an error reply is thrown as its problem response.
    @discardableResult
    func execute(_ name: String, _ arguments: [Bytes]) throws(HTTPResponse) -> Reply {
        try execute(Command(name, arguments))
    }

    /// Runs one command; an error reply is thrown as its problem response.
    @discardableResult
    func execute(_ command: Command) throws(HTTPResponse) -> Reply {
        var command = command
        client.stamp(&command)
        let reply = executor.execute(command)
        if case .error(let error) = reply { throw Problem.from(error) }
        return reply
    }

    /// Runs a batch as one transaction (one lock acquisition): nothing
    /// else happens between its commands. The first error reply, or a
    /// batch that could not be queued, is thrown as its problem response.
    /// The batch's commands are stamped with the client where they sit
    /// (hence `inout`: a batch handed over by value shares its array with
    /// the caller's, and stamping it copied every command).
    func atomically(_ batch: inout CommandBatch) throws(HTTPResponse) -> BatchReplies {
        batch.stamp(by: client)
        switch executor.executeTransaction(batch.commands) {
        case .failure(let error):
            throw Problem.from(error)
        case .success(let replies):
            for index in replies.indices { if case .error(let error) = replies[index] { throw Problem.from(error) } }
            return BatchReplies(replies: replies)
        }
    }

    /// Runs a command that may block (BLPOP, a lock wait). If it blocks, the
    /// request parks without holding a thread and `render` answers it when
    /// the engine serves it or its timeout passes; if the client leaves
    /// first, the wait is withdrawn.
    func submitBlocking(_ command: Command, render: @escaping @Sendable (Reply) -> HTTPResponse) -> HTTPResult {
        var command = command
        client.stamp(&command)
        return gateway.submitBlocking(command, render: render)
    }

    /// `DELETE` of a typed resource (a hash, a list, ...): the key is
    /// deleted only if it holds `type`, checked and deleted in one engine
    /// command. 204, 404 when missing, 409 WRONGTYPE for another type.
    func deleteKey(ofType type: String) throws(HTTPResponse) -> HTTPResponse {
        let reply = try execute("KEYWAY.DELTYPE", [key, Bytes(type)])
        return reply == .integer(1) ? HTTPResponse(status: 204) : noSuchKey
    }

    // MARK: - Responses

    /// A JSON object response.
    func json(_ status: Int = 200, headers: [(String, String)] = [], _ body: (inout ObjectWriter) -> Void) -> HTTPResponse {
        JSONResponse.object(status, headers: headers, body)
    }

    /// 404 NO_SUCH_KEY for this route's key.
    var noSuchKey: HTTPResponse { Problem.noSuchKey(key.storage) }
}
