/// Stream commands (to be filled in).
enum StreamCommands {
    static let commands: [CommandSpec] = []
}
