/// EVAL, EVALSHA, their read-only forms, and SCRIPT.
///
/// A script runs as one command under the engine lock, so it is atomic.
/// Its writes reach the AOF as their effects (what each redis.call logged),
/// wrapped in MULTI ... EXEC when there are several, never as the script
/// itself: replaying the file rebuilds the same data whatever the script
/// read or computed.
enum ScriptCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("eval", arity: -3, flags: [.noScript], keys: (0, 0, 0), variableKeys: .counted(at: 2)) { c throws(CommandError) in try eval(c, bySHA: false, readOnly: false) },
        CommandSpec("evalsha", arity: -3, flags: [.noScript], keys: (0, 0, 0), variableKeys: .counted(at: 2)) { c throws(CommandError) in try eval(c, bySHA: true, readOnly: false) },
        CommandSpec("eval_ro", arity: -3, flags: [.noScript, .readonly], keys: (0, 0, 0), variableKeys: .counted(at: 2)) { c throws(CommandError) in try eval(c, bySHA: false, readOnly: true) },
        CommandSpec("evalsha_ro", arity: -3, flags: [.noScript, .readonly], keys: (0, 0, 0), variableKeys: .counted(at: 2)) { c throws(CommandError) in try eval(c, bySHA: true, readOnly: true) },
        CommandSpec("script", arity: -2, flags: [.noScript], keys: (0, 0, 0), handler: script),
    ]

    /// EVAL and its variants: run aside from the caller's thread by `Engine.submit`.
    static func runsScript(_ spec: CommandSpec) -> Bool {
        spec.name.hasPrefix("eval")
    }

    static func eval(_ c: CommandContext, bySHA: Bool, readOnly: Bool) throws(CommandError) -> Reply {
        let declared = try c.integer(at: 2)
        if declared > Int64(c.argumentCount - 3) {
            throw CommandError(.generic, "ERR Number of keys can't be greater than number of args")
        }
        if declared < 0 { throw CommandError(.generic, "ERR Number of keys can't be negative") }
        let scripts = c.server.scripts
        let sha: String
        if bySHA {
            sha = c[1].lowercasedASCII
            guard sha.utf8.count == 40, scripts.exists(sha) else {
                throw CommandError(.noScript, "NOSCRIPT No matching script. Please use EVAL.")
            }
        } else {
            sha = try scripts.load(c[1])
        }
        let keyEnd = 3 + Int(declared)
        let keys = Array(c.arguments[3..<keyEnd])
        let arguments = Array(c.arguments[keyEnd...])

        let recorder = c.execution.propagation
        let mark = recorder?.pending.count ?? 0
        let reply = scripts.run(sha: sha, keys: keys, arguments: arguments, readOnly: readOnly, context: c)
        // The effects the script's commands logged stand for the script:
        // several become one MULTI ... EXEC (a transaction already has one).
        if let recorder, !c.execution.inTransaction, recorder.pending.count - mark > 1 {
            recorder.pending.insert([Bytes("MULTI")], at: mark)
            recorder.pending.append([Bytes("EXEC")])
        }
        c.propagateNothing()
        return reply
    }

    /// SCRIPT LOAD | EXISTS | FLUSH | KILL | HELP. (SCRIPT KILL reaches
    /// here only when no script runs: a busy engine answers it before
    /// taking the lock, see `Engine.refuseWhileBusy`.)
    static func script(_ c: CommandContext) throws(CommandError) -> Reply {
        let scripts = c.server.scripts
        let sub = c[1]
        if sub.equalsIgnoringCase("load") && c.argumentCount == 3 {
            return .bulk(Bytes(try scripts.load(c[2])))
        }
        if sub.equalsIgnoringCase("exists") && c.argumentCount >= 3 {
            return .array(c.arguments.dropFirst(2).map { .integer(scripts.exists($0.lowercasedASCII) ? 1 : 0) })
        }
        if sub.equalsIgnoringCase("flush") && c.argumentCount <= 3 {
            if c.argumentCount == 3 && !c[2].equalsIgnoringCase("async") && !c[2].equalsIgnoringCase("sync") {
                throw CommandError(.syntax, "ERR SCRIPT FLUSH only support SYNC|ASYNC option")
            }
            scripts.flush()
            return .ok
        }
        if sub.equalsIgnoringCase("kill") && c.argumentCount == 2 {
            throw ScriptWatchdog.notBusy
        }
        if sub.equalsIgnoringCase("help") && c.argumentCount == 2 {
            return .array([
                "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "EXISTS <sha1> [<sha1> ...]",
                "    Return information about the existence of the scripts in the script cache.",
                "FLUSH [ASYNC|SYNC]",
                "    Flush the Lua scripts cache.",
                "KILL",
                "    Kill the currently executing Lua script.",
                "LOAD <script>",
                "    Load a script into the scripts cache without executing it.",
                "HELP",
                "    Print this help.",
            ].map { .status($0) })
        }
        throw CommandError(.syntax, "ERR unknown subcommand or wrong number of arguments for '\(sub.text)'. Try SCRIPT HELP.")
    }
}
