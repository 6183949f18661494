/// How the session routes behave; set from the config file's `session-*`
/// directives.
public struct SessionConfiguration: Sendable {
    /// Lifetime of a new session when its request gives none (`session-ttl`).
    public var ttlSeconds: Int64 = 86_400
    /// `session-sliding yes`: every read or update sets the TTL back to
    /// `ttlSeconds`, so a session ends only after that much idle time.
    public var sliding = false
    /// The cookie that carries the session id (`session-cookie`).
    public var cookieName = "keyway_session"
    /// `session-cookie-secure yes`: always mark the cookie `Secure`. Without
    /// it the cookie is `Secure` only when the request came through a TLS
    /// proxy that says so with `X-Forwarded-Proto: https`.
    public var cookieSecure = false

    /// The longest TTL a session may ask for: ten years, in seconds.
    public static let maxTTLSeconds: Int64 = 315_360_000

    public init() {}

    /// Whether `name` is a valid cookie name (an RFC 6265 token).
    public static func isValidCookieName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            byte > 0x20 && byte < 0x7F && !"()<>@,;:\\\"/[]?={}".utf8.contains(byte)
        }
    }
}
