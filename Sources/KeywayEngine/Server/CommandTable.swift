/// What the engine knows about each command, declared once.
///
/// Adding a command is one `CommandSpec` in its family's `commands` list,
/// one handler, and tests.
public final class CommandSpec: Sendable {
    public let name: String
    /// Redis arity: positive = exact argument count (name included),
    /// negative = at least that many.
    public let arity: Int
    public let flags: CommandFlags
    /// Key positions in argv (1-based like Redis; 0 = no keys; lastKey -1 = to the end).
    public let firstKey: Int
    public let lastKey: Int
    public let keyStep: Int
    /// Keys whose number the arguments say (`numkeys`, `STREAMS`), after
    /// the fixed ones; such commands report 0 0 0 positions, as Redis does.
    public let variableKeys: VariableKeys?
    public let handler: @Sendable (CommandContext) throws(CommandError) -> Reply

    public init(
        _ name: String, arity: Int, flags: CommandFlags,
        keys: (first: Int, last: Int, step: Int) = (1, 1, 1),
        variableKeys: VariableKeys? = nil,
        handler: @escaping @Sendable (CommandContext) throws(CommandError) -> Reply
    ) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.firstKey = keys.first
        self.lastKey = keys.last
        self.keyStep = keys.step
        self.variableKeys = variableKeys
        self.handler = handler
    }

    public func acceptsArgumentCount(_ count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }

    /// The keys a given argv touches: the declared positions, then the
    /// variable ones. ACL checks every one of them.
    public func keys(in arguments: [Bytes]) -> [Bytes] {
        var keys: [Bytes] = []
        if firstKey > 0, firstKey < arguments.count {
            let last = lastKey < 0 ? arguments.count + lastKey : lastKey
            if last >= firstKey {
                for position in stride(from: firstKey, through: min(last, arguments.count - 1), by: keyStep) {
                    keys.append(arguments[position])
                }
            }
        }
        if let variableKeys { keys += variableKeys.keys(in: arguments) }
        return keys
    }
}

/// Where a command with a variable number of keys finds them.
public enum VariableKeys: Sendable {
    /// The argument at this position counts the keys that follow it
    /// (`EVAL script numkeys key...`, `ZUNION numkeys key...`).
    case counted(at: Int)
    /// Half the arguments after `STREAMS` (XREAD, XREADGROUP).
    case streams

    func keys(in arguments: [Bytes]) -> [Bytes] {
        switch self {
        case .counted(let position):
            guard position < arguments.count, let count = Int(arguments[position].text), count > 0 else { return [] }
            let first = position + 1
            // A count beyond the arguments is refused by the command itself;
            // every argument that could be a key is still checked.
            // `count` is the client's number: compared, never added, so a
            // numkeys near Int.max cannot overflow.
            return Array(arguments[first..<(count > arguments.count - first ? arguments.count : first + count)])
        case .streams:
            guard let keyword = arguments.firstIndex(where: { $0.equalsIgnoringCase("streams") }) else { return [] }
            let rest = arguments[(keyword + 1)...]
            return Array(rest.prefix((rest.count + 1) / 2))
        }
    }
}

public struct CommandFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Changes data.
    public static let write = CommandFlags(rawValue: 1 << 0)
    /// Only reads data.
    public static let readonly = CommandFlags(rawValue: 1 << 1)
    /// May grow memory: refused under maxmemory with noeviction.
    public static let denyOOM = CommandFlags(rawValue: 1 << 2)
    /// Server administration.
    public static let admin = CommandFlags(rawValue: 1 << 3)
    /// May park the client until data arrives.
    public static let blocking = CommandFlags(rawValue: 1 << 4)
    /// Not allowed inside scripts.
    public static let noScript = CommandFlags(rawValue: 1 << 5)
    /// O(1) or O(log n).
    public static let fast = CommandFlags(rawValue: 1 << 6)
    /// Not allowed in a transaction or a pipeline over HTTP.
    public static let noMulti = CommandFlags(rawValue: 1 << 7)
    /// Answers even while a snapshot is loading (INFO, PING, ...).
    public static let loading = CommandFlags(rawValue: 1 << 8)
}

/// The command being run: its argv and the database it runs against.
public struct CommandContext {
    public let arguments: [Bytes]
    // Not retained: the engine's state owns all four (constants of it, and
    // the spec its command table's) for as long as the engine lives, and a
    // context lives for one command. Retaining and releasing them was 8 of
    // the atomic reference-count operations of every command.
    public unowned(unsafe) let db: Database
    public unowned(unsafe) let server: ServerState
    public unowned(unsafe) let spec: CommandSpec
    public unowned(unsafe) let execution: ExecutionState
    /// The connection that sent the command (CLIENT ID); nil when internal.
    public var clientID: Int64? = nil
    /// The ACL user running it (ACL WHOAMI; a script's calls are checked
    /// against it); nil for the server's own commands.
    public var user: ACLUser? = nil

    public var argumentCount: Int { arguments.count }
    public subscript(_ position: Int) -> Bytes { arguments[position] }

    /// The lowercase command name, as Redis prints it in error messages.
    public var name: String { spec.name }

    public func integer(at position: Int) throws(CommandError) -> Int64 {
        try Parse.integer(arguments[position])
    }

    public func double(at position: Int) throws(CommandError) -> Double {
        try Parse.double(arguments[position])
    }
}

/// All commands by lowercase name.
public struct CommandTable: Sendable {
    private var byName: [String: CommandSpec] = [:]
    /// The same specs under their lowercase and uppercase spellings as
    /// bytes, so the usual `GET`/`get` needs no String built to look up.
    private var bySpelling: [Bytes: CommandSpec] = [:]
    /// Each command's ACL categories, derived from its family and flags.
    private var categoriesByName: [String: ACLCategories] = [:]

    public init(_ specs: [CommandSpec]) {
        self.init(families: [([], specs)])
    }

    /// Commands grouped by family: the family's category (`@string`, ...)
    /// is every one of its commands' category.
    public init(families: [(category: ACLCategories, commands: [CommandSpec])]) {
        for (family, specs) in families {
            for spec in specs {
                precondition(byName[spec.name] == nil, "command \(spec.name) declared twice")
                byName[spec.name] = spec
                bySpelling[Bytes(spec.name)] = spec
                bySpelling[Bytes(spec.name.uppercased())] = spec
                categoriesByName[spec.name] = ACLCategories.of(spec, family: family)
            }
        }
    }

    /// The ACL categories of a command of this table.
    public func categories(of spec: CommandSpec) -> ACLCategories {
        categoriesByName[spec.name] ?? []
    }

    public func lookup(_ name: Bytes) -> CommandSpec? {
        bySpelling[name] ?? byName[name.lowercasedASCII]
    }

    public var all: [CommandSpec] { byName.values.sorted { $0.name < $1.name } }

    /// Every command Keyway implements.
    public static let standard = CommandTable(families: [
        (.string, StringCommands.commands),
        (.bitmap, BitmapCommands.commands),
        (.hyperloglog, HyperLogLogCommands.commands),
        (.geo, GeoCommands.commands),
        (.json, JSONCommands.commands),
        (.json, JSONValueCommands.commands),
        (.keyspace, KeyCommands.commands),
        (.keyspace, ExpireCommands.commands),
        ([], ServerCommands.commands),
        (.hash, HashCommands.commands),
        (.list, ListCommands.commands),
        (.set, SetCommands.commands),
        (.sortedset, SortedSetCommands.commands),
        (.stream, StreamCommands.commands),
        (.pubsub, PubSubCommands.commands),
        ([], ConfigCommands.commands),
        ([], SnapshotCommands.commands),
        ([], AppendOnlyCommands.commands),
        ([], SlowLogCommands.commands),
        (.middleware, LockCommands.commands),
        (.middleware, SessionCommands.commands),
        (.connection, ClientCommands.commands),
        (.scripting, ScriptCommands.commands),
        (.keyspace, ObjectCommands.commands),
        ([], MemoryCommands.commands),
        (.middleware, RateLimitCommands.commands),
        (.keyspace, TypedDeleteCommands.commands),
        ([], ShutdownCommand.commands),
        ([], AccessControlCommands.commands),
    ])
}
