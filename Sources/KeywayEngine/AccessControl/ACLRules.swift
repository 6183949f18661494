import Crypto

/// A user being edited by Redis's rule language (`ACL SETUSER`, a `user`
/// line of the config file or the aclfile). Rules apply left to right.
struct ACLUserDraft {
    var name: String
    var enabled = false
    var noPass = false
    var passwordHashes: [String] = []
    var commands = CommandPermissions()
    var commandRules: [String] = []
    var keys: [KeyPermission] = []
    var channels: [Bytes] = []

    /// A new user: off, no password, no commands, keys or channels.
    init(name: String) {
        self.name = name
    }

    /// The next version of an existing user.
    init(_ user: ACLUser) {
        name = user.name
        enabled = user.enabled
        noPass = user.noPass
        passwordHashes = user.passwordHashes
        commands = user.commands
        commandRules = user.commandRules
        keys = user.keys
        channels = user.channels
    }

    func build() -> ACLUser {
        ACLUser(name: name, enabled: enabled, noPass: noPass, passwordHashes: passwordHashes, commands: commands,
                commandRules: commandRules, keys: keys, channels: channels)
    }

    mutating func apply(_ rules: [String], table: CommandTable) throws(CommandError) {
        for rule in rules { try apply(rule, table: table) }
    }

    /// Applies one rule; an unknown one is Redis's error naming it.
    mutating func apply(_ rule: String, table: CommandTable) throws(CommandError) {
        func failure(_ reason: String) -> CommandError {
            CommandError(.generic, "ERR Error in ACL SETUSER modifier '\(rule)': \(reason)")
        }
        let lowered = rule.lowercased()
        switch lowered {
        case "on": enabled = true
        case "off": enabled = false
        case "nopass":
            noPass = true
            passwordHashes = []
        case "resetpass":
            noPass = false
            passwordHashes = []
        case "allkeys": keys = [KeyPermission(pattern: Bytes("*"), read: true, write: true)]
        case "resetkeys": keys = []
        case "allchannels": channels = [Bytes("*")]
        case "resetchannels": channels = []
        case "allcommands", "+@all": allowEverything(table)
        case "nocommands", "-@all": allowNothing()
        case "reset":
            for part in ["resetpass", "resetkeys", "resetchannels", "off", "-@all"] { try apply(part, table: table) }
        case "sanitize-payload", "skip-sanitize-payload", "clearselectors":
            break // Accepted for aclfiles written by Redis; nothing to do here.
        default:
            guard let first = rule.first else { throw failure("Syntax error") }
            let rest = String(rule.dropFirst())
            switch first {
            case ">":
                let hash = ACLPasswords.hash(rest)
                if !passwordHashes.contains(hash) { passwordHashes.append(hash) }
                noPass = false
            case "<":
                let hash = ACLPasswords.hash(rest)
                guard passwordHashes.contains(hash) else { throw failure("The password you are trying to remove from the user does not exist") }
                passwordHashes.removeAll { $0 == hash }
            case "#":
                guard ACLPasswords.isHash(rest) else {
                    throw failure("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
                }
                if !passwordHashes.contains(rest) { passwordHashes.append(rest) }
                noPass = false
            case "!":
                guard passwordHashes.contains(rest) else { throw failure("The password you are trying to remove from the user does not exist") }
                passwordHashes.removeAll { $0 == rest }
            case "~":
                keys.append(KeyPermission(pattern: Bytes(rest), read: true, write: true))
            case "%":
                guard let tilde = rest.firstIndex(of: "~") else { throw failure("Syntax error") }
                let flags = rest[..<tilde].uppercased()
                guard !flags.isEmpty, flags.allSatisfy({ $0 == "R" || $0 == "W" }) else { throw failure("Syntax error") }
                keys.append(KeyPermission(pattern: Bytes(String(rest[rest.index(after: tilde)...])),
                                          read: flags.contains("R"), write: flags.contains("W")))
            case "&":
                channels.append(Bytes(rest))
            case "+", "-":
                try applyCommandRule(allow: first == "+", String(lowered.dropFirst()), table: table, failure: failure)
                commandRules.append(lowered)
            case "(":
                throw failure("Selectors are not supported; give the rules to the user itself")
            default:
                throw failure("Syntax error")
            }
        }
    }

    private mutating func allowEverything(_ table: CommandTable) {
        commands = CommandPermissions(allCommands: true, allowed: Set(table.all.map(\.name)))
        commandRules = ["+@all"]
    }

    private mutating func allowNothing() {
        commands = CommandPermissions()
        commandRules = ["-@all"]
    }

    /// `+@category`, `-command`, `+command|subcommand`, ...
    private mutating func applyCommandRule(allow: Bool, _ target: String, table: CommandTable,
                                           failure: (String) -> CommandError) throws(CommandError) {
        if target.hasPrefix("@") {
            guard let category = ACLCategories.named(String(target.dropFirst())) else {
                throw failure("Unknown command or category name in ACL")
            }
            for spec in table.all where table.categories(of: spec).contains(category) {
                set(spec.name, allowed: allow)
            }
            return
        }
        let parts = target.split(separator: "|", maxSplits: 1).map(String.init)
        guard let spec = table.lookup(Bytes(parts[0])) else { throw failure("Unknown command or category name in ACL") }
        guard parts.count == 2 else {
            set(spec.name, allowed: allow)
            return
        }
        let subcommand = parts[1]
        guard !subcommand.isEmpty, !subcommand.contains("|") else { throw failure("Syntax error") }
        if commands.allowed.contains(spec.name) {
            if allow {
                commands.deniedSubcommands[spec.name]?.remove(subcommand)
                if commands.deniedSubcommands[spec.name]?.isEmpty == true { commands.deniedSubcommands[spec.name] = nil }
            } else {
                commands.deniedSubcommands[spec.name, default: []].insert(subcommand)
            }
        } else if allow {
            commands.allowedSubcommands[spec.name, default: []].insert(subcommand)
        } else {
            commands.allowedSubcommands[spec.name]?.remove(subcommand)
        }
    }

    private mutating func set(_ name: String, allowed: Bool) {
        commands.allowedSubcommands[name] = nil
        commands.deniedSubcommands[name] = nil
        if allowed {
            commands.allowed.insert(name)
        } else {
            commands.allowed.remove(name)
            commands.allCommands = false
        }
    }
}

extension ACLUser {
    /// The user's rules as `ACL LIST` prints them after `user <name>`, and
    /// as the aclfile stores them: applying them to a new user gives this one.
    public var rulesDescription: String {
        var parts = [enabled ? "on" : "off"]
        if noPass { parts.append("nopass") }
        parts += passwordHashes.map { "#" + $0 }
        parts += keys.map(\.rule)
        parts.append("resetchannels")
        parts += channels.map { "&" + $0.text }
        parts += commandDescription
        return parts.joined(separator: " ")
    }

    /// `+@all -flushall`: the rules as given, from a clean slate.
    var commandDescription: [String] {
        guard let first = commandRules.first, first == "+@all" || first == "-@all" else { return ["-@all"] + commandRules }
        return commandRules
    }
}

/// A SHA-256 as four words: hashed and compared without building the hex
/// text, on the authentication path of every request.
struct ACLDigest: Hashable, Sendable {
    let words: (UInt64, UInt64, UInt64, UInt64)

    init(_ digest: SHA256.Digest) {
        words = digest.withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
             raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        }
    }

    /// From 64 lowercase hex digits (a `#hash` rule); nil otherwise.
    init?(hex: String) {
        guard ACLPasswords.isHash(hex) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var high: UInt8? = nil
        for c in hex.utf8 {
            let nibble = c <= 57 ? c - 48 : c - 87
            if let h = high { bytes.append(h << 4 | nibble); high = nil } else { high = nibble }
        }
        words = bytes.withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
             raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        }
    }

    static func of(_ secret: String) -> ACLDigest {
        of(Substring(secret))
    }

    /// Hashes the text's UTF-8 where it lies when it can (a slice of a
    /// request header), copying only a text stored otherwise.
    static func of(_ secret: Substring) -> ACLDigest {
        if let digest = secret.utf8.withContiguousStorageIfAvailable({ ACLDigest(SHA256.hash(data: UnsafeRawBufferPointer($0))) }) {
            return digest
        }
        return ACLDigest(SHA256.hash(data: Array(secret.utf8)))
    }

    static func == (a: ACLDigest, b: ACLDigest) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
    }
}

/// Passwords are kept only as SHA-256 hashes, as Redis keeps them.
enum ACLPasswords {
    static func hash(_ password: String) -> String {
        hex(SHA256.hash(data: Array(password.utf8)))
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
