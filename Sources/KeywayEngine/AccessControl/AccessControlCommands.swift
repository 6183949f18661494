/// `ACL ...`: users, their rules, tokens, the log and the aclfile.
enum AccessControlCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("acl", arity: -2, flags: [.admin, .noScript, .loading], keys: (0, 0, 0), handler: acl),
    ]

    static func acl(_ c: CommandContext) throws(CommandError) -> Reply {
        let access = c.server.accessControl
        let subcommand = c[1].text.lowercased()
        func arity(_ valid: Bool) throws(CommandError) {
            guard valid else {
                throw CommandError(.wrongArity, "ERR unknown subcommand or wrong number of arguments for '\(subcommand)'. Try ACL HELP.")
            }
        }
        switch subcommand {
        case "setuser":
            try arity(c.argumentCount >= 3)
            try access.setUser(c[2].text, rules: c.arguments.dropFirst(3).map(\.text))
            return .ok
        case "getuser":
            try arity(c.argumentCount == 3)
            return access.user(named: c[2].text).map(describe) ?? .null
        case "deluser":
            try arity(c.argumentCount >= 3)
            return .integer(Int64(try access.deleteUsers(c.arguments.dropFirst(2).map(\.text))))
        case "list":
            try arity(c.argumentCount == 2)
            return .array(access.users.map { .bulk("user \($0.name) \($0.rulesDescription)") })
        case "users":
            try arity(c.argumentCount == 2)
            return .array(access.users.map { .bulk($0.name) })
        case "whoami":
            try arity(c.argumentCount == 2)
            return .bulk(c.user?.name ?? "default")
        case "cat":
            try arity(c.argumentCount <= 3)
            guard c.argumentCount == 3 else { return .array(ACLCategories.named.map { .bulk($0.name) }) }
            guard let category = ACLCategories.named(c[2].text) else {
                throw CommandError(.generic, "ERR Unknown category '\(c[2].text)'")
            }
            let table = c.server.commands
            return .array(table.all.filter { table.categories(of: $0).contains(category) }.map { .bulk($0.name) })
        case "dryrun":
            try arity(c.argumentCount >= 4)
            return try dryRun(c, access)
        case "log":
            try arity(c.argumentCount <= 3)
            return try log(c, access)
        case "genpass":
            try arity(c.argumentCount <= 3)
            var bits: Int64 = 256
            if c.argumentCount == 3 {
                bits = try c.integer(at: 2)
                guard bits > 0, bits <= 4096 else {
                    throw CommandError(.generic, "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
                }
            }
            let hexDigits = Int((bits + 3) / 4)
            return .bulk(String(RandomHex.make(bytes: (hexDigits + 1) / 2).prefix(hexDigits)))
        case "save":
            try arity(c.argumentCount == 2)
            try access.saveACLFile()
            return .ok
        case "load":
            try arity(c.argumentCount == 2)
            try access.loadACLFile()
            return .ok
        case "token":
            try arity(c.argumentCount >= 3)
            return try token(c, access)
        case "help":
            return .array(help.map { .status($0) })
        default:
            throw CommandError(.syntax, "ERR unknown subcommand '\(c[1].text)'. Try ACL HELP.")
        }
    }

    /// ACL GETUSER's map, as Redis 7 answers it (no selectors).
    static func describe(_ user: ACLUser) -> Reply {
        var flags: [Reply] = [.bulk(user.enabled ? "on" : "off")]
        if user.noPass { flags.append(.bulk("nopass")) }
        return .map([
            .bulk("flags"), .array(flags),
            .bulk("passwords"), .array(user.passwordHashes.map { .bulk($0) }),
            .bulk("commands"), .bulk(user.commandDescription.joined(separator: " ")),
            .bulk("keys"), .bulk(user.keys.map(\.rule).joined(separator: " ")),
            .bulk("channels"), .bulk(user.channels.map { "&" + $0.text }.joined(separator: " ")),
            .bulk("selectors"), .array([]),
        ])
    }

    /// ACL DRYRUN user command [arg ...]: OK, or why the user may not.
    static func dryRun(_ c: CommandContext, _ access: AccessControl) throws(CommandError) -> Reply {
        guard let user = access.user(named: c[2].text) else {
            throw CommandError(.generic, "ERR User '\(c[2].text)' not found")
        }
        guard let spec = c.server.commands.lookup(c[3]) else {
            throw CommandError(.generic, "ERR Command '\(c[3].text)' not found")
        }
        let arguments = Array(c.arguments.dropFirst(3))
        guard spec.acceptsArgumentCount(arguments.count) else { throw .wrongArity(spec.name) }
        guard let denial = user.denial(for: spec, arguments) else { return .ok }
        let message = denial.error(user: user.name).message
        return .bulk(String(message.dropFirst("NOPERM ".count)))
    }

    /// ACL LOG [count | RESET].
    static func log(_ c: CommandContext, _ access: AccessControl) throws(CommandError) -> Reply {
        var count: Int? = nil
        if c.argumentCount == 3 {
            if c[2].equalsIgnoringCase("reset") {
                access.log.reset()
                return .ok
            }
            guard let parsed = Int(c[2].text), parsed >= 0 else {
                throw CommandError(.notInteger, "ERR value is out of range, must be positive")
            }
            count = parsed
        }
        let now = c.db.clock.nowMilliseconds()
        return .array(access.log.entries(count).map { entry in
            .map([
                .bulk("count"), .integer(entry.count),
                .bulk("reason"), .bulk(entry.reason),
                .bulk("context"), .bulk(entry.context),
                .bulk("object"), .bulk(entry.object),
                .bulk("username"), .bulk(entry.username),
                .bulk("age-seconds"), .double(Double(max(0, now - entry.createdMilliseconds)) / 1000),
                .bulk("client-info"), .bulk(entry.clientInfo),
                .bulk("entry-id"), .integer(entry.entryID),
                .bulk("timestamp-created"), .integer(entry.createdMilliseconds),
                .bulk("timestamp-last-updated"), .integer(entry.updatedMilliseconds),
            ])
        })
    }

    /// ACL TOKEN CREATE user [TTL seconds] [LABEL text] | LIST [user] | REVOKE id.
    static func token(_ c: CommandContext, _ access: AccessControl) throws(CommandError) -> Reply {
        let now = c.db.clock.nowMilliseconds()
        switch c[2].text.lowercased() {
        case "create":
            guard c.argumentCount >= 4 else { throw .wrongArity("acl|token") }
            var ttl: Int64? = nil
            var label: String? = nil
            var position = 4
            while position < c.argumentCount {
                guard position + 1 < c.argumentCount else { throw .syntax }
                if c[position].equalsIgnoringCase("ttl") {
                    let seconds = try c.integer(at: position + 1)
                    guard seconds > 0, seconds <= 100 * 365 * 86_400 else {
                        throw CommandError(.generic, "ERR TTL must be between 1 and 3153600000 seconds")
                    }
                    ttl = seconds
                } else if c[position].equalsIgnoringCase("label") {
                    let text = c[position + 1].text
                    guard !text.isEmpty, text.count <= 200, !text.contains(where: { $0.isNewline }) else {
                        throw CommandError(.generic, "ERR LABEL must be one line of at most 200 characters")
                    }
                    label = text
                } else {
                    throw .syntax
                }
                position += 2
            }
            let (token, record) = try access.createToken(for: c[3].text, ttlSeconds: ttl, label: label, nowMilliseconds: now)
            return .map([.bulk("token"), .bulk(token)] + describe(record))
        case "list":
            guard c.argumentCount <= 4 else { throw .wrongArity("acl|token") }
            let user = c.argumentCount == 4 ? c[3].text : nil
            return .array(access.tokens(nowMilliseconds: now).filter { user == nil || $0.user == user }.map { .map(describe($0)) })
        case "revoke":
            guard c.argumentCount == 4 else { throw .wrongArity("acl|token") }
            return .integer(access.revokeToken(id: c[3].text) ? 1 : 0)
        default:
            throw CommandError(.syntax, "ERR unknown subcommand 'TOKEN \(c[2].text)'. Try ACL HELP.")
        }
    }

    static func describe(_ token: ACLToken) -> [Reply] {
        [.bulk("id"), .bulk(token.id), .bulk("user"), .bulk(token.user),
         .bulk("label"), token.label.map { .bulk($0) } ?? .null,
         .bulk("created"), .integer(token.createdMilliseconds),
         .bulk("expires"), token.expiresMilliseconds.map { .integer($0) } ?? .null]
    }

    static let help = [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]", "    List all commands that belong to <category>, or all command categories when no category is specified.",
        "DELUSER <username> [<username> ...]", "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]", "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>", "    Get the user's details.",
        "GENPASS [<bits>]", "    Generate a secure 256-bit user password. The optional `bits` argument can be used to specify a different size.",
        "LIST", "    Show users details in config file format.",
        "LOAD", "    Reload users from the ACL file.",
        "LOG [<count> | RESET]", "    Show the ACL log entries.",
        "SAVE", "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]", "    Create or modify a user with the specified attributes.",
        "TOKEN CREATE <username> [TTL <seconds>] [LABEL <text>]", "    Issue a bearer token for the user; only its hash is kept.",
        "TOKEN LIST [<username>]", "    List issued tokens (without their secrets).",
        "TOKEN REVOKE <id>", "    Revoke a token.",
        "USERS", "    List all the registered usernames.",
        "WHOAMI", "    Return the current connection username.",
        "HELP", "    Print this help.",
    ]
}
