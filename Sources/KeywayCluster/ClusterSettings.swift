import NIOCore

/// How to reach and talk to a Redis Cluster (`backend cluster`).
public struct ClusterSettings: Sendable {
    /// Nodes to learn the slot map from (`cluster-nodes`), `host:port` each.
    public var seeds: [String]
    /// `cluster-password` (and an optional ACL user): sent as AUTH on every connection.
    public var username: String?
    public var password: String?
    /// Connections kept open to each master; requests are pipelined on them.
    public var connectionsPerNode: Int = 2
    public var connectTimeout: TimeAmount = .seconds(2)
    /// How long one request waits for a node's reply.
    public var requestTimeout: TimeAmount = .seconds(10)
    /// How long a request keeps retrying while the cluster cannot serve its
    /// slot (a node down before failover, CLUSTERDOWN, TRYAGAIN) before it
    /// is answered 503 CLUSTER_UNAVAILABLE.
    public var retryWindow: TimeAmount = .seconds(3)
    /// `cluster-read-from replicas`: read-only commands go to a replica of
    /// their slot (connections send READONLY), writes to the master.
    public var readFromReplicas = false
    /// How long a read bearing a sync token waits for a replica to catch up
    /// with the writes the token names before the master serves it.
    public var replicaCatchUpWait: TimeAmount = .milliseconds(200)
    /// How often the slot map is read again even without a redirection:
    /// replicas added or promoted, and masters that left, show up then.
    public var mapRefreshInterval: TimeAmount = .seconds(5)

    public init(seeds: [String]) {
        self.seeds = seeds
    }
}
