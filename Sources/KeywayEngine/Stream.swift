/// Placeholder storage; the full structure and its commands follow.
public struct StreamValue: CollectionValue {
    public init() {}
    public var isEmpty: Bool { true }
    public static func peek(_ value: Value) -> StreamValue? {
        if case .stream(let stream) = value { return stream }
        return nil
    }
    public static func take(_ value: inout Value) -> StreamValue? {
        guard case .stream(let stream) = value else { return nil }
        value = .placeholder
        return stream
    }
    public var wrapped: Value { .stream(self) }
}
