import ArgumentParser
import Foundation
import KeywayCluster
import KeywayEngine
import KeywayGateway
import KeywayHTTP
import Logging
#if canImport(Glibc)
import Glibc
#endif

struct Serve: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(abstract: "Run the server (the default command).", discussion: settingsHelp)
    }

    /// The settings' flags, generated from the two tables.
    static var settingsHelp: String {
        """
        Every setting below is a flag (--name value or --name=value) and a config file
        directive of the same name (name value); the flags override the file, and
        KEYWAY_TOKEN overrides the file's requirepass. docs/CONFIGURATION.md lists them all.

        SERVER SETTINGS:
        \(ServerSettings.table.flagHelp().joined(separator: "\n"))

        ENGINE SETTINGS (CONFIG GET/SET):
        \(ConfigTable.engine.flagHelp().joined(separator: "\n"))
        """
    }

    @Option(help: "A redis.conf-style configuration file; flags given here override it.")
    var config: String?

    @Flag(help: "Allow listening beyond loopback without a token (like Redis's protected-mode no).")
    var unprotected = false

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Settings as --name value, listed below.", valueName: "setting"))
    var settings: [String] = []

    /// Defaults, then the config file, then KEYWAY_TOKEN, then the flags.
    /// The engine's parameters are applied to `engine`; the rest are
    /// returned, with the file's directives Keyway does not act on yet.
    func resolveSettings(engine: Engine) throws -> (ServerSettings, notYetEffective: [String]) {
        final class Box { var settings = ServerSettings() }
        let box = Box()
        var text: String?
        if let config {
            guard let contents = try? String(contentsOfFile: config, encoding: .utf8) else {
                throw ValidationError("cannot read the config file '\(config)'")
            }
            text = contents
        }
        let notYetEffective = try engine.withDatabase { db, server throws -> [String] in
            let target = EngineSettings(db: db, server: server)
            let reader = ConfigReader(
                ServerSettings.table.bound { change in change(&box.settings) }
                    + ConfigTable.engine.bound { change in var engine = target; change(&engine) },
                inactive: ServerSettings.recognisedButInactive)
            var notYetEffective: [String] = []
            do {
                if let text {
                    do {
                        notYetEffective = try reader.read(ConfigFile(parsing: text))
                    } catch let error as ConfigFile.ParseError {
                        throw ValidationError("config file \(error)")
                    }
                }
                if let environment = getenv("KEYWAY_TOKEN"), environment.pointee != 0 {
                    box.settings.token = String(cString: environment)
                }
                try reader.read(flags: settings)
            } catch let failure as ConfigReader.Failure {
                throw ValidationError(failure.message)
            }
            return notYetEffective
        }
        if unprotected { box.settings.unprotected = true }
        return (box.settings, notYetEffective)
    }

    /// ACL users from the aclfile or `user` lines, the default user's
    /// password, issued tokens, and the JWT verifier when configured.
    static func setUpAccessControl(_ access: AccessControl, settings: ServerSettings, logger: Logger) throws -> JWTAuthenticator? {
        if settings.aclFile != nil && !settings.users.isEmpty {
            throw ValidationError("configuring users in the config file and in an aclfile at the same time is not allowed: use one")
        }
        access.configureFiles(aclFile: settings.aclFile, tokenFile: settings.aclTokenFile)
        if let aclFile = settings.aclFile {
            if FileManager.default.fileExists(atPath: aclFile) {
                do { try access.loadACLFile() } catch { throw ValidationError(error.message) }
            } else {
                logger.warning("aclfile \(aclFile) does not exist yet: only the default user until ACL SAVE writes it")
            }
        }
        for words in settings.users {
            do { try access.setUser(words[0], rules: Array(words.dropFirst())) } catch {
                throw ValidationError("user \(words[0]): \(error.message)")
            }
        }
        if let token = settings.token { access.setDefaultPassword(token) }
        do { try access.loadTokens() } catch { throw ValidationError("acl-token-file: \(error)") }
        var key = settings.jwtKey
        if let file = settings.jwtKeyFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("cannot read jwt-key-file '\(file)'")
            }
            key = text
        }
        guard let key else { return nil }
        return try JWTAuthenticator(JWTSettings(key: key, userClaim: settings.jwtUserClaim, audience: settings.jwtAudience))
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1"
    }

    func run() throws {
        let engine = Engine()
        let (settings, notYetEffective) = try resolveSettings(engine: engine)
        let level = settings.logLevel
        let bindAddress = settings.bindAddress
        let effectiveToken = settings.token
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "keyway")

        // Protected mode: refuse to expose an open store to the network.
        if !notYetEffective.isEmpty {
            logger.warning("config directives accepted but not yet effective in Keyway: \(notYetEffective.joined(separator: ", "))")
        }
        let jwt: JWTAuthenticator?
        do {
            jwt = try Self.setUpAccessControl(engine.accessControl!, settings: settings, logger: logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        let openToAll = !engine.accessControl!.requiresAuthentication
        if !Self.isLoopback(bindAddress) && openToAll && !settings.unprotected {
            throw ValidationError("""
                refusing to listen on \(bindAddress) without a token (protected mode).
                Set one with --token <secret> or KEYWAY_TOKEN=<secret> (or give the default user a
                password or turn it off in the aclfile), bind to 127.0.0.1,
                or pass --unprotected if the network is trusted.
                """)
        }

        // Block the stop signals before any thread starts, so only sigwait sees them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signal(SIGPIPE, SIG_IGN)
        // A file grown past RLIMIT_FSIZE fails its write(2) with EFBIG, which
        // the AOF and snapshot writers handle (MISCONF); the signal that comes
        // with it would kill the process.
        signal(SIGXFSZ, SIG_IGN)
        System.limitMallocArenas(to: 2)

        engine.withDatabase { _, server in
            server.configFilePath = config.map { path in path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path }
        }
        var gatewayConfiguration = GatewayConfiguration(token: effectiveToken, maxEventStreams: settings.maxStreams)
        gatewayConfiguration.sessions = settings.sessions
        gatewayConfiguration.cache = settings.cache
        gatewayConfiguration.rateLimit = settings.rateLimit
        gatewayConfiguration.browser = settings.browserPolicy
        gatewayConfiguration.allowQueryToken = settings.allowQueryToken
        gatewayConfiguration.jwt = jwt
        gatewayConfiguration.metricsOpen = settings.metricsOpen
        let dashboard = DashboardAvailability(setting: settings.ui, listensBeyondLoopback: !Self.isLoopback(bindAddress),
                                              requiresAuthentication: !openToAll)
        gatewayConfiguration.dashboard = dashboard == .served
        if dashboard == .unprotectedNetwork {
            logger.warning("the dashboard (/ui) is off: listening on \(bindAddress) beyond loopback without a password or token")
        }
        gatewayConfiguration.eventStreamLimits = settings.eventStreamLimits
        gatewayConfiguration.eventStreamBufferTotal = settings.eventStreamBufferTotal
        // With the cluster backend the engine only holds the settings and the
        // ACL users; every command goes to the cluster.
        var cluster: ClusterExecutor?
        if settings.backend == .cluster {
            do {
                cluster = try Self.connectCluster(settings: settings, engine: engine, logger: logger)
            } catch {
                logger.critical("\(error)")
                throw ExitCode.failure
            }
        }
        let gateway = Gateway(executor: cluster ?? engine, configuration: gatewayConfiguration)
        var configuration = HTTPServerConfiguration()
        configuration.bindAddress = bindAddress
        configuration.port = settings.port
        configuration.threads = settings.threads
        configuration.maxBodyBytes = settings.maxBody
        configuration.connectionLimit = settings.maxConnections
        configuration.connectionMemoryBytes = settings.clientHeaderBuffer
        configuration.connectionTimeoutSeconds = settings.idleTimeout
        configuration.headerTimeoutSeconds = Double(settings.headerTimeoutMilliseconds) / 1000
        configuration.bodyTimeoutSeconds = Double(settings.bodyTimeoutMilliseconds) / 1000
        configuration.maxConnectionsPerAddress = settings.maxConnectionsPerAddress
        do {
            configuration.tls = try settings.tlsConfiguration()
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        if let destination = settings.accessLog {
            do {
                configuration.accessLog = try AccessLog(destination: AccessLog.Destination(destination), logger: logger)
            } catch {
                logger.critical("\(error)")
                throw ExitCode.failure
            }
            logger.info("writing the access log", metadata: ["destination": "\(destination)"])
        }
        let accessLog = configuration.accessLog
        // Redis's port 0 with a TLS port: HTTPS only.
        configuration.plainHTTP = !(settings.port == 0 && configuration.tls != nil)
        let server = HTTPServer(configuration: configuration, router: gateway.makeRouter(), logger: logger)
        do {
            try server.start()
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        engine.withDatabase { _, state in
            state.serverFields.append(("tcp_port", String(server.port)))
            if server.configuration.tls != nil { state.serverFields.append(("tls_port", String(server.tlsPort))) }
        }
        // SHUTDOWN stops the process the way a signal does.
        let shutdownRequest = ShutdownRequest()
        engine.setShutdownHandler { save in
            shutdownRequest.withLock { $0 = save }
            kill(getpid(), SIGTERM)
        }
        // CLIENT and INFO's clients section read the server's connections.
        HTTPClientDirectory.install(server, on: engine, eventStreamBudget: gateway.eventStreamBudget)
        /// SIGHUP, with either backend.
        func reopenOnHangup() {
            // The access log file is opened again (after logrotate moved it).
            if let accessLog, case .file = accessLog.destination {
                do {
                    try accessLog.reopen()
                    logger.info("received SIGHUP: reopened the access log", metadata: ["destination": "\(accessLog.destination)"])
                } catch {
                    logger.error("received SIGHUP: access log not reopened, writing to the previous file: \(error)")
                }
            }
            // New HTTPS handshakes get the certificate and key as the files
            // hold them now; open connections are untouched.
            guard server.configuration.tls != nil else {
                logger.info("received SIGHUP: no TLS certificate to reload (tls-port 0)")
                return
            }
            do {
                let serial = try server.reloadTLSCertificate()
                logger.info("received SIGHUP: reloaded the TLS certificate and key", metadata: ["certificate_serial": "\(serial)"])
            } catch {
                logger.error("received SIGHUP: TLS certificate not reloaded, the previous one stays: \(error)")
            }
        }
        if let cluster {
            logger.info("ready to accept requests", metadata: [
                "port": "\(server.port)", "tls_port": "\(server.tlsPort)", "auth": "\(openToAll ? "off" : "acl")",
                "backend": "cluster", "masters": "\(cluster.knownMasters.count)",
            ])
            var received: Int32 = 0
            while true {
                sigwait(&signals, &received)
                guard received == SIGHUP else { break }
                reopenOnHangup()
            }
            logger.info("\(received == SIGINT ? "received SIGINT" : "received SIGTERM"), shutting down")
            server.stop()
            accessLog?.close()
            cluster.shutdown()
            return
        }
        // Load the data while already listening: requests meanwhile get
        // 503 LOADING instead of connection refused. With the append-only
        // file on, it is the source of truth; otherwise the snapshot.
        let snapshotPath = engine.withSnapshotState { $0.path }
        let dataDirectory = engine.withSnapshotState { $0.directory }
        for name in TemporaryFiles.removeLeftovers(in: dataDirectory) {
            logger.warning("removed \(name), left behind by a save or rewrite that did not finish")
        }
        do {
            try loadData(engine: engine, appendOnly: engine.withDatabase { _, server in server.appendOnly.configured }, snapshotPath: snapshotPath, logger: logger)
        } catch {
            logger.critical("\(error)")
            server.stop()
            throw ExitCode.failure
        }
        engine.startBackgroundTasks()
        if dashboard == .served {
            logger.info("dashboard at http://\(bindAddress.contains(":") ? "[\(bindAddress)]" : bindAddress):\(server.port)/ui")
        }
        logger.info("ready to accept requests", metadata: [
            "port": "\(server.port)", "tls_port": "\(server.tlsPort)", "auth": "\(openToAll ? "off" : "acl")",
            "users": "\(engine.accessControl!.users.count)", "jwt": "\(jwt?.algorithm ?? "off")",
        ])

        var received: Int32 = 0
        while true {
            sigwait(&signals, &received)
            guard received == SIGHUP else { break }
            reopenOnHangup()
        }
        let requested = shutdownRequest.withLock { $0 }
        logger.info("\(requested == nil ? (received == SIGINT ? "received SIGINT" : "received SIGTERM") : "SHUTDOWN"), shutting down")
        // A running script is stopped first: it holds the engine lock that
        // the steps below need, and may loop forever.
        let scriptWasHalfDone = engine.interruptScriptForShutdown()
        server.stop()
        if let accessLog {
            accessLog.close()
            if accessLog.droppedLines > 0 {
                logger.warning("access log: \(accessLog.droppedLines) lines were dropped", metadata: ["destination": "\(accessLog.destination)"])
            }
        }
        engine.stopBackgroundTasks()
        engine.closeAppendOnlyFile()
        // A clean shutdown saves when save rules are set, as Redis does;
        // SHUTDOWN SAVE always, SHUTDOWN NOSAVE never. A script stopped
        // half way left half its writes: those are not saved.
        let save = requested ?? .asConfigured
        if scriptWasHalfDone {
            logger.warning("a script that had written was stopped by the shutdown; not saving its partial writes")
        } else if save == .save || (save == .asConfigured && !engine.withSnapshotState({ $0.rules.isEmpty })) {
            switch engine.saveSnapshot() {
            case .error(let error): logger.error("saving on shutdown failed: \(error.message)")
            default: logger.info("saved the snapshot on shutdown", metadata: ["path": "\(snapshotPath)"])
            }
        }
    }

    /// The cluster backend, its slot map loaded: fails when no node of
    /// `cluster-nodes` answers.
    static func connectCluster(settings: ServerSettings, engine: Engine, logger: Logger) throws -> ClusterExecutor {
        guard !settings.clusterNodes.isEmpty else {
            throw ValidationError("backend cluster needs cluster-nodes (host:port,host:port,...)")
        }
        var clusterSettings = ClusterSettings(seeds: settings.clusterNodes)
        clusterSettings.username = settings.clusterUser
        clusterSettings.password = settings.clusterPassword
        clusterSettings.connectionsPerNode = settings.clusterConnections
        clusterSettings.readFromReplicas = settings.clusterReadFromReplicas
        if settings.clusterTLS {
            guard (settings.clusterTLSCertFile == nil) == (settings.clusterTLSKeyFile == nil) else {
                throw ValidationError("cluster-tls-cert-file and cluster-tls-key-file go together")
            }
            var tls = ClusterTLS()
            tls.caCertificateFile = settings.clusterTLSCACertFile
            tls.certificateFile = settings.clusterTLSCertFile
            tls.keyFile = settings.clusterTLSKeyFile
            clusterSettings.tls = tls
        } else if settings.clusterTLSCACertFile != nil || settings.clusterTLSCertFile != nil || settings.clusterTLSKeyFile != nil {
            throw ValidationError("cluster-tls-* files need cluster-tls yes")
        }
        let cluster = try ClusterExecutor(settings: clusterSettings, accessControl: engine.accessControl!, gatewayCommands: engine, logger: logger)
        try cluster.start()
        return cluster
    }

    /// Start-up loading. AOF on: replay it (a torn last command is dropped
    /// under aof-load-truncated; corruption in the middle stops the start
    /// with its offset), or, when there is none yet, load the snapshot and
    /// write a first AOF from it. AOF off: load the snapshot.
    func loadData(engine: Engine, appendOnly: Bool, snapshotPath: String, logger: Logger) throws {
        let started = Date()
        let seconds = { String(format: "%.3f", Date().timeIntervalSince(started)) }
        if appendOnly {
            let report = try engine.loadAppendOnlyFile(
                progress: { progress in
                    logger.info("loading the append-only file", metadata: [
                        "commands": "\(progress.commands)", "bytes": "\(progress.bytes)/\(progress.totalBytes)",
                    ])
                },
                warning: { logger.warning("\($0)") })
            if let report {
                logger.info("append-only file loaded", metadata: ["commands": "\(report.commands)", "seconds": "\(seconds())"])
                try engine.openAppendOnlyFile()
                return
            }
        }
        if FileManager.default.fileExists(atPath: snapshotPath) {
            logger.info("loading snapshot", metadata: ["path": "\(snapshotPath)"])
            do {
                let loaded = try engine.loadSnapshot(path: snapshotPath)
                logger.info("snapshot loaded", metadata: [
                    "keys": "\(loaded.keyspace.count)", "expired_skipped": "\(loaded.expiredKeysSkipped)", "seconds": "\(seconds())",
                ])
            } catch {
                throw ValidationError("cannot load the snapshot \(snapshotPath): \(error)")
            }
        }
        if appendOnly {
            try engine.openAppendOnlyFile()
            // The new file must hold the data loaded so far: write it whole.
            if engine.execute(Command("DBSIZE")) != .integer(0) { _ = engine.execute(Command("BGREWRITEAOF")) }
        }
    }
}

/// The save mode a SHUTDOWN command asked for; nil when a signal stops the process.
final class ShutdownRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var save: ShutdownSave?

    func withLock<R>(_ body: (inout ShutdownSave?) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&save)
    }
}
