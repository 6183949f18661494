import KeywayEngine
import NIOConcurrencyHelpers

/// Which masters have hash field expiration (HPTTL and its family, Redis
/// 7.4 and later), asked of each node once with `COMMAND INFO HPTTL`: a
/// cluster may mix versions while it is upgraded, and a node's answer does
/// not change while it runs. Nodes that have the commands get them as
/// sent; the others get `FieldExpirationEmulation`.
final class FieldExpirationSupport: Sendable {
    private let known = NIOLockedValueBox<[NodeAddress: Bool]>([:])

    /// The question, one round trip.
    static let probe: [Bytes] = [Bytes("COMMAND"), Bytes("INFO"), Bytes("HPTTL")]

    /// What the node said before, nil when it has not been asked (or did
    /// not answer).
    func answer(for address: NodeAddress) -> Bool? {
        known.withLockedValue { $0[address] }
    }

    /// Keeps a node's reply to `probe`; false when the reply is not one.
    @discardableResult
    func record(_ reply: Reply, from address: NodeAddress) -> Bool {
        guard let supported = Self.hasCommand(reply) else { return false }
        known.withLockedValue { $0[address] = supported }
        return supported
    }

    /// `COMMAND INFO name`'s reply: an array with the command's details, or
    /// with nil for a command the node does not know. Nil for anything else
    /// (an error), which says nothing.
    static func hasCommand(_ reply: Reply) -> Bool? {
        guard case .array(let items) = reply, let first = items.first else { return nil }
        switch first {
        case .array(let details): return !details.isEmpty
        case .null: return false
        default: return nil
        }
    }

    /// For INFO: the masters with and without field expiration.
    func counts(of masters: [NodeAddress]) -> (with: Int, without: Int) {
        known.withLockedValue { known in
            (masters.filter { known[$0] == true }.count, masters.filter { known[$0] == false }.count)
        }
    }
}
