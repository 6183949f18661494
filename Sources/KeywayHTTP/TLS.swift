import CGnuTLS
import Foundation
import Synchronization

/// Whether HTTPS clients must present a certificate signed by the CA
/// (`tls-auth-clients`, Redis's name and values).
public enum TLSClientAuth: String, Sendable, CaseIterable {
    /// Client certificates are neither requested nor checked.
    case no
    /// A client without a valid certificate gets 401 (none) or 403 (not
    /// signed by the CA, expired) before any route runs.
    case yes
    /// A certificate, when presented, must be valid (403 otherwise);
    /// clients without one are served.
    case optional
}

/// The HTTPS listener's settings (`tls-*`).
public struct TLSConfiguration: Sendable {
    public var port: UInt16
    public var certificateFile: String
    public var keyFile: String
    public var caCertificateFile: String?
    public var clientAuth: TLSClientAuth

    public init(port: UInt16, certificateFile: String, keyFile: String, caCertificateFile: String? = nil, clientAuth: TLSClientAuth = .no) {
        self.port = port
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.caCertificateFile = caCertificateFile
        self.clientAuth = clientAuth
    }
}

public struct TLSError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A server certificate chain and its private key, parsed by GnuTLS into
/// the form its certificate-retrieve callback hands out.
final class TLSCertificate: @unchecked Sendable {
    let chain: UnsafeMutablePointer<gnutls_pcert_st>
    let count: UInt32
    let key: gnutls_privkey_t
    /// The leaf certificate's serial number in hex.
    let serial: String

    private init(chain: UnsafeMutablePointer<gnutls_pcert_st>, count: UInt32, key: gnutls_privkey_t, serial: String) {
        self.chain = chain
        self.count = count
        self.key = key
        self.serial = serial
    }

    /// Reads and parses both files; the error names the file and the reason.
    static func load(certificateFile: String, keyFile: String) throws(TLSError) -> TLSCertificate {
        let certificate = try readFile(certificateFile, what: "tls-cert-file")
        let key = try readFile(keyFile, what: "tls-key-file")
        let capacity = 16
        let chain = UnsafeMutablePointer<gnutls_pcert_st>.allocate(capacity: capacity)
        var count = UInt32(capacity)
        let imported = certificate.withUnsafeBufferPointer { keyway_gnutls_import_pcerts(chain, &count, $0.baseAddress, UInt32($0.count)) }
        guard imported >= 0, count > 0 else {
            chain.deallocate()
            throw TLSError("tls-cert-file \(certificateFile): not a PEM certificate (\(errorText(imported)))")
        }
        var privateKey: gnutls_privkey_t?
        guard gnutls_privkey_init(&privateKey) >= 0, let privateKey else {
            chain.deallocate()
            throw TLSError("tls-key-file \(keyFile): cannot allocate a key")
        }
        let keyResult = key.withUnsafeBufferPointer { keyway_gnutls_import_key(privateKey, $0.baseAddress, UInt32($0.count)) }
        guard keyResult >= 0 else {
            gnutls_privkey_deinit(privateKey)
            for index in 0..<Int(count) { gnutls_pcert_deinit(chain + index) }
            chain.deallocate()
            throw TLSError("tls-key-file \(keyFile): not a PEM private key (\(errorText(keyResult)))")
        }
        let pair = certificate.withUnsafeBufferPointer { c in
            key.withUnsafeBufferPointer { k in keyway_gnutls_check_pair(c.baseAddress, UInt32(c.count), k.baseAddress, UInt32(k.count)) }
        }
        guard pair >= 0 else {
            gnutls_privkey_deinit(privateKey)
            for index in 0..<Int(count) { gnutls_pcert_deinit(chain + index) }
            chain.deallocate()
            throw TLSError("tls-key-file \(keyFile) does not go with tls-cert-file \(certificateFile) (\(errorText(pair)))")
        }
        var serial = [CChar](repeating: 0, count: 132)
        _ = certificate.withUnsafeBufferPointer { keyway_gnutls_serial_hex($0.baseAddress, UInt32($0.count), &serial, serial.count) }
        return TLSCertificate(chain: chain, count: count, key: privateKey,
                              serial: String(decoding: serial.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// A CA file as a NUL-terminated PEM string, checked to hold at least one certificate.
    static func loadTrust(_ path: String) throws(TLSError) -> [CChar] {
        let pem = try readFile(path, what: "tls-ca-cert-file")
        let parsed = pem.withUnsafeBufferPointer { keyway_gnutls_count_trusted($0.baseAddress, UInt32($0.count)) }
        guard parsed > 0 else {
            throw TLSError("tls-ca-cert-file \(path): no PEM certificate in it (\(parsed < 0 ? errorText(parsed) : "empty"))")
        }
        return pem.map { CChar(bitPattern: $0) } + [0]
    }

    static func readFile(_ path: String, what: String) throws(TLSError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TLSError("\(what) \(path): cannot read the file")
        }
        return [UInt8](data)
    }

    static func errorText(_ code: Int32) -> String {
        gnutls_strerror(code).map { String(cString: $0) } ?? "GnuTLS error \(code)"
    }
}

/// The certificate every HTTPS handshake gets. libmicrohttpd has no way to
/// change its certificate while running, so Keyway gives it a GnuTLS
/// retrieve callback that reads this slot; a reload (SIGHUP) replaces it.
/// A replaced certificate is kept until the process ends: a handshake may
/// still be reading it, and reloads are rare and small.
enum TLSCertificateStore {
    private struct State {
        var current: TLSCertificate?
        var retired: [TLSCertificate] = []
    }
    private static let state = Mutex(State())

    static var current: TLSCertificate? { state.withLock { $0.current } }

    static func install(_ certificate: TLSCertificate) {
        state.withLock { state in
            if let old = state.current { state.retired.append(old) }
            state.current = certificate
        }
    }
}

/// GnuTLS's `gnutls_certificate_retrieve_function2`: the current chain and key.
let tlsRetrieveCertificate: @convention(c) (
    gnutls_session_t?, UnsafePointer<gnutls_datum_t>?, Int32, UnsafePointer<gnutls_pk_algorithm_t>?, Int32,
    UnsafeMutablePointer<UnsafeMutablePointer<gnutls_pcert_st>?>?, UnsafeMutablePointer<UInt32>?, UnsafeMutablePointer<gnutls_privkey_t?>?
) -> Int32 = { _, _, _, _, _, chain, count, key in
    guard let certificate = TLSCertificateStore.current, let chain, let count, let key else { return -1 }
    chain.pointee = certificate.chain
    count.pointee = certificate.count
    key.pointee = certificate.key
    return 0
}

/// What a TLS connection's client certificate allows.
enum ClientCertificateCheck {
    case allowed
    case missing
    case invalid
}

extension TLSClientAuth {
    /// Checks the session's peer certificate against the CA list.
    func check(session: UnsafeMutableRawPointer) -> ClientCertificateCheck {
        let session = OpaquePointer(session)
        guard keyway_gnutls_peer_has_certificate(session) != 0 else {
            return self == .yes ? .missing : .allowed
        }
        return keyway_gnutls_verify_peer(session) == 0 ? .allowed : .invalid
    }
}
