/// The JSON document commands of RedisJSON: whole documents and paths in
/// them (SET, GET, MGET, MSET, DEL/FORGET, TYPE, MERGE, RESP, DEBUG).
/// Per-type operations are in `JSONValueCommands`.
enum JSONCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("json.set", arity: -4, flags: [.write, .denyOOM], handler: set),
        CommandSpec("json.get", arity: -2, flags: [.readonly], handler: get),
        CommandSpec("json.mget", arity: -3, flags: [.readonly], keys: (1, -2, 1), handler: mget),
        CommandSpec("json.mset", arity: -4, flags: [.write, .denyOOM], keys: (1, -1, 3), handler: mset),
        CommandSpec("json.del", arity: -2, flags: [.write], handler: del),
        CommandSpec("json.forget", arity: -2, flags: [.write], handler: del),
        CommandSpec("json.type", arity: -2, flags: [.readonly, .fast], handler: type),
        CommandSpec("json.merge", arity: 4, flags: [.write, .denyOOM], handler: merge),
        CommandSpec("json.resp", arity: -2, flags: [.readonly], handler: resp),
        CommandSpec("json.debug", arity: -2, flags: [.readonly], keys: (2, 2, 1), handler: debug),
    ]

    // MARK: - SET, MSET

    /// JSON.SET key path value [NX|XX]: OK, or nil when the condition is not
    /// met or the path leads nowhere (its parent does not exist).
    static func set(_ c: CommandContext) throws(CommandError) -> Reply {
        var onlyIfMissing = false, onlyIfPresent = false
        for option in c.arguments.dropFirst(4) {
            if option.equalsIgnoringCase("nx") { onlyIfMissing = true }
            else if option.equalsIgnoringCase("xx") { onlyIfPresent = true }
            else { throw .syntax }
        }
        if onlyIfMissing && onlyIfPresent { throw .syntax }
        let path = try JSONSupport.path(c[2])
        let value = try JSONSupport.value(c[3])
        let stored = try store(c, key: c[1], path: path, value: value, onlyIfMissing: onlyIfMissing, onlyIfPresent: onlyIfPresent)
        return stored ? .ok : .null
    }

    /// Puts `value` at each match of `path`, or adds it as a new member of
    /// each parent object when nothing matches. Returns whether it stored.
    static func store(_ c: CommandContext, key: Bytes, path: JSONPath, value: JSONNode,
                      onlyIfMissing: Bool = false, onlyIfPresent: Bool = false) throws(CommandError) -> Bool {
        guard try JSONSupport.document(c, key) != nil else {
            guard !onlyIfPresent else { return false }
            guard path.isRoot else { throw JSONSupport.newObjectsAtRoot }
            try JSONSupport.checkNesting(value, at: 0)
            c.db.replace(key, with: JSONDocument(value))
            c.db.didWrite(key, .jsonSet)
            return true
        }
        let stored = try c.db.modify(JSONDocument.self, key, create: false) { document throws(CommandError) -> Bool in
            let matches = path.locations(in: document.root)
            if !matches.isEmpty {
                guard !onlyIfMissing else { return false }
                for location in matches {
                    try JSONSupport.checkNesting(value, at: location.count)
                }
                for location in matches { document.replace(at: location, with: value) }
                return true
            }
            guard !onlyIfPresent, let (parent, member) = path.parentAndMember else { return false }
            var added = false
            for location in parent.locations(in: document.root) {
                guard case .object? = document[location] else { continue }
                try JSONSupport.checkNesting(value, at: location.count + 1)
                added = document.setMember(member, to: value, inObjectAt: location) || added
            }
            return added
        } ?? false
        if stored { c.db.didWrite(key, .jsonSet) }
        return stored
    }

    /// JSON.MSET key path value [key path value ...]: every triple is
    /// checked before any is applied, so a bad one changes nothing.
    static func mset(_ c: CommandContext) throws(CommandError) -> Reply {
        guard (c.argumentCount - 1) % 3 == 0 else { throw .wrongArity(c.name) }
        var triples: [(Bytes, JSONPath, JSONNode)] = []
        for start in stride(from: 1, to: c.argumentCount, by: 3) {
            let key = c[start]
            let path = try JSONSupport.path(c[start + 1])
            let value = try JSONSupport.value(c[start + 2])
            let existing = try JSONSupport.document(c, key)
            let createdEarlier = triples.contains { $0.0 == key }
            if existing == nil && !createdEarlier && !path.isRoot { throw JSONSupport.newObjectsAtRoot }
            triples.append((key, path, value))
        }
        for (key, path, value) in triples {
            _ = try store(c, key: key, path: path, value: value)
        }
        return .ok
    }

    // MARK: - GET, MGET, TYPE, RESP

    /// JSON.GET key [INDENT s] [NEWLINE s] [SPACE s] [path ...].
    static func get(_ c: CommandContext) throws(CommandError) -> Reply {
        var writer = JSONNodeWriter()
        var paths: [JSONPath] = []
        var position = 2
        while position < c.argumentCount {
            let argument = c[position]
            let isOption = argument.equalsIgnoringCase("indent") || argument.equalsIgnoringCase("newline") || argument.equalsIgnoringCase("space")
            if isOption {
                guard position + 1 < c.argumentCount else { throw .syntax }
                let setting = c[position + 1].text
                if argument.equalsIgnoringCase("indent") { writer.indent = setting }
                else if argument.equalsIgnoringCase("newline") { writer.newline = setting }
                else { writer.space = setting }
                position += 2
            } else {
                paths.append(try JSONSupport.path(argument))
                position += 1
            }
        }
        guard let document = try JSONSupport.document(c, c[1]) else { return .null }
        if paths.isEmpty { paths = [try JSONPath(parsing: ".")] }
        let node = try selection(document, paths: paths)
        return .bulk(Bytes(writer.bytes(node)))
    }

    /// What JSON.GET prints for `paths`: one legacy path gives its value;
    /// one `$` path the array of its matches; several paths an object by
    /// path, of arrays when any path is `$`-style.
    static func selection(_ document: JSONDocument, paths: [JSONPath]) throws(CommandError) -> JSONNode {
        let allLegacy = paths.allSatisfy(\.isLegacy)
        func select(_ path: JSONPath) throws(CommandError) -> JSONNode {
            let matches = path.locations(in: document.root).compactMap { document[$0] }
            guard allLegacy else { return .array(matches) }
            guard let first = matches.first else { throw JSONSupport.noSuchPath(path) }
            return first
        }
        if paths.count == 1 { return try select(paths[0]) }
        var byPath = JSONNode.Members()
        for path in paths { byPath[path.text] = try select(path) }
        return .object(byPath)
    }

    /// JSON.MGET key [key ...] path: per key the JSON text, or nil for a
    /// missing key, a key of another type or a legacy path without a match.
    static func mget(_ c: CommandContext) throws(CommandError) -> Reply {
        let path = try JSONSupport.path(c[c.argumentCount - 1])
        var replies: [Reply] = []
        for key in c.arguments[1..<(c.argumentCount - 1)] {
            guard let document = (try? JSONSupport.document(c, key)) ?? nil else {
                replies.append(.null)
                continue
            }
            if let node = try? selection(document, paths: [path]) {
                replies.append(JSONSupport.text(node))
            } else {
                replies.append(.null)
            }
        }
        return .array(replies)
    }

    /// JSON.TYPE key [path]: the type name of each match.
    static func type(_ c: CommandContext) throws(CommandError) -> Reply {
        let path = try JSONSupport.path(c, at: 2, default: ".")
        guard let document = try JSONSupport.document(c, c[1]) else { return .null }
        let names = path.locations(in: document.root).compactMap { document[$0]?.typeName }
        if path.isLegacy { return names.first.map { .status($0) } ?? .null }
        return .array(names.map { .status($0) })
    }

    /// JSON.RESP key [path]: the value as RESP: `[` then the elements for an
    /// array, `{` then names and values for an object, strings for numbers
    /// with a fraction, `true`/`false` as statuses.
    static func resp(_ c: CommandContext) throws(CommandError) -> Reply {
        let path = try JSONSupport.path(c, at: 2, default: ".")
        return try JSONSupport.readEach(c, key: c[1], path: path, expected: "value") { respReply($0) }
    }

    static func respReply(_ node: JSONNode) -> Reply {
        switch node {
        case .null: return .null
        case .bool(let value): return .status(value ? "true" : "false")
        case .integer(let value): return .integer(value)
        case .number(let value): return .bulk(JSONNodeWriter.format(value))
        case .string(let value): return .bulk(value)
        case .array(let elements): return .array([.status("[")] + elements.map(respReply))
        case .object(let members):
            var items: [Reply] = [.status("{")]
            for (name, value) in members {
                items.append(.bulk(name))
                items.append(respReply(value))
            }
            return .array(items)
        }
    }

    // MARK: - DEL, MERGE

    /// JSON.DEL key [path]: how many values were removed; the root path
    /// (the default) deletes the key.
    static func del(_ c: CommandContext) throws(CommandError) -> Reply {
        guard c.argumentCount <= 3 else { throw .wrongArity(c.name) }
        let key = c[1]
        let path = try JSONSupport.path(c, at: 2, default: "$")
        guard try JSONSupport.document(c, key) != nil else { return .integer(0) }
        if path.isRoot {
            c.db.deleteKey(key)
            c.db.didWrite(key, .jsonDel)
            return .integer(1)
        }
        let removed = try c.db.modify(JSONDocument.self, key, create: false) { document throws(CommandError) -> Int in
            let locations = path.locations(in: document.root)
            if locations.contains(where: \.isEmpty) {
                document.replace(at: [], with: .null)
                return 1
            }
            var removed = 0
            // Deepest and last first, so removing one never moves another.
            for location in locations.sorted(by: JSONSupport.documentOrder).reversed() where document.remove(at: location) != nil {
                removed += 1
            }
            return removed
        } ?? 0
        if removed > 0 { c.db.didWrite(key, .jsonDel) }
        return .integer(Int64(removed))
    }

    /// JSON.MERGE key path value: RFC 7386 merge patch at each match (a
    /// `null` member deletes, objects merge member by member, anything else
    /// replaces); creates the member when only its parent exists.
    static func merge(_ c: CommandContext) throws(CommandError) -> Reply {
        let key = c[1]
        let path = try JSONSupport.path(c[2])
        let patch = try JSONSupport.value(c[3])
        guard try JSONSupport.document(c, key) != nil else {
            guard path.isRoot else { throw JSONSupport.newObjectsAtRoot }
            c.db.replace(key, with: JSONDocument(JSONMergePatch.apply(patch, to: .null)))
            c.db.didWrite(key, .jsonMerge)
            return .ok
        }
        let changed = try c.db.modify(JSONDocument.self, key, create: false) { document throws(CommandError) -> Bool in
            let matches = path.locations(in: document.root)
            if !matches.isEmpty {
                for location in matches {
                    guard let target = document[location] else { continue }
                    let merged = JSONMergePatch.apply(patch, to: target)
                    try JSONSupport.checkNesting(merged, at: location.count)
                    document.replace(at: location, with: merged)
                }
                return true
            }
            guard let (parent, member) = path.parentAndMember, patch != .null else { return false }
            var added = false
            for location in parent.locations(in: document.root) {
                guard case .object? = document[location] else { continue }
                let merged = JSONMergePatch.apply(patch, to: .null)
                try JSONSupport.checkNesting(merged, at: location.count + 1)
                added = document.setMember(member, to: merged, inObjectAt: location) || added
            }
            return added
        } ?? false
        if changed { c.db.didWrite(key, .jsonMerge) }
        return .ok
    }

    // MARK: - DEBUG

    /// JSON.DEBUG MEMORY key [path] | HELP.
    static func debug(_ c: CommandContext) throws(CommandError) -> Reply {
        let subcommand = c[1]
        if subcommand.equalsIgnoringCase("help") {
            return .array([
                .bulk("MEMORY <key> [path] - reports memory usage"),
                .bulk("HELP                - this message"),
            ])
        }
        guard subcommand.equalsIgnoringCase("memory"), c.argumentCount >= 3, c.argumentCount <= 4 else {
            throw .generic("unknown subcommand - try `JSON.DEBUG HELP`")
        }
        let path = try JSONSupport.path(c, at: 3, default: ".")
        guard let document = try JSONSupport.document(c, c[2]) else {
            return path.isLegacy ? .integer(0) : .array([])
        }
        let sizes = path.locations(in: document.root).compactMap { document[$0].map { Int64($0.memoryUsage) } }
        if path.isLegacy { return .integer(sizes.first ?? 0) }
        return .array(sizes.map { .integer($0) })
    }
}

extension JSONSupport {
    /// Orders locations as their values appear in the document: an
    /// ancestor before its descendants, elements by index.
    static func documentOrder(_ a: JSONLocation, _ b: JSONLocation) -> Bool {
        for (left, right) in zip(a, b) where left != right {
            switch (left, right) {
            case let (.element(x), .element(y)): return x < y
            case let (.member(x), .member(y)): return x < y
            case (.element, .member): return true
            case (.member, .element): return false
            }
        }
        return a.count < b.count
    }
}
