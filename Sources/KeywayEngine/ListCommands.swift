/// List commands (to be filled in).
enum ListCommands {
    static let commands: [CommandSpec] = []
}
