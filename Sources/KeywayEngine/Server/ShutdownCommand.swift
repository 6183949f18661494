import Synchronization

/// How a SHUTDOWN asks the process to treat the dataset as it stops.
public enum ShutdownSave: Sendable, Equatable {
    /// Save when save rules are configured, as a plain SHUTDOWN does.
    case asConfigured
    /// SHUTDOWN SAVE: save even without save rules.
    case save
    /// SHUTDOWN NOSAVE: stop without saving.
    case noSave
}

/// The process's way to stop, given to the engine by whoever runs it (the
/// `keyway serve` command). Read without the engine lock, so SHUTDOWN
/// NOSAVE works while a script holds it.
final class ShutdownHook: Sendable {
    private let handler = Mutex<(@Sendable (ShutdownSave) -> Void)?>(nil)

    func install(_ newHandler: @escaping @Sendable (ShutdownSave) -> Void) {
        handler.withLock { $0 = newHandler }
    }

    /// Asks the process to stop; false when nothing embeds a way to.
    func request(_ save: ShutdownSave) -> Bool {
        guard let handler = handler.withLock({ $0 }) else { return false }
        handler(save)
        return true
    }
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]: stops the server. Over HTTP the
/// reply is `OK`, sent as the server begins to stop. While a script is busy
/// only SHUTDOWN NOSAVE is served (it stops the script too), as in Redis.
enum ShutdownCommand {
    static let commands: [CommandSpec] = [
        CommandSpec("shutdown", arity: -1, flags: [.admin, .noScript, .loading, .noMulti], keys: (0, 0, 0), handler: shutdown),
    ]

    static func shutdown(_ c: CommandContext) throws(CommandError) -> Reply {
        let save = try mode(c.arguments)
        guard c.server.shutdownHook.request(save) else {
            throw CommandError(.notSupported, "ERR SHUTDOWN is not available: this engine runs inside no server process")
        }
        return .ok
    }

    /// The save mode of a SHUTDOWN argv; NOW and FORCE are accepted (there
    /// are no replicas to wait for, and a failing save is logged, not fatal).
    static func mode(_ arguments: [Bytes]) throws(CommandError) -> ShutdownSave {
        var save = ShutdownSave.asConfigured
        for word in arguments.dropFirst() {
            if word.equalsIgnoringCase("nosave") {
                if save == .save { throw .syntax }
                save = .noSave
            } else if word.equalsIgnoringCase("save") {
                if save == .noSave { throw .syntax }
                save = .save
            } else if word.equalsIgnoringCase("now") || word.equalsIgnoringCase("force") {
                continue
            } else {
                throw .syntax
            }
        }
        return save
    }

    /// Whether `command` is SHUTDOWN NOSAVE, which a busy engine serves.
    static func isNoSaveShutdown(_ command: Command) -> Bool {
        command.arguments.first?.equalsIgnoringCase("shutdown") == true
            && (try? mode(command.arguments)) == .noSave
    }
}
