import Dispatch
import KeywayEngine
import KeywayHTTP

/// The command API, compatible with Upstash's REST dialect:
/// `POST /` with `["SET","k","v"]`, the path form `/set/k/v`, `/pipeline`
/// and `/multi-exec`.
enum CommandRoutes {
    static func register(_ routes: Routes) {
        // JSON bodies must say so when a browser sends them; the path form
        // refuses a browser's cross-site GET that writes.
        let json = routes.command.group("", middleware: [JSONBodyMiddleware()])
        json.addResult("POST", "", single)
        json.addResult("POST", "/pipeline") { context in batchResult(context, atomic: false) }
        json.addResult("POST", "/multi-exec") { context in batchResult(context, atomic: true) }
        let pathForm = routes.command.group("", middleware: [GetWriteMiddleware(policy: routes.command.gateway.browserPolicy)])
        for method in ["GET", "POST"] {
            pathForm.addResult(method, "/{command}", path)
            pathForm.addResult(method, "/{command}/{args...}", path)
        }
    }

    static func syncHeader(_ context: ResourceContext) -> [(String, String)] {
        [syncHeaderField(context)]
    }

    static func syncHeaderField(_ context: ResourceContext) -> (String, String) {
        let executor = context.executor
        guard executor.readsFromReplicas else { return ("Upstash-Sync-Token", DecimalText.string(executor.writeSequence)) }
        return ("Upstash-Sync-Token", executor.syncToken(merging: requestSyncToken(context)))
    }

    /// The token the client sent back, which its reads must honour.
    static func requestSyncToken(_ context: ResourceContext) -> Bytes? {
        context.request.header("upstash-sync-token").map { Bytes($0) }
    }

    /// `POST /` with one command as a JSON array.
    static func single(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResult {
        if let command = CommandBodyReader.command(context.request.body) { return run(command, context) }
        switch parseJSON(context.request.body).flatMap(command(from:)) {
        case .failure(let failure): throw CommandReplyEncoding.errorResponse(failure.message)
        case .success(let command): return run(command, context)
        }
    }

    /// Runs one command, stamped with the request's client; a blocking one
    /// (BRPOP queue 30) parks the request.
    static func run(_ command: Command, _ context: ResourceContext) -> HTTPResult {
        var command = command
        context.client.stamp(&command)
        if context.request.queryValue("split")?.elementsEqual("true".utf8) == true { command.splitAcrossSlots = true }
        if context.executor.readsFromReplicas { command.syncToken = requestSyncToken(context) }
        let encoding = CommandReplyEncoding(request: context.request)
        let executor = context.executor
        // The name is looked up once, for the label, the blocking check and the run.
        let spec = executor.commandSpec(command.name)
        CommandLabels.note(command, spec: spec, on: context.request.connection)
        let mayBlock = if let spec { executor.mayBlock(command, spec: spec) } else { executor.mayBlock(command) }
        if mayBlock {
            return context.submitBlocking(command) { reply in
                encoding.response(for: reply, headers: syncHeader(context))
            }
        }
        let reply = if let spec { executor.execute(command, spec: spec) } else { executor.execute(command) }
        // The response's headers in one array, made here with room for all.
        var headers: [(String, String)] = []
        headers.reserveCapacity(3)
        headers.append(CommandReplyEncoding.contentType)
        headers.append(syncHeaderField(context))
        if command.splitAcrossSlots && executor.splitsAcrossSlots(command) { headers.append(("Keyway-Atomic", "false")) }
        return .response(encoding.response(for: reply, completeHeaders: headers))
    }

    /// Batch bodies larger than this (about 1,500 commands) are read, run and
    /// answered on a worker thread, the connection parked meanwhile, so the
    /// HTTP thread goes on serving its other connections instead of making
    /// them wait the whole batch; their replies stream out as they are
    /// produced (`StreamedBatchReply`). Smaller ones are answered at once,
    /// in one buffer.
    static let backgroundBatchBytes = 64 * 1024
    private static let batchQueue = DispatchQueue(label: "keyway.batches", attributes: .concurrent)

    static func batchResult(_ context: ResourceContext, atomic: Bool) -> HTTPResult {
        guard context.request.body.count > backgroundBatchBytes else {
            do { return .response(try batch(context, atomic: atomic)) } catch { return .response(error) }
        }
        let parked = ParkedResponse()
        let undosBefore = context.executor.undoCount
        batchQueue.async {
            do throws(HTTPResponse) {
                try streamBatch(context, atomic: atomic, parked: parked, undosBefore: undosBefore)
            } catch {
                context.resolve(parked, with: error, undosBefore: undosBefore)
            }
        }
        return .parked(parked)
    }

    /// `/pipeline` (each command atomic on its own) and `/multi-exec` (all atomic).
    static func batch(_ context: ResourceContext, atomic: Bool) throws(HTTPResponse) -> HTTPResponse {
        let encoding = CommandReplyEncoding(request: context.request)
        let commands = try batchCommands(context)
        guard atomic else {
            return encoding.response(forEach: context.executor.executePipeline(commands), headers: syncHeader(context))
        }
        return encoding.response(forEach: try transaction(commands, context), headers: syncHeader(context))
    }

    /// A big batch on a worker thread, its reply streamed to `parked` as
    /// slices run (a transaction's once it has run). Errors decided before
    /// anything ran are thrown, to be answered with their own status.
    static func streamBatch(_ context: ResourceContext, atomic: Bool, parked: ParkedResponse, undosBefore: UInt64) throws(HTTPResponse) {
        let commands = try batchCommands(context)
        let executor = context.executor
        let reply = StreamedBatchReply(context, parked: parked)
        if atomic {
            let replies = try transaction(commands, context)
            _ = reply.add(replies, ticket: executor.durabilityBarrier(), undosBefore: undosBefore)
        } else {
            var sliceUndosBefore = undosBefore
            executor.executePipeline(commands) { replies in
                let goOn = reply.add(replies, ticket: executor.durabilityBarrier(), undosBefore: sliceUndosBefore)
                sliceUndosBefore = executor.undoCount
                return goOn
            }
        }
        reply.finish(ticket: executor.durabilityBarrier())
    }

    /// The batch's commands, stamped with the request's client.
    private static func batchCommands(_ context: ResourceContext) throws(HTTPResponse) -> [Command] {
        var commands: [Command]
        if let read = CommandBodyReader.commands(context.request.body) {
            commands = read
        } else {
            commands = try parseBatch(context.request.body)
        }
        for index in commands.indices { context.client.stamp(&commands[index]) }
        if context.executor.readsFromReplicas {
            let token = requestSyncToken(context)
            for index in commands.indices { commands[index].syncToken = token }
        }
        return commands
    }

    /// Runs a transaction; EXECABORT and refusals are thrown whole.
    private static func transaction(_ commands: [Command], _ context: ResourceContext) throws(HTTPResponse) -> [Reply] {
        switch context.executor.executeTransaction(commands) {
        case .failure(let error):
            throw CommandReplyEncoding.errorResponse(error.message, status: CommandReplyEncoding.status(for: error), headers: syncHeader(context))
        case .success(let replies):
            return replies
        }
    }

    /// A batch body through the general JSON parser, with its errors.
    static func parseBatch(_ body: [UInt8]) throws(HTTPResponse) -> [Command] {
        let value: JSONValue
        switch parseJSON(body) {
        case .failure(let failure): throw CommandReplyEncoding.errorResponse(failure.message)
        case .success(let parsed): value = parsed
        }
        guard case .array(let elements) = value, !elements.isEmpty else {
            throw CommandReplyEncoding.errorResponse("ERR the body must be a non-empty JSON array of commands")
        }
        var commands: [Command] = []
        commands.reserveCapacity(elements.count)
        for element in elements {
            switch command(from: element) {
            case .failure(let failure): throw CommandReplyEncoding.errorResponse(failure.message)
            case .success(let command): commands.append(command)
            }
        }
        return commands
    }

    /// `GET|POST /{command}/{args...}`: one argument per decoded segment; a
    /// POST body, when present, is the last argument.
    static func path(_ context: ResourceContext) throws(HTTPResponse) -> HTTPResult {
        let request = context.request
        var arguments = [context.parameter("command")]
        for segment in context.parameters.rest["args"] ?? [] { arguments.append(Bytes(segment)) }
        if request.method == "POST" && !request.body.isEmpty { arguments.append(Bytes(request.body)) }
        return run(Command(arguments), context)
    }

    static func parseJSON(_ body: [UInt8]) -> Result<JSONValue, CommandRequestError> {
        guard !body.isEmpty else { return .failure(CommandRequestError("ERR the request body is empty; send a JSON array such as [\"PING\"]")) }
        do {
            return .success(try JSONParser.parse(body))
        } catch {
            return .failure(CommandRequestError("ERR malformed JSON: \(error)"))
        }
    }

    /// `["SET","k","v","EX",60]` as a Command: strings as UTF-8 bytes,
    /// numbers as their exact text, booleans as `true`/`false` (the
    /// upstash-redis SDK sends a Python bool as one: `json.set(k, "$.on",
    /// True)` is `JSON.SET k $.on true`).
    static func command(from value: JSONValue) -> Result<Command, CommandRequestError> {
        guard case .array(let elements) = value, !elements.isEmpty else {
            return .failure(CommandRequestError("ERR a command must be a non-empty JSON array such as [\"GET\",\"key\"]"))
        }
        var arguments: [Bytes] = []
        arguments.reserveCapacity(elements.count)
        for element in elements {
            switch element {
            case .string(let text): arguments.append(Bytes(text))
            case .number(let text): arguments.append(Bytes(text))
            case .bool(let flag): arguments.append(flag ? "true" : "false")
            default: return .failure(CommandRequestError("ERR command arguments must be strings, numbers or booleans"))
            }
        }
        return .success(Command(arguments))
    }
}

/// A command API request that could not be turned into commands.
struct CommandRequestError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
