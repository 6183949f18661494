import Testing
@testable import KeywayEngine
#if canImport(Glibc)
import Glibc
#endif

@Suite struct AOFLoaderTests {
    /// Runs `body` against an engine logging to a fresh AOF; returns its path
    /// and the engine's clock time at the end.
    func record(_ body: (Engine, ManualClock) -> Void) throws -> (path: String, engine: Engine, now: Int64) {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        let writer = try AOFWriter(path: path, policy: .everysec)
        let (engine, clock) = makeEngine()
        engine.attachPropagationSink(writer)
        body(engine, clock)
        writer.close()
        return (path, engine, clock.nowMilliseconds())
    }

    @Test func replayRebuildsDataAndTTLs() throws {
        let (path, original, now) = try record { engine, clock in
            engine.run("SET", "s", "v", "EX", "100")
            engine.run("SETEX", "e", "50", "x")
            engine.run("RPUSH", "l", "a", "b", "c")
            engine.run("LPOP", "l")
            engine.run("SADD", "set", "1", "2", "3")
            engine.run("SPOP", "set")
            engine.run("ZADD", "z", "1.5", "a", "-2", "b")
            engine.run("ZINCRBY", "z", "0.25", "a")
            engine.run("HSET", "h", "f", "1", "g", "2")
            engine.run("HINCRBYFLOAT", "h", "f", "0.5")
            engine.run("HEXPIRE", "h", "30", "FIELDS", "1", "g")
            engine.run("INCRBYFLOAT", "n", "3.25")
            engine.run("XADD", "st", "*", "k", "v")
            clock.advance(milliseconds: 1000)
            engine.run("EXPIRE", "l", "10")
            engine.run("XADD", "st", "*", "k", "w")
            _ = engine.executeTransaction([Command("INCR", "c"), Command("INCR", "c")])
            engine.run("SET", "short", "v", "PX", "10")
            clock.advance(milliseconds: 20)
            engine.run("GET", "short")
        }
        let (loaded, clock) = makeEngine(milliseconds: now)
        var progressCalls = 0
        let report = try AOFLoader.load(path: path, into: loaded, progress: { _ in progressCalls += 1 })
        #expect(report.truncatedAt == nil)
        #expect(report.commands > 10)
        #expect(progressCalls >= 1)
        #expect(keyspaceDifferences(dumpKeyspace(loaded), dumpKeyspace(original)) == [])
        #expect(loaded.pttl("s") == original.pttl("s"))
        // Later, expiries fire on the loaded engine at the same instants.
        clock.advance(milliseconds: 49_000)
        #expect(loaded.run("GET", "e") == .null)
        #expect(loaded.run("GET", "s") != .null)
    }

    @Test func aTruncatedLastCommandIsDroppedAndTheFileCutBack() throws {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        let good = RESPCommandEncoding.encode([["SET", "a", "1"], ["SET", "b", "2"]] as [[Bytes]])
        let partial = Array(RESPCommandEncoding.encode(["SET", "c", "3"] as [Bytes]).dropLast(4))
        writeFile(path, good + partial)
        let (engine, _) = makeEngine()
        var warnings: [String] = []
        let report = try AOFLoader.load(path: path, into: engine, warning: { warnings.append($0) })
        #expect(report.commands == 2)
        #expect(report.truncatedAt == good.count)
        #expect(!warnings.isEmpty)
        #expect(readFile(path) == good)
        #expect(engine.run("GET", "b") == .bulk("2"))
        #expect(engine.run("EXISTS", "c") == .integer(0))
    }

    @Test func truncationCanBeRefused() throws {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        let good = RESPCommandEncoding.encode(["SET", "a", "1"] as [Bytes])
        writeFile(path, good + Array("*2\r\n$3\r\nDEL".utf8))
        let (engine, _) = makeEngine()
        do {
            _ = try AOFLoader.load(path: path, into: engine, allowTruncated: false)
            Issue.record("expected an error")
        } catch {
            guard case .truncated(let offset) = error else { Issue.record("\(error)"); return }
            #expect(offset == good.count)
        }
        #expect(readFile(path).count == good.count + 11)
    }

    @Test func corruptionInTheMiddleStopsTheLoadWithItsOffset() throws {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        let first = RESPCommandEncoding.encode(["SET", "a", "1"] as [Bytes])
        let rest = RESPCommandEncoding.encode(["SET", "b", "2"] as [Bytes])
        writeFile(path, first + Array("xx".utf8) + rest)
        let (engine, _) = makeEngine()
        do {
            _ = try AOFLoader.load(path: path, into: engine)
            Issue.record("expected an error")
        } catch {
            guard case .corrupt(let offset, _) = error else { Issue.record("\(error)"); return }
            #expect(offset == first.count)
            #expect("\(error)".contains("offset \(first.count)"))
        }
    }

    @Test func anUnterminatedTransactionAtTheEndCountsAsTruncated() throws {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        let good = RESPCommandEncoding.encode([["SET", "a", "1"]] as [[Bytes]])
        let open = RESPCommandEncoding.encode([["MULTI"], ["SET", "b", "2"]] as [[Bytes]])
        writeFile(path, good + open)
        let (engine, _) = makeEngine()
        let report = try AOFLoader.load(path: path, into: engine)
        #expect(report.truncatedAt == good.count)
        #expect(engine.run("EXISTS", "b") == .integer(0))
        #expect(readFile(path) == good)
    }

    @Test func unknownCommandsStopTheLoad() throws {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        let first = RESPCommandEncoding.encode([["SELECT", "0"], ["SET", "a", "1"]] as [[Bytes]])
        writeFile(path, first + RESPCommandEncoding.encode(["NOSUCH", "x"] as [Bytes]))
        let (engine, _) = makeEngine()
        #expect(throws: AOFLoadError.self) { try AOFLoader.load(path: path, into: engine) }
    }
}
