/// Placeholder storage; the full structure and its commands follow.
public struct ListValue: CollectionValue {
    public init() {}
    public var isEmpty: Bool { true }
    public static func peek(_ value: Value) -> ListValue? {
        if case .list(let collection) = value { return collection }
        return nil
    }
    public static func take(_ value: inout Value) -> ListValue? {
        guard case .list(let collection) = value else { return nil }
        value = .placeholder
        return collection
    }
    public var wrapped: Value { .list(self) }
}
