/// A value stored under a key. Each data type adds its case here and its
/// structure and commands in its own file (`Hash.swift` + `HashCommands.swift`, ...).
///
/// Collections are boxed (`indirect`) so a `Value` is one word: every key's
/// entry pays for the largest case, and most keys are strings.
public enum Value: Sendable {
    case string(Bytes)
    indirect case hash(HashValue)
    indirect case list(ListValue)
    indirect case set(SetValue)
    indirect case zset(SortedSetValue)
    indirect case stream(StreamValue)
    /// A JSON document (RedisJSON's `ReJSON-RL` module type).
    indirect case json(JSONDocument)

    /// The name TYPE reports.
    public var typeName: String {
        switch self {
        case .string: return "string"
        case .hash: return "hash"
        case .list: return "list"
        case .set: return "set"
        case .zset: return "zset"
        case .stream: return "stream"
        case .json: return "ReJSON-RL"
        }
    }
}

/// A collection type stored in `Value`, so `Database` can hand it out for
/// reading or in-place mutation with one set of rules (WRONGTYPE, create on
/// first write, delete the key when it becomes empty).
public protocol CollectionValue: Sendable {
    init()
    var isEmpty: Bool { get }
    /// The collection inside `value`, or nil when `value` holds another type.
    static func peek(_ value: Value) -> Self?
    /// Moves the collection out of `value` (leaving a placeholder) so it can
    /// be mutated without a copy-on-write copy.
    static func take(_ value: inout Value) -> Self?
    /// Wraps the collection back into a `Value`.
    var wrapped: Value { get }
    /// Gives back spare room once a command's writes are done: a compact
    /// form grows by doubling, which would otherwise leave up to half of it
    /// unused.
    mutating func shrinkToFit()
}

extension CollectionValue {
    public mutating func shrinkToFit() {}
}

extension Value {
    /// A cheap stand-in left behind while a collection is taken out.
    static let placeholder = Value.string(Bytes())
}
