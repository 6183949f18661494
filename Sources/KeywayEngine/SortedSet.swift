/// Placeholder storage; the full structure and its commands follow.
public struct SortedSetValue: CollectionValue {
    public init() {}
    public var isEmpty: Bool { true }
    public static func peek(_ value: Value) -> SortedSetValue? {
        if case .zset(let collection) = value { return collection }
        return nil
    }
    public static func take(_ value: inout Value) -> SortedSetValue? {
        guard case .zset(let collection) = value else { return nil }
        value = .placeholder
        return collection
    }
    public var wrapped: Value { .zset(self) }
}
