import Dispatch
import KeywayEngine
import NIOConcurrencyHelpers

/// Which commands a cluster serves differently from one Redis: the ones
/// that are per node (sent to every master), and the ones only the embedded
/// engine has (refused, saying why).
enum ClusterCommandPolicy {
    /// Keyless commands whose answer is the sum of the masters' (DBSIZE),
    /// or their concatenation (KEYS), or that every master must run
    /// (FLUSHALL, SCRIPT LOAD so EVALSHA finds the script on any node).
    static let fanOut: [String: ClusterExecutor.FanOut] = [
        "dbsize": .sum,
        "keys": .concatenate,
        "flushall": .firstOK,
        "flushdb": .firstOK,
        "script": .firstOK,
    ]

    /// Commands about the gateway itself, which its embedded engine runs:
    /// users, tokens and the ACL log live in the gateway (each gateway its
    /// own; an aclfile or the config file gives several the same).
    static let gatewayOwned: Set<String> = ["acl"]

    /// Why `spec` cannot run on the cluster backend, or nil when it can.
    static func unsupported(_ spec: CommandSpec) -> String? {
        embeddedOnly[spec.name]
    }

    private static let embeddedOnly: [String: String] = {
        var reasons: [String: String] = [:]
        for name in ["save", "bgsave", "bgrewriteaof", "lastsave", "debug", "config", "shutdown", "swapdb", "move"] {
            reasons[name] = "acts on the embedded engine, which the cluster backend does not use"
        }
        for name in ["client", "monitor", "slowlog"] {
            reasons[name] = "is per node in a cluster; ask the nodes themselves"
        }
        for name in ["multi", "exec", "discard", "watch", "unwatch", "select"] {
            reasons[name] = "needs a connection of its own; use /multi-exec for transactions"
        }
        // Sent to a node, these would turn a shared connection into a
        // subscriber's, which then refuses every other command.
        for name in ["subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ssubscribe", "sunsubscribe"] {
            reasons[name] = "needs a streaming connection: use GET /v1/subscribe?"
                + (name.hasPrefix("s") ? "shard-channel" : "channel") + "=... (Server-Sent Events)"
        }
        return reasons
    }()

    /// The shard channel a command acts on, which picks its node: SPUBLISH's,
    /// and PUBSUB SHARDNUMSUB's when it names one (with several, one node
    /// answers for its own).
    static func shardChannel(of arguments: [Bytes], spec: CommandSpec) -> Bytes? {
        if spec.name == "spublish", arguments.count > 1 { return arguments[1] }
        if spec.name == "pubsub", arguments.count > 2, arguments[1].equalsIgnoringCase("shardnumsub") { return arguments[2] }
        return nil
    }

    static let crossSlot = CommandError(.crossSlot, "CROSSSLOT Keys in request don't hash to the same slot")

    static func unavailable(_ detail: String) -> CommandError {
        CommandError(.clusterUnavailable, "CLUSTERDOWN The cluster cannot serve this request now: \(detail)")
    }
}

/// Counters INFO and `/metrics` report for the cluster backend.
final class ClusterStatistics: Sendable {
    struct Counters: Sendable {
        var mapRefreshes = 0
        var movedRedirections = 0
        var askRedirections = 0
        var connectionErrors = 0
        /// Round trips to nodes, and their total time.
        var upstreamRequests = 0
        var upstreamMicroseconds = 0
        /// Reads a replica served, and reads it could not (unreachable,
        /// not serving the slot, or still behind a sync token) that went to
        /// the master.
        var replicaReads = 0
        var replicaFallbacks = 0
    }
    private let counters = NIOLockedValueBox(Counters())

    func count(_ counter: WritableKeyPath<Counters, Int> & Sendable) {
        counters.withLockedValue { $0[keyPath: counter] += 1 }
    }

    func recordRoundTrip(startedAt: UInt64) {
        let micros = Int((DispatchTime.now().uptimeNanoseconds &- startedAt) / 1000)
        counters.withLockedValue {
            $0.upstreamRequests += 1
            $0.upstreamMicroseconds += micros
        }
    }

    var snapshot: Counters { counters.withLockedValue { $0 } }
}
