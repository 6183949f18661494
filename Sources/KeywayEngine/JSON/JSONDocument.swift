/// The value of a JSON key: the document's root and a running estimate of
/// its size, so `MEMORY USAGE`, `INFO` and eviction read it in O(1).
///
/// Every change goes through `replace(at:with:)`, `remove(at:)` or
/// `update(at:)`, which adjust the estimate by the difference of the part
/// that changed, never by walking the whole document.
public struct JSONDocument: Sendable, Equatable {
    public private(set) var root: JSONNode
    public private(set) var memoryUsage: Int

    public init(_ root: JSONNode) {
        self.root = root
        self.memoryUsage = root.memoryUsage
    }

    /// The value at `location`, or nil.
    public subscript(location: JSONLocation) -> JSONNode? { root[location] }

    /// Puts `node` at `location` (which must exist; the root is `[]`).
    /// Returns false when it does not.
    @discardableResult
    public mutating func replace(at location: JSONLocation, with node: JSONNode) -> Bool {
        var delta = 0
        let replaced = (try? root.modify(at: location) { (slot: inout JSONNode) throws(CommandError) -> Void in
            delta = node.memoryUsage - slot.memoryUsage
            slot = node
        }) != nil
        memoryUsage += delta
        return replaced
    }

    /// Adds `member` with `node` to the object at `location`, or replaces
    /// the member if present. False when the location is not an object.
    @discardableResult
    public mutating func setMember(_ member: String, to node: JSONNode, inObjectAt location: JSONLocation) -> Bool {
        var delta = 0
        let done = (try? root.modify(at: location) { (slot: inout JSONNode) throws(CommandError) -> Bool in
            guard case .object(var members) = slot else { return false }
            slot = .null
            if let old = members[member] {
                delta = node.memoryUsage - old.memoryUsage
            } else {
                delta = node.memoryUsage + JSONNode.heapString(member) + JSONNode.memberIndexCost
            }
            members[member] = node
            slot = .object(members)
            return true
        }) ?? false
        memoryUsage += delta
        return done
    }

    /// Removes the value at `location` from its parent.
    @discardableResult
    public mutating func remove(at location: JSONLocation) -> JSONNode? {
        guard let removed = root.remove(at: location) else { return nil }
        memoryUsage -= removed.memoryUsage
        if case .member(let name)? = location.last {
            memoryUsage -= JSONNode.heapString(name) + JSONNode.memberIndexCost
        }
        return removed
    }

    /// Runs `body` on the value at `location` in place and re-costs that
    /// value afterwards (O(size of that value)). Nil when it does not exist.
    @discardableResult
    public mutating func update<R>(at location: JSONLocation, _ body: (inout JSONNode) throws(CommandError) -> R) throws(CommandError) -> R? {
        var delta = 0
        let result = try root.modify(at: location) { (slot: inout JSONNode) throws(CommandError) -> R in
            let before = slot.memoryUsage
            defer { delta = slot.memoryUsage - before }
            return try body(&slot)
        }
        memoryUsage += delta
        return result
    }

    /// The estimate computed again from the whole tree.
    public func recountMemoryUsage() -> Int { root.memoryUsage }
}

extension JSONDocument: CollectionValue {
    public init() { self.init(.null) }

    /// A document is never empty in the keyspace's sense: `{}` and `[]`
    /// are values; only `JSON.DEL` of the root deletes the key.
    public var isEmpty: Bool { false }

    public static func peek(_ value: Value) -> JSONDocument? {
        if case .json(let document) = value { return document }
        return nil
    }

    public static func take(_ value: inout Value) -> JSONDocument? {
        guard case .json(let document) = value else { return nil }
        value = .placeholder
        return document
    }

    public var wrapped: Value { .json(self) }
}
