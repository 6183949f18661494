import KeywayEngine
import KeywayHTTP
import Synchronization

/// Gateway settings.
public struct GatewayConfiguration: Sendable {
    /// The default user's password, which a bearer token may present
    /// (`--token`, `requirepass`); nil leaves the default user as it is.
    public var token: String?
    /// Bearer JWTs authenticate as the user their claim names (`jwt-key`).
    public var jwt: JWTAuthenticator? = nil
    /// `metrics-access`: `acl` (the default) serves `/metrics` to users who
    /// may run INFO; `open` serves it without authentication.
    public var metricsOpen = false
    /// Most Server-Sent Event streams open at once; more get 503.
    public var maxEventStreams: Int
    /// `client-output-buffer-limit pubsub`: when a slow reader's stream is cut.
    public var eventStreamLimits = OutputBufferLimits.pubsub
    /// `client-output-buffer-total`: what all streams may hold unsent; 0 = no cap.
    public var eventStreamBufferTotal = 128 * 1024 * 1024
    /// Session lifetime, sliding expiry and cookie settings.
    public var sessions = SessionConfiguration()
    /// Origins for the cache-aside routes and how to reach them.
    public var cache = CacheSettings()
    /// Per-client request limit over every route but /healthz and /readyz; nil (the default) disables it.
    public var rateLimit: GatewayRateLimit? = nil
    /// CORS origins, GET writes from browsers and the Host names answered.
    public var browser = BrowserPolicy()
    /// Whether `?_token=` may stand in for the header on the command API and
    /// event streams (`allow-query-token`); on by default, as Upstash does.
    public var allowQueryToken = true
    /// Whether `/ui` serves the dashboard (`ui`, see `DashboardAvailability`).
    public var dashboard = true

    public init(token: String? = nil, maxEventStreams: Int = 50_000) {
        self.token = token
        self.maxEventStreams = maxEventStreams
    }
}

/// Turns HTTP requests into Commands and Replies into HTTP responses.
///
/// Both API faces live here: the Upstash-compatible command API and the
/// `/v1` resource API. Neither touches data except through the
/// `CommandExecutor`.
public final class Gateway: Sendable {
    let executor: any CommandExecutor
    let authentication: Authentication
    let maxEventStreams: Int
    /// Event streams open now.
    let openEventStreams = Atomic<Int>(0)
    let eventStreamLimits: OutputBufferLimits
    /// What every event stream holds unsent, against its total.
    public let eventStreamBudget: StreamBufferBudget
    let sessions: SessionConfiguration
    /// The cache-aside middleware (`/v1/cache`).
    let cache: CacheAside
    /// The rate-limit middleware, when configured.
    let rateLimiter: GatewayRateLimiter?
    /// CORS, the Host check and the other refusals of cross-site requests.
    let browserPolicy: BrowserPolicy
    /// `/metrics` needs no authentication (`metrics-access open`).
    let metricsOpen: Bool
    /// `/ui` serves the dashboard; otherwise it answers 404.
    let dashboard: Bool

    public init(executor: any CommandExecutor, configuration: GatewayConfiguration = GatewayConfiguration()) {
        self.executor = executor
        if let token = configuration.token { executor.accessControl?.setDefaultPassword(token) }
        self.authentication = Authentication(access: executor.accessControl, legacyToken: configuration.token,
                                             jwt: configuration.jwt, allowQueryToken: configuration.allowQueryToken)
        self.metricsOpen = configuration.metricsOpen
        self.maxEventStreams = configuration.maxEventStreams
        self.eventStreamLimits = configuration.eventStreamLimits
        self.eventStreamBudget = StreamBufferBudget(totalBytes: configuration.eventStreamBufferTotal)
        self.sessions = configuration.sessions
        self.cache = CacheAside(settings: configuration.cache)
        self.rateLimiter = configuration.rateLimit.map(GatewayRateLimiter.init)
        self.browserPolicy = configuration.browser
        self.dashboard = configuration.dashboard
    }

    /// Opens an event stream if under the limit; the slot is given back when
    /// the stream closes. Nil means 503.
    func openEventStream() -> EventStream? {
        let count = openEventStreams.add(1, ordering: .relaxed).newValue
        if count > maxEventStreams {
            openEventStreams.subtract(1, ordering: .relaxed)
            return nil
        }
        return EventStream(limits: eventStreamLimits, budget: eventStreamBudget)
    }

    func eventStreamClosed() {
        openEventStreams.subtract(1, ordering: .relaxed)
    }

    static func tooManyStreams(_ limit: Int) -> HTTPResponse {
        Problem.response(503, code: "TOO_MANY_STREAMS", detail: "the server already serves \(limit) event streams", headers: [("Retry-After", "5")])
    }

    /// Every route of both faces.
    public func makeRouter() -> Router {
        let table = RouteTable()
        let routes = Routes(gateway: self, table: table)
        ServerRoutes.register(routes)
        KeyRoutes.register(routes)
        HashRoutes.register(routes)
        ListRoutes.register(routes)
        SetRoutes.register(routes)
        BitmapRoutes.register(routes)
        HyperLogLogRoutes.register(routes)
        GeoRoutes.register(routes)
        JSONDocumentRoutes.register(routes)
        LeaderboardRoutes.register(routes)
        StreamRoutes.register(routes)
        StreamEventRoutes.register(routes)
        PubSubRoutes.register(routes)
        AdminRoutes.register(routes)
        ConfigRoutes.register(routes)
        ObservabilityRoutes.register(routes)
        MonitorRoutes.register(routes)
        SessionRoutes.register(routes)
        LockRoutes.register(routes)
        ClientRoutes.register(routes)
        ACLRoutes.register(routes)
        let metrics = MetricsRoutes.register(routes)
        CacheRoutes.register(routes)
        RateLimitRoutes.register(routes)
        DashboardRoutes.register(routes)
        CommandRoutes.register(routes)
        var router = Router()
        table.install(on: &router)
        let policy = browserPolicy
        router.unmatchedHeaders = { request in CORSMiddleware.headers(for: request, policy: policy) }
        let statistics = router.statistics + [router.options, router.unmatched]
        metrics.routes.withLock { $0 = statistics }
        return router
    }

    /// Submits a command that may block. If it does, the request is parked
    /// without holding a thread and answered when the engine serves it (or
    /// its timeout passes); if the client leaves first, the wait is withdrawn.
    func submitBlocking(_ command: Command, render: @escaping @Sendable (Reply) -> HTTPResponse) -> HTTPResult {
        let parked = ParkedResponse()
        let client = ParkedCommandClient(parked: parked, render: render)
        switch executor.submit(command, client: client) {
        case .reply(let reply):
            return .response(render(reply))
        case .blocked(let handle):
            parked.setCancellationHandler { handle.cancel() }
            return .parked(parked)
        }
    }

}

/// A parked HTTP request as the engine sees a blocked client.
final class ParkedCommandClient: BlockedClient {
    let parked: ParkedResponse
    let render: @Sendable (Reply) -> HTTPResponse

    init(parked: ParkedResponse, render: @escaping @Sendable (Reply) -> HTTPResponse) {
        self.parked = parked
        self.render = render
    }

    var isConnected: Bool { !parked.clientHasGone }

    func deliver(_ reply: Reply) {
        parked.resolve(render(reply))
    }
}
