/// CLIENT ID | INFO | LIST | SETNAME | GETNAME | KILL | HELP, answered from
/// the `ClientDirectory` the server layer installs, for the connection
/// named by the command's `clientID`.
enum ClientCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("client", arity: -2, flags: [.admin, .noScript, .loading], keys: (0, 0, 0), handler: client),
    ]

    /// Subcommands Redis has that mean nothing for HTTP connections.
    static let unsupported: Set<String> = [
        "pause", "unpause", "reply", "tracking", "trackinginfo", "caching", "getredir",
        "no-evict", "no-touch", "setinfo", "unblock",
    ]

    static func client(_ c: CommandContext) throws(CommandError) -> Reply {
        let subcommand = c[1].lowercasedASCII
        func arity(_ expected: Int) throws(CommandError) {
            let fits = expected >= 0 ? c.argumentCount == expected : c.argumentCount >= -expected
            if !fits { throw .wrongArity("client|\(subcommand)") }
        }
        switch subcommand {
        case "id":
            try arity(2)
            return .integer(try caller(c))
        case "info":
            try arity(2)
            guard let info = c.server.clients?.client(id: try caller(c)) else { return .bulk(Bytes("")) }
            return .bulk(Bytes(info.line + "\n"))
        case "list":
            try arity(-2)
            return .bulk(Bytes(try list(c).map { $0.line + "\n" }.joined()))
        case "setname":
            try arity(3)
            let id = try caller(c)
            let name = c[2]
            guard name.storage.allSatisfy({ $0 >= UInt8(ascii: "!") && $0 <= UInt8(ascii: "~") }) else {
                throw .generic("Client names cannot contain spaces, newlines or special characters.")
            }
            c.server.clients?.setName(name.text, id: id)
            return .ok
        case "getname":
            try arity(2)
            guard let name = c.server.clients?.client(id: try caller(c))?.name, !name.isEmpty else { return .null }
            return .bulk(Bytes(name))
        case "kill":
            try arity(-3)
            return try kill(c)
        case "help":
            try arity(2)
            return .array(help.map { .status($0) })
        default:
            if unsupported.contains(subcommand) {
                throw CommandError(.notSupported, "ERR CLIENT \(subcommand.uppercased()) is not supported over HTTP")
            }
            throw .generic("unknown subcommand '\(c[1].text.prefix(128))'. Try CLIENT HELP.")
        }
    }

    /// The id of the connection that sent the command.
    static func caller(_ c: CommandContext) throws(CommandError) -> Int64 {
        guard let id = c.clientID else {
            throw CommandError(.notSupported, "ERR CLIENT needs a client connection; send it through the command API")
        }
        return id
    }

    /// CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]
    static func list(_ c: CommandContext) throws(CommandError) -> [ClientInfo] {
        var kind: ClientInfo.Kind?? = nil
        var ids: Set<Int64>?
        if c.argumentCount > 2 {
            if c[2].equalsIgnoringCase("type") && c.argumentCount == 4 {
                kind = try clientType(c[3])
            } else if c[2].equalsIgnoringCase("id") && c.argumentCount >= 4 {
                var wanted = Set<Int64>()
                for argument in c.arguments.dropFirst(3) {
                    guard let id = try? Parse.integer(argument), id > 0 else { throw .generic("Invalid client ID") }
                    wanted.insert(id)
                }
                ids = wanted
            } else {
                throw .syntax
            }
        }
        let all = c.server.clients?.clients() ?? []
        return all.filter { info in
            if let ids, !ids.contains(info.id) { return false }
            if let kind { return kind == info.kind }
            return true
        }
    }

    /// A type name: normal or pubsub, or master/replica/slave, which no
    /// HTTP connection is (nil matches nothing).
    static func clientType(_ name: Bytes) throws(CommandError) -> ClientInfo.Kind? {
        switch name.lowercasedASCII {
        case "normal": return .normal
        case "pubsub": return .pubsub
        case "master", "replica", "slave": return nil
        default: throw .generic("Unknown client type '\(name.text)'")
        }
    }

    /// `CLIENT KILL addr:port` (OK or "No such client"), or the filter form
    /// `CLIENT KILL [ID id] [TYPE type] [ADDR addr] [LADDR addr] [USER name]
    /// [SKIPME yes|no] [MAXAGE seconds]`, which answers how many were closed.
    static func kill(_ c: CommandContext) throws(CommandError) -> Reply {
        let callerID = c.clientID
        let all = c.server.clients?.clients() ?? []
        if c.argumentCount == 3 {
            let address = c[2].text
            let targets = all.filter { $0.address == address }.map(\.id)
            guard !targets.isEmpty, (c.server.clients?.kill(ids: targets, callerID: callerID) ?? 0) > 0 else {
                throw .generic("No such client")
            }
            return .ok
        }
        guard c.argumentCount % 2 == 0 else { throw .syntax }
        var id: Int64?, kind: ClientInfo.Kind??, address: String?, localAddress: String?, maxAge: Int64?
        var userMatches = true, skipMe = true
        var index = 2
        while index < c.argumentCount {
            let option = c[index].lowercasedASCII, value = c[index + 1]
            switch option {
            case "id":
                guard let parsed = try? Parse.integer(value), parsed > 0 else { throw .generic("client-id should be greater than 0") }
                id = parsed
            case "type": kind = try clientType(value)
            case "addr": address = value.text
            case "laddr": localAddress = value.text
            case "user": userMatches = value.text == "default"
            case "maxage":
                guard let parsed = try? Parse.integer(value) else { throw .notInteger }
                maxAge = parsed
            case "skipme":
                switch value.lowercasedASCII {
                case "yes": skipMe = true
                case "no": skipMe = false
                default: throw .syntax
                }
            default: throw .syntax
            }
            index += 2
        }
        guard userMatches else { return .integer(0) }
        let targets = all.filter { info in
            if let id, info.id != id { return false }
            if let kind, kind != info.kind { return false }
            if let address, info.address != address { return false }
            if let localAddress, info.localAddress != localAddress { return false }
            if let maxAge, info.ageSeconds < maxAge { return false }
            if skipMe, info.id == callerID { return false }
            return true
        }.map(\.id)
        guard !targets.isEmpty else { return .integer(0) }
        return .integer(Int64(c.server.clients?.kill(ids: targets, callerID: callerID) ?? 0))
    }

    static let help = [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "LIST [TYPE <normal|master|replica|pubsub>] [ID <id> [<id> ...]]",
        "    Return information about client connections (one per HTTP keep-alive connection).",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "GETNAME",
        "    Return the name of the current connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID <client-id>, TYPE <normal|master|replica|pubsub>,",
        "    ADDR <ip:port>, LADDR <ip:port>, USER <username>, SKIPME <yes|no>, MAXAGE <seconds>.",
        "HELP",
        "    Print this help.",
    ]
}
