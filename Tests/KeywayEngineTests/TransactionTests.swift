import Dispatch
import Testing
import KeywayEngine

/// MULTI/EXEC semantics through `executeTransaction`, and pipelines.
@Suite struct TransactionTests {
    let engine: Engine
    let clock: ManualClock

    init() { (engine, clock) = makeEngine() }

    private let execAbort = "EXECABORT Transaction discarded because of previous errors."

    @Test func repliesInOrder() throws {
        let replies = try engine.executeTransaction([
            Command("SET", "k", "1"),
            Command("INCR", "k"),
            Command("GET", "k"),
            Command("GET", "missing"),
        ]).get()
        #expect(replies == [.ok, .integer(2), .bulk("2"), .null])
    }

    @Test func emptyTransaction() throws {
        #expect(try engine.executeTransaction([]).get() == [])
    }

    @Test func unknownCommandAbortsEverything() {
        engine.run("SET", "k", "before")
        let sequence = engine.writeSequence
        let result = engine.executeTransaction([
            Command("SET", "k", "after"),
            Command("NOSUCH", "x"),
            Command("SET", "other", "1"),
        ])
        #expect(throws: CommandError.self) { try result.get() }
        if case .failure(let error) = result {
            #expect(error.message == execAbort)
            #expect(error.code == .execAbort)
        }
        #expect(engine.run("GET", "k") == .bulk("before"))
        #expect(engine.run("EXISTS", "other") == .integer(0))
        #expect(engine.writeSequence == sequence)
    }

    @Test func wrongArityAbortsEverything() {
        let result = engine.executeTransaction([
            Command("SET", "k", "v"),
            Command("GET"),
        ])
        if case .failure(let error) = result {
            #expect(error.message == execAbort)
        } else {
            Issue.record("expected EXECABORT, got \(result)")
        }
        #expect(engine.run("EXISTS", "k") == .integer(0))
    }

    @Test func runtimeErrorsAreRepliesAndTheRestRuns() throws {
        let replies = try engine.executeTransaction([
            Command("SET", "k", "not a number"),
            Command("INCR", "k"),
            Command("SET", "k2", "v", "EX", "0"),
            Command("SET", "after", "1"),
            Command("INCR", "after"),
        ]).get()
        #expect(replies.count == 5)
        #expect(replies[0] == .ok)
        #expect(replies[1].errorMessage == RedisError.notInteger)
        #expect(replies[2].errorMessage == RedisError.invalidExpire("set"))
        #expect(replies[3] == .ok)
        #expect(replies[4] == .integer(2))
        #expect(engine.run("GET", "k") == .bulk("not a number"))
    }

    @Test func transactionsAreAtomic() {
        // Each transaction adds 2 in two steps; a reader must never see an odd value.
        engine.run("SET", "counter", "0")
        let sawOdd = OddFlag()
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            if worker == 0 {
                for _ in 0..<2000 {
                    _ = engine.executeTransaction([Command("INCR", "counter"), Command("INCR", "counter")])
                }
            } else {
                for _ in 0..<2000 {
                    if let value = engine.run("GET", "counter").bytesValue.flatMap({ Parse.strictInt64($0) }), value % 2 != 0 {
                        sawOdd.set()
                    }
                }
            }
        }
        #expect(!sawOdd.value)
        #expect(engine.run("GET", "counter") == .bulk("4000"))
    }

    // MARK: - Pipelines

    @Test func pipelineRunsEachCommandAndKeepsErrorsInline() {
        let replies = engine.executePipeline([
            Command("SET", "a", "1"),
            Command("NOSUCH"),
            Command("INCR", "a"),
            Command("GET"),
            Command("GET", "a"),
        ])
        #expect(replies.count == 5)
        #expect(replies[0] == .ok)
        #expect(replies[1].errorMessage == "ERR unknown command 'NOSUCH', with args beginning with: ")
        #expect(replies[2] == .integer(2))
        #expect(replies[3].errorMessage == RedisError.arity("get"))
        #expect(replies[4] == .bulk("2"))
    }

    @Test func pipelineIsNotAllOrNothing() {
        let replies = engine.executePipeline([
            Command("SET", "a", "x"),
            Command("INCR", "a"),
            Command("SET", "b", "y"),
        ])
        #expect(replies[1].errorMessage == RedisError.notInteger)
        #expect(engine.run("MGET", "a", "b") == .array([.bulk("x"), .bulk("y")]))
    }
}

/// A flag set from one thread and read after the threads have joined.
final class OddFlag: @unchecked Sendable {
    private let lock = DispatchQueue(label: "odd-flag")
    private var flag = false
    func set() { lock.sync { flag = true } }
    var value: Bool { lock.sync { flag } }
}
