#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One ACL user as its rules left it: immutable, so a request that
/// authenticated keeps a consistent view while `ACL SETUSER` builds the
/// next version beside it.
public final class ACLUser: Sendable {
    public let name: String
    /// `on`: the user may authenticate.
    public let enabled: Bool
    /// `nopass`: any password (or none) authenticates.
    public let noPass: Bool
    /// SHA-256 of each password, lowercase hex, in the order added.
    public let passwordHashes: [String]
    /// The same hashes, for comparing without text.
    let passwordDigests: [ACLDigest]
    let commands: CommandPermissions
    /// The command rules as given since the last `allcommands`/`nocommands`
    /// (`+@all -@dangerous`), which `ACL LIST` prints back.
    let commandRules: [String]
    let keys: [KeyPermission]
    /// `&pattern`s; `allChannels` when `&*` was given.
    let channels: [Bytes]
    let allChannels: Bool
    /// Every key readable and writable (`~*`): key checks are skipped.
    let allKeys: Bool
    /// Everything is allowed: checks are skipped entirely (the default
    /// user of a server without ACL rules).
    public let isUnrestricted: Bool

    init(name: String, enabled: Bool, noPass: Bool, passwordHashes: [String], commands: CommandPermissions,
         commandRules: [String], keys: [KeyPermission], channels: [Bytes]) {
        self.name = name
        self.enabled = enabled
        self.noPass = noPass
        self.passwordHashes = passwordHashes
        self.passwordDigests = passwordHashes.compactMap(ACLDigest.init(hex:))
        self.commands = commands
        self.commandRules = commandRules
        self.keys = keys
        self.allKeys = keys.contains { $0.matchesEverything && $0.read && $0.write }
        self.allChannels = channels.contains(Bytes("*"))
        self.channels = channels
        self.isUnrestricted = enabled && commands.allCommands && commands.deniedSubcommands.isEmpty && allKeys && allChannels
    }

    // MARK: - Checks

    /// Why `arguments` may not run as this user, or nil when they may:
    /// the command (or subcommand) first, then each key, then channels.
    public func denial(for spec: CommandSpec, _ arguments: [Bytes]) -> ACLDenial? {
        if isUnrestricted { return nil }
        if !commands.allows(spec, arguments) {
            return .command(Self.commandLabel(spec, arguments))
        }
        if !allKeys {
            // A write needs %W, anything else %R; `~` grants both.
            let write = spec.flags.contains(.write)
            if spec.variableKeys == nil {
                // The common case, without collecting the keys first.
                if spec.firstKey > 0, spec.firstKey < arguments.count {
                    let last = min(spec.lastKey < 0 ? arguments.count + spec.lastKey : spec.lastKey, arguments.count - 1)
                    var position = spec.firstKey
                    while position <= last {
                        if !mayAccess(arguments[position], read: !write, write: write) { return .key(arguments[position]) }
                        position += max(1, spec.keyStep)
                    }
                }
            } else {
                for key in spec.keys(in: arguments) where !mayAccess(key, read: !write, write: write) {
                    return .key(key)
                }
            }
        }
        if !allChannels, spec.name == "publish" || spec.name == "spublish", arguments.count > 1, !mayUse(channel: arguments[1]) {
            return .channel(arguments[1])
        }
        return nil
    }

    /// Whether this user may touch `key` as asked.
    public func mayAccess(_ key: Bytes, read: Bool, write: Bool) -> Bool {
        if allKeys { return true }
        var readGranted = !read, writeGranted = !write
        for permission in keys where (permission.read && !readGranted) || (permission.write && !writeGranted) {
            guard permission.matches(key) else { continue }
            if permission.read { readGranted = true }
            if permission.write { writeGranted = true }
            if readGranted && writeGranted { return true }
        }
        return readGranted && writeGranted
    }

    /// Whether this user may publish to or subscribe to `channel`.
    public func mayUse(channel: Bytes) -> Bool {
        allChannels || channels.contains { GlobPattern.matches($0, channel) }
    }

    /// Whether this user may PSUBSCRIBE `pattern`: as in Redis, only a
    /// pattern given literally in the user's rules (or `&*`).
    public func mayUse(channelPattern pattern: Bytes) -> Bool {
        allChannels || channels.contains(pattern)
    }

    /// `set`, or `config|get` when a subcommand rule decided.
    static func commandLabel(_ spec: CommandSpec, _ arguments: [Bytes]) -> String {
        guard CommandPermissions.hasSubcommands(spec), arguments.count > 1 else { return spec.name }
        return spec.name + "|" + arguments[1].text.lowercased()
    }

    /// The same user with `{claim}` placeholders in its key and channel
    /// patterns filled from `claims` (a JWT's): each end user confined to
    /// their own keys. A placeholder without a claim makes the pattern
    /// match nothing.
    public func specialized(with claims: [String: String]) -> ACLUser {
        func fill(_ pattern: Bytes) -> Bytes? {
            let text = pattern.text
            guard text.contains("{") else { return pattern }
            var result = ""
            var rest = Substring(text)
            while let open = rest.firstIndex(of: "{") {
                result += rest[..<open]
                guard let close = rest[open...].firstIndex(of: "}") else { result += rest[open...]; rest = ""; break }
                let name = String(rest[rest.index(after: open)..<close])
                guard let value = claims[name] else { return nil }
                result += GlobPattern.escaped(value)
                rest = rest[rest.index(after: close)...]
            }
            result += rest
            return Bytes(result)
        }
        let filledKeys = keys.compactMap { permission in
            fill(permission.pattern).map { KeyPermission(pattern: $0, read: permission.read, write: permission.write) }
        }
        let filledChannels = channels.compactMap(fill)
        return ACLUser(name: name, enabled: enabled, noPass: noPass, passwordHashes: passwordHashes, commands: commands,
                       commandRules: commandRules, keys: filledKeys, channels: filledChannels)
    }
}

/// Why a command was refused, with Redis's NOPERM texts.
public enum ACLDenial: Sendable, Equatable {
    case command(String)
    case key(Bytes)
    case channel(Bytes)

    /// The `ACL LOG` reason.
    public var reason: String {
        switch self {
        case .command: return "command"
        case .key: return "key"
        case .channel: return "channel"
        }
    }

    /// The command, key or channel refused, as `ACL LOG` shows it.
    public var object: String {
        switch self {
        case .command(let label): return label
        case .key(let key): return key.text
        case .channel(let channel): return channel.text
        }
    }

    public func error(user: String) -> CommandError {
        switch self {
        case .command(let label):
            return CommandError(.noPermission, "NOPERM User \(user) has no permissions to run the '\(label)' command")
        case .key:
            return CommandError(.noPermission, "NOPERM No permissions to access a key")
        case .channel:
            return CommandError(.noPermission, "NOPERM No permissions to access a channel")
        }
    }
}

/// A `~pattern` (read and write), `%R~pattern` or `%W~pattern`.
struct KeyPermission: Sendable, Equatable {
    let pattern: Bytes
    let read: Bool
    let write: Bool
    /// `*`: matches every key without running the matcher.
    let matchesEverything: Bool
    /// `prefix*` with nothing else special: one prefix comparison.
    private let literalPrefix: [UInt8]?

    init(pattern: Bytes, read: Bool, write: Bool) {
        self.pattern = pattern
        self.read = read
        self.write = write
        let bytes = pattern.storage
        matchesEverything = bytes == [UInt8(ascii: "*")]
        let special: Set<UInt8> = [UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "\\")]
        if let last = bytes.last, last == UInt8(ascii: "*"), !bytes.dropLast().contains(where: special.contains) {
            literalPrefix = Array(bytes.dropLast())
        } else {
            literalPrefix = nil
        }
    }

    func matches(_ key: Bytes) -> Bool {
        if matchesEverything { return true }
        if let literalPrefix {
            return key.storage.withUnsafeBufferPointer { subject in
                literalPrefix.withUnsafeBufferPointer { prefix in
                    subject.count >= prefix.count
                        && (prefix.isEmpty || memcmp(subject.baseAddress!, prefix.baseAddress!, prefix.count) == 0)
                }
            }
        }
        return GlobPattern.matches(pattern, key)
    }

    /// The rule that grants it, as `ACL GETUSER` and `ACL LIST` print it.
    var rule: String {
        switch (read, write) {
        case (true, true): return "~" + pattern.text
        case (true, false): return "%R~" + pattern.text
        default: return "%W~" + pattern.text
        }
    }
}

/// Which commands a user may run: whole commands by name, plus
/// `+command|subcommand` and `-command|subcommand` exceptions.
struct CommandPermissions: Sendable, Equatable {
    /// Every command, including those added later (`allcommands`, `+@all`).
    var allCommands = false
    var allowed: Set<String> = []
    /// Subcommands allowed of a command that is not allowed as a whole.
    var allowedSubcommands: [String: Set<String>] = [:]
    /// Subcommands refused of a command that is allowed as a whole.
    var deniedSubcommands: [String: Set<String>] = [:]

    func allows(_ spec: CommandSpec, _ arguments: [Bytes]) -> Bool {
        if allCommands || allowed.contains(spec.name) {
            guard !deniedSubcommands.isEmpty, arguments.count > 1, let denied = deniedSubcommands[spec.name] else { return true }
            return !denied.contains(arguments[1].text.lowercased())
        }
        guard arguments.count > 1, let subcommands = allowedSubcommands[spec.name] else { return false }
        return subcommands.contains(arguments[1].text.lowercased())
    }

    /// Commands whose first argument names what they do (CONFIG GET, ...):
    /// NOPERM then names `command|subcommand`.
    static func hasSubcommands(_ spec: CommandSpec) -> Bool {
        ["config", "client", "acl", "script", "xinfo", "xgroup", "object", "memory", "slowlog", "pubsub", "command", "function"]
            .contains(spec.name)
    }
}

extension ACLUser: Equatable {
    /// The same version of the same user.
    public static func == (lhs: ACLUser, rhs: ACLUser) -> Bool { lhs === rhs }
}
