import Dispatch
import Foundation
import JWTKit
import KeywayEngine
import Synchronization

/// How bearer JWTs authenticate (`jwt-key`, `jwt-user-claim`, `jwt-audience`).
public struct JWTSettings: Sendable {
    /// An HS256 secret, or a PEM public key (RSA for RS256, P-256 for
    /// ES256, Ed25519 for EdDSA).
    public var key: String
    /// The claim naming the ACL user the token authenticates as.
    public var userClaim = "role"
    /// When set, tokens must carry it in `aud`.
    public var audience: String?

    public init(key: String, userClaim: String = "role", audience: String? = nil) {
        self.key = key
        self.userClaim = userClaim
        self.audience = audience
    }
}

/// Verifies bearer JWTs with jwt-kit: the signature with the one
/// configured key and algorithm (a token naming another algorithm, `none`
/// included, is refused before any verification), `exp` (required), `nbf`
/// and `aud`. The user named by the user claim, with `{claim}` placeholders
/// in its patterns filled from the token, is who the request runs as.
///
/// A verified token is remembered until it expires (at most 10,000 of
/// them), so an application that sends the same token on every request
/// pays for one verification.
public final class JWTAuthenticator: Sendable {
    private let keys: JWTKeyCollection
    /// `HS256`, `RS256`, `ES256` or `EdDSA`.
    public let algorithm: String
    let userClaim: String
    let audience: String?
    private let verified = Mutex<[String: VerifiedToken]>([:])
    private static let cacheLimit = 10_000

    struct VerifiedToken: Sendable {
        let userName: String
        let claims: [String: String]
        let expiresAt: Double
    }

    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        var username: String? = nil
        public var description: String { reason }
    }

    /// Reads the key; throws when it is a PEM key of no supported kind.
    public init(_ settings: JWTSettings) throws {
        let (keys, algorithm) = try Self.blocking { () async throws -> (JWTKeyCollection, String) in
            let keys = JWTKeyCollection()
            let text = settings.key
            guard text.contains("-----BEGIN") else {
                await keys.add(hmac: HMACKey(from: text), digestAlgorithm: .sha256)
                return (keys, "HS256")
            }
            if let key = try? Insecure.RSA.PublicKey(pem: text) {
                await keys.add(rsa: key, digestAlgorithm: .sha256)
                return (keys, "RS256")
            }
            if let key = try? ES256PublicKey(pem: text) {
                await keys.add(ecdsa: key)
                return (keys, "ES256")
            }
            if let key = try? EdDSA.PublicKey(pem: text) {
                await keys.add(eddsa: key)
                return (keys, "EdDSA")
            }
            throw Failure(reason: "jwt-key holds a PEM key that is not an RSA, P-256 or Ed25519 public key")
        }.get()
        self.keys = keys
        self.algorithm = algorithm
        self.userClaim = settings.userClaim
        self.audience = settings.audience
    }

    /// Three base64url parts: worth trying as a JWT.
    static func looksLikeJWT(_ token: Substring) -> Bool {
        token.hasPrefix("eyJ") && token.utf8.lazy.filter { $0 == UInt8(ascii: ".") }.count == 2
    }

    /// The user the token stands for, or why not.
    func authenticate(_ token: String, access: AccessControl) -> Result<ACLUser, Failure> {
        let now = Date().timeIntervalSince1970
        let identity: VerifiedToken
        if let cached = verified.withLock({ $0[token] }), cached.expiresAt > now {
            identity = cached
        } else {
            switch verify(token) {
            case .failure(let failure): return .failure(failure)
            case .success(let fresh): identity = fresh
            }
            verified.withLock { cache in
                if cache.count >= Self.cacheLimit { cache = cache.filter { $0.value.expiresAt > now } }
                if cache.count < Self.cacheLimit { cache[token] = identity }
            }
        }
        guard let user = access.user(named: identity.userName), user.enabled else {
            return .failure(Failure(reason: "no such user or user is off", username: identity.userName))
        }
        return .success(user.specialized(with: identity.claims))
    }

    private func verify(_ token: String) -> Result<VerifiedToken, Failure> {
        guard let header = Self.header(of: token), header["alg"] as? String == algorithm else {
            return .failure(Failure(reason: "the token is not signed with \(algorithm)"))
        }
        let keys = self.keys
        let claims: JWTClaims
        switch Self.blocking({ try await keys.verify(token, as: JWTClaims.self) }) {
        case .success(let verified): claims = verified
        case .failure(let error): return .failure(Failure(reason: "\(error)"))
        }
        if let audience {
            guard claims.audience?.value.contains(audience) == true else {
                return .failure(Failure(reason: "not intended for \(audience)"))
            }
        }
        guard let userName = claims.strings[userClaim], !userName.isEmpty else {
            return .failure(Failure(reason: "the token has no '\(userClaim)' claim"))
        }
        return .success(VerifiedToken(userName: userName, claims: claims.strings,
                                      expiresAt: claims.expiration.value.timeIntervalSince1970))
    }

    /// The JOSE header, decoded without trusting it.
    static func header(of token: String) -> [String: Any]? {
        guard let first = token.split(separator: ".").first else { return nil }
        var base64 = first.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// Runs jwt-kit's async API from a request thread, which may wait:
    /// the work runs on the concurrency pool, never on this thread.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, Failure> {
        let outcome = Mutex<Result<T, Failure>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                let value = try await body()
                outcome.withLock { $0 = .success(value) }
            } catch let failure as Failure {
                outcome.withLock { $0 = .failure(failure) }
            } catch {
                outcome.withLock { $0 = .failure(Failure(reason: "\(error)")) }
            }
            done.signal()
        }
        done.wait()
        return outcome.withLock { $0! }
    }
}

/// The claims Keyway reads: `exp` (required), `nbf`, `aud`, and every
/// string or number claim, for the user claim and `{claim}` placeholders.
struct JWTClaims: JWTPayload {
    let expiration: ExpirationClaim
    let notBefore: NotBeforeClaim?
    let audience: AudienceClaim?
    let strings: [String: String]

    private struct Name: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Name.self)
        expiration = try container.decode(ExpirationClaim.self, forKey: Name(stringValue: "exp"))
        notBefore = try container.decodeIfPresent(NotBeforeClaim.self, forKey: Name(stringValue: "nbf"))
        audience = try container.decodeIfPresent(AudienceClaim.self, forKey: Name(stringValue: "aud"))
        var strings: [String: String] = [:]
        for key in container.allKeys {
            if let text = try? container.decode(String.self, forKey: key) {
                strings[key.stringValue] = text
            } else if let number = try? container.decode(Int64.self, forKey: key) {
                strings[key.stringValue] = String(number)
            }
        }
        self.strings = strings
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Name.self)
        try container.encode(expiration, forKey: Name(stringValue: "exp"))
        for (name, value) in strings where name != "exp" { try container.encode(value, forKey: Name(stringValue: name)) }
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try expiration.verifyNotExpired()
        try notBefore?.verifyNotBefore()
    }
}
