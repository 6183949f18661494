import Foundation
import Testing
import Dispatch
import Synchronization
@testable import KeywayEngine
#if canImport(Glibc)
import Glibc
#endif

/// lua-time-limit: a script running past it makes the engine answer BUSY to
/// everyone else, and SCRIPT KILL, served while the script holds the lock,
/// stops it unless it already wrote. The limit is real time (the script
/// really loops), so the tests wait for the state they expect, bounded.
@Suite struct ScriptTimeLimitTests {
    let engine = makeEngine().0

    init() {
        engine.run("CONFIG", "SET", "lua-time-limit", "50")
    }

    /// The reply of a script running on another thread, once it is there.
    final class Outcome: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        private let reply = Mutex<Reply?>(nil)
        func finish(_ value: Reply) {
            reply.withLock { $0 = value }
            done.signal()
        }
        func withLock<R>(_ body: (Reply?) -> R) -> R { reply.withLock { body($0) } }
    }

    /// Runs `script` on another thread.
    func start(_ script: String) -> (done: DispatchSemaphore, reply: Outcome) {
        let outcome = Outcome()
        let engine = self.engine
        ScriptThread.detach {
            outcome.finish(engine.run("EVAL", Bytes(script), "0"))
        }
        return (outcome.done, outcome)
    }

    /// Polls PING until it answers BUSY (at most 20 s).
    func waitUntilBusy() -> Reply {
        var reply = engine.run("PING")
        for _ in 0..<4000 where reply == .status("PONG") {
            usleep(5_000)
            reply = engine.run("PING")
        }
        return reply
    }

    @Test func aRunawayScriptMakesOthersBusyAndScriptKillStopsIt() {
        let (done, box) = start("local i = 0 while true do i = i + 1 end")
        let busy = waitUntilBusy()
        #expect(busy.errorMessage == "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.")
        if case .error(let error) = busy { #expect(error.code == .busy) }
        #expect(engine.run("GET", "k").errorMessage?.hasPrefix("BUSY") == true)
        #expect(engine.executePipeline([Command("PING")]).first?.errorMessage?.hasPrefix("BUSY") == true)
        if case .failure(let error) = engine.executeTransaction([Command("PING")]) { #expect(error.code == .busy) } else { Issue.record("transaction ran") }
        #expect(engine.run("SCRIPT", "KILL") == .ok)
        #expect(done.wait(timeout: .now() + 20) == .success)
        let reply = box.withLock { $0 }
        #expect(reply?.errorMessage?.hasPrefix("ERR Script killed by user with SCRIPT KILL...") == true)
        #expect(engine.run("PING") == .status("PONG"))
        #expect(engine.run("SCRIPT", "KILL").errorMessage == "NOTBUSY No scripts in execution right now.")
    }

    @Test func pcallCannotSwallowTheKill() {
        let (done, box) = start("while true do pcall(function() while true do end end) end")
        #expect(waitUntilBusy().errorMessage?.hasPrefix("BUSY") == true)
        #expect(engine.run("SCRIPT", "KILL") == .ok)
        #expect(done.wait(timeout: .now() + 20) == .success)
        #expect(box.withLock { $0 }?.errorMessage?.hasPrefix("ERR Script killed by user with SCRIPT KILL...") == true)
    }

    @Test func aScriptThatWroteCannotBeKilled() {
        // Long but finite: it must outlast the 50 ms limit, then end by itself.
        let (done, box) = start("redis.call('SET', 'written', '1') for i = 1, 400000000 do end return 'finished'")
        let busy = waitUntilBusy()
        #expect(busy.errorMessage?.hasPrefix("BUSY") == true)
        if busy.errorMessage != nil {
            #expect(engine.run("SCRIPT", "KILL").errorMessage == "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
        }
        #expect(done.wait(timeout: .now() + 120) == .success)
        #expect(box.withLock { $0 } == .bulk("finished"))
        #expect(engine.run("GET", "written") == .bulk("1"))
    }

    /// lua-time-limit 0: the script runs without limit, but others get
    /// BUSY at once instead of queueing behind it forever, and SCRIPT KILL
    /// still reaches it.
    @Test func aZeroLimitLetsTheScriptRunButNeverHangsOthers() {
        engine.run("CONFIG", "SET", "lua-time-limit", "0")
        #expect(engine.run("EVAL", "for i = 1, 3000000 do end return 1", "0") == .integer(1))
        #expect(engine.run("SCRIPT", "KILL").errorMessage == "NOTBUSY No scripts in execution right now.")
        let (done, box) = start("while true do end")
        #expect(waitUntilBusy().errorMessage?.hasPrefix("BUSY") == true)
        #expect(engine.run("SCRIPT", "KILL") == .ok)
        #expect(done.wait(timeout: .now() + 20) == .success)
        #expect(box.withLock { $0 }?.errorMessage?.hasPrefix("ERR Script killed by user with SCRIPT KILL...") == true)
        #expect(engine.run("PING") == .status("PONG"))
    }

    /// A request that saw the write sequence move asks for a durability
    /// ticket: that must not queue behind a script holding the lock.
    @Test func theDurabilityBarrierDoesNotWaitBehindAScript() {
        let (done, _) = start("redis.call('SET', 'w', '1') while true do end")
        #expect(waitUntilBusy().errorMessage?.hasPrefix("BUSY") == true)
        let answered = DispatchSemaphore(value: 0)
        let engine = self.engine
        // Its own thread: the shared queue may be busy with other suites.
        Thread.detachNewThread {
            _ = engine.durabilityBarrier()
            answered.signal()
        }
        #expect(answered.wait(timeout: .now() + 5) == .success)
        engine.setShutdownHandler { _ in }
        #expect(engine.run("SHUTDOWN", "NOSAVE") == .ok)
        #expect(done.wait(timeout: .now() + 20) == .success)
    }

    /// SHUTDOWN NOSAVE is served while a script that wrote loops: the
    /// script is stopped and the process asked to stop without saving.
    @Test func shutdownNoSaveStopsEvenAScriptThatWrote() {
        let asked = Mutex<[ShutdownSave]>([])
        engine.setShutdownHandler { save in asked.withLock { $0.append(save) } }
        let (done, box) = start("redis.call('SET', 'half', '1') while true do end")
        #expect(waitUntilBusy().errorMessage?.hasPrefix("BUSY") == true)
        #expect(engine.run("SCRIPT", "KILL").errorMessage?.hasPrefix("UNKILLABLE") == true)
        #expect(engine.run("SHUTDOWN").errorMessage?.hasPrefix("BUSY") == true)
        #expect(engine.run("SHUTDOWN", "NOSAVE") == .ok)
        #expect(done.wait(timeout: .now() + 20) == .success)
        #expect(box.withLock { $0 }?.errorMessage != nil)
        #expect(asked.withLock { $0 } == [.noSave])
    }
}

/// SHUTDOWN outside scripts: its arguments, and the process's handler.
@Suite struct ShutdownCommandTests {
    @Test func shutdownAsksTheProcessWithItsSaveMode() {
        let engine = makeEngine().0
        #expect(engine.run("SHUTDOWN").errorMessage?.hasPrefix("ERR SHUTDOWN is not available") == true)
        let asked = Mutex<[ShutdownSave]>([])
        engine.setShutdownHandler { save in asked.withLock { $0.append(save) } }
        #expect(engine.run("SHUTDOWN") == .ok)
        #expect(engine.run("SHUTDOWN", "save", "NOW") == .ok)
        #expect(engine.run("SHUTDOWN", "NOSAVE", "FORCE") == .ok)
        #expect(engine.run("SHUTDOWN", "SAVE", "NOSAVE").errorMessage == "ERR syntax error")
        #expect(engine.run("SHUTDOWN", "LATER").errorMessage == "ERR syntax error")
        #expect(asked.withLock { $0 } == [.asConfigured, .save, .noSave])
        #expect(engine.run("EVAL", "return redis.call('SHUTDOWN')", "0").errorMessage != nil)
    }

    @Test func theProcessStopsAScriptForShutdownAndLearnsWhetherItWrote() {
        let engine = makeEngine().0
        #expect(engine.interruptScriptForShutdown() == false)
        // The flag stays: the next script stops at its first check.
        #expect(engine.run("EVAL", "while true do end", "0").errorMessage?.contains("killed") == true)
    }
}

/// Thread creation without Foundation's Thread.
enum ScriptThread {
    static func detach(_ body: @escaping @Sendable () -> Void) {
        DispatchQueue.global().async(execute: body)
    }
}
