/// Placeholder storage; the full structure and its commands follow.
public struct HashValue: CollectionValue {
    public init() {}
    public var isEmpty: Bool { true }
    public static func peek(_ value: Value) -> HashValue? {
        if case .hash(let collection) = value { return collection }
        return nil
    }
    public static func take(_ value: inout Value) -> HashValue? {
        guard case .hash(let collection) = value else { return nil }
        value = .placeholder
        return collection
    }
    public var wrapped: Value { .hash(self) }
}
