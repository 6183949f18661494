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
    public let handler: @Sendable (CommandContext) throws(CommandError) -> Reply

    public init(
        _ name: String, arity: Int, flags: CommandFlags,
        keys: (first: Int, last: Int, step: Int) = (1, 1, 1),
        handler: @escaping @Sendable (CommandContext) throws(CommandError) -> Reply
    ) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.firstKey = keys.first
        self.lastKey = keys.last
        self.keyStep = keys.step
        self.handler = handler
    }

    public func acceptsArgumentCount(_ count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }

    /// The keys a given argv touches, by the declared positions.
    public func keys(in arguments: [Bytes]) -> [Bytes] {
        guard firstKey > 0, firstKey < arguments.count else { return [] }
        let last = lastKey < 0 ? arguments.count + lastKey : lastKey
        return stride(from: firstKey, through: min(last, arguments.count - 1), by: keyStep).map { arguments[$0] }
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
    public let db: Database
    public let server: ServerState
    public let spec: CommandSpec
    public let execution: ExecutionState
    /// The connection that sent the command (CLIENT ID); nil when internal.
    public var clientID: Int64? = nil

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

    public init(_ specs: [CommandSpec]) {
        for spec in specs {
            precondition(byName[spec.name] == nil, "command \(spec.name) declared twice")
            byName[spec.name] = spec
            bySpelling[Bytes(spec.name)] = spec
            bySpelling[Bytes(spec.name.uppercased())] = spec
        }
    }

    public func lookup(_ name: Bytes) -> CommandSpec? {
        bySpelling[name] ?? byName[name.lowercasedASCII]
    }

    public var all: [CommandSpec] { byName.values.sorted { $0.name < $1.name } }

    /// Every command Keyway implements.
    public static let standard = CommandTable(
        StringCommands.commands
            + KeyCommands.commands
            + ExpireCommands.commands
            + ServerCommands.commands
            + HashCommands.commands
            + ListCommands.commands
            + SetCommands.commands
            + SortedSetCommands.commands
            + StreamCommands.commands
            + PubSubCommands.commands
            + ConfigCommands.commands
            + SnapshotCommands.commands
            + AppendOnlyCommands.commands
            + SlowLogCommands.commands
            + LockCommands.commands
            + SessionCommands.commands
            + ClientCommands.commands
            + ScriptCommands.commands
            + ObjectCommands.commands
            + MemoryCommands.commands
            + RateLimitCommands.commands
            + TypedDeleteCommands.commands
            + ShutdownCommand.commands
    )
}
