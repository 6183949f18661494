/// Hash commands (to be filled in).
enum HashCommands {
    static let commands: [CommandSpec] = []
}
