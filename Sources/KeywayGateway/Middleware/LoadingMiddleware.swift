import KeywayHTTP

/// While a snapshot or AOF loads at start-up, answers Redis's LOADING
/// (503 with `Retry-After: 1`) instead of running anything.
struct LoadingMiddleware: Middleware {
    static let message = "LOADING Redis is loading the dataset in memory"

    func handle(_ context: RequestContext, next: (RequestContext) -> HTTPResult) -> HTTPResult {
        guard context.gateway.executor.isLoading else { return next(context) }
        return .response(context.refusal(503, code: "LOADING", message: Self.message, headers: [("Retry-After", "1")]))
    }
}
