import ArgumentParser
import KeywayEngine
import KeywayGateway
import KeywayHTTP
import Logging

/// Everything `keyway serve` runs with, resolved in order: built-in
/// defaults, then the config file (`--config`, redis.conf style), then the
/// environment (`KEYWAY_TOKEN`), then command-line flags.
struct ServerSettings {
    var bind = "127.0.0.1"
    var port: UInt16 = 7379
    var token: String?
    var maxBody = 64 * 1024 * 1024
    var threads = System.coreCount
    var maxConnections = 10_000
    var idleTimeout = 300
    var maxStreams = 10_000
    var notifyKeyspaceEvents = KeyspaceEventFlags()
    var logLevel = Logger.Level.info
    var unprotected = false
    var hz = 10
    var directory = "."
    var dbFileName = "dump.rdb"
    var saveRules = SnapshotState.defaultRules
    var appendOnly = false
    var slowerThanMicroseconds: Int64 = 10_000
    var slowLogMaxLength = 128
    var appendFileName = "appendonly.aof"
    var appendFsync = AOFFsyncPolicy.everysec
    var aofLoadTruncated = true
    var autoRewritePercentage: Int64 = 100
    var autoRewriteMinSize: Int64 = 64 * 1024 * 1024
    /// `session-ttl`, `session-sliding`, `session-cookie`, `session-cookie-secure`.
    var sessions = SessionConfiguration()
    /// lua-time-limit (Redis 7: busy-reply-threshold), milliseconds.
    var luaTimeLimit: Int64 = 5000
    var maxMemory: Int64 = 0
    var maxMemoryPolicy = EvictionPolicy.noEviction
    var maxMemorySamples = 5
    var lfuLogFactor = 10
    var lfuDecayTime = 1
    /// Cache-aside origins and their timeouts (`cache-origin`, `cache-connect-timeout`, `cache-timeout`).
    var cache = CacheSettings()
    /// Per-client request limit of the gateway (`rate-limit 100 60`); nil = off.
    var rateLimit: GatewayRateLimit?
    /// Directives Keyway knows from redis.conf but does not act on yet.
    var notYetEffective: [String] = []

    var bindAddress: String { bind == "localhost" ? "127.0.0.1" : bind }

    /// redis.conf directives Keyway recognises but does not implement yet:
    /// accepted so a Redis config file loads, and reported at start-up.
    static let recognisedButInactive: Set<String> = [
        "appenddirname", "rdbcompression",
        "rdbchecksum", "stop-writes-on-bgsave-error",
        "databases", "daemonize", "supervised", "pidfile", "logfile", "tcp-backlog",
        "tcp-keepalive",
    ]

    /// Applies a config file's directives, failing on the first bad one
    /// with its line number, as Redis refuses a bad config.
    mutating func apply(_ file: ConfigFile) throws {
        var sawSaveDirective = false
        for directive in file.directives {
            let args = directive.arguments
            func fail(_ reason: String) -> ValidationError {
                ValidationError("config file line \(directive.line): \(reason) ('\(directive.name) \(args.joined(separator: " "))')")
            }
            func single() throws -> String {
                guard args.count == 1 else { throw fail("expected exactly one argument") }
                return args[0]
            }
            func positive(_ text: String) throws -> Int {
                guard let value = Int(text), value > 0 else { throw fail("expected a positive integer") }
                return value
            }
            func yesNo() throws -> Bool {
                switch try single().lowercased() {
                case "yes": return true
                case "no": return false
                default: throw fail("expected yes or no")
                }
            }
            switch directive.name {
            case "bind":
                guard let first = args.first else { throw fail("expected an address") }
                // One listening address: the first of Redis's list.
                bind = first
            case "port":
                guard let value = UInt16(try single()) else { throw fail("expected a port number") }
                port = value
            case "requirepass", "token":
                token = try single()
            case "protected-mode":
                unprotected = !(try yesNo())
            case "maxclients", "max-connections":
                maxConnections = try positive(try single())
            case "timeout", "idle-timeout":
                guard let seconds = Int(try single()), seconds >= 0 else { throw fail("expected seconds (0 = never)") }
                // Redis's 0 means never: the longest wait libmicrohttpd takes.
                idleTimeout = seconds == 0 ? Int(Int32.max) : seconds
            case "notify-keyspace-events":
                guard let flags = KeyspaceEventFlags(args.first ?? "") , args.count <= 1 else { throw fail("invalid event class characters") }
                notifyKeyspaceEvents = flags
            case "loglevel", "log-level":
                guard let level = Self.logLevel(try single()) else { throw fail("unknown log level") }
                logLevel = level
            case "hz":
                guard let value = Int(try single()), (1...500).contains(value) else { throw fail("hz must be 1..500") }
                hz = value
            case "dir":
                directory = try single()
            case "dbfilename":
                let name = try single()
                guard !name.isEmpty, !name.contains("/") else { throw fail("dbfilename can't be a path, just a filename") }
                dbFileName = name
            case "save":
                // Several `save` lines add up, as in Redis; `save ""` clears.
                guard let rules = SnapshotState.parseRules(args) else { throw fail("Invalid save parameters") }
                if rules.isEmpty {
                    saveRules = []
                } else {
                    if !sawSaveDirective { saveRules = [] }
                    saveRules += rules
                }
                sawSaveDirective = true
            case "appendonly":
                appendOnly = try yesNo()
            case "appendfilename":
                let name = try single()
                guard !name.isEmpty, !name.contains("/") else { throw fail("appendfilename can't be a path, just a filename") }
                appendFileName = name
            case "appendfsync":
                guard let policy = AOFFsyncPolicy(rawValue: try single().lowercased()) else { throw fail("expected always, everysec or no") }
                appendFsync = policy
            case "aof-load-truncated":
                aofLoadTruncated = try yesNo()
            case "auto-aof-rewrite-percentage":
                guard let percent = Int64(try single()), percent >= 0 else { throw fail("expected a non-negative integer") }
                autoRewritePercentage = percent
            case "auto-aof-rewrite-min-size":
                guard let size = Self.memorySize(try single()) else { throw fail("expected a size such as 64mb") }
                autoRewriteMinSize = size
            case "slowlog-log-slower-than":
                guard let micros = Int64(try single()) else { throw fail("expected microseconds (negative disables)") }
                slowerThanMicroseconds = micros
            case "slowlog-max-len":
                guard let length = Int(try single()), length >= 0 else { throw fail("expected a non-negative integer") }
                slowLogMaxLength = length
            case "lua-time-limit", "busy-reply-threshold":
                guard let milliseconds = Int64(try single()), milliseconds >= 0 else { throw fail("expected milliseconds (0 = no limit)") }
                luaTimeLimit = milliseconds
            case "max-body":
                maxBody = try positive(try single())
            case "threads", "io-threads":
                threads = try positive(try single())
            case "max-streams":
                maxStreams = try positive(try single())
            case "session-ttl":
                guard let seconds = Int64(try single()), seconds > 0, seconds <= SessionConfiguration.maxTTLSeconds else {
                    throw fail("expected seconds, 1 to \(SessionConfiguration.maxTTLSeconds)")
                }
                sessions.ttlSeconds = seconds
            case "session-sliding":
                sessions.sliding = try yesNo()
            case "session-cookie":
                let name = try single()
                guard SessionConfiguration.isValidCookieName(name) else { throw fail("expected a cookie name (letters, digits, - _ . and similar)") }
                sessions.cookieName = name
            case "session-cookie-secure":
                sessions.cookieSecure = try yesNo()
            case "maxmemory":
                guard let bytes = MemorySize.parse(try single()) else { throw fail("expected a size such as 100mb") }
                maxMemory = bytes
            case "maxmemory-policy":
                guard let policy = EvictionPolicy(rawValue: try single().lowercased()) else { throw fail("unknown maxmemory policy") }
                maxMemoryPolicy = policy
            case "maxmemory-samples":
                guard let samples = Int(try single()), (1...64).contains(samples) else { throw fail("maxmemory-samples must be 1..64") }
                maxMemorySamples = samples
            case "lfu-log-factor", "lfu-decay-time":
                guard let value = Int(try single()), value >= 0, value <= Int(Int32.max) else { throw fail("expected a non-negative integer") }
                if directive.name == "lfu-log-factor" { lfuLogFactor = value } else { lfuDecayTime = value }
            case "cache-origin":
                do {
                    try cache.add(CacheOrigin(directiveArguments: args))
                } catch {
                    throw fail(error.message)
                }
            case "cache-connect-timeout", "cache-timeout":
                guard let seconds = Double(try single()), seconds > 0, seconds <= 3600 else { throw fail("expected seconds, 0 < s <= 3600") }
                if directive.name == "cache-timeout" { cache.requestTimeout = seconds } else { cache.connectTimeout = seconds }
            case "rate-limit":
                if args.count == 1 && args[0].lowercased() == "off" {
                    rateLimit = nil
                } else {
                    guard args.count == 2, let limit = GatewayRateLimit(parsing: args.joined(separator: " ")) else {
                        throw fail("expected requests and seconds, e.g. rate-limit 100 60, or off")
                    }
                    rateLimit = limit
                }
            default:
                guard Self.recognisedButInactive.contains(directive.name) else {
                    throw fail("Bad directive or wrong number of arguments")
                }
                notYetEffective.append(directive.name)
            }
        }
    }

    /// Redis's memory units: `64mb`, `1gb`, `100k`, plain bytes.
    static func memorySize(_ text: String) -> Int64? {
        let lower = text.lowercased()
        let units: [(String, Int64)] = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1000), ("b", 1)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let value = Int64(lower.dropLast(suffix.count)), value >= 0 else { return nil }
            return value * factor
        }
        return Int64(lower).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// Redis's level names and swift-log's.
    static func logLevel(_ name: String) -> Logger.Level? {
        switch name.lowercased() {
        case "verbose": return .info
        case "nothing": return .critical
        default: return Logger.Level(rawValue: name.lowercased())
        }
    }
}
