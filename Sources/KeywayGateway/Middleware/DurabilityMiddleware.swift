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
        guard case .response(let response) = result, let ticket = executor.durabilityBarrier() else { return result }
        // An undo settles the undone writes' tickets: it must not pass for
        // their being durable.
        @Sendable func settled(_ durable: Bool) -> HTTPResponse {
            if durable && executor.undoCount == undosBefore { return response }
            let reason = executor.persistenceFailure ?? "append-only file: write failed"
            return context.refusal(503, code: "MISCONF",
                                   message: "MISCONF Errors writing to the AOF file (\(reason)): the writes this reply depends on were undone")
        }
        if ticket.isDurable { return .response(settled(true)) }
        let parked = ParkedResponse()
        ticket.onDurable { durable in parked.resolve(settled(durable)) }
        return .parked(parked)
    }
}
