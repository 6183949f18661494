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

    /// `A`: every class except key-miss and new-key, as in Redis.
    public static let all: KeyspaceEventFlags = [.generic, .string, .list, .set, .hash, .zset, .expired, .evicted, .stream]

    private static let letters: [(Character, KeyspaceEventFlags)] = [
        ("g", .generic), ("$", .string), ("l", .list), ("s", .set), ("h", .hash), ("z", .zset),
        ("x", .expired), ("e", .evicted), ("t", .stream), ("m", .keyMiss), ("n", .newKey),
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

    /// The class of a write event name, as Redis files each event.
    static func eventClass(_ event: String) -> KeyspaceEventFlags {
        switch event {
        // Writes Redis does not announce (consumer-group bookkeeping).
        case "xack", "xreadgroup", "xclaim", "xautoclaim": return []
        case "expired": return .expired
        case "evicted": return .evicted
        case "del", "expire", "rename_from", "rename_to", "copy_to", "persist", "restore", "new": return .generic
        case "set", "setrange", "incrby", "decrby", "incrbyfloat", "append": return .string
        default: break
        }
        switch event.first {
        case "l", "r", "b": return .list      // lpush, rpush, lpop, rpop, lset, linsert, lrem, ltrim, blmove...
        case "h": return .hash
        case "s": return .set
        case "z": return .zset
        case "x": return .stream
        default: return .generic
        }
    }
}

extension Database {
    /// Publishes the keyspace and keyevent notifications of one write.
    func notifyKeyspaceEvent(_ event: String, key: Bytes) {
        let flags = notifyKeyspaceEvents
        let eventClass = KeyspaceEventFlags.eventClass(event)
        guard !eventClass.isEmpty, flags.contains(eventClass), !pubsub.isEmpty else { return }
        let eventBytes = Bytes(event)
        if flags.contains(.keyspace) {
            pubsub.publish(channel: Bytes(Array("__keyspace@0__:".utf8) + key.storage), payload: eventBytes)
        }
        if flags.contains(.keyevent) {
            pubsub.publish(channel: Bytes(Array("__keyevent@0__:".utf8) + eventBytes.storage), payload: key)
        }
    }
}
