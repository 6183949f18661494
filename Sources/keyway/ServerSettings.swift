import KeywayEngine
import KeywayGateway
import KeywayHTTP
import Logging

/// The settings of `keyway serve` that the engine does not own: listening,
/// authentication, HTTP limits, logging, sessions, cache origins and rate
/// limits. Each is declared once in `ServerSettings.table`; the engine's own
/// are in `ConfigTable.engine`. Resolved in order: defaults, then the config
/// file (`--config`, redis.conf style), then `KEYWAY_TOKEN`, then the flags.
struct ServerSettings {
    var bind = "127.0.0.1"
    var port: UInt16 = 7379
    var token: String?
    var maxBody = 64 * 1024 * 1024
    /// `threads`; nil picks one per core, or 32 with the cluster backend,
    /// whose threads wait on the nodes' replies.
    var threadsSetting: Int?
    var threads: Int { threadsSetting ?? (backend == .cluster ? 32 : System.coreCount) }
    /// `backend`: the embedded engine or a Redis Cluster (`cluster-*`).
    var backend = Backend.embedded
    var clusterNodes: [String] = []
    var clusterUser: String?
    var clusterPassword: String?
    var clusterConnections = 2
    var clusterReadFromReplicas = false
    var clusterTLS = false
    var clusterTLSCACertFile: String?
    var clusterTLSCertFile: String?
    var clusterTLSKeyFile: String?
    var maxConnections = 50_000
    var idleTimeout = 300
    var headerTimeoutMilliseconds = 20_000
    var bodyTimeoutMilliseconds = 60_000
    var maxConnectionsPerAddress = 0
    var maxStreams = 50_000
    var clientHeaderBuffer = HTTPServerConfiguration.defaultConnectionMemoryBytes
    var eventStreamLimits = OutputBufferLimits.pubsub
    var eventStreamBufferTotal = 128 * 1024 * 1024
    var logLevel = Logger.Level.info
    /// `access-log`: `stdout` or a file to append JSON lines to; nil = off.
    var accessLog: String?
    var unprotected = false
    /// `session-ttl`, `session-sliding`, `session-cookie`, `session-cookie-secure`.
    var sessions = SessionConfiguration()
    /// Cache-aside origins and their timeouts (`cache-origin`, `cache-connect-timeout`, `cache-timeout`).
    var cache = CacheSettings()
    /// Per-client request limit of the gateway (`rate-limit 100 60`); nil = off.
    var rateLimit: GatewayRateLimit?
    /// Origins browsers may call from (`cors-allow-origins`); empty = no CORS.
    var corsAllowOrigins: [String] = []
    /// Whether a browser's cross-site GET may write (`allow-get-writes`).
    var allowGetWrites = false
    /// `allowed-hosts`: Host names answered besides the loopback ones.
    var allowedHosts: [String] = []
    /// `allow-query-token`: whether `?_token=` may authenticate.
    var allowQueryToken = true
    /// HTTPS (`tls-port`, `tls-cert-file`, `tls-key-file`, `tls-ca-cert-file`, `tls-auth-clients`).
    var tlsPort: UInt16 = 0
    var tlsCertFile: String?
    var tlsKeyFile: String?
    var tlsCACertFile: String?
    var tlsAuthClients = TLSClientAuth.no
    /// ACL users from `user` lines (name, then rules), in order.
    var users: [[String]] = []
    /// `aclfile`: where ACL users live (ACL SAVE/LOAD); exclusive with `user` lines.
    var aclFile: String?
    /// `acl-token-file`: where issued tokens' hashes are kept.
    var aclTokenFile: String?
    /// `jwt-key` / `jwt-key-file`, `jwt-user-claim`, `jwt-audience`.
    var jwtKey: String?
    var jwtKeyFile: String?
    var jwtUserClaim = "role"
    var jwtAudience: String?
    /// `metrics-access open`: /metrics without authentication.
    var metricsOpen = false
    /// `ui`: serve the dashboard at /ui (see `DashboardAvailability`).
    var ui = true

    /// The HTTPS listener, or nil when `tls-port` is 0; the error says which
    /// setting is missing.
    func tlsConfiguration() throws(TLSError) -> TLSConfiguration? {
        guard tlsPort != 0 else { return nil }
        guard let certificate = tlsCertFile, let key = tlsKeyFile else {
            throw TLSError("tls-port \(tlsPort) needs tls-cert-file and tls-key-file")
        }
        if tlsAuthClients != .no && tlsCACertFile == nil {
            throw TLSError("tls-auth-clients \(tlsAuthClients.rawValue) needs tls-ca-cert-file")
        }
        return TLSConfiguration(port: tlsPort, certificateFile: certificate, keyFile: key,
                                caCertificateFile: tlsCACertFile, clientAuth: tlsAuthClients)
    }

    var bindAddress: String { bind == "localhost" ? "127.0.0.1" : bind }

    /// What browsers may do, for the gateway. The Host check is on for a
    /// loopback listener (localhost, 127.0.0.1 and [::1] plus
    /// `allowed-hosts`) and for any listener given `allowed-hosts`;
    /// `allowed-hosts *` turns it off.
    var browserPolicy: BrowserPolicy {
        var hosts: [String]? = nil
        if !allowedHosts.contains("*") && (Serve.isLoopback(bindAddress) || !allowedHosts.isEmpty) {
            hosts = BrowserPolicy.loopbackHosts + allowedHosts
        }
        return BrowserPolicy(allowedOrigins: corsAllowOrigins, allowGetWrites: allowGetWrites, allowedHosts: hosts)
    }

    init() {
        Self.table.applyDefaults(to: &self)
    }

    /// redis.conf directives Keyway recognises but does not implement yet:
    /// accepted so a Redis config file loads, and reported at start-up.
    static let recognisedButInactive: Set<String> = [
        "appenddirname", "rdbcompression",
        "rdbchecksum",
        "databases", "daemonize", "supervised", "pidfile", "logfile", "tcp-backlog",
        "tcp-keepalive",
    ]

    typealias Parameter = ConfigParameter<ServerSettings>

    static let table = ConfigTable<ServerSettings>([
        Parameter("bind", ConfigValueType<String>.addresses, default: "127.0.0.1",
                  help: "Address to listen on (IPv4 or IPv6; 'localhost' means 127.0.0.1); of a list, the first.",
                  get: { $0.bind }, set: { $0.bind = $1 }),
        Parameter("port", ConfigValueType<Int>.int(0...65535, headline: "expected a port number"), default: "7379",
                  help: "TCP port to listen on for plain HTTP; 0 picks a free one and logs it, or, with a tls-port, serves HTTPS only.",
                  get: { Int($0.port) }, set: { $0.port = UInt16($1) }),
        Parameter("requirepass", aliases: ["token"], flag: "token", ConfigValueType<String>.string, default: nil, defaultDescription: "none",
                  help: "The default user's password, which clients send as a bearer token (also read from KEYWAY_TOKEN); "
                      + "empty leaves it unset.",
                  get: { $0.token ?? "" }, set: { settings, token in if !token.isEmpty { settings.token = token } }),
        Parameter("protected-mode", ConfigValueType<Bool>.bool, default: "yes",
                  help: "Refuse to listen beyond loopback without a token (--unprotected is protected-mode no).",
                  get: { !$0.unprotected }, set: { $0.unprotected = !$1 }),
        Parameter("maxclients", aliases: ["max-connections"], flag: "max-connections", ConfigValueType<Int>.int(1...Int.max), default: "50000",
                  help: "Most simultaneous client connections. The open-file limit is raised to match at start "
                      + "(the hard limit too where permitted), else a warning says how many fit.",
                  get: { $0.maxConnections }, set: { $0.maxConnections = $1 }),
        Parameter("timeout", aliases: ["idle-timeout"], flag: "idle-timeout",
                  ConfigValueType<Int>.int(0...Int(Int32.max), unit: "seconds", headline: "expected seconds (0 = never)"), default: "300",
                  help: "Seconds before an idle keep-alive connection is closed; 0 is never.",
                  get: { $0.idleTimeout == Int(Int32.max) ? 0 : $0.idleTimeout },
                  // Redis's 0 means never: the longest wait libmicrohttpd takes.
                  set: { $0.idleTimeout = $1 == 0 ? Int(Int32.max) : $1 }),
        Parameter("client-header-timeout", ConfigValueType<Int>.int(0...Int(Int32.max), unit: "milliseconds"), default: "20000",
                  help: "A request's headers must arrive within this many milliseconds of the connection opening or of the "
                      + "request's first byte; slower clients are disconnected (slowloris). 0 disables.",
                  get: { $0.headerTimeoutMilliseconds }, set: { $0.headerTimeoutMilliseconds = $1 }),
        Parameter("client-body-timeout", ConfigValueType<Int>.int(0...Int(Int32.max), unit: "milliseconds"), default: "60000",
                  help: "A request's body must arrive within this many milliseconds of its headers. 0 disables.",
                  get: { $0.bodyTimeoutMilliseconds }, set: { $0.bodyTimeoutMilliseconds = $1 }),
        Parameter("max-connections-per-address", ConfigValueType<Int>.int(0...Int(Int32.max)), default: "0",
                  help: "Most connections one client IP address may hold; more are refused. 0 is no cap "
                      + "(behind a proxy every client shares its address).",
                  get: { $0.maxConnectionsPerAddress }, set: { $0.maxConnectionsPerAddress = $1 }),
        Parameter("loglevel", aliases: ["log-level"], flag: "log-level", ConfigValueType<Logger.Level>.logLevel, default: "info",
                  help: "Log level: trace, debug, info, notice, warning, error or critical (Redis's verbose and nothing too).",
                  get: { $0.logLevel }, set: { $0.logLevel = $1 }),
        Parameter("access-log", ConfigValueType<String>.single(kind: "path", allowed: "no, stdout, or a file path",
                                                                parse: { _, text in text }, format: { $0 }), default: "no",
                  help: "One JSON line per answered request (time, client, connection, user, method, route pattern, status, "
                      + "bytes, duration_ms): stdout, or a file to append to (reopened on SIGHUP); no or empty is off. "
                      + "Tokens, headers, query strings and bodies are never written.",
                  get: { $0.accessLog ?? "no" },
                  set: { settings, value in settings.accessLog = value.isEmpty || value.lowercased() == "no" ? nil : value }),
        Parameter("max-body", ConfigValueType<Int>.int(1...Int.max, unit: "bytes"), default: "67108864",
                  help: "Largest request body in bytes; larger requests get 413.",
                  get: { $0.maxBody }, set: { $0.maxBody = $1 }),
        Parameter("threads", aliases: ["io-threads"], ConfigValueType<Int>.int(1...Int.max), default: nil, defaultDescription: "one per core",
                  help: "HTTP worker threads.",
                  get: { $0.threads }, set: { $0.threadsSetting = $1 }),
        Parameter("backend", ConfigValueType<Backend>.enumeration(Backend.allCases, noun: "backend"), default: "embedded",
                  help: "Where the data lives: embedded (this process's engine) or cluster (a Redis Cluster named by "
                      + "cluster-nodes; the same routes, both API faces and SSE run in front of it, see docs/CLUSTER.md).",
                  get: { $0.backend }, set: { $0.backend = $1 }),
        Parameter("cluster-nodes", ConfigValueType<String>.single(kind: "list", allowed: "host:port[,host:port...]",
                                                                   parse: { _, text in text }, format: { $0 }), default: "",
                  help: "With backend cluster: nodes to learn the slot map from, comma-separated host:port.",
                  get: { $0.clusterNodes.joined(separator: ",") },
                  set: { settings, value in settings.clusterNodes = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }),
        Parameter("cluster-user", ConfigValueType<String>.single(kind: "string", allowed: "an ACL user name",
                                                                  parse: { _, text in text }, format: { $0 }), default: "",
                  help: "With backend cluster: the ACL user to AUTH as on every node connection (empty: the default user).",
                  get: { $0.clusterUser ?? "" }, set: { $0.clusterUser = $1.isEmpty ? nil : $1 }),
        Parameter("cluster-password", ConfigValueType<String>.single(kind: "string", allowed: "the nodes' password",
                                                                      parse: { _, text in text }, format: { _ in "" }), default: "",
                  help: "With backend cluster: the password sent with AUTH on every node connection (requirepass or the user's).",
                  get: { $0.clusterPassword ?? "" }, set: { $0.clusterPassword = $1.isEmpty ? nil : $1 }),
        Parameter("cluster-connections", ConfigValueType<Int>.int(1...64), default: "2",
                  help: "With backend cluster: connections kept open to each master; requests are pipelined on them.",
                  get: { $0.clusterConnections }, set: { $0.clusterConnections = $1 }),
        Parameter("cluster-tls", ConfigValueType<Bool>.bool, default: "no",
                  help: "With backend cluster: connect to the nodes over TLS (nodes started with tls-port and tls-cluster yes). "
                      + "The node's certificate chain is checked against cluster-tls-ca-cert-file; its name is not "
                      + "(nodes announce themselves by IP address).",
                  get: { $0.clusterTLS }, set: { $0.clusterTLS = $1 }),
        Parameter("cluster-tls-ca-cert-file", ConfigValueType<String>.path, default: nil, defaultDescription: "the system's trust store",
                  help: "With cluster-tls: the CA certificates (PEM) the nodes' certificates must chain to.",
                  get: { $0.clusterTLSCACertFile ?? "" }, set: { $0.clusterTLSCACertFile = $1.isEmpty ? nil : $1 }),
        Parameter("cluster-tls-cert-file", ConfigValueType<String>.path, default: nil, defaultDescription: "none",
                  help: "With cluster-tls: the client certificate (PEM) Keyway presents, for nodes with tls-auth-clients yes "
                      + "(Redis's default); needs cluster-tls-key-file.",
                  get: { $0.clusterTLSCertFile ?? "" }, set: { $0.clusterTLSCertFile = $1.isEmpty ? nil : $1 }),
        Parameter("cluster-tls-key-file", ConfigValueType<String>.path, default: nil, defaultDescription: "none",
                  help: "With cluster-tls: the client certificate's private key (PEM, unencrypted).",
                  get: { $0.clusterTLSKeyFile ?? "" }, set: { $0.clusterTLSKeyFile = $1.isEmpty ? nil : $1 }),
        Parameter("cluster-read-from", ConfigValueType<Bool>.enumeration([("master", false), ("replicas", true)], noun: "read source",
                                                                             format: { $0 ? "replicas" : "master" }),
                  default: "master",
                  help: "With backend cluster: where read-only commands go. replicas spreads them over each slot's replicas "
                      + "(READONLY); a request with an Upstash-Sync-Token then waits for the replica to have the writes it names, "
                      + "else the master answers (docs/CLUSTER.md).",
                  get: { $0.clusterReadFromReplicas }, set: { $0.clusterReadFromReplicas = $1 }),
        Parameter("client-header-buffer", ConfigValueType<Int>.int(4096...1_048_576, unit: "bytes"), default: "7168",
                  help: "Memory each connection holds for its request line and headers and its response's headers; "
                      + "requests whose headers do not fit get 431. Also what an idle connection costs: raise it for "
                      + "very large cookies or tokens. Bodies are not limited by it (see max-body).",
                  get: { $0.clientHeaderBuffer }, set: { $0.clientHeaderBuffer = $1 }),
        Parameter("max-streams", ConfigValueType<Int>.int(1...Int.max), default: "50000",
                  help: "Most Server-Sent Event streams (subscribers) open at once; more get 503.",
                  get: { $0.maxStreams }, set: { $0.maxStreams = $1 }),
        Parameter("client-output-buffer-limit", ConfigValueType<OutputBufferLimits>.outputBufferLimits, default: "pubsub 32mb 8mb 60",
                  help: "Redis's <class> <hard> <soft> <soft-seconds>: an event stream (pub/sub, keyspace and stream events, MONITOR) "
                      + "whose unsent bytes pass hard, or stay above soft for soft-seconds, is disconnected. Only the pubsub class "
                      + "applies; normal and replica are accepted and ignored. 0 turns a limit off.",
                  get: { $0.eventStreamLimits }, set: { $0.eventStreamLimits = $1 }),
        Parameter("client-output-buffer-total", ConfigValueType<Int64>.memory, default: "134217728",
                  help: "What all event streams together may hold unsent; past it, the stream whose message would pass it is "
                      + "disconnected. 0 is no cap.",
                  get: { Int64($0.eventStreamBufferTotal) }, set: { $0.eventStreamBufferTotal = Int($1) }),
        Parameter("session-ttl", ConfigValueType<Int64>.integer(1...SessionConfiguration.maxTTLSeconds, unit: "seconds",
                                                                headline: "expected seconds, 1 to \(SessionConfiguration.maxTTLSeconds)"),
                  default: "86400", help: "Lifetime of a new session when its request gives none.",
                  get: { $0.sessions.ttlSeconds }, set: { $0.sessions.ttlSeconds = $1 }),
        Parameter("session-sliding", ConfigValueType<Bool>.bool, default: "no",
                  help: "Every read or update of a session sets its TTL back to session-ttl.",
                  get: { $0.sessions.sliding }, set: { $0.sessions.sliding = $1 }),
        Parameter("session-cookie", ConfigValueType<String>.cookieName, default: "keyway_session",
                  help: "The cookie that carries the session id.",
                  get: { $0.sessions.cookieName }, set: { $0.sessions.cookieName = $1 }),
        Parameter("session-cookie-secure", ConfigValueType<Bool>.bool, default: "no",
                  help: "Always mark the session cookie Secure (otherwise only behind a TLS proxy that says so).",
                  get: { $0.sessions.cookieSecure }, set: { $0.sessions.cookieSecure = $1 }),
        Parameter("cache-origin", ConfigValueType<CacheOrigin>.cacheOrigin, default: nil, defaultDescription: "none",
                  repetition: .accumulate,
                  help: "A cache-aside origin served at /v1/cache/NAME/..., repeatable: NAME=URL[,ttl=SECONDS][,stale-if-error=SECONDS] "
                      + "(in a file: NAME URL [ttl SECONDS] [stale-if-error SECONDS]); ttl defaults to 60.",
                  set: { $0.cache.add($1) }),
        Parameter("cache-connect-timeout", ConfigValueType<Double>.seconds(above: 0, upTo: 3600), default: "2",
                  help: "Seconds to wait for a connection to a cache origin.",
                  get: { $0.cache.connectTimeout }, set: { $0.cache.connectTimeout = $1 }),
        Parameter("cache-timeout", ConfigValueType<Double>.seconds(above: 0, upTo: 3600), default: "10",
                  help: "Seconds a cache origin request may take in all.",
                  get: { $0.cache.requestTimeout }, set: { $0.cache.requestTimeout = $1 }),
        Parameter("rate-limit", ConfigValueType<GatewayRateLimit?>.rateLimit, default: "off",
                  help: "Per-client request limit as requests/seconds, e.g. 100/60 (rate-limit 100 60 in a file), by token, "
                      + "else by address; /healthz and /readyz exempt; or off.",
                  get: { $0.rateLimit }, set: { $0.rateLimit = $1 }),
        Parameter("cors-allow-origins", ConfigValueType<[String]>.origins, default: "", defaultDescription: "none (no CORS)",
                  help: "Origins browser pages may call Keyway from (CORS), e.g. https://app.example.com http://localhost:3000, "
                      + "or * for any (without credentials); a request with any other Origin is refused with 403 ORIGIN_NOT_ALLOWED.",
                  get: { $0.corsAllowOrigins }, set: { $0.corsAllowOrigins = $1 }),
        Parameter("allow-get-writes", ConfigValueType<Bool>.bool, default: "no",
                  help: "Let a GET that a browser sent for another site's page (Origin, or Sec-Fetch-Site cross-site or same-site) "
                      + "run a command that writes through the path form (GET /set/k/v); other clients always may.",
                  get: { $0.allowGetWrites }, set: { $0.allowGetWrites = $1 }),
        Parameter("allow-query-token", ConfigValueType<Bool>.bool, default: "yes",
                  help: "Accept the token as ?_token= on the command API and event streams (a browser's EventSource cannot "
                      + "send headers); no accepts only the Authorization header. The query token is never logged.",
                  get: { $0.allowQueryToken }, set: { $0.allowQueryToken = $1 }),
        Parameter("allowed-hosts", ConfigValueType<[String]>.hostNames, default: "", defaultDescription: "loopback names when bound to loopback",
                  help: "Host header names answered besides localhost, 127.0.0.1 and [::1] (any port), against DNS rebinding; "
                      + "checked on a loopback listener, or on any when given; * answers any Host. Others get 421 HOST_NOT_ALLOWED.",
                  get: { $0.allowedHosts }, set: { $0.allowedHosts = $1 }),
        Parameter("tls-port", ConfigValueType<Int>.int(0...65535, headline: "expected a port number"), default: "0",
                  help: "TCP port for HTTPS (libmicrohttpd's GnuTLS), beside the plain port; 0 is off. SIGHUP reloads the certificate and key.",
                  get: { Int($0.tlsPort) }, set: { $0.tlsPort = UInt16($1) }),
        Parameter("tls-cert-file", ConfigValueType<String>.path, default: nil, defaultDescription: "none",
                  help: "The server's certificate (PEM; the chain may follow it); needed with tls-port.",
                  get: { $0.tlsCertFile ?? "" }, set: { $0.tlsCertFile = $1.isEmpty ? nil : $1 }),
        Parameter("tls-key-file", ConfigValueType<String>.path, default: nil, defaultDescription: "none",
                  help: "The certificate's private key (PEM, unencrypted); needed with tls-port.",
                  get: { $0.tlsKeyFile ?? "" }, set: { $0.tlsKeyFile = $1.isEmpty ? nil : $1 }),
        Parameter("tls-ca-cert-file", ConfigValueType<String>.path, default: nil, defaultDescription: "none",
                  help: "CA certificates (PEM) client certificates are checked against; needed unless tls-auth-clients is no.",
                  get: { $0.tlsCACertFile ?? "" }, set: { $0.tlsCACertFile = $1.isEmpty ? nil : $1 }),
        Parameter("tls-auth-clients", ConfigValueType<TLSClientAuth>.enumeration(TLSClientAuth.allCases, noun: "client certificate mode"),
                  default: "no",
                  help: "HTTPS client certificates: yes requires one signed by tls-ca-cert-file (401 without, 403 when invalid, "
                      + "before any route runs), optional checks one when presented, no ignores them.",
                  get: { $0.tlsAuthClients }, set: { $0.tlsAuthClients = $1 }),
        Parameter("user", ConfigValueType<[String]>.aclUser, default: nil, defaultDescription: "none", repetition: .accumulate,
                  help: "An ACL user, repeatable: NAME RULES... in Redis's rule language (user app on >secret ~app:* +@read); "
                      + "cannot be combined with aclfile.",
                  set: { $0.users.append($1) }),
        Parameter("aclfile", ConfigValueType<String>.path, default: nil, defaultDescription: "none",
                  help: "A users.acl file (one 'user NAME RULES...' per line) read at start, by ACL LOAD, and written by ACL SAVE.",
                  get: { $0.aclFile ?? "" }, set: { $0.aclFile = $1.isEmpty ? nil : $1 }),
        Parameter("acl-token-file", ConfigValueType<String>.path, default: nil, defaultDescription: "aclfile + .tokens",
                  help: "Where the SHA-256 hashes of tokens issued by ACL TOKEN CREATE are kept across restarts; without it "
                      + "and without an aclfile, tokens last until the server stops.",
                  get: { $0.aclTokenFile ?? "" }, set: { $0.aclTokenFile = $1.isEmpty ? nil : $1 }),
        Parameter("jwt-key", ConfigValueType<String>.string, default: nil, defaultDescription: "none",
                  help: "HS256 secret: a bearer JWT signed with it authenticates as the ACL user its jwt-user-claim names.",
                  get: { $0.jwtKey ?? "" }, set: { $0.jwtKey = $1.isEmpty ? nil : $1 }),
        Parameter("jwt-key-file", ConfigValueType<String>.path, default: nil, defaultDescription: "none",
                  help: "A PEM public key (RSA for RS256, P-256 for ES256, Ed25519 for EdDSA) that verifies bearer JWTs, "
                      + "instead of jwt-key.",
                  get: { $0.jwtKeyFile ?? "" }, set: { $0.jwtKeyFile = $1.isEmpty ? nil : $1 }),
        Parameter("jwt-user-claim", ConfigValueType<String>.string, default: "role",
                  help: "The JWT claim that names the ACL user; {claim} in that user's key and channel patterns is "
                      + "filled from the token's claims.",
                  get: { $0.jwtUserClaim }, set: { $0.jwtUserClaim = $1 }),
        Parameter("jwt-audience", ConfigValueType<String>.string, default: nil, defaultDescription: "none",
                  help: "When set, a JWT must name it in aud.",
                  get: { $0.jwtAudience ?? "" }, set: { $0.jwtAudience = $1.isEmpty ? nil : $1 }),
        Parameter("metrics-access", ConfigValueType<Bool>.enumeration([("acl", false), ("open", true)], noun: "metrics access",
                                                                        format: { $0 ? "open" : "acl" }),
                  default: "acl",
                  help: "acl serves /metrics to users who may run INFO (an admin); open serves it without authentication.",
                  get: { $0.metricsOpen }, set: { $0.metricsOpen = $1 }),
        Parameter("ui", ConfigValueType<Bool>.bool, default: "yes",
                  help: "Serve the web dashboard at /ui (static files; its data calls use the API with the user's own "
                      + "credentials). Off, whatever this says, when listening beyond loopback without a password or token.",
                  get: { $0.ui }, set: { $0.ui = $1 }),
    ])
}

extension ConfigValueType where Value == String {
    /// `bind`'s address list: Keyway listens on the first.
    static var addresses: Self { ConfigValueType(kind: "address", allowed: "an IPv4 or IPv6 address, or localhost", arity: 1...16,
                                           parse: { _, words in words[0] }, format: { $0 }) }

    static var cookieName: Self { ConfigValueType.single(kind: "string", allowed: "a cookie name", parse: { _, name throws(ConfigValueError) in
        guard SessionConfiguration.isValidCookieName(name) else {
            throw ConfigValueError(headline: nil, subject: nil, rule: "expected a cookie name (letters, digits, - _ . and similar)")
        }
        return name
    }, format: { $0 }) }
}

extension ConfigValueType where Value == [String] {
    /// A `user` line: the name, then its rules.
    static var aclUser: Self { ConfigValueType(kind: "user", allowed: "NAME [RULE ...]", arity: 1...Int.max,
                                               words: { $0.split(separator: " ").map(String.init) },
                                               parse: { _, words in words }, format: { $0.joined(separator: " ") }) }

    /// A list of words, separated by spaces or commas; none (`""`) is empty.
    static func list(kind: String, allowed: String, check: @escaping @Sendable (String) throws(ConfigValueError) -> String) -> Self {
        ConfigValueType(kind: kind, allowed: allowed, arity: 0...Int.max,
                        words: { $0.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) },
                        parse: { _, words throws(ConfigValueError) in
            var items: [String] = []
            for word in words {
                for item in word.split(whereSeparator: { $0 == " " || $0 == "," }) { items.append(try check(String(item))) }
            }
            if items.contains("*") && items.count > 1 {
                throw ConfigValueError(headline: nil, subject: nil, rule: "* stands alone: it already means any")
            }
            return items
        }, format: { $0.joined(separator: " ") })
    }

    /// `cors-allow-origins`: `scheme://host[:port]` origins, or `*`.
    static var origins: Self { list(kind: "origins", allowed: "scheme://host[:port] ..., or *") { text throws(ConfigValueError) in
        guard text == "*" || Self.isOrigin(text) else {
            throw ConfigValueError(headline: nil, subject: nil,
                                   rule: "'\(text)' is not an origin: expected scheme://host[:port] with no path, e.g. https://app.example.com, or *")
        }
        return text.lowercased()
    } }

    /// `allowed-hosts`: host names or addresses, or `*`.
    static var hostNames: Self { list(kind: "hosts", allowed: "host names ..., or *") { text throws(ConfigValueError) in
        guard !text.contains("/"), !text.isEmpty else {
            throw ConfigValueError(headline: nil, subject: nil, rule: "'\(text)' is not a host name")
        }
        return text.lowercased()
    } }

    static func isOrigin(_ text: String) -> Bool {
        guard let separator = text.range(of: "://") else { return false }
        let scheme = text[..<separator.lowerBound], authority = text[separator.upperBound...]
        return !scheme.isEmpty && scheme.allSatisfy { $0.isLetter || $0.isNumber || "+-.".contains($0) }
            && !authority.isEmpty && !authority.contains("/") && !authority.contains("?") && !authority.contains("#")
    }
}

extension ConfigValueType where Value == Logger.Level {
    /// swift-log's level names and Redis's (`verbose` is info, `nothing` critical).
    static var logLevel: Self { ConfigValueType.enumeration(
        [("trace", .trace), ("debug", .debug), ("info", .info), ("notice", .notice), ("warning", .warning),
         ("error", .error), ("critical", .critical), ("verbose", .info), ("nothing", .critical)],
        noun: "log level", format: { $0.rawValue }) }
}

extension ConfigValueType where Value == CacheOrigin {
    /// The flag's `NAME=URL,ttl=60` or the directive's `NAME URL ttl 60`.
    static var cacheOrigin: Self { ConfigValueType(kind: "origin", allowed: "NAME=URL[,ttl=SECONDS][,stale-if-error=SECONDS]", arity: 1...Int.max,
                                             parse: { _, words throws(ConfigValueError) in
        do throws(CacheOriginError) {
            if words.count == 1, words[0].contains("=") { return try CacheOrigin(flag: words[0]) }
            return try CacheOrigin(directiveArguments: words)
        } catch {
            throw ConfigValueError(headline: nil, subject: nil, rule: error.message)
        }
    }, format: { "\($0.name)=\($0.baseURL),ttl=\($0.ttl)" }) }
}

extension ConfigValueType where Value == GatewayRateLimit? {
    static var rateLimit: Self { ConfigValueType(kind: "rate", allowed: "REQUESTS/SECONDS, both positive, or off", arity: 1...2,
                                           parse: { _, words throws(ConfigValueError) in
        if words.count == 1 && words[0].lowercased() == "off" { return nil }
        guard let limit = GatewayRateLimit(parsing: words.joined(separator: " ")) else {
            throw ConfigValueError(headline: nil, subject: nil,
                                   rule: "expected requests/seconds with both positive, e.g. 100/60 (rate-limit 100 60 in a file), or off")
        }
        return limit
    }, format: { $0.map { "\($0.limit)/\($0.windowSeconds)" } ?? "off" }) }
}

extension ConfigValueType where Value == OutputBufferLimits {
    /// `client-output-buffer-limit`: groups of class, hard, soft and seconds.
    static var outputBufferLimits: Self { ConfigValueType(
        kind: "output buffer limits", allowed: "<class> <hard> <soft> <seconds>, class normal, replica or pubsub", arity: 4...Int.max,
        words: { $0.split(separator: " ").map(String.init) },
        parse: { _, words throws(ConfigValueError) in
            let words = words.flatMap { $0.split(separator: " ").map(String.init) }
            let wrong = ConfigValueError(headline: "expected <class> <hard> <soft> <seconds>, e.g. pubsub 32mb 8mb 60",
                                         rule: "Invalid client-output-buffer-limit")
            guard !words.isEmpty, words.count % 4 == 0 else { throw wrong }
            var limits = OutputBufferLimits.pubsub
            for index in stride(from: 0, to: words.count, by: 4) {
                guard let hard = MemorySize.parse(words[index + 1]), let soft = MemorySize.parse(words[index + 2]),
                      let seconds = Int(words[index + 3]), hard >= 0, soft >= 0,
                      // Bounded, so seconds * 1000 can never overflow.
                      (0...Int(Int32.max)).contains(seconds) else { throw wrong }
                switch words[index].lowercased() {
                case "pubsub": limits = OutputBufferLimits(hardBytes: Int(hard), softBytes: Int(soft), softSeconds: seconds)
                case "normal", "replica", "slave": break
                default: throw wrong
                }
            }
            return limits
        }, format: { "pubsub \($0.hardBytes) \($0.softBytes) \($0.softSeconds)" }) }
}

/// Where `keyway serve` keeps the data.
enum Backend: String, CaseIterable, Sendable {
    case embedded
    case cluster
}
