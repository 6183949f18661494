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
        /// A slice of the header (or query) text: hashed in place.
        case bearer(Substring)
        case basic(name: String, password: String)
        case malformed
    }

    static func credential(of request: HTTPRequest, allowQueryToken: Bool) -> Credential? {
        if let header = request.header("authorization") {
            // `<scheme> <value>`, read over UTF-8 without Foundation: this
            // runs on every request.
            let bytes = header.utf8
            guard let space = bytes.firstIndex(of: 32) else { return .malformed }
            var start = bytes.index(after: space), end = bytes.endIndex
            while start < end, bytes[start] == 32 || bytes[start] == 9 { start = bytes.index(after: start) }
            while end > start, case let last = bytes[bytes.index(before: end)], last == 32 || last == 9 { end = bytes.index(before: end) }
            guard start < end else { return .malformed }
            let value = Substring(bytes[start..<end])
            if Self.scheme(bytes[..<space], is: "bearer") { return .bearer(value) }
            guard Self.scheme(bytes[..<space], is: "basic"), let decoded = Data(base64Encoded: String(value)),
                  let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return .malformed }
            return .basic(name: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        }
        // An empty `?_token=` is no credential at all, never a match.
        if allowQueryToken, let token = request.queryString("_token"), !token.isEmpty { return .bearer(Substring(token)) }
        return nil
    }

    /// Whether an auth scheme is `lowercaseName`, in any case (RFC 9110 11.1).
    static func scheme(_ scheme: Substring.UTF8View.SubSequence, is lowercaseName: StaticString) -> Bool {
        guard scheme.count == lowercaseName.utf8CodeUnitCount else { return false }
        return lowercaseName.withUTF8Buffer { name in
            zip(scheme, name).allSatisfy { ($0 | 0x20) == $1 }
        }
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
                switch jwt.authenticate(String(token), access: access) {
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
