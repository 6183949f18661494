import KeywayEngine

/// The nodes speak RESP2, where a map arrives as a flat array of keys and
/// values. The embedded engine answers HGETALL and XINFO with maps (which
/// the resource API turns into JSON objects and the command API into the
/// same flat lists), so the cluster backend gives those replies their maps
/// back.
enum ClusterReplyShapes {
    static func restore(_ reply: Reply, for arguments: [Bytes]) -> Reply {
        guard case .array = reply, let name = arguments.first else { return reply }
        if name.equalsIgnoringCase("hgetall") { return map(reply) }
        guard name.equalsIgnoringCase("xinfo"), arguments.count >= 3 else { return reply }
        let sub = arguments[1]
        if sub.equalsIgnoringCase("groups") || sub.equalsIgnoringCase("consumers") { return each(reply) { map($0) } }
        guard sub.equalsIgnoringCase("stream") else { return reply }
        // XINFO STREAM key FULL: its groups, and their consumers, are maps too.
        return map(reply, values: ["groups": { each($0) { group in map(group, values: ["consumers": { each($0) { map($0) } }]) } }])
    }

    /// A flat array of keys and values as a map; `values` reshape the
    /// values of the keys they name.
    private static func map(_ reply: Reply, values: [String: (Reply) -> Reply] = [:]) -> Reply {
        guard case .array(let items) = reply, items.count % 2 == 0 else { return reply }
        var pairs = items
        for index in stride(from: 0, to: pairs.count, by: 2) {
            if case .bulk(let key) = pairs[index], let reshape = values[key.text] { pairs[index + 1] = reshape(pairs[index + 1]) }
        }
        return .map(pairs)
    }

    private static func each(_ reply: Reply, _ reshape: (Reply) -> Reply) -> Reply {
        guard case .array(let items) = reply else { return reply }
        return .array(items.map(reshape))
    }
}
