#if canImport(Glibc)
import Glibc
#endif
import KeywayEngine

/// One of Keyway's own commands (the middleware's, and the resource API's
/// typed delete) as the call of its script (`MiddlewareScript`) on the
/// master of its slot: the arguments checked here first, with the engine's
/// errors, and the script's reply given the engine's shape, so the routes
/// above cannot tell the backends apart.
struct MiddlewareCall: Sendable {
    enum Kind: Sendable, Equatable {
        case rateLimit
        /// `KEYWAY.LOCK`; a lock still held after the script ran waits up
        /// to `waitMilliseconds` (see `ClusterLockWaiter`).
        case lock(waitMilliseconds: Int64)
        case unlock
        case extend
        case hashPatch
        case deleteTyped
        /// A hash field TTL read on a node without field expiration (see
        /// `FieldExpirationEmulation`).
        case fieldExpiration
    }

    let kind: Kind
    let script: MiddlewareScript
    let keys: [Bytes]
    let arguments: [Bytes]

    /// The command names this covers, as the command table spells them.
    static let names: Set<String> = ["ratelimit", "keyway.lock", "keyway.unlock", "keyway.extend", "keyway.hpatch", "keyway.deltype"]

    /// The call for `command`, nil when it is not a middleware command.
    /// Throws what the engine would answer for bad arguments.
    init?(_ command: [Bytes], spec: CommandSpec) throws(CommandError) {
        guard Self.names.contains(spec.name) else { return nil }
        switch spec.name {
        case "ratelimit":
            let parsed = try RateLimitArguments(command)
            kind = .rateLimit
            script = .rateLimit
            keys = [command[1]]
            arguments = [Bytes(parsed.algorithm.rawValue), Parse.bytes(parsed.limit), Parse.bytes(parsed.windowMilliseconds),
                         Parse.bytes(parsed.cost), Bytes(parsed.peek ? "1" : "0")]
        case "keyway.lock":
            let ttl = try Self.timeToLive(command[4], command: spec.name)
            let wait = try Parse.integer(command[5])
            if wait < 0 { throw CommandError(.generic, "ERR timeout is negative") }
            kind = .lock(waitMilliseconds: wait)
            script = .lock
            keys = [command[1], command[2]]
            arguments = [command[3], Parse.bytes(ttl)]
        case "keyway.unlock":
            kind = .unlock
            script = .unlock
            keys = [command[1]]
            arguments = [command[2]]
        case "keyway.extend":
            let ttl = try Self.timeToLive(command[3], command: spec.name)
            kind = .extend
            script = .extend
            keys = [command[1]]
            arguments = [command[2], Parse.bytes(ttl)]
        case "keyway.deltype":
            let expected = command[2].lowercasedASCII
            guard TypedDelete.knownTypes.contains(expected) else {
                throw CommandError(.syntax, "ERR unknown type '\(command[2].text)'; use string, list, set, zset, hash or stream")
            }
            kind = .deleteTyped
            script = .deleteTyped
            keys = [command[1]]
            arguments = [Bytes(expected)]
        default:
            let ttl = try Parse.integer(command[2])
            guard ttl >= 0, ttl <= Int64.max / 2 - Self.nowMilliseconds else { throw .invalidExpire(spec.name) }
            let setCount = try Parse.integer(command[3])
            guard setCount >= 0, setCount <= Int64(command.count - 4) / 2 else { throw .syntax }
            kind = .hashPatch
            script = .hashPatch
            keys = [command[1]]
            arguments = [Parse.bytes(ttl), Parse.bytes(setCount)] + command[4...]
        }
    }

    /// A TTL in milliseconds as the engine takes it: positive, and not so
    /// large that its deadline overflows.
    private static func timeToLive(_ text: Bytes, command: String) throws(CommandError) -> Int64 {
        let ttl = try Parse.integer(text)
        guard ttl > 0, ttl <= Int64.max / 2 - nowMilliseconds else { throw .invalidExpire(command) }
        return ttl
    }

    private static var nowMilliseconds: Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// `EVALSHA sha numkeys keys... arguments...`: the usual call, once the
    /// node has the script.
    var evalSHA: [Bytes] { [Bytes("EVALSHA"), Bytes(script.sha), Parse.bytes(Int64(keys.count))] + keys + arguments }

    /// `EVAL source numkeys ...`: the first call on a node, and inside
    /// MULTI, where a NOSCRIPT could not be answered by sending again.
    var eval: [Bytes] { [Bytes("EVAL"), Bytes(script.source), Parse.bytes(Int64(keys.count))] + keys + arguments }

    /// `SCRIPT LOAD source`: written ahead of a pipeline's EVALSHAs, so
    /// that a node which lost its scripts (a failover, SCRIPT FLUSH) has
    /// them before they run. A NOSCRIPT answered there instead would be
    /// sent again after the pipeline's later commands had run, out of
    /// order with them.
    var load: [Bytes] { [Bytes("SCRIPT"), Bytes("LOAD"), Bytes(script.source)] }

    /// The script's reply in the engine command's shape.
    func engineReply(_ reply: Reply) -> Reply {
        switch kind {
        case .lock:
            // {-1, pttl}: still held, which the engine answers with nil.
            if case .array(let parts) = reply, parts.first == .integer(-1) { return .null }
            return reply
        case .hashPatch:
            // The hash comes back as HGETALL's flat list; the engine's reply is a map.
            if case .array(let parts) = reply, parts.count == 2, case .array(let pairs) = parts[0] {
                return .array([.map(pairs), parts[1]])
            }
            return reply
        case .rateLimit, .unlock, .extend, .deleteTyped, .fieldExpiration:
            return reply
        }
    }

    /// While a lock is held: how long it still has (its PTTL), nil when
    /// `reply` says anything else.
    static func heldFor(_ reply: Reply) -> Int64? {
        guard case .array(let parts) = reply, parts.count == 2, parts[0] == .integer(-1),
              case .integer(let pttl) = parts[1] else { return nil }
        return pttl
    }

    /// Whether the node answered that it does not have the script.
    static func isMissingScript(_ reply: Reply) -> Bool {
        if case .error(let error) = reply { return error.message.hasPrefix("NOSCRIPT") }
        return false
    }
}
