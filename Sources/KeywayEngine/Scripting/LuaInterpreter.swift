import CLua
import Logging

/// One sandboxed Lua 5.1 VM (see `keyway_lua_setup` in CLua's shim.h for
/// what the sandbox holds). Lives behind the engine lock, like the data.
///
/// No Lua error may longjmp through Swift: Swift code here calls only Lua
/// API functions that cannot raise (raw table access, pushes; allocation
/// failure aborts instead of raising), runs scripts with `lua_pcall`, and
/// reports failures from redis.call by returning a status to the C
/// trampoline, which raises the error itself.
final class LuaInterpreter {
    private let state: OpaquePointer
    private let callbacks: UnsafeMutablePointer<keyway_lua_callbacks>
    private let watchdog: ScriptWatchdog
    /// The script being run, which redis.call goes through.
    private var current: ScriptRun?
    private var runsSinceCollection = 0
    static let logger = Logger(label: "keyway.scripting")
    /// How many VM instructions run between two looks at the clock.
    static let hookInterval: Int32 = 100_000
    /// The most the VM may hold while a script runs; past it the script
    /// fails with "not enough memory" instead of the process running out.
    static let defaultHeapLimit = 1 << 30

    var heapLimit: Int {
        get { Int(callbacks.pointee.heap_limit) }
        set { callbacks.pointee.heap_limit = max(0, newValue) }
    }

    init(watchdog: ScriptWatchdog) {
        self.watchdog = watchdog
        callbacks = .allocate(capacity: 1)
        callbacks.initialize(to: keyway_lua_callbacks(
            context: nil, call: luaRedisCall, interrupt: luaInterrupt, log: luaLog, sha1hex: luaSHA1Hex, lua_running: 0,
            heap_bytes: 0, heap_limit: Self.defaultHeapLimit))
        // Creating the VM only allocates: failure means no memory at all.
        guard let state = keyway_lua_open(callbacks) else { fatalError("could not create the Lua interpreter") }
        self.state = state
        callbacks.pointee.context = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        lua_close(state)
        callbacks.deallocate()
    }

    /// Bytes the VM holds (Redis's used_memory_lua).
    var memoryBytes: Int { Int(lua_gc(state, LUA_GCCOUNT, 0)) * 1024 + Int(lua_gc(state, LUA_GCCOUNTB, 0)) }

    /// Compiles `body` and keeps the function under `sha`. Nil on success,
    /// else Lua's message (`user_script:1: ...`).
    func compile(_ body: Bytes, sha: String) -> String? {
        // Lua 5.1 runs precompiled bytecode unverified: refused, as Redis does.
        if body.storage.first == 0x1B { return "user_script: loading precompiled bytecode is not allowed" }
        let status = body.storage.withUnsafeBufferPointer { buffer -> Int32 in
            let start = UnsafeRawPointer(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
            return luaL_loadbuffer(state, start, buffer.count, "@user_script")
        }
        guard status == 0 else {
            let message = LuaValues.string(state, at: -1)?.text ?? "unknown error"
            lua_settop(state, 0)
            return message
        }
        lua_setfield(state, LUA_REGISTRYINDEX, "f_" + sha)
        return nil
    }

    /// Runs the compiled script `sha` with KEYS and ARGV set, under the
    /// watchdog, and converts what it returns (or raised) to a reply.
    func run(sha: String, keys: [Bytes], arguments: [Bytes], script: ScriptRun) -> Reply {
        lua_settop(state, 0)
        LuaValues.setGlobalArray(state, "KEYS", keys)
        LuaValues.setGlobalArray(state, "ARGV", arguments)
        lua_pushcclosure(state, keyway_lua_error_handler_function(), 0)
        lua_getfield(state, LUA_REGISTRYINDEX, "f_" + sha)
        // A script may have given its function another environment with
        // setfenv: every run starts from the sandbox's globals again.
        lua_pushvalue(state, LUA_GLOBALSINDEX)
        lua_setfenv(state, -2)

        current = script
        watchdog.begin()
        // Always watched: even without a time limit, SCRIPT KILL and a
        // shutdown must be able to stop a script.
        keyway_lua_set_hook(state, Self.hookInterval)
        callbacks.pointee.lua_running = 1
        let status = lua_pcall(state, 0, 1, -2)
        callbacks.pointee.lua_running = 0
        keyway_lua_clear_hook(state)
        if watchdog.isBusy && watchdog.timeLimitMilliseconds > 0 {
            Self.logger.warning("Slow script finished: script \(sha) ran past lua-time-limit (\(watchdog.timeLimitMilliseconds) ms)")
        }
        watchdog.end()
        current = nil

        let reply = status == 0 ? LuaValues.reply(state, at: lua_gettop(state)) : failure(sha: sha)
        lua_settop(state, 0)
        // A script may have stopped the collector; a failed one may have
        // left its garbage right at the heap limit.
        lua_gc(state, LUA_GCRESTART, 0)
        if status == LUA_ERRMEM { lua_gc(state, LUA_GCCOLLECT, 0) }
        // A small incremental collection now and then, as Redis does, so
        // garbage never piles up into one long full cycle.
        runsSinceCollection += 1
        if runsSinceCollection >= 50 {
            runsSinceCollection = 0
            lua_gc(state, LUA_GCSTEP, 50)
        }
        return reply
    }

    /// The error a failed script answers, in Redis 7's words:
    /// `ERR user_script:1: boom script: <sha>, on @user_script:1.`
    private func failure(sha: String) -> Reply {
        let top = lua_gettop(state)
        guard lua_type(state, top) == LUA_TTABLE else {
            let text = LuaValues.string(state, at: top)?.text ?? "execution failure"
            return .error(CommandError(.generic, "ERR Error running script \(sha), \(text.prefix(100))"))
        }
        var message = LuaValues.field(state, table: top, "err").flatMap { LuaValues.string(state, at: -1, popping: $0) }?.text ?? "ERR unknown error"
        let source = LuaValues.field(state, table: top, "source").flatMap { LuaValues.string(state, at: -1, popping: $0) }
        let line = LuaValues.field(state, table: top, "line").flatMap { LuaValues.string(state, at: -1, popping: $0) }
        if let source, let line {
            message += " script: \(sha), on \(source.text):\(line.text)."
        }
        return .error(CommandError(ErrorCode.forMessage(message), message))
    }

    // MARK: - Called from C

    /// redis.call / redis.pcall (see `keyway_lua_callbacks.call`).
    fileprivate func redisCall(_ L: OpaquePointer, raise: Bool) -> Int32 {
        func fail(_ message: String) -> Int32 {
            lua_settop(L, 0)
            LuaValues.pushError(L, message)
            return raise ? -1 : 1
        }
        let count = lua_gettop(L)
        guard count > 0 else { return fail("ERR Please specify at least one argument for this redis lib call") }
        var arguments: [Bytes] = []
        arguments.reserveCapacity(Int(count))
        for index in 1...count {
            guard let argument = LuaValues.commandArgument(L, at: index) else {
                return fail("ERR Lua redis lib command arguments must be strings or integers")
            }
            arguments.append(argument)
        }
        lua_settop(L, 0)
        guard let script = current else { return fail("ERR redis.call/pcall can only be called inside a script invocation") }
        let reply = script.call(arguments)
        LuaValues.push(L, reply)
        if raise, case .error = reply { return -1 }
        return 1
    }

    fileprivate func interrupt() -> Bool {
        let wasBusy = watchdog.isBusy
        let kill = watchdog.shouldInterrupt()
        if !wasBusy && watchdog.isBusy {
            Self.logger.warning("Slow script detected: still in execution after \(watchdog.timeLimitMilliseconds) milliseconds. You can try killing the script using the SCRIPT KILL command.")
        }
        if kill { Self.logger.warning("Lua script killed by user with SCRIPT KILL.") }
        return kill
    }

    /// redis.log levels: LOG_DEBUG, LOG_VERBOSE, LOG_NOTICE, LOG_WARNING.
    fileprivate static func log(level: Int32, _ message: String) {
        switch level {
        case 0: logger.debug("\(message)")
        case 1: logger.info("\(message)")
        case 2: logger.notice("\(message)")
        default: logger.warning("\(message)")
        }
    }
}

private func interpreter(_ context: UnsafeMutableRawPointer?) -> LuaInterpreter {
    Unmanaged<LuaInterpreter>.fromOpaque(context!).takeUnretainedValue()
}

private func luaRedisCall(_ context: UnsafeMutableRawPointer?, _ L: OpaquePointer?, _ raise: Int32) -> Int32 {
    interpreter(context).redisCall(L!, raise: raise != 0)
}

private func luaInterrupt(_ context: UnsafeMutableRawPointer?) -> Int32 {
    interpreter(context).interrupt() ? 1 : 0
}

private func luaLog(_ context: UnsafeMutableRawPointer?, _ level: Int32, _ message: UnsafePointer<CChar>?, _ length: Int) {
    guard let message else { return }
    let bytes = UnsafeRawBufferPointer(start: message, count: length)
    LuaInterpreter.log(level: level, String(decoding: bytes, as: UTF8.self))
}

private func luaSHA1Hex(_ context: UnsafeMutableRawPointer?, _ text: UnsafePointer<CChar>?, _ length: Int, _ out: UnsafeMutablePointer<CChar>?) {
    let bytes = text.map { UnsafeRawBufferPointer(start: $0, count: length) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
    let digest = Array(SHA1.hex(bytes).utf8)
    for (index, byte) in digest.enumerated() { out![index] = CChar(bitPattern: byte) }
}
