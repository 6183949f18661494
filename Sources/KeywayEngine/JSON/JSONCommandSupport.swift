/// What the JSON commands share: reading paths and values from arguments,
/// finding the document, and RedisJSON's two reply shapes (a `$` path
/// answers one element per match; a legacy path answers its first match
/// and errors when there is none).
enum JSONSupport {
    /// The path argument at `position`, or `fallback` when it is absent.
    static func path(_ c: CommandContext, at position: Int, default fallback: String) throws(CommandError) -> JSONPath {
        guard position < c.argumentCount else { return try JSONPath(parsing: fallback) }
        return try path(c[position])
    }

    static func path(_ bytes: Bytes) throws(CommandError) -> JSONPath {
        guard let text = bytes.utf8String else { throw CommandError(.invalidPath, "ERR path is not valid UTF-8") }
        return try JSONPath(parsing: text)
    }

    /// A JSON value given as an argument (`'"text"'`, `3`, `{"a":1}`).
    static func value(_ bytes: Bytes) throws(CommandError) -> JSONNode {
        try JSONNodeParser.parse(bytes.storage)
    }

    /// The document at `key` for reading: nil when the key is missing,
    /// WRONGTYPE when it holds another type.
    static func document(_ c: CommandContext, _ key: Bytes) throws(CommandError) -> JSONDocument? {
        try c.db.read(JSONDocument.self, key)
    }

    static let missingKey = CommandError(.noSuchKey, "ERR could not perform this operation on a key that doesn't exist")
    static let newObjectsAtRoot = CommandError(.noSuchKey, "ERR new objects must be created at the root")

    static func noSuchPath(_ path: JSONPath) -> CommandError {
        CommandError(.noSuchPath, "ERR Path '\(path.errorText)' does not exist")
    }

    static func wrongType(expected: String, found node: JSONNode) -> CommandError {
        CommandError(.wrongType, "WRONGTYPE wrong type of path value - expected \(expected) but found \(node.typeName)")
    }

    /// Refuses a value that would nest deeper than the parser allows once
    /// placed `depth` steps below the root, so no document grows past the
    /// bound that keeps every walk of it shallow.
    static func checkNesting(_ node: JSONNode, at depth: Int) throws(CommandError) {
        if depth + node.depth > JSONNodeParser.maximumDepth {
            throw CommandError(.invalidJSON, "ERR the document would nest deeper than \(JSONNodeParser.maximumDepth) levels")
        }
    }

    /// A read that answers per match: `answer` gives the reply for one
    /// value, or nil when the value has the wrong type (a nil element for a
    /// `$` path, `expected`'s WRONGTYPE for a legacy one).
    static func readEach(
        _ c: CommandContext, key: Bytes, path: JSONPath, expected: String,
        _ answer: (JSONNode) -> Reply?
    ) throws(CommandError) -> Reply {
        guard let document = try document(c, key) else { return .null }
        let matches = path.matches(in: document.root).map(\.node)
        if path.isLegacy {
            guard let first = matches.first else { throw noSuchPath(path) }
            guard let reply = answer(first) else { throw wrongType(expected: expected, found: first) }
            return reply
        }
        return .array(matches.map { answer($0) ?? .null })
    }

    /// What `writeEach` did at each match: the replies (nil where the value
    /// had the wrong type), and the first such value, for the error a
    /// legacy path answers.
    struct WriteResults {
        var replies: [Reply?] = []
        var firstMismatch: JSONNode?
    }

    /// A write that changes each match in place: `change` returns the
    /// match's reply, or nil when the value has the wrong type. Emits
    /// `event` when anything changed; a missing key is an error.
    static func writeEach(
        _ c: CommandContext, key: Bytes, path: JSONPath, expected: String, event: KeyspaceEvent,
        _ change: (inout JSONNode) throws(CommandError) -> Reply?
    ) throws(CommandError) -> WriteResults {
        let results = try c.db.modify(JSONDocument.self, key, create: false) { document throws(CommandError) -> WriteResults in
            var results = WriteResults()
            for location in path.locations(in: document.root) {
                let reply = try document.update(at: location) { node throws(CommandError) -> Reply? in
                    let before = node
                    let reply = try change(&node)
                    if reply == nil && results.firstMismatch == nil { results.firstMismatch = before }
                    return reply
                } ?? nil
                results.replies.append(reply)
            }
            return results
        }
        guard let results else { throw missingKey }
        if results.replies.contains(where: { $0 != nil }) { c.db.didWrite(key, event) }
        return results
    }

    /// `writeEach`'s replies in RedisJSON's shape: an array for a `$` path;
    /// the first for a legacy path, which errors when nothing matched or the
    /// match had the wrong type.
    static func shape(_ results: WriteResults, path: JSONPath, expected: String) throws(CommandError) -> Reply {
        guard path.isLegacy else { return .array(results.replies.map { $0 ?? .null }) }
        guard let first = results.replies.first else { throw noSuchPath(path) }
        guard let reply = first else { throw wrongType(expected: expected, found: results.firstMismatch ?? .null) }
        return reply
    }

    /// A reply holding JSON text.
    static func text(_ node: JSONNode) -> Reply {
        .bulk(Bytes(JSONNodeWriter.compact.bytes(node)))
    }
}

/// The keyspace events of JSON writes, in the module class (`d`) as
/// RedisJSON announces them.
extension KeyspaceEvent {
    static let jsonSet = KeyspaceEvent("json.set", .module)
    static let jsonMerge = KeyspaceEvent("json.merge", .module)
    static let jsonDel = KeyspaceEvent("json.del", .module)
    static let jsonNumIncrBy = KeyspaceEvent("json.numincrby", .module)
    static let jsonNumMultBy = KeyspaceEvent("json.nummultby", .module)
    static let jsonStrAppend = KeyspaceEvent("json.strappend", .module)
    static let jsonToggle = KeyspaceEvent("json.toggle", .module)
    static let jsonClear = KeyspaceEvent("json.clear", .module)
    static let jsonArrAppend = KeyspaceEvent("json.arrappend", .module)
    static let jsonArrInsert = KeyspaceEvent("json.arrinsert", .module)
    static let jsonArrPop = KeyspaceEvent("json.arrpop", .module)
    static let jsonArrTrim = KeyspaceEvent("json.arrtrim", .module)
}
