import KeywayEngine
import KeywayHTTP

/// Commands to run atomically, each handing back a typed slot for its reply,
/// so a handler reads `replies[existed]` as a Bool rather than decoding
/// `replies[0]` by position.
///
/// ```
/// var batch = CommandBatch()
/// let existed = batch.flag("EXISTS", [key])
/// let added = batch.integer("HSET", [key] + fields)
/// let replies = try context.atomically(&batch)
/// replies[existed]   // Bool
/// ```
struct CommandBatch {
    private(set) var commands: [Command] = []

    /// Room for the few commands a route batches, so they are one
    /// allocation instead of one per doubling.
    init() { commands.reserveCapacity(4) }

    /// Stamps every command with `client` where it sits.
    mutating func stamp(by client: ClientIdentity) {
        for index in commands.indices { client.stamp(&commands[index]) }
    }

    /// A command named by bytes made once (`CommandNames`): building the
    /// name from a `String` is an allocation per command.
    static func command(_ name: Bytes, _ rest: [Bytes]) -> Command {
        Command(Command.arguments(name, rest))
    }

    /// A command whose reply is not read (its error still fails the batch).
    mutating func run(_ name: String, _ arguments: [Bytes]) {
        commands.append(Command(name, arguments))
    }

    /// A command whose reply is decoded by `decode` when read.
    mutating func add<Value>(_ command: Command, _ decode: @escaping @Sendable (Reply) -> Value?) -> ReplySlot<Value> {
        commands.append(command)
        return ReplySlot(index: commands.count - 1, command: command.name, decode: decode)
    }

    /// An integer reply that is 1 (EXISTS, HEXISTS, SISMEMBER, ...): true.
    mutating func flag(_ name: String, _ arguments: [Bytes]) -> ReplySlot<Bool> {
        flag(Command(name, arguments))
    }

    mutating func flag(_ name: Bytes, _ arguments: [Bytes]) -> ReplySlot<Bool> {
        flag(Self.command(name, arguments))
    }

    private mutating func flag(_ command: Command) -> ReplySlot<Bool> {
        add(command) { reply in reply == .integer(1) }
    }

    /// An integer reply.
    mutating func integer(_ name: String, _ arguments: [Bytes]) -> ReplySlot<Int64> {
        integer(Command(name, arguments))
    }

    mutating func integer(_ name: Bytes, _ arguments: [Bytes]) -> ReplySlot<Int64> {
        integer(Self.command(name, arguments))
    }

    private mutating func integer(_ command: Command) -> ReplySlot<Int64> {
        add(command) { reply in
            if case .integer(let value) = reply { return value }
            return nil
        }
    }

    /// A bulk reply, or nil for a null (GET of a missing key).
    mutating func bulk(_ name: String, _ arguments: [Bytes]) -> ReplySlot<Bytes?> {
        bulk(Command(name, arguments))
    }

    mutating func bulk(_ name: Bytes, _ arguments: [Bytes]) -> ReplySlot<Bytes?> {
        bulk(Self.command(name, arguments))
    }

    private mutating func bulk(_ command: Command) -> ReplySlot<Bytes?> {
        add(command) { reply in
            switch reply {
            case .bulk(let bytes): return .some(bytes)
            case .null: return .some(nil)
            default: return nil
            }
        }
    }

    /// The first integer of an array reply: the per-field code of the
    /// HEXPIRE/HTTL family, asked for one field.
    mutating func firstCode(_ name: String, _ arguments: [Bytes]) -> ReplySlot<Int64?> {
        add(Command(name, arguments)) { reply in
            if case .array(let codes) = reply, case .integer(let code)? = codes.first { return .some(code) }
            return .some(nil)
        }
    }

    /// Any reply, as the engine gave it.
    mutating func reply(_ name: String, _ arguments: [Bytes]) -> ReplySlot<Reply> {
        add(Command(name, arguments)) { $0 }
    }
}

/// Where one command's reply sits in a batch, and how it decodes.
struct ReplySlot<Value>: Sendable {
    let index: Int
    /// The command's name, as bytes: read as text only for an error.
    let command: Bytes
    let decode: @Sendable (Reply) -> Value?

    var name: String { command.text }
}

/// The replies of an atomically run batch, read through their slots.
struct BatchReplies {
    let replies: [Reply]

    /// The decoded reply; a reply of a shape the command never gives is a
    /// server error (500), not a crash.
    subscript<Value>(_ slot: ReplySlot<Value>) -> Value {
        get throws(HTTPResponse) {
            guard let value = slot.decode(replies[slot.index]) else {
                throw Problem.response(500, code: "ERR", detail: "unexpected \(slot.name.uppercased()) reply")
            }
            return value
        }
    }
}

/// The names of the commands the busiest routes batch, as bytes made once.
enum CommandNames {
    static let get = Bytes("GET")
    static let set = Bytes("SET")
    static let exists = Bytes("EXISTS")
    static let pttl = Bytes("PTTL")
}
