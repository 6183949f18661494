/// Keyspace notifications (`notify-keyspace-events`): which classes of
/// write events are published on `__keyspace@0__:<key>` (message: the
/// event) and `__keyevent@0__:<event>` (message: the key).
public struct KeyspaceEventFlags: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let keyspace = KeyspaceEventFlags(rawValue: 1 << 0)   // K
    public static let keyevent = KeyspaceEventFlags(rawValue: 1 << 1)   // E
    public static let generic = KeyspaceEventFlags(rawValue: 1 << 2)    // g
    public static let string = KeyspaceEventFlags(rawValue: 1 << 3)     // $
    public static let list = KeyspaceEventFlags(rawValue: 1 << 4)       // l
    public static let set = KeyspaceEventFlags(rawValue: 1 << 5)        // s
    public static let hash = KeyspaceEventFlags(rawValue: 1 << 6)       // h
    public static let zset = KeyspaceEventFlags(rawValue: 1 << 7)       // z
    public static let expired = KeyspaceEventFlags(rawValue: 1 << 8)    // x
    public static let evicted = KeyspaceEventFlags(rawValue: 1 << 9)    // e
    public static let stream = KeyspaceEventFlags(rawValue: 1 << 10)    // t
    public static let keyMiss = KeyspaceEventFlags(rawValue: 1 << 11)   // m
    public static let newKey = KeyspaceEventFlags(rawValue: 1 << 12)    // n
    public static let module = KeyspaceEventFlags(rawValue: 1 << 13)    // d: module types (JSON)

    /// `A`: every class except key-miss and new-key, as in Redis.
    public static let all: KeyspaceEventFlags = [.generic, .string, .list, .set, .hash, .zset, .expired, .evicted, .stream, .module]

    private static let letters: [(Character, KeyspaceEventFlags)] = [
        ("g", .generic), ("$", .string), ("l", .list), ("s", .set), ("h", .hash), ("z", .zset),
        ("x", .expired), ("e", .evicted), ("t", .stream), ("d", .module), ("m", .keyMiss), ("n", .newKey),
        ("K", .keyspace), ("E", .keyevent),
    ]

    /// Parses Redis's flag string (`KEA`, `Ex`, ...); nil on an unknown letter.
    public init?(_ text: String) {
        var flags: KeyspaceEventFlags = []
        for letter in text {
            if letter == "A" { flags.formUnion(.all); continue }
            guard let match = Self.letters.first(where: { $0.0 == letter }) else { return nil }
            flags.formUnion(match.1)
        }
        self = flags
    }

    /// The canonical string, as CONFIG GET shows it.
    public var description: String {
        var text = ""
        if isSuperset(of: .all) {
            text = "A"
        } else {
            for (letter, flag) in Self.letters where flag != .keyspace && flag != .keyevent && contains(flag) { text.append(letter) }
        }
        if contains(.keyMiss) && isSuperset(of: .all) { text.append("m") }
        if contains(.newKey) && isSuperset(of: .all) { text.append("n") }
        if contains(.keyspace) { text.append("K") }
        if contains(.keyevent) { text.append("E") }
        return text
    }

    /// Whether anything would be published at all.
    var publishesAnything: Bool {
        !intersection([.keyspace, .keyevent]).isEmpty && !subtracting([.keyspace, .keyevent]).isEmpty
    }
}

/// One write event as keyspace notifications publish it: its name (the
/// message on `__keyspace@0__:<key>`, the channel suffix of
/// `__keyevent@0__:<event>`) and the class of `notify-keyspace-events` it is
/// filed under, as Redis's `notifyKeyspaceEvent(NOTIFY_HASH, "hset", ...)`.
/// Each family declares its events next to its commands (`KeyspaceEvent.hset`
/// in HashCommands.swift); the key-lifecycle events every family emits are
/// below.
public struct KeyspaceEvent: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    /// The one class that lets the event through; empty for a write Redis
    /// does not announce.
    public let kind: KeyspaceEventFlags

    public init(_ name: String, _ kind: KeyspaceEventFlags) {
        self.name = name
        self.kind = kind
    }

    /// A write that changes data but publishes nothing (consumer-group
    /// bookkeeping such as XACK): it still counts as a write, wakes blocked
    /// clients and reaches write observers.
    public init(unannounced name: String) { self.init(name, []) }

    public var description: String { name }
}

/// Key-lifecycle events, emitted by every family.
extension KeyspaceEvent {
    static let del = KeyspaceEvent("del", .generic)
    static let expire = KeyspaceEvent("expire", .generic)
    static let persist = KeyspaceEvent("persist", .generic)
    static let renameFrom = KeyspaceEvent("rename_from", .generic)
    static let renameTo = KeyspaceEvent("rename_to", .generic)
    static let copyTo = KeyspaceEvent("copy_to", .generic)
    static let expired = KeyspaceEvent("expired", .expired)
    static let evicted = KeyspaceEvent("evicted", .evicted)
}

extension Database {
    /// Publishes the keyspace and keyevent notifications of one write.
    func notifyKeyspaceEvent(_ event: KeyspaceEvent, key: Bytes) {
        let flags = notifyKeyspaceEvents
        guard !event.kind.isEmpty, flags.contains(event.kind), !pubsub.isEmpty else { return }
        let eventBytes = Bytes(event.name)
        if flags.contains(.keyspace) {
            pubsub.publish(channel: Bytes(Array("__keyspace@0__:".utf8) + key.storage), payload: eventBytes)
        }
        if flags.contains(.keyevent) {
            pubsub.publish(channel: Bytes(Array("__keyevent@0__:".utf8) + eventBytes.storage), payload: key)
        }
    }
}
