import KeywayEngine
import NIOConcurrencyHelpers

/// What read-your-writes on replicas rests on: each master's replication
/// offset just after writes this gateway made there, and the sync token
/// (`Upstash-Sync-Token`) that carries them to the client and back.
///
/// With `cluster-read-from replicas`, every write is followed on the same
/// connection by `ROLE`, whose offset then counts the write. A response's
/// token names the offsets of every master this gateway has written to (and
/// those the request's own token named), so a later read bearing it, through
/// any gateway, is served by a replica only once that replica's own offset
/// (its `ROLE`, asked in the same round trip as the read) has reached its
/// master's. A token names masters by address: after a failover the new
/// master is not in it, and reads of its slots carry no wait.
final class ReplicationOffsets: Sendable {
    private let offsets = NIOLockedValueBox<[NodeAddress: Int64]>([:])

    /// `ROLE` after a write on `master`: keeps the larger offset.
    func note(_ roleReply: Reply, from master: NodeAddress) {
        guard let offset = Self.offset(ofRole: roleReply) else { return }
        offsets.withLockedValue { $0[master] = max($0[master] ?? 0, offset) }
    }

    /// The token to answer with: what this gateway saw, merged with the
    /// request's own token for the masters in `known` (so a client cannot
    /// make the response carry whatever it sent, however long).
    func token(merging request: Bytes?, known: Set<NodeAddress>) -> String {
        var merged = offsets.withLockedValue { $0 }
        if let request {
            for (master, offset) in Self.parse(request) where known.contains(master) {
                merged[master] = max(merged[master] ?? 0, offset)
            }
        }
        return Self.format(merged)
    }

    /// `ROLE`'s offset: a master's replication offset (`["master", offset,
    /// replicas]`), or how far a replica has processed its master's stream
    /// (`["slave", host, port, state, offset]`).
    static func offset(ofRole reply: Reply) -> Int64? {
        guard case .array(let parts) = reply, let first = parts.first, case .bulk(let role) = first else { return nil }
        switch role.text {
        case "master":
            if parts.count >= 2, case .integer(let offset) = parts[1] { return offset }
        case "slave", "replica":
            if parts.count >= 5, case .integer(let offset) = parts[4] { return offset }
        default:
            break
        }
        return nil
    }

    /// `host:port=offset` per master, `;` between them, in address order;
    /// `0` when there is none (what the embedded engine's first token is).
    static func format(_ offsets: [NodeAddress: Int64]) -> String {
        guard !offsets.isEmpty else { return "0" }
        return offsets.sorted { $0.key.description < $1.key.description }
            .map { "\($0.key.description)=\($0.value)" }
            .joined(separator: ";")
    }

    /// A token as offsets per master. What is not of that form (the
    /// embedded engine's plain numbers, garbage) names nothing.
    static func parse(_ token: Bytes) -> [NodeAddress: Int64] {
        var offsets: [NodeAddress: Int64] = [:]
        for entry in token.text.split(separator: ";") {
            guard let equals = entry.lastIndex(of: "="), let address = NodeAddress(String(entry[..<equals])),
                  let offset = Int64(entry[entry.index(after: equals)...]), offset >= 0 else { continue }
            offsets[address] = max(offsets[address] ?? 0, offset)
        }
        return offsets
    }
}
