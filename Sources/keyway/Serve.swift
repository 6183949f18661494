import ArgumentParser
import KeywayEngine
import KeywayGateway
import KeywayHTTP
import Logging
#if canImport(Glibc)
import Glibc
#endif

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server (the default command).")

    @Option(help: "Address to listen on (IPv4 or IPv6; 'localhost' means 127.0.0.1).")
    var bind: String = "127.0.0.1"

    @Option(help: "TCP port to listen on; 0 picks a free one and logs it.")
    var port: UInt16 = 7379

    @Option(help: "Bearer token clients must send (also read from KEYWAY_TOKEN).")
    var token: String?

    @Option(name: .customLong("max-body"), help: "Largest request body in bytes; larger requests get 413.")
    var maxBody: Int = 64 * 1024 * 1024

    @Option(help: "HTTP worker threads (default: one per core).")
    var threads: Int = System.coreCount

    @Option(name: .customLong("max-connections"), help: "Most simultaneous client connections.")
    var maxConnections: Int = 10_000

    @Option(name: .customLong("idle-timeout"), help: "Seconds before an idle keep-alive connection is closed.")
    var idleTimeout: Int = 300

    @Option(name: .customLong("max-streams"), help: "Most Server-Sent Event streams (subscribers) open at once; more get 503.")
    var maxStreams: Int = 10_000

    @Option(name: .customLong("notify-keyspace-events"), help: "Keyspace notification classes, as Redis's notify-keyspace-events (e.g. KEA); empty = off.")
    var notifyKeyspaceEvents: String = ""

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(help: "Allow listening beyond loopback without a token (like Redis's protected-mode no).")
    var unprotected = false

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        guard maxBody > 0 else { throw ValidationError("--max-body must be positive") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be positive") }
        guard maxStreams > 0 else { throw ValidationError("--max-streams must be positive") }
        guard KeyspaceEventFlags(notifyKeyspaceEvents) != nil else {
            throw ValidationError("--notify-keyspace-events: unknown class letter in '\(notifyKeyspaceEvents)'; use letters of 'Ag$lshzxetmnKE'")
        }
    }

    var effectiveToken: String? {
        if let token, !token.isEmpty { return token }
        if let environment = getenv("KEYWAY_TOKEN"), environment.pointee != 0 {
            return String(cString: environment)
        }
        return nil
    }

    var bindAddress: String { bind == "localhost" ? "127.0.0.1" : bind }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1"
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "keyway")

        // Protected mode: refuse to expose an open store to the network.
        if !Self.isLoopback(bindAddress) && effectiveToken == nil && !unprotected {
            throw ValidationError("""
                refusing to listen on \(bindAddress) without a token (protected mode).
                Set one with --token <secret> or KEYWAY_TOKEN=<secret>, bind to 127.0.0.1,
                or pass --unprotected if the network is trusted.
                """)
        }

        // Block the stop signals before any thread starts, so only sigwait sees them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signal(SIGPIPE, SIG_IGN)

        let engine = Engine()
        engine.withDatabase { db, _ in db.notifyKeyspaceEvents = KeyspaceEventFlags(notifyKeyspaceEvents) ?? [] }
        let gateway = Gateway(executor: engine, configuration: GatewayConfiguration(token: effectiveToken, maxEventStreams: maxStreams))
        var configuration = HTTPServerConfiguration()
        configuration.bindAddress = bindAddress
        configuration.port = port
        configuration.threads = threads
        configuration.maxBodyBytes = maxBody
        configuration.connectionLimit = maxConnections
        configuration.connectionTimeoutSeconds = idleTimeout
        let server = HTTPServer(configuration: configuration, router: gateway.makeRouter(), logger: logger)
        do {
            try server.start()
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        engine.withDatabase { _, state in
            state.serverFields.append(("tcp_port", String(server.port)))
            state.infoSections["clients"] = { [server] in
                [
                    ("connected_clients", String(server.openConnections)),
                    ("blocked_clients", String(server.parkedCount)),
                    ("pubsub_clients", String(server.streamCount)),
                ]
            }
        }
        engine.startBackgroundTasks()
        logger.info("ready to accept requests", metadata: [
            "port": "\(server.port)", "auth": "\(effectiveToken == nil ? "off" : "bearer token")",
        ])

        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.info("received \(received == SIGINT ? "SIGINT" : "SIGTERM"), shutting down")
        engine.stopBackgroundTasks()
        server.stop()
    }
}
