/// Set commands (to be filled in).
enum SetCommands {
    static let commands: [CommandSpec] = []
}
