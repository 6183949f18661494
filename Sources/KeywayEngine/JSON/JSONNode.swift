import OrderedCollections

/// One value of a JSON document (the `ReJSON-RL` type): a tree whose
/// objects keep their members in insertion order, as RedisJSON does.
///
/// Integers and other numbers are distinct, as RedisJSON's `JSON.TYPE`
/// (`integer` vs `number`) and `JSON.NUMINCRBY` (an integer stays one until
/// a fractional operand makes it a number) tell them apart.
public enum JSONNode: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONNode])
    case object(Members)

    /// An object's members, in insertion order.
    public typealias Members = OrderedDictionary<String, JSONNode>

    /// The name `JSON.TYPE` reports.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .integer: return "integer"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Numbers compare by value across the two numeric cases (`1 == 1.0`), as
    /// JSONPath filters and `JSON.ARRINDEX` compare them.
    public static func == (lhs: JSONNode, rhs: JSONNode) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case let (.integer(a), .number(b)): return Double(a) == b
        case let (.number(a), .integer(b)): return a == Double(b)
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            for (key, value) in a {
                guard let other = b[key], other == value else { return false }
            }
            return true
        default: return false
        }
    }

    /// The value as a Double when it is a number of either kind.
    public var numericValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        default: return nil
        }
    }
}

/// One step from a value to a child: a member of an object or an element of
/// an array. A location is the list of steps from the root.
public enum JSONStep: Sendable, Hashable {
    case member(String)
    case element(Int)
}

public typealias JSONLocation = [JSONStep]

extension JSONNode {
    /// The value at `location`, or nil when a step leads nowhere.
    public subscript(location: JSONLocation) -> JSONNode? {
        var node = self
        for step in location {
            guard let child = node.child(step) else { return nil }
            node = child
        }
        return node
    }

    /// The child one step down, or nil.
    public func child(_ step: JSONStep) -> JSONNode? {
        switch (self, step) {
        case let (.object(members), .member(name)): return members[name]
        case let (.array(elements), .element(index)):
            return elements.indices.contains(index) ? elements[index] : nil
        default: return nil
        }
    }

    /// Runs `body` on the value at `location` in place (no copy of the
    /// parents); nil when the location does not exist.
    @discardableResult
    public mutating func modify<R>(at location: JSONLocation, _ body: (inout JSONNode) throws(CommandError) -> R) throws(CommandError) -> R? {
        try modify(at: location[...], body)
    }

    private mutating func modify<R>(at location: ArraySlice<JSONStep>, _ body: (inout JSONNode) throws(CommandError) -> R) throws(CommandError) -> R? {
        guard let step = location.first else { return try body(&self) }
        let rest = location.dropFirst()
        switch (step, self) {
        case (.member(let name), .object(var members)):
            guard members[name] != nil else { return nil }
            self = .null  // drops the second reference so `members` is mutated in place
            defer { self = .object(members) }
            return try members[name]!.modify(at: rest, body)
        case (.element(let index), .array(var elements)):
            guard elements.indices.contains(index) else { return nil }
            self = .null
            defer { self = .array(elements) }
            return try elements[index].modify(at: rest, body)
        default:
            return nil
        }
    }

    /// Removes the value at `location` from its parent; returns it, or nil
    /// when there was none. The root cannot be removed this way.
    @discardableResult
    public mutating func remove(at location: JSONLocation) -> JSONNode? {
        guard let last = location.last else { return nil }
        let removed = try? modify(at: Array(location.dropLast())) { (parent: inout JSONNode) throws(CommandError) -> JSONNode? in
            switch (parent, last) {
            case (.object(var members), .member(let name)):
                parent = .null
                defer { parent = .object(members) }
                return members.removeValue(forKey: name)
            case (.array(var elements), .element(let index)):
                guard elements.indices.contains(index) else { return nil }
                parent = .null
                defer { parent = .array(elements) }
                return elements.remove(at: index)
            default:
                return nil
            }
        }
        return removed ?? nil
    }
}

extension JSONNode {
    /// The children of an array or object, with their steps, in order.
    public var children: [(JSONStep, JSONNode)] {
        switch self {
        case .array(let elements): return elements.enumerated().map { (.element($0.offset), $0.element) }
        case .object(let members): return members.map { (.member($0.key), $0.value) }
        default: return []
        }
    }

    /// Estimated heap bytes of this value and everything under it, in the
    /// engine's cost model (see `MemoryCost`): a node slot per value, and
    /// the characters of strings and member names.
    public var memoryUsage: Int {
        switch self {
        case .null, .bool, .integer, .number: return JSONNode.nodeCost
        case .string(let text): return JSONNode.nodeCost + JSONNode.heapString(text)
        case .array(let elements):
            var total = JSONNode.nodeCost + JSONNode.containerCost
            for element in elements { total += element.memoryUsage }
            return total
        case .object(let members):
            var total = JSONNode.nodeCost + JSONNode.containerCost * 2
            for (key, value) in members { total += JSONNode.heapString(key) + JSONNode.memberIndexCost + value.memoryUsage }
            return total
        }
    }

    /// How many values the tree holds (for lazy freeing).
    public var nodeCount: Int {
        switch self {
        case .array(let elements): return 1 + elements.reduce(0) { $0 + $1.nodeCount }
        case .object(let members): return 1 + members.values.reduce(0) { $0 + $1.nodeCount }
        default: return 1
        }
    }

    /// The deepest nesting of arrays and objects (a scalar is 0).
    public var depth: Int {
        switch self {
        case .array(let elements): return 1 + (elements.map(\.depth).max() ?? 0)
        case .object(let members): return 1 + (members.values.map(\.depth).max() ?? 0)
        default: return 0
        }
    }

    /// An enum payload of up to 16 bytes plus its tag, as Swift lays it out.
    static let nodeCost = 17
    /// An array's heap header (object header, count, capacity).
    static let containerCost = 32
    /// A member's slot in an object's hash index.
    static let memberIndexCost = 8
    /// Swift keeps up to 15 UTF-8 bytes inline; longer strings own a heap block.
    static func heapString(_ text: String) -> Int {
        let length = text.utf8.count
        return length <= 15 ? 0 : 32 + length
    }
}
