import Foundation
import KeywayEngine
import KeywayHTTP

/// Who a request is: one ACL user, from `Authorization: Bearer <token>`
/// (a token issued by `ACL TOKEN CREATE`, the default user's password, or
/// a JWT when `jwt-key` is set), `Authorization: Basic` (a user's name and
/// password), `?_token=` where the face allows it, or, with no credentials,
/// the default user when it has no password.
struct Authentication: Sendable {
    /// The executor's users; nil when it has none (every request is
    /// unrestricted, or checked against `legacyToken`).
    let access: AccessControl?
    /// The bearer token of an executor without access control.
    let legacyToken: String?
    /// Verifies JWTs when `jwt-key` is configured.
    let jwt: JWTAuthenticator?
    /// `allow-query-token`: off, only the header authenticates.
    var allowQueryToken = true

    enum Outcome {
        /// Authenticated; nil for an executor without access control.
        case user(ACLUser?)
        /// No credentials, and they are needed.
        case missing
        /// Credentials that did not authenticate, with the user name they
        /// claimed (for ACL LOG) and whether they were a name and password.
        case invalid(username: String, basic: Bool = false)
    }

    /// The credential a request presents, before it is checked.
    enum Credential {
        case bearer(String)
        case basic(name: String, password: String)
        case malformed
    }

    static func credential(of request: HTTPRequest, allowQueryToken: Bool) -> Credential? {
        if let header = request.header("authorization") {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { return .malformed }
            let scheme = parts[0].lowercased(), value = String(parts[1]).trimmingCharacters(in: .whitespaces)
            if scheme == "bearer" { return value.isEmpty ? .malformed : .bearer(value) }
            guard scheme == "basic", let decoded = Data(base64Encoded: value), let text = String(data: decoded, encoding: .utf8),
                  let colon = text.firstIndex(of: ":") else { return .malformed }
            return .basic(name: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        }
        // An empty `?_token=` is no credential at all, never a match.
        if allowQueryToken, let token = request.queryString("_token"), !token.isEmpty { return .bearer(token) }
        return nil
    }

    func authenticate(_ request: HTTPRequest, allowQueryToken: Bool) -> Outcome {
        let credential = Self.credential(of: request, allowQueryToken: allowQueryToken && self.allowQueryToken)
        guard let access else { return legacyCheck(credential) }
        switch credential {
        case nil:
            let user = access.defaultUser
            return user.enabled && user.noPass ? .user(user) : .missing
        case .malformed?:
            return .invalid(username: "default")
        case .basic(let name, let password)?:
            guard let user = access.authenticate(name: name, password: password) else { return .invalid(username: name, basic: true) }
            return .user(user)
        case .bearer(let token)?:
            if let user = access.authenticate(bearer: token, nowMilliseconds: Self.nowMilliseconds()) { return .user(user) }
            if let jwt, JWTAuthenticator.looksLikeJWT(token) {
                switch jwt.authenticate(token, access: access) {
                case .success(let user): return .user(user)
                case .failure(let failure): return .invalid(username: failure.username ?? "default")
                }
            }
            // As Redis's AUTH against a `nopass` default user: any token is
            // that user (a header meant for a cache-aside origin, say).
            let fallback = access.defaultUser
            return fallback.enabled && fallback.noPass ? .user(fallback) : .invalid(username: "default")
        }
    }

    /// An executor without ACL users: one token, compared in constant time.
    private func legacyCheck(_ credential: Credential?) -> Outcome {
        guard let legacyToken else { return .user(nil) }
        guard let credential else { return .missing }
        guard case .bearer(let token) = credential,
              Self.constantTimeEquals(Array(token.utf8), Array(legacyToken.utf8)) else { return .invalid(username: "default") }
        return .user(nil)
    }

    /// Compares without leaking the position of the first difference.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }

    static func nowMilliseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }

    static let challenge = ("WWW-Authenticate", "Bearer realm=\"keyway\"")
}
