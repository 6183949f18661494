import KeywayEngine
import KeywayHTTP

/// The command API, compatible with Upstash's REST dialect:
/// `POST /` with `["SET","k","v"]`, the path form `/set/k/v`, `/pipeline`
/// and `/multi-exec`.
enum CommandRoutes {
    static func register(on router: inout Router, gateway: Gateway) {
        router.add("POST", "/", gateway.routeResult(.command) { request, _ in single(request, gateway) })
        router.add("POST", "/pipeline", gateway.route(.command) { request, _ in batch(request, gateway, atomic: false) })
        router.add("POST", "/multi-exec", gateway.route(.command) { request, _ in batch(request, gateway, atomic: true) })
        let pathForm = gateway.routeResult(.command) { request, parameters in path(request, parameters, gateway) }
        router.add("GET", "/{command}", pathForm)
        router.add("POST", "/{command}", pathForm)
        router.add("GET", "/{command}/{args...}", pathForm)
        router.add("POST", "/{command}/{args...}", pathForm)
    }

    static func syncHeader(_ gateway: Gateway) -> [(String, String)] {
        [("Upstash-Sync-Token", String(gateway.executor.writeSequence))]
    }

    /// `POST /` with one command as a JSON array.
    static func single(_ request: HTTPRequest, _ gateway: Gateway) -> HTTPResult {
        switch parseJSON(request.body).flatMap(command(from:)) {
        case .failure(let failure): return .response(CommandReplyEncoding.errorResponse(failure.message))
        case .success(var command):
            command.client = request.remoteAddress
            command.clientID = request.connection?.id
            return run(command, request, gateway)
        }
    }

    /// Runs one command; a blocking one (BRPOP queue 30) parks the request.
    static func run(_ command: Command, _ request: HTTPRequest, _ gateway: Gateway) -> HTTPResult {
        let encoding = CommandReplyEncoding(request: request)
        CommandLabels.note(command, on: request.connection)
        if gateway.executor.mayBlock(command) {
            return gateway.submitBlocking(command) { reply in
                encoding.response(for: reply, headers: syncHeader(gateway))
            }
        }
        return .response(encoding.response(for: gateway.executor.execute(command), headers: syncHeader(gateway)))
    }

    /// `/pipeline` (each command atomic on its own) and `/multi-exec` (all atomic).
    static func batch(_ request: HTTPRequest, _ gateway: Gateway, atomic: Bool) -> HTTPResponse {
        let encoding = CommandReplyEncoding(request: request)
        let commands: [Command]
        switch parseJSON(request.body) {
        case .failure(let message):
            return CommandReplyEncoding.errorResponse(message.message)
        case .success(let value):
            guard case .array(let elements) = value, !elements.isEmpty else {
                return CommandReplyEncoding.errorResponse("ERR the body must be a non-empty JSON array of commands")
            }
            var parsed: [Command] = []
            for element in elements {
                switch command(from: element) {
                case .failure(let failure): return CommandReplyEncoding.errorResponse(failure.message)
                case .success(var command):
                    command.client = request.remoteAddress
                    command.clientID = request.connection?.id
                    parsed.append(command)
                }
            }
            commands = parsed
        }
        if atomic {
            switch gateway.executor.executeTransaction(commands) {
            case .failure(let error):
                return CommandReplyEncoding.errorResponse(error.message, status: CommandReplyEncoding.status(for: error), headers: syncHeader(gateway))
            case .success(let replies):
                return encoding.response(forEach: replies, headers: syncHeader(gateway))
            }
        }
        return encoding.response(forEach: gateway.executor.executePipeline(commands), headers: syncHeader(gateway))
    }

    /// `GET|POST /{command}/{args...}`: one argument per decoded segment; a
    /// POST body, when present, is the last argument.
    static func path(_ request: HTTPRequest, _ parameters: RouteParameters, _ gateway: Gateway) -> HTTPResult {
        var arguments = [Bytes(parameters["command"] ?? [])]
        for segment in parameters.rest["args"] ?? [] { arguments.append(Bytes(segment)) }
        if request.method == "POST" && !request.body.isEmpty { arguments.append(Bytes(request.body)) }
        var command = Command(arguments)
        command.client = request.remoteAddress
        command.clientID = request.connection?.id
        return run(command, request, gateway)
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
    /// numbers as their exact text.
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
            default: return .failure(CommandRequestError("ERR command arguments must be strings or numbers"))
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
