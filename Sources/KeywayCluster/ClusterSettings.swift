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

    /// `cluster-tls`: node connections over TLS, as nodes started with
    /// `tls-port` (and `tls-cluster yes`) expect.
    public var tls: ClusterTLS?

    public init(seeds: [String]) {
        self.seeds = seeds
    }
}

/// How node connections speak TLS (`cluster-tls yes` and its files).
public struct ClusterTLS: Sendable {
    /// PEM file of the CA that signed the nodes' certificates; without it
    /// the system's trust store decides.
    public var caCertificateFile: String?
    /// PEM certificate and key Keyway presents, for nodes that check
    /// clients (`tls-auth-clients yes`, Redis's default).
    public var certificateFile: String?
    public var keyFile: String?
    /// Whether a node's certificate must name the address it was reached
    /// at. Cluster nodes announce themselves by IP address, which
    /// certificates seldom list, so by default only the chain is checked.
    public var verifyHostname = false

    public init() {}
}
