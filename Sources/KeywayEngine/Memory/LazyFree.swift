import Dispatch

/// Redis's lazy freeing: a big value dropped from the keyspace (UNLINK,
/// FLUSHALL ASYNC, and DEL or FLUSHALL when `lazyfree-lazy-user-del` /
/// `lazyfree-lazy-user-flush` say so) is released on a background queue,
/// so no client waits on the engine while its memory is returned. Freeing
/// a million-key keyspace took over a second inside the lock.
///
/// Safe because a dropped value is no longer reachable from the engine:
/// the background queue holds its last reference (a snapshot being saved
/// may hold another, copy-on-write, and frees it when done).
enum LazyFree {
    /// Redis's LAZYFREE_THRESHOLD: values of fewer elements are freed in
    /// place, which costs less than handing them off.
    static let threshold = 64

    private static let queue = DispatchQueue(label: "keyway.lazyfree", qos: .utility)

    /// Releases `value` here when small, on the background queue when not.
    static func dispose(_ value: Value) {
        guard elementCount(value) > threshold else { return }
        release(value)
    }

    /// Releases `something` on the background queue.
    static func release<Something>(_ something: Something) {
        let box = LastReference(something)
        queue.async { box.drop() }
    }

    static func elementCount(_ value: Value) -> Int {
        switch value {
        case .string: return 1
        case .hash(let hash): return hash.count
        case .list(let list): return list.count
        case .set(let set): return set.count
        case .zset(let zset): return zset.count
        case .stream(let stream): return stream.length
        case .json(let document): return document.root.nodeCount
        }
    }
}

/// Carries a value to the queue that drops it.
private final class LastReference<Something>: @unchecked Sendable {
    private var something: Something?
    init(_ something: Something) { self.something = something }
    func drop() { something = nil }
}

/// `lazyfree-lazy-user-del` and `lazyfree-lazy-user-flush`, as Redis's.
public struct LazyFreeSettings: Sendable {
    /// DEL frees as UNLINK does.
    public var userDel = false
    /// FLUSHALL / FLUSHDB without SYNC or ASYNC free as with ASYNC.
    public var userFlush = false
}
