import KeywayHTTP

/// With `appendfsync always`, a request that wrote is answered only once
/// its writes are fsynced (group commit), without holding a thread: the
/// response is parked until the AOF says the writes are on disk.
struct DurabilityMiddleware: Middleware {
    func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
        let executor = context.gateway.executor
        let writesBefore = executor.writeSequence
        let result = next(context)
        guard case .response(let response) = result, executor.writeSequence != writesBefore,
              let ticket = executor.durabilityBarrier(), !ticket.isDurable else { return result }
        let parked = ParkedResponse()
        ticket.onDurable { durable in
            parked.resolve(durable ? response : Problem.response(500, code: "AOF_WRITE_FAILED",
                                                                  detail: "the append-only file could not be written; the write is not durable"))
        }
        return .parked(parked)
    }
}
