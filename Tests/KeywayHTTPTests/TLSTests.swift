import Foundation
import KeywayHTTP
import Testing

/// HTTPS on libmicrohttpd's GnuTLS, with certificates openssl makes in a
/// temporary directory and curl as the client. Serialized: the certificate
/// HTTPS handshakes get is one per process.
@Suite(.serialized) struct TLSTests {
    static func run(_ executable: String, _ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A CA and two server certificates (serials 0x1001, 0x1002) for 127.0.0.1.
    static func makeCertificates() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keyway-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(to: directory.appendingPathComponent("san.ext"), atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Keyway Test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server1.key", "-out", "server1.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "server1.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "0x1001", "-days", "2",
             "-extfile", "san.ext", "-out", "server1.pem"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server2.key", "-out", "server2.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "server2.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "0x1002", "-days", "2",
             "-extfile", "san.ext", "-out", "server2.pem"],
        ]
        for step in steps {
            let result = try run("openssl", step, in: directory)
            #expect(result.status == 0, "openssl \(step.joined(separator: " "))")
        }
        return directory
    }

    @Test func httpsBesidePlainHTTPAndReload() throws {
        let directory = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem"), key = directory.appendingPathComponent("key.pem")
        try FileManager.default.copyItem(at: directory.appendingPathComponent("server1.pem"), to: certificate)
        try FileManager.default.copyItem(at: directory.appendingPathComponent("server1.key"), to: key)

        var router = Router()
        router.add("GET", "/hello") { request, _ in ok("hello \(request.remoteAddress)") }
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.threads = 2
        configuration.tls = TLSConfiguration(port: 0, certificateFile: certificate.path, keyFile: key.path)
        let server = HTTPServer(configuration: configuration, router: router, logger: quietLogger)
        try server.start()
        defer { server.stop() }
        #expect(server.port != 0 && server.tlsPort != 0 && server.port != server.tlsPort)
        #expect(server.tlsCertificateSerial == "1001")

        let https = try Self.run("curl", ["-sS", "--cacert", "ca.pem", "https://127.0.0.1:\(server.tlsPort)/hello"], in: directory)
        #expect(https.output == "hello 127.0.0.1")
        let plain = try Self.run("curl", ["-sS", "http://127.0.0.1:\(server.port)/hello"], in: directory)
        #expect(plain.output == "hello 127.0.0.1")

        try FileManager.default.removeItem(at: certificate)
        try FileManager.default.removeItem(at: key)
        try FileManager.default.copyItem(at: directory.appendingPathComponent("server2.pem"), to: certificate)
        try FileManager.default.copyItem(at: directory.appendingPathComponent("server2.key"), to: key)
        #expect(try server.reloadTLSCertificate() == "1002")
        let serial = try Self.run("sh", ["-c", "openssl s_client -connect 127.0.0.1:\(server.tlsPort) -CAfile ca.pem </dev/null 2>/dev/null"
                                             + " | openssl x509 -noout -serial"], in: directory)
        #expect(serial.output.trimmingCharacters(in: .whitespacesAndNewlines) == "serial=1002")
    }

    @Test func anUnreadableCertificateRefusesToStart() throws {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.tls = TLSConfiguration(port: 0, certificateFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem")
        let server = HTTPServer(configuration: configuration, router: Router(), logger: quietLogger)
        #expect(throws: HTTPServerError.self) { try server.start() }
        do {
            try server.start()
        } catch {
            #expect("\(error)".contains("tls-cert-file /nonexistent/cert.pem: cannot read the file"))
        }
    }
}
