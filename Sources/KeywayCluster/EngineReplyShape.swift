import KeywayEngine

/// Gives a node's RESP2 reply the shape Keyway's engine gives the same
/// command, so the routes above read both backends alike.
///
/// The engine answers some commands with a map (RESP3's shape, which the
/// API renders as an object or a flat list as asked); a node speaking RESP2
/// sends the same pairs as a flat array. Node connections stay on RESP2
/// because RESP3 would change other shapes the engine keeps in RESP2 form
/// (scores as bulk strings), so the few map replies are rebuilt here.
enum EngineReplyShape {
    /// `reply` to `arguments` (the command as sent) in the engine's shape.
    static func of(_ reply: Reply, spec: CommandSpec, arguments: [Bytes]) -> Reply {
        switch spec.name {
        case "hgetall":
            return map(reply)
        case "xinfo":
            guard arguments.count >= 3 else { return reply }
            switch arguments[1].lowercasedASCII {
            case "stream":
                let full = arguments.count > 3 && arguments[3].equalsIgnoringCase("full")
                return full ? fullStream(reply) : map(reply)
            case "groups", "consumers":
                return eachMap(reply)
            default:
                return reply
            }
        case "memory":
            return arguments.count == 2 && arguments[1].equalsIgnoringCase("stats") ? map(reply) : reply
        default:
            return reply
        }
    }

    /// A flat array of pairs as a map; anything else (nil, an error) as it is.
    static func map(_ reply: Reply) -> Reply {
        guard case .array(let items) = reply, items.count % 2 == 0 else { return reply }
        return .map(items)
    }

    /// An array whose elements are flat arrays of pairs.
    static func eachMap(_ reply: Reply) -> Reply {
        guard case .array(let items) = reply else { return reply }
        return .array(items.map(map))
    }

    /// `XINFO STREAM key FULL`: a map whose `groups` are maps, each with
    /// `consumers` that are maps.
    static func fullStream(_ reply: Reply) -> Reply {
        guard case .map(var pairs) = map(reply) else { return reply }
        for index in stride(from: 0, to: pairs.count - 1, by: 2) where pairs[index] == .bulk("groups") {
            guard case .array(let groups) = pairs[index + 1] else { continue }
            pairs[index + 1] = .array(groups.map { group in
                guard case .map(var fields) = map(group) else { return group }
                for field in stride(from: 0, to: fields.count - 1, by: 2) where fields[field] == .bulk("consumers") {
                    fields[field + 1] = eachMap(fields[field + 1])
                }
                return .map(fields)
            })
        }
        return .map(pairs)
    }
}
