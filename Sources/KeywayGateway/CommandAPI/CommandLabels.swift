import KeywayEngine
import KeywayHTTP

/// One `ActivityLabel` per command name, made once, so the command API can
/// record a request's command on its connection (`cmd=`) with one
/// dictionary lookup and an atomic store.
enum CommandLabels {
    /// The same labels by the identity of the standard table's entries: a
    /// command the executor looked up already needs no name hashed again.
    static let bySpec: [ObjectIdentifier: ActivityLabel] = {
        var table: [ObjectIdentifier: ActivityLabel] = [:]
        for spec in CommandTable.standard.all { table[ObjectIdentifier(spec)] = byName[Bytes(spec.name)] }
        return table
    }()

    static let byName: [Bytes: ActivityLabel] = {
        var table: [Bytes: ActivityLabel] = [:]
        for spec in CommandTable.standard.all {
            let label = ActivityLabel(spec.name)
            table[Bytes(spec.name)] = label
            table[Bytes(spec.name.uppercased())] = label
        }
        return table
    }()

    /// CLIENT's subcommands as Redis names them in `cmd=` (`client|list`).
    static let clientSubcommands: [Bytes: ActivityLabel] = {
        var table: [Bytes: ActivityLabel] = [:]
        for name in ["id", "info", "list", "setname", "getname", "kill", "help"] {
            let label = ActivityLabel("client|\(name)")
            table[Bytes(name)] = label
            table[Bytes(name.uppercased())] = label
        }
        return table
    }()

    /// Notes `command` as the connection's last command; an unknown name
    /// leaves the route's label.
    /// `spec` is the command's table entry when the executor gave one.
    static func note(_ command: Command, spec: CommandSpec?, on connection: ClientConnection?) {
        guard let connection else { return }
        let known = spec.flatMap { bySpec[ObjectIdentifier($0)] }
        guard var label = known ?? byName[command.name] ?? byName[Bytes(command.name.lowercasedASCII)] else { return }
        if label.text == "client", command.arguments.count > 1 {
            let subcommand = command.arguments[1]
            label = clientSubcommands[subcommand] ?? clientSubcommands[Bytes(subcommand.lowercasedASCII)] ?? label
        }
        connection.noteCommand(label)
    }
}
