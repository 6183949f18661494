/// Redis's ACL command categories (`ACL CAT`), plus Keyway's own
/// `@middleware` for the commands behind rate limits, sessions and locks.
///
/// A command's categories are derived, never listed by hand: its family
/// (the file it is declared in) gives `@string`, `@hash`, ...; its flags give
/// `@read`, `@write`, `@admin`, `@blocking` and `@fast`/`@slow`; a short table
/// adds what flags cannot say (`@dangerous`, `@connection`). A new command
/// therefore always lands in its family's categories.
public struct ACLCategories: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let keyspace = ACLCategories(rawValue: 1 << 0)
    public static let read = ACLCategories(rawValue: 1 << 1)
    public static let write = ACLCategories(rawValue: 1 << 2)
    public static let set = ACLCategories(rawValue: 1 << 3)
    public static let sortedset = ACLCategories(rawValue: 1 << 4)
    public static let list = ACLCategories(rawValue: 1 << 5)
    public static let hash = ACLCategories(rawValue: 1 << 6)
    public static let string = ACLCategories(rawValue: 1 << 7)
    public static let bitmap = ACLCategories(rawValue: 1 << 8)
    public static let hyperloglog = ACLCategories(rawValue: 1 << 9)
    public static let geo = ACLCategories(rawValue: 1 << 10)
    public static let stream = ACLCategories(rawValue: 1 << 11)
    public static let pubsub = ACLCategories(rawValue: 1 << 12)
    public static let admin = ACLCategories(rawValue: 1 << 13)
    public static let fast = ACLCategories(rawValue: 1 << 14)
    public static let slow = ACLCategories(rawValue: 1 << 15)
    public static let blocking = ACLCategories(rawValue: 1 << 16)
    public static let dangerous = ACLCategories(rawValue: 1 << 17)
    public static let connection = ACLCategories(rawValue: 1 << 18)
    public static let transaction = ACLCategories(rawValue: 1 << 19)
    public static let scripting = ACLCategories(rawValue: 1 << 20)
    public static let middleware = ACLCategories(rawValue: 1 << 21)
    /// RedisJSON's commands (Redis Stack files them under `@json`).
    public static let json = ACLCategories(rawValue: 1 << 22)

    /// Every category by its `ACL CAT` name, in Redis's order.
    public static let named: [(name: String, category: ACLCategories)] = [
        ("keyspace", .keyspace), ("read", .read), ("write", .write), ("set", .set), ("sortedset", .sortedset),
        ("list", .list), ("hash", .hash), ("string", .string), ("bitmap", .bitmap), ("hyperloglog", .hyperloglog),
        ("geo", .geo), ("stream", .stream), ("pubsub", .pubsub), ("admin", .admin), ("fast", .fast), ("slow", .slow),
        ("blocking", .blocking), ("dangerous", .dangerous), ("connection", .connection), ("transaction", .transaction),
        ("scripting", .scripting), ("middleware", .middleware), ("json", .json),
    ]

    /// The category called `name` (any case); nil for an unknown one.
    public static func named(_ name: String) -> ACLCategories? {
        let lowered = name.lowercased()
        return named.first { $0.name == lowered }?.category
    }

    /// The names of the categories in this set, in `ACL CAT` order.
    public var names: [String] {
        Self.named.filter { contains($0.category) }.map(\.name)
    }

    /// A command's categories from its family and flags.
    static func of(_ spec: CommandSpec, family: ACLCategories) -> ACLCategories {
        var categories = family
        if spec.flags.contains(.write) { categories.insert(.write) }
        if spec.flags.contains(.readonly) { categories.insert(.read) }
        if spec.flags.contains(.admin) { categories.formUnion([.admin, .dangerous]) }
        if spec.flags.contains(.blocking) { categories.insert(.blocking) }
        categories.insert(spec.flags.contains(.fast) ? .fast : .slow)
        categories.formUnion(extra[spec.name] ?? [])
        return categories
    }

    /// What flags cannot say, as Redis's command table assigns it.
    private static let extra: [String: ACLCategories] = [
        "flushall": .dangerous, "flushdb": .dangerous, "keys": .dangerous, "info": .dangerous,
        "lastsave": [.admin, .dangerous], "acl": .dangerous,
        "ping": .connection, "echo": .connection, "select": .connection, "command": .connection,
        "client": .connection,
        "multi": .transaction, "exec": .transaction, "discard": .transaction, "watch": .transaction, "unwatch": .transaction,
    ]
}
