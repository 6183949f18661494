/// SortedSet commands (to be filled in).
enum SortedSetCommands {
    static let commands: [CommandSpec] = []
}
