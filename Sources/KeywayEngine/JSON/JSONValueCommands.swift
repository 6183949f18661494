/// RedisJSON's commands on the values inside a document: numbers,
/// strings, booleans, arrays and objects. Each applies to every match of
/// its path and answers in RedisJSON's two shapes (see `JSONSupport`).
enum JSONValueCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("json.numincrby", arity: 4, flags: [.write, .denyOOM], handler: { c throws(CommandError) in try arithmetic(c, .add) }),
        CommandSpec("json.nummultby", arity: 4, flags: [.write, .denyOOM], handler: { c throws(CommandError) in try arithmetic(c, .multiply) }),
        CommandSpec("json.strappend", arity: -3, flags: [.write, .denyOOM], handler: strappend),
        CommandSpec("json.strlen", arity: -2, flags: [.readonly, .fast], handler: strlen),
        CommandSpec("json.toggle", arity: 3, flags: [.write], handler: toggle),
        CommandSpec("json.clear", arity: -2, flags: [.write], handler: clear),
        CommandSpec("json.arrappend", arity: -4, flags: [.write, .denyOOM], handler: arrappend),
        CommandSpec("json.arrindex", arity: -4, flags: [.readonly], handler: arrindex),
        CommandSpec("json.arrinsert", arity: -5, flags: [.write, .denyOOM], handler: arrinsert),
        CommandSpec("json.arrlen", arity: -2, flags: [.readonly, .fast], handler: arrlen),
        CommandSpec("json.arrpop", arity: -2, flags: [.write], handler: arrpop),
        CommandSpec("json.arrtrim", arity: 5, flags: [.write], handler: arrtrim),
        CommandSpec("json.objkeys", arity: -2, flags: [.readonly], handler: objkeys),
        CommandSpec("json.objlen", arity: -2, flags: [.readonly, .fast], handler: objlen),
    ]

    // MARK: - Numbers

    enum Operation { case add, multiply }

    /// JSON.NUMINCRBY / JSON.NUMMULTBY key path number: the new values as
    /// JSON text (an array, `null` for non-numbers, for a `$` path). Two
    /// integers give an integer unless it would overflow; anything else a
    /// double, which must stay finite.
    static func arithmetic(_ c: CommandContext, _ operation: Operation) throws(CommandError) -> Reply {
        let key = c[1]
        let path = try JSONSupport.path(c[2])
        let operand = try JSONSupport.value(c[3])
        guard operand.numericValue != nil else {
            throw CommandError(.notFloat, "ERR expected a number but found \(operand.typeName)")
        }
        let event: KeyspaceEvent = operation == .add ? .jsonNumIncrBy : .jsonNumMultBy
        var newValues: [JSONNode?] = []
        let results = try JSONSupport.writeEach(c, key: key, path: path, expected: "number", event: event) { node throws(CommandError) -> Reply? in
            guard node.numericValue != nil else { newValues.append(nil); return nil }
            let result = try combine(node, operand, operation)
            node = result
            newValues.append(result)
            return JSONSupport.text(result)
        }
        if path.isLegacy { return try JSONSupport.shape(results, path: path, expected: "a number") }
        return JSONSupport.text(.array(newValues.map { $0 ?? .null }))
    }

    static func combine(_ value: JSONNode, _ operand: JSONNode, _ operation: Operation) throws(CommandError) -> JSONNode {
        if case .integer(let a) = value, case .integer(let b) = operand {
            let (result, overflow) = operation == .add ? a.addingReportingOverflow(b) : a.multipliedReportingOverflow(by: b)
            if !overflow { return .integer(result) }
        }
        let a = value.numericValue!, b = operand.numericValue!
        let result = operation == .add ? a + b : a * b
        guard result.isFinite else { throw CommandError(.overflow, "ERR result is not a finite number") }
        return .number(result)
    }

    // MARK: - Strings and booleans

    /// JSON.STRAPPEND key [path] value: the new lengths in bytes.
    static func strappend(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount <= 4 else { throw .wrongArity(c.name) }
        let path = c.argumentCount == 4 ? try JSONSupport.path(c[2]) : try JSONPath(parsing: ".")
        guard case .string(let suffix) = try JSONSupport.value(c[c.argumentCount - 1]) else {
            throw CommandError(.wrongType, "WRONGTYPE the value to append must be a JSON string")
        }
        let results = try JSONSupport.writeEach(c, key: c[1], path: path, expected: "string", event: .jsonStrAppend) { node throws(CommandError) -> Reply? in
            guard case .string(let text) = node else { return nil }
            let joined = text + suffix
            node = .string(joined)
            return .integer(Int64(joined.utf8.count))
        }
        return try JSONSupport.shape(results, path: path, expected: "string")
    }

    /// JSON.STRLEN key [path]: lengths in bytes of the strings matched.
    static func strlen(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount <= 3 else { throw .wrongArity(c.name) }
        let path = try JSONSupport.path(c, at: 2, default: ".")
        return try JSONSupport.readEach(c, key: c[1], path: path, expected: "string") { node in
            guard case .string(let text) = node else { return nil }
            return .integer(Int64(text.utf8.count))
        }
    }

    /// JSON.TOGGLE key path: the new booleans, as 1/0 for a `$` path and as
    /// `true`/`false` for a legacy one.
    static func toggle(_ c: CommandContext) throws(CommandError) -> Reply {
        let path = try JSONSupport.path(c[2])
        let results = try JSONSupport.writeEach(c, key: c[1], path: path, expected: "boolean", event: .jsonToggle) { node throws(CommandError) -> Reply? in
            guard case .bool(let value) = node else { return nil }
            node = .bool(!value)
            if path.isLegacy { return .bulk(!value ? "true" : "false") }
            return .integer(!value ? 1 : 0)
        }
        return try JSONSupport.shape(results, path: path, expected: "boolean")
    }

    /// JSON.CLEAR key [path]: empties arrays and objects and zeroes
    /// numbers; answers how many values it cleared.
    static func clear(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount <= 3 else { throw .wrongArity(c.name) }
        let path = try JSONSupport.path(c, at: 2, default: "$")
        guard try JSONSupport.document(c, c[1]) != nil else { return .integer(0) }
        let results = try JSONSupport.writeEach(c, key: c[1], path: path, expected: "container", event: .jsonClear) { node throws(CommandError) -> Reply? in
            switch node {
            case .array: node = .array([])
            case .object: node = .object([:])
            case .integer, .number: node = .integer(0)
            default: return nil
            }
            return .integer(1)
        }
        return .integer(Int64(results.replies.compactMap { $0 }.count))
    }

    // MARK: - Arrays

    /// JSON.ARRAPPEND key path value [value ...]: the new lengths.
    static func arrappend(_ c: CommandContext) throws(CommandError) -> Reply {
        let path = try JSONSupport.path(c[2])
        let values = try c.arguments.dropFirst(3).map { (bytes: Bytes) throws(CommandError) in try JSONSupport.value(bytes) }
        try checkDepth(c, path: path, valuesBelow: values)
        let results = try JSONSupport.writeEach(c, key: c[1], path: path, expected: "array", event: .jsonArrAppend) { node throws(CommandError) -> Reply? in
            guard case .array(var elements) = node else { return nil }
            node = .null
            elements.append(contentsOf: values)
            node = .array(elements)
            return .integer(Int64(elements.count))
        }
        return try JSONSupport.shape(results, path: path, expected: "array")
    }

    /// JSON.ARRINSERT key path index value [value ...]: inserts before
    /// `index` (negative counts from the end); the new lengths.
    static func arrinsert(_ c: CommandContext) throws(CommandError) -> Reply {
        let path = try JSONSupport.path(c[2])
        let index = try c.integer(at: 3)
        let values = try c.arguments.dropFirst(4).map { (bytes: Bytes) throws(CommandError) in try JSONSupport.value(bytes) }
        try checkDepth(c, path: path, valuesBelow: values)
        let results = try JSONSupport.writeEach(c, key: c[1], path: path, expected: "array", event: .jsonArrInsert) { node throws(CommandError) -> Reply? in
            guard case .array(var elements) = node else { return nil }
            let position = index < 0 ? Int64(elements.count) + index : index
            guard position >= 0, position <= Int64(elements.count) else {
                throw CommandError(.generic, "ERR index out of bounds")
            }
            node = .null
            elements.insert(contentsOf: values, at: Int(position))
            node = .array(elements)
            return .integer(Int64(elements.count))
        }
        return try JSONSupport.shape(results, path: path, expected: "array")
    }

    /// Values added to arrays sit one step below the arrays' locations:
    /// checked against the nesting bound before anything is changed.
    private static func checkDepth(_ c: CommandContext, path: JSONPath, valuesBelow values: [JSONNode]) throws(CommandError) {
        guard let document = try JSONSupport.document(c, c[1]) else { return }
        let deepest = path.locations(in: document.root).map(\.count).max() ?? 0
        for value in values { try JSONSupport.checkNesting(value, at: deepest + 1) }
    }

    /// JSON.ARRINDEX key path value [start [stop]]: the first index of
    /// `value` in [start, stop) (stop 0 means the end), or -1.
    static func arrindex(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount <= 6 else { throw .wrongArity(c.name) }
        let path = try JSONSupport.path(c[2])
        let wanted = try JSONSupport.value(c[3])
        let start = c.argumentCount > 4 ? try c.integer(at: 4) : 0
        let stop = c.argumentCount > 5 ? try c.integer(at: 5) : 0
        return try JSONSupport.readEach(c, key: c[1], path: path, expected: "array") { node in
            guard case .array(let elements) = node else { return nil }
            let count = Int64(elements.count)
            var from = start < 0 ? count + start : start
            var to = stop <= 0 ? (stop == 0 ? count : count + stop) : min(stop, count)
            from = max(0, from)
            to = max(0, to)
            guard from < to else { return .integer(-1) }
            for index in Int(from)..<Int(to) where elements[index] == wanted && sameKind(elements[index], wanted) {
                return .integer(Int64(index))
            }
            return .integer(-1)
        }
    }

    /// ARRINDEX matches `1` and `1.0` as RedisJSON does (by value), but
    /// never a number and a string.
    private static func sameKind(_ a: JSONNode, _ b: JSONNode) -> Bool {
        (a.numericValue != nil) == (b.numericValue != nil)
    }

    /// JSON.ARRLEN key [path].
    static func arrlen(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount <= 3 else { throw .wrongArity(c.name) }
        let path = try JSONSupport.path(c, at: 2, default: ".")
        return try JSONSupport.readEach(c, key: c[1], path: path, expected: "array") { node in
            guard case .array(let elements) = node else { return nil }
            return .integer(Int64(elements.count))
        }
    }

    /// JSON.ARRPOP key [path [index]]: removes and returns (as JSON text)
    /// the element at `index` (default -1, clamped into the array); nil for
    /// an empty array.
    static func arrpop(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount <= 4 else { throw .wrongArity(c.name) }
        let path = try JSONSupport.path(c, at: 2, default: ".")
        let index = c.argumentCount > 3 ? try c.integer(at: 3) : -1
        guard try JSONSupport.document(c, c[1]) != nil else {
            return path.isLegacy ? .null : .array([])
        }
        let results = try JSONSupport.writeEach(c, key: c[1], path: path, expected: "array", event: .jsonArrPop) { node throws(CommandError) -> Reply? in
            guard case .array(var elements) = node else { return nil }
            guard !elements.isEmpty else { return Reply.null }
            let count = Int64(elements.count)
            let position = Int(min(max(index < 0 ? count + index : index, 0), count - 1))
            node = .null
            let popped = elements.remove(at: position)
            node = .array(elements)
            return JSONSupport.text(popped)
        }
        return try JSONSupport.shape(results, path: path, expected: "array")
    }

    /// JSON.ARRTRIM key path start stop: keeps [start, stop] inclusive
    /// (negative from the end, out of range clamped); the new lengths.
    static func arrtrim(_ c: CommandContext) throws(CommandError) -> Reply {
        let path = try JSONSupport.path(c[2])
        let start = try c.integer(at: 3)
        let stop = try c.integer(at: 4)
        let results = try JSONSupport.writeEach(c, key: c[1], path: path, expected: "array", event: .jsonArrTrim) { node throws(CommandError) -> Reply? in
            guard case .array(let elements) = node else { return nil }
            let count = Int64(elements.count)
            let from = max(0, start < 0 ? count + start : start)
            let to = min(count - 1, stop < 0 ? count + stop : stop)
            let kept = from <= to && from < count ? Array(elements[Int(from)...Int(to)]) : []
            node = .array(kept)
            return .integer(Int64(kept.count))
        }
        return try JSONSupport.shape(results, path: path, expected: "array")
    }

    // MARK: - Objects

    /// JSON.OBJKEYS key [path]: the member names of each object matched.
    static func objkeys(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount <= 3 else { throw .wrongArity(c.name) }
        let path = try JSONSupport.path(c, at: 2, default: ".")
        return try JSONSupport.readEach(c, key: c[1], path: path, expected: "object") { node in
            guard case .object(let members) = node else { return nil }
            return .array(members.keys.map { .bulk($0) })
        }
    }

    /// JSON.OBJLEN key [path].
    static func objlen(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount <= 3 else { throw .wrongArity(c.name) }
        let path = try JSONSupport.path(c, at: 2, default: ".")
        return try JSONSupport.readEach(c, key: c[1], path: path, expected: "object") { node in
            guard case .object(let members) = node else { return nil }
            return .integer(Int64(members.count))
        }
    }
}
