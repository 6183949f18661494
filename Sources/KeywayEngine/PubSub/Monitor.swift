/// A command as MONITOR reports it.
public struct MonitoredCommand: Sendable {
    /// Unix time in microseconds when the command ran.
    public let microseconds: Int64
    public let client: String?
    public let arguments: [Bytes]
}

/// Receives every executed command (MONITOR). Called under the engine lock,
/// in execution order: it must only enqueue.
public protocol CommandWatcher: AnyObject, Sendable {
    func observe(_ command: MonitoredCommand)
}

/// The MONITOR watchers. With none registered, a command pays one
/// emptiness check.
final class MonitorRegistry {
    private var watchers: [ObjectIdentifier: any CommandWatcher] = [:]

    var isEmpty: Bool { watchers.isEmpty }

    func add(_ watcher: any CommandWatcher) { watchers[ObjectIdentifier(watcher)] = watcher }
    func remove(_ id: ObjectIdentifier) { watchers.removeValue(forKey: id) }

    func feed(_ command: MonitoredCommand) {
        for watcher in watchers.values { watcher.observe(command) }
    }
}

extension Engine {
    public func monitor(_ watcher: any CommandWatcher) -> Subscription {
        withEngineState { $0.monitors.add(watcher) }
        let id = ObjectIdentifier(watcher)
        return Subscription { [weak self] in self?.withEngineState { $0.monitors.remove(id) } }
    }
}
