import KeywayEngine
import NIOConcurrencyHelpers

/// Which node serves each of the 16,384 slots, as `CLUSTER SLOTS` last
/// said, corrected by MOVED redirections in between. Read on every
/// request, so a lookup is an array index under a lock.
final class SlotMap: Sendable {
    private struct State {
        var masters: [NodeAddress?] = Array(repeating: nil, count: HashSlot.count)
        var replicas: [[NodeAddress]] = Array(repeating: [], count: HashSlot.count)
    }
    private let state = NIOLockedValueBox(State())

    /// The master serving `slot`, or nil when no node claims it.
    func master(of slot: Int) -> NodeAddress? {
        state.withLockedValue { $0.masters[slot] }
    }

    func replicas(of slot: Int) -> [NodeAddress] {
        state.withLockedValue { $0.replicas[slot] }
    }

    /// Every master currently known.
    var masters: [NodeAddress] {
        state.withLockedValue { Array(Set($0.masters.compactMap { $0 })) }.sorted { $0.description < $1.description }
    }

    /// How many slots some node serves.
    var coveredSlots: Int {
        state.withLockedValue { $0.masters.reduce(0) { $1 == nil ? $0 : $0 + 1 } }
    }

    /// A MOVED redirection: `slot` now lives at `address`.
    func move(slot: Int, to address: NodeAddress) {
        state.withLockedValue { $0.masters[slot] = address }
    }

    /// Replaces the map with a `CLUSTER SLOTS` reply: an array of
    /// `[start, end, [host, port, id, ...], replica...]`. An empty host
    /// means the node answering (`fallbackHost`). False when the reply is
    /// not of that shape.
    @discardableResult
    func load(clusterSlots reply: Reply, fallbackHost: String) -> Bool {
        guard case .array(let ranges) = reply else { return false }
        var masters = [NodeAddress?](repeating: nil, count: HashSlot.count)
        var replicas = [[NodeAddress]](repeating: [], count: HashSlot.count)
        for range in ranges {
            guard case .array(let parts) = range, parts.count >= 3,
                  case .integer(let start) = parts[0], case .integer(let end) = parts[1],
                  start >= 0, end < HashSlot.count, start <= end,
                  let master = Self.node(parts[2], fallbackHost: fallbackHost) else { return false }
            let others = parts.dropFirst(3).compactMap { Self.node($0, fallbackHost: fallbackHost) }
            for slot in Int(start)...Int(end) {
                masters[slot] = master
                replicas[slot] = others
            }
        }
        state.withLockedValue {
            $0.masters = masters
            $0.replicas = replicas
        }
        return true
    }

    private static func node(_ reply: Reply, fallbackHost: String) -> NodeAddress? {
        guard case .array(let fields) = reply, fields.count >= 2, case .integer(let port) = fields[1] else { return nil }
        var host = fallbackHost
        if case .bulk(let bytes) = fields[0], !bytes.isEmpty, bytes.text != "?" { host = bytes.text }
        return NodeAddress(host: host, port: Int(port))
    }
}
