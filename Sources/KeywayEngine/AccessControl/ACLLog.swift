import Synchronization

/// `ACL LOG`: refused commands, keys and channels and failed
/// authentications, newest first. A repeat of the same refusal within a
/// minute counts on its entry instead of adding one, as in Redis.
public final class ACLLog: Sendable {
    public struct Entry: Sendable {
        public var count: Int64
        /// `command`, `key`, `channel` or `auth`.
        public let reason: String
        /// `toplevel`, `multi` or `lua`.
        public let context: String
        public let object: String
        public let username: String
        public let clientInfo: String
        public let entryID: Int64
        public let createdMilliseconds: Int64
        public var updatedMilliseconds: Int64
    }

    private struct State {
        var entries: [Entry] = []
        var nextID: Int64 = 0
        var maxLength = 128
    }

    private let state = Mutex(State())
    static let groupingWindowMilliseconds: Int64 = 60_000

    /// `acllog-max-len`.
    public var maxLength: Int {
        get { state.withLock { $0.maxLength } }
        set { state.withLock { $0.maxLength = max(0, newValue); $0.entries = Array($0.entries.prefix($0.maxLength)) } }
    }

    /// `id=7 addr=127.0.0.1`: the connection as CLIENT LIST names it.
    public static func clientInfo(id: Int64?, address: String?) -> String {
        var parts: [String] = []
        if let id { parts.append("id=\(id)") }
        if let address { parts.append("addr=\(address)") }
        return parts.joined(separator: " ")
    }

    public func record(reason: String, context: String, object: String, username: String, clientInfo: String, nowMilliseconds: Int64) {
        state.withLock { state in
            if let index = state.entries.firstIndex(where: {
                $0.reason == reason && $0.context == context && $0.object == object && $0.username == username
                    && nowMilliseconds - $0.updatedMilliseconds < Self.groupingWindowMilliseconds
            }) {
                var entry = state.entries.remove(at: index)
                entry.count += 1
                entry.updatedMilliseconds = nowMilliseconds
                state.entries.insert(entry, at: 0)
                return
            }
            guard state.maxLength > 0 else { return }
            state.entries.insert(Entry(count: 1, reason: reason, context: context, object: object, username: username,
                                       clientInfo: clientInfo, entryID: state.nextID, createdMilliseconds: nowMilliseconds,
                                       updatedMilliseconds: nowMilliseconds), at: 0)
            state.nextID += 1
            if state.entries.count > state.maxLength { state.entries.removeLast(state.entries.count - state.maxLength) }
        }
    }

    /// The newest `count` entries (all when nil).
    public func entries(_ count: Int? = nil) -> [Entry] {
        state.withLock { state in count.map { Array(state.entries.prefix($0)) } ?? state.entries }
    }

    public func reset() {
        state.withLock { $0.entries.removeAll() }
    }
}
