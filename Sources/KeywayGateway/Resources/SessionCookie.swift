import KeywayHTTP

/// The session cookie: reading it from `Cookie` and writing `Set-Cookie`.
///
/// The cookie is `HttpOnly` (scripts can't read the id), `SameSite=Lax`
/// (not sent on cross-site subrequests), `Path=/`, with `Max-Age` equal to
/// the session's remaining TTL, and `Secure` when configured or when a TLS
/// proxy sent `X-Forwarded-Proto: https`.
enum SessionCookie {
    /// The raw value of cookie `name`, if the request carries it.
    static func value(in request: HTTPRequest, name: String) -> [UInt8]? {
        guard let header = request.header("cookie") else { return nil }
        for pair in header.split(separator: ";") {
            let trimmed = pair.drop { $0 == " " || $0 == "\t" }
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            if trimmed[..<equals] == Substring(name) {
                var value = trimmed[trimmed.index(after: equals)...]
                while value.last == " " || value.last == "\t" { value = value.dropLast() }
                if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
                return Array(value.utf8)
            }
        }
        return nil
    }

    static func isSecure(_ request: HTTPRequest, _ configuration: SessionConfiguration) -> Bool {
        configuration.cookieSecure || request.header("x-forwarded-proto")?.lowercased() == "https"
    }

    /// `Set-Cookie` carrying `id` for `maxAge` seconds.
    static func set(_ id: String, maxAge: Int64, request: HTTPRequest, _ configuration: SessionConfiguration) -> (String, String) {
        var cookie = "\(configuration.cookieName)=\(id); Path=/; Max-Age=\(max(0, maxAge)); HttpOnly; SameSite=Lax"
        if isSecure(request, configuration) { cookie += "; Secure" }
        return ("Set-Cookie", cookie)
    }

    /// `Set-Cookie` that makes the browser drop the cookie.
    static func clear(request: HTTPRequest, _ configuration: SessionConfiguration) -> (String, String) {
        set("", maxAge: 0, request: request, configuration)
    }
}
