/// The scripting state of one engine: the script cache, the Lua VM (made on
/// first use), and the watchdog. Behind the engine lock except `watchdog`.
final class Scripting {
    let watchdog = ScriptWatchdog()
    /// Runs a command from a script through the engine's ordinary path
    /// (statistics, MONITOR, effect propagation). Set by the engine.
    var dispatch: ((Command, CommandSpec) -> Reply)?
    /// Script bodies by SHA-1, as SCRIPT LOAD and EVAL cached them.
    private(set) var bodies: [String: Bytes] = [:]
    private var interpreter: LuaInterpreter?

    /// The most memory the Lua VM may hold while a script runs (kept for a
    /// VM made later, or anew by SCRIPT FLUSH).
    var heapLimit = LuaInterpreter.defaultHeapLimit {
        didSet { interpreter?.heapLimit = heapLimit }
    }

    private var vm: LuaInterpreter {
        if let interpreter { return interpreter }
        let created = LuaInterpreter(watchdog: watchdog)
        created.heapLimit = heapLimit
        interpreter = created
        return created
    }

    /// Bytes held by cached script bodies (Redis's used_memory_scripts),
    /// for INFO's memory section once Keyway has one.
    var bodyBytes: Int { bodies.values.reduce(0) { $0 + $1.count } }
    /// Bytes held by the Lua VM (Redis's used_memory_lua).
    var interpreterBytes: Int { interpreter?.memoryBytes ?? 0 }

    /// Compiles and caches `body`, returning its SHA-1.
    @discardableResult
    func load(_ body: Bytes) throws(CommandError) -> String {
        let sha = SHA1.hex(body.storage)
        if bodies[sha] != nil { return sha }
        let source = try Shebang.parse(body).source
        if let message = vm.compile(source, sha: sha) {
            throw CommandError(.generic, "ERR Error compiling script (new function): \(message)")
        }
        bodies[sha] = body
        return sha
    }

    func exists(_ sha: String) -> Bool { bodies[sha] != nil }

    /// SCRIPT FLUSH: forgets every script and starts a fresh VM.
    func flush() {
        bodies.removeAll()
        interpreter = nil
    }

    /// Runs the cached script `sha`; `readOnly` for EVAL_RO / EVALSHA_RO
    /// and scripts whose shebang says `no-writes`.
    func run(sha: String, keys: [Bytes], arguments: [Bytes], readOnly: Bool, context: CommandContext) -> Reply {
        guard let body = bodies[sha], let dispatch else {
            return .error(CommandError(.noScript, "NOSCRIPT No matching script. Please use EVAL."))
        }
        let noWrites = (try? Shebang.parse(body).noWrites) ?? false
        let script = ScriptRun(context: context, readOnly: readOnly || noWrites, watchdog: watchdog, dispatch: dispatch)
        return vm.run(sha: sha, keys: keys, arguments: arguments, script: script)
    }
}

/// One script execution: what redis.call checks before running a command.
final class ScriptRun {
    let context: CommandContext
    let readOnly: Bool
    let watchdog: ScriptWatchdog
    let dispatch: (Command, CommandSpec) -> Reply

    init(context: CommandContext, readOnly: Bool, watchdog: ScriptWatchdog, dispatch: @escaping (Command, CommandSpec) -> Reply) {
        self.context = context
        self.readOnly = readOnly
        self.watchdog = watchdog
        self.dispatch = dispatch
    }

    /// Runs `arguments` as a command, with Redis 7's refusals. Blocking
    /// commands don't block: a script runs with `mayBlock` false, so they
    /// answer as if their timeout had passed.
    func call(_ arguments: [Bytes]) -> Reply {
        guard let spec = context.server.commands.lookup(arguments[0]) else {
            return .error(CommandError(.unknownCommand, "ERR Unknown Redis command called from script"))
        }
        guard spec.acceptsArgumentCount(arguments.count) else {
            return .error(CommandError(.wrongArity, "ERR Wrong number of args calling Redis command from script"))
        }
        if spec.flags.contains(.noScript) {
            return .error(CommandError(.generic, "ERR This Redis command is not allowed from script"))
        }
        if spec.flags.contains(.write) {
            if readOnly {
                return .error(CommandError(.generic, "ERR Write commands are not allowed from read-only scripts."))
            }
            watchdog.markWrote()
        }
        if let user = context.user, !user.isUnrestricted,
           let refusal = context.server.accessControl.check(user, spec: spec, arguments: arguments,
                                                             client: ACLLog.clientInfo(id: context.clientID, address: nil), context: "lua",
                                                             nowMilliseconds: context.db.clock.nowMilliseconds()) {
            return .error(refusal)
        }
        var command = Command(arguments)
        command.client = "lua"
        return dispatch(command, spec)
    }
}

/// Redis 7's optional first line `#!lua flags=no-writes,...`.
struct Shebang {
    /// The body Lua compiles: the shebang line emptied, so line numbers hold.
    var source: Bytes
    var noWrites = false

    static func parse(_ body: Bytes) throws(CommandError) -> Shebang {
        guard body.storage.starts(with: Array("#!".utf8)) else { return Shebang(source: body) }
        let end = body.storage.firstIndex(of: 10) ?? body.storage.endIndex
        let line = String(decoding: body.storage[2..<end], as: UTF8.self)
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        guard words.first == "lua" else {
            throw CommandError(.generic, "ERR Unexpected engine in script shebang: \(words.first ?? "")")
        }
        var result = Shebang(source: Bytes(body.storage[end...]))
        for word in words.dropFirst() {
            guard word.hasPrefix("flags=") else {
                throw CommandError(.generic, "ERR Unknown lua shebang option: \(word)")
            }
            for flag in word.dropFirst("flags=".count).split(separator: ",") {
                switch flag {
                case "no-writes": result.noWrites = true
                // allow-key-locking is what Upstash's rate-limit scripts declare.
                case "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys", "allow-key-locking": break
                default: throw CommandError(.generic, "ERR Unexpected flag in script shebang: \(flag)")
                }
            }
        }
        return result
    }
}
