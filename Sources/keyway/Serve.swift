import ArgumentParser
import Foundation
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

    @Option(help: "A redis.conf-style configuration file; flags given here override it.")
    var config: String?

    @Option(help: "Address to listen on (IPv4 or IPv6; 'localhost' means 127.0.0.1). Default 127.0.0.1.")
    var bind: String?

    @Option(help: "TCP port to listen on; 0 picks a free one and logs it. Default 7379.")
    var port: UInt16?

    @Option(help: "Bearer token clients must send (also read from KEYWAY_TOKEN, or requirepass in the config file).")
    var token: String?

    @Option(name: .customLong("max-body"), help: "Largest request body in bytes; larger requests get 413. Default 64 MiB.")
    var maxBody: Int?

    @Option(help: "HTTP worker threads. Default: one per core.")
    var threads: Int?

    @Option(name: .customLong("max-connections"), help: "Most simultaneous client connections. Default 10000.")
    var maxConnections: Int?

    @Option(name: .customLong("idle-timeout"), help: "Seconds before an idle keep-alive connection is closed. Default 300.")
    var idleTimeout: Int?

    @Option(name: .customLong("max-streams"), help: "Most Server-Sent Event streams (subscribers) open at once; more get 503. Default 10000.")
    var maxStreams: Int?

    @Option(name: .customLong("notify-keyspace-events"), help: "Keyspace notification classes, as Redis's notify-keyspace-events (e.g. KEA). Default off.")
    var notifyKeyspaceEvents: String?

    @Option(help: "Directory for the snapshot file. Default: the working directory.")
    var dir: String?

    @Option(help: "Snapshot file name. Default dump.rdb.")
    var dbfilename: String?

    @Option(help: "Save rules as in redis.conf: \"3600 1 300 100\" saves after 3600 s and 1 change or 300 s and 100 changes; \"\" disables. Default \"3600 1 300 100 60 10000\".")
    var save: String?

    @Option(help: "Keep an append-only file (yes/no), as Redis's appendonly. Default no.")
    var appendonly: String?

    @Option(help: "When to fsync the append-only file: always (a write answers once on disk), everysec, or no. Default everysec.")
    var appendfsync: String?

    @Option(help: "Append-only file name, in --dir. Default appendonly.aof.")
    var appendfilename: String?

    @Option(help: "Memory limit for keys and values, with Redis's units (100mb, 1gb); 0 means none. Default 0.")
    var maxmemory: String?

    @Option(name: .customLong("maxmemory-policy"), help: "What to do above --maxmemory: noeviction, allkeys-lru, volatile-lru, allkeys-lfu, volatile-lfu, allkeys-random, volatile-random or volatile-ttl. Default noeviction.")
    var maxmemoryPolicy: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. Default info.")
    var logLevel: String?

    @Option(name: .customLong("cache-origin"), help: "A cache-aside origin, repeatable: NAME=URL[,ttl=SECONDS][,stale-if-error=SECONDS], served at /v1/cache/NAME/... (ttl defaults to 60).")
    var cacheOrigins: [String] = []

    @Option(name: .customLong("cache-connect-timeout"), help: "Seconds to wait for a connection to a cache origin. Default 2.")
    var cacheConnectTimeout: Double?

    @Option(name: .customLong("cache-timeout"), help: "Seconds a cache origin request may take in all. Default 10.")
    var cacheTimeout: Double?
    @Option(name: .customLong("rate-limit"), help: "Per-client request limit as requests/seconds, e.g. 100/60 (by token, else by address; /healthz and /readyz exempt), or off. Default off.")
    var rateLimit: String?

    @Flag(help: "Allow listening beyond loopback without a token (like Redis's protected-mode no).")
    var unprotected = false

    func validate() throws {
        if let logLevel, ServerSettings.logLevel(logLevel) == nil { throw ValidationError("unknown log level '\(logLevel)'") }
        if let maxBody, maxBody <= 0 { throw ValidationError("--max-body must be positive") }
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
        if let maxConnections, maxConnections <= 0 { throw ValidationError("--max-connections must be positive") }
        if let maxStreams, maxStreams <= 0 { throw ValidationError("--max-streams must be positive") }
        if let idleTimeout, idleTimeout <= 0 { throw ValidationError("--idle-timeout must be positive") }
        if let save, SnapshotState.parseRules(save.split(separator: " ").map(String.init)) == nil {
            throw ValidationError("--save: expected pairs of seconds and changes, e.g. \"3600 1 300 100\", or \"\"")
        }
        if let appendonly, !["yes", "no"].contains(appendonly.lowercased()) { throw ValidationError("--appendonly must be yes or no") }
        if let appendfsync, AOFFsyncPolicy(rawValue: appendfsync.lowercased()) == nil {
            throw ValidationError("--appendfsync must be always, everysec or no")
        }
        if let appendfilename, appendfilename.isEmpty || appendfilename.contains("/") {
            throw ValidationError("--appendfilename can't be a path, just a filename")
        }
        if let dbfilename, dbfilename.isEmpty || dbfilename.contains("/") {
            throw ValidationError("--dbfilename can't be a path, just a filename")
        }
        if let maxmemory, MemorySize.parse(maxmemory) == nil {
            throw ValidationError("--maxmemory: expected a size such as 100mb, 1gb or plain bytes")
        }
        if let maxmemoryPolicy, EvictionPolicy(rawValue: maxmemoryPolicy.lowercased()) == nil {
            throw ValidationError("--maxmemory-policy must be one of: \(EvictionPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for origin in cacheOrigins {
            do { _ = try CacheOrigin(flag: origin) } catch { throw ValidationError("--cache-origin: \(error.message)") }
        }
        for (name, seconds) in [("--cache-connect-timeout", cacheConnectTimeout), ("--cache-timeout", cacheTimeout)] {
            if let seconds, !(seconds > 0 && seconds <= 3600) { throw ValidationError("\(name) must be seconds, 0 < s <= 3600") }
        }
        if let rateLimit, rateLimit.lowercased() != "off", GatewayRateLimit(parsing: rateLimit) == nil {
            throw ValidationError("--rate-limit: expected requests/seconds with both positive, e.g. 100/60, or off")
        }
        if let notifyKeyspaceEvents, KeyspaceEventFlags(notifyKeyspaceEvents) == nil {
            throw ValidationError("--notify-keyspace-events: unknown class letter in '\(notifyKeyspaceEvents)'; use letters of 'Ag$lshzxetmnKE'")
        }
    }

    /// Defaults, then the config file, then KEYWAY_TOKEN, then the flags.
    func resolveSettings() throws -> ServerSettings {
        var settings = ServerSettings()
        if let config {
            guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                throw ValidationError("cannot read the config file '\(config)'")
            }
            do {
                try settings.apply(ConfigFile(parsing: text))
            } catch let error as ConfigFile.ParseError {
                throw ValidationError("config file \(error)")
            }
        }
        if let environment = getenv("KEYWAY_TOKEN"), environment.pointee != 0 {
            settings.token = String(cString: environment)
        }
        if let bind { settings.bind = bind }
        if let port { settings.port = port }
        if let token, !token.isEmpty { settings.token = token }
        if let maxBody { settings.maxBody = maxBody }
        if let threads { settings.threads = threads }
        if let maxConnections { settings.maxConnections = maxConnections }
        if let idleTimeout { settings.idleTimeout = idleTimeout }
        if let maxStreams { settings.maxStreams = maxStreams }
        if let notifyKeyspaceEvents { settings.notifyKeyspaceEvents = KeyspaceEventFlags(notifyKeyspaceEvents) ?? [] }
        if let logLevel { settings.logLevel = ServerSettings.logLevel(logLevel)! }
        if let dir { settings.directory = dir }
        if let dbfilename { settings.dbFileName = dbfilename }
        if let save { settings.saveRules = SnapshotState.parseRules(save.split(separator: " ").map(String.init)) ?? [] }
        if let appendonly { settings.appendOnly = appendonly.lowercased() == "yes" }
        if let appendfsync { settings.appendFsync = AOFFsyncPolicy(rawValue: appendfsync.lowercased())! }
        if let appendfilename { settings.appendFileName = appendfilename }
        if let maxmemory { settings.maxMemory = MemorySize.parse(maxmemory)! }
        if let maxmemoryPolicy { settings.maxMemoryPolicy = EvictionPolicy(rawValue: maxmemoryPolicy.lowercased())! }
        if unprotected { settings.unprotected = true }
        for origin in cacheOrigins { settings.cache.add(try CacheOrigin(flag: origin)) }
        if let cacheConnectTimeout { settings.cache.connectTimeout = cacheConnectTimeout }
        if let cacheTimeout { settings.cache.requestTimeout = cacheTimeout }
        if let rateLimit { settings.rateLimit = GatewayRateLimit(parsing: rateLimit) }
        return settings
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1"
    }

    func run() throws {
        let settings = try resolveSettings()
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
        if !settings.notYetEffective.isEmpty {
            logger.warning("config directives accepted but not yet effective in Keyway: \(settings.notYetEffective.joined(separator: ", "))")
        }
        if !Self.isLoopback(bindAddress) && effectiveToken == nil && !settings.unprotected {
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
        engine.withDatabase { db, server in
            db.notifyKeyspaceEvents = settings.notifyKeyspaceEvents
            server.hz = settings.hz
            server.snapshots.directory = settings.directory
            server.snapshots.fileName = settings.dbFileName
            server.snapshots.rules = settings.saveRules
            server.configFilePath = config.map { path in path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path }
            server.statistics?.slowerThanMicroseconds = settings.slowerThanMicroseconds
            server.statistics?.slowLogMaxLength = settings.slowLogMaxLength
            server.scriptTimeLimitMilliseconds = settings.luaTimeLimit
            server.appendOnly.fileName = settings.appendFileName
            server.appendOnly.fsync = settings.appendFsync
            server.appendOnly.loadTruncated = settings.aofLoadTruncated
            server.appendOnly.autoRewritePercentage = settings.autoRewritePercentage
            server.appendOnly.autoRewriteMinSize = settings.autoRewriteMinSize
            db.eviction.maxMemory = settings.maxMemory
            db.eviction.policy = settings.maxMemoryPolicy
            db.eviction.samples = settings.maxMemorySamples
            db.eviction.lfuLogFactor = settings.lfuLogFactor
            db.eviction.lfuDecayTime = settings.lfuDecayTime
        }
        var gatewayConfiguration = GatewayConfiguration(token: effectiveToken, maxEventStreams: settings.maxStreams)
        gatewayConfiguration.sessions = settings.sessions
        gatewayConfiguration.cache = settings.cache
        gatewayConfiguration.rateLimit = settings.rateLimit
        let gateway = Gateway(executor: engine, configuration: gatewayConfiguration)
        var configuration = HTTPServerConfiguration()
        configuration.bindAddress = bindAddress
        configuration.port = settings.port
        configuration.threads = settings.threads
        configuration.maxBodyBytes = settings.maxBody
        configuration.connectionLimit = settings.maxConnections
        configuration.connectionTimeoutSeconds = settings.idleTimeout
        let server = HTTPServer(configuration: configuration, router: gateway.makeRouter(), logger: logger)
        do {
            try server.start()
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        engine.withDatabase { _, state in
            state.serverFields.append(("tcp_port", String(server.port)))
        }
        // CLIENT and INFO's clients section read the server's connections.
        HTTPClientDirectory.install(server, on: engine)
        // Load the data while already listening: requests meanwhile get
        // 503 LOADING instead of connection refused. With the append-only
        // file on, it is the source of truth; otherwise the snapshot.
        let snapshotPath = engine.withSnapshotState { $0.path }
        do {
            try loadData(engine: engine, settings: settings, snapshotPath: snapshotPath, logger: logger)
        } catch {
            logger.critical("\(error)")
            server.stop()
            throw ExitCode.failure
        }
        engine.startBackgroundTasks()
        logger.info("ready to accept requests", metadata: [
            "port": "\(server.port)", "auth": "\(effectiveToken == nil ? "off" : "bearer token")",
        ])

        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.info("received \(received == SIGINT ? "SIGINT" : "SIGTERM"), shutting down")
        server.stop()
        engine.stopBackgroundTasks()
        engine.closeAppendOnlyFile()
        // A clean shutdown saves when save rules are set, as Redis does.
        if !engine.withSnapshotState({ $0.rules.isEmpty }) {
            switch engine.saveSnapshot() {
            case .error(let error): logger.error("saving on shutdown failed: \(error.message)")
            default: logger.info("saved the snapshot on shutdown", metadata: ["path": "\(snapshotPath)"])
            }
        }
    }

    /// Start-up loading. AOF on: replay it (a torn last command is dropped
    /// under aof-load-truncated; corruption in the middle stops the start
    /// with its offset), or, when there is none yet, load the snapshot and
    /// write a first AOF from it. AOF off: load the snapshot.
    func loadData(engine: Engine, settings: ServerSettings, snapshotPath: String, logger: Logger) throws {
        let started = Date()
        let seconds = { String(format: "%.3f", Date().timeIntervalSince(started)) }
        if settings.appendOnly {
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
        if settings.appendOnly {
            try engine.openAppendOnlyFile()
            // The new file must hold the data loaded so far: write it whole.
            if engine.execute(Command("DBSIZE")) != .integer(0) { _ = engine.execute(Command("BGREWRITEAOF")) }
        }
    }
}
