import KeywayEngine
import KeywayHTTP

/// With `appendfsync always`, no reply leaves before the writes it may
/// depend on are fsynced (group commit), as Redis sends no reply before its
/// AOF write: a write's own reply, and a read's reply computed while other
/// writes were still on their way to disk (it may have read them). The
/// response is parked, holding no thread, until the AOF says those writes
/// are on disk. If they could not be written, the engine undoes them and
/// the reply becomes 503 MISCONF, so no client ever saw them.
struct DurabilityMiddleware: Middleware {
    func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
        let executor = context.gateway.executor
        let undosBefore = executor.undoCount
        let result = next(context)
        // The response is taken out only when there is a ticket to wait on:
        // binding it copies its header and body arrays (three retains).
        guard case .response = result, let ticket = executor.durabilityBarrier(),
              case .response(let response) = result else { return result }
        if ticket.isDurable { return .response(Self.settled(response, durable: true, context, undosBefore: undosBefore)) }
        let parked = ParkedResponse()
        ticket.onDurable { durable in parked.resolve(Self.settled(response, durable: durable, context, undosBefore: undosBefore)) }
        return .parked(parked)
    }

    /// For a handler that answers a parked request itself (a batch run on a
    /// worker thread): resolves `parked` with `response` once the writes it
    /// may depend on are durable, as `handle` does for direct responses.
    static func resolve(_ parked: ParkedResponse, with response: HTTPResponse, _ context: RequestContext, undosBefore: UInt64) {
        guard let ticket = context.gateway.executor.durabilityBarrier(), !ticket.isDurable else {
            parked.resolve(settled(response, durable: true, context, undosBefore: undosBefore))
            return
        }
        ticket.onDurable { durable in parked.resolve(settled(response, durable: durable, context, undosBefore: undosBefore)) }
    }

    /// The response, or 503 MISCONF when its writes were not made durable.
    /// An undo settles the undone writes' tickets: it must not pass for
    /// their being durable.
    private static func settled(_ response: HTTPResponse, durable: Bool, _ context: RequestContext, undosBefore: UInt64) -> HTTPResponse {
        let executor = context.gateway.executor
        if durable && executor.undoCount == undosBefore { return response }
        return refusal(context)
    }

    /// 503 MISCONF: the writes a reply depends on were undone.
    static func refusal(_ context: RequestContext) -> HTTPResponse {
        context.refusal(503, code: "MISCONF", message: message(context.gateway.executor))
    }

    static func message(_ executor: any CommandExecutor) -> String {
        let reason = executor.persistenceFailure ?? "append-only file: write failed"
        return "MISCONF Errors writing to the AOF file (\(reason)): the writes this reply depends on were undone"
    }
}
