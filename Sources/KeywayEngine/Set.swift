/// Placeholder storage; the full structure and its commands follow.
public struct SetValue: CollectionValue {
    public init() {}
    public var isEmpty: Bool { true }
    public static func peek(_ value: Value) -> SetValue? {
        if case .set(let collection) = value { return collection }
        return nil
    }
    public static func take(_ value: inout Value) -> SetValue? {
        guard case .set(let collection) = value else { return nil }
        value = .placeholder
        return collection
    }
    public var wrapped: Value { .set(self) }
}
