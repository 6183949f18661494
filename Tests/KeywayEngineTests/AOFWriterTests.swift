import Testing
import Synchronization
import Dispatch
@testable import KeywayEngine
#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp for one test's files.
func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/keyway-aof-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    return path
}

func readFile(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        result.append(contentsOf: chunk[0..<n])
    }
    return result
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

@Suite struct AOFWriterTests {
    @Test func alwaysMakesEveryConcurrentAppendDurableAndKeepsEachWritersOrder() throws {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        let writer = try AOFWriter(path: path, policy: .always)
        let threads = 8, perThread = 150
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for i in 0..<perThread {
                let ticket = writer.append([[Bytes("RPUSH"), Bytes("t\(thread)"), Bytes("\(i)")]])
                #expect(ticket != nil)
                #expect(ticket?.waitDurable() == true)
                #expect(ticket?.isDurable == true)
            }
        }
        let commands = try RESPCommandParser.parseAll(readFile(path))
        #expect(commands.count == threads * perThread)
        for thread in 0..<threads {
            let mine = commands.filter { $0[1] == Bytes("t\(thread)") }.map { Int($0[2].text)! }
            #expect(mine == Array(0..<perThread))
        }
        let stats = writer.statistics
        // Group commit: concurrent appends share fsyncs.
        #expect(stats.fsyncs >= 1 && stats.fsyncs <= Int64(threads * perThread))
        writer.close()
    }

    @Test func alwaysReleasesRepliesThroughACallback() throws {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        let writer = try AOFWriter(path: path, policy: .always)
        let engine = Engine(clock: ManualClock())
        engine.attachPropagationSink(writer)
        let fired = Mutex<[Bool]>([])
        let done = DispatchSemaphore(value: 0)
        let (reply, ticket) = engine.executeReportingDurability(Command("SET", "k", "v"))
        #expect(reply == .ok)
        let durable = try #require(ticket)
        durable.onDurable { ok in
            fired.withLock { $0.append(ok) }
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(fired.withLock { $0 } == [true])
        // Reads produce no ticket: nothing to wait for.
        #expect(engine.executeReportingDurability(Command("GET", "k")).durability == nil)
        #expect(try RESPCommandParser.parseAll(readFile(path)) == [["SET", "k", "v"]])
        writer.close()
    }

    @Test func concurrentEngineWritesReachTheFileInExecutionOrder() throws {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        let writer = try AOFWriter(path: path, policy: .always)
        let engine = Engine(clock: ManualClock())
        engine.attachPropagationSink(writer)
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for _ in 0..<100 {
                let (_, ticket) = engine.executeReportingDurability(Command("RPUSH", "shared", "t\(thread)"))
                ticket?.waitDurable()
            }
        }
        let logged = try RESPCommandParser.parseAll(readFile(path)).map { $0[2] }
        let list = engine.execute(Command("LRANGE", "shared", "0", "-1"))
        guard case .array(let elements) = list else { Issue.record("no list"); return }
        #expect(logged == elements.compactMap { if case .bulk(let b) = $0 { return b } else { return nil } })
        writer.close()
    }

    @Test func everysecFsyncsWithinTheInterval() throws {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        let writer = try AOFWriter(path: path, policy: .everysec, fsyncIntervalMilliseconds: 50)
        #expect(writer.append([["SET", "a", "1"]]) == nil)
        var waited = 0
        while writer.statistics.fsyncs == 0 && waited < 2000 {
            usleep(10_000)
            waited += 10
        }
        #expect(writer.statistics.fsyncs >= 1)
        #expect(waited < 1000)
        #expect(try RESPCommandParser.parseAll(readFile(path)) == [["SET", "a", "1"]])
        writer.close()
    }

    @Test func noLeavesFsyncToTheOSButWritesPromptly() throws {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        let writer = try AOFWriter(path: path, policy: .no)
        writer.append([["SET", "a", "1"], ["SET", "b", "2"]])
        var waited = 0
        while writer.statistics.bytesWritten == 0 && waited < 2000 {
            usleep(5_000)
            waited += 5
        }
        #expect(writer.statistics.fsyncs == 0)
        #expect(try RESPCommandParser.parseAll(readFile(path)).count == 2)
        #expect(writer.flush())
        writer.close()
    }

    @Test func appendsToAnExistingFile() throws {
        let path = makeTemporaryDirectory() + "/appendonly.aof"
        writeFile(path, RESPCommandEncoding.encode(["SET", "old", "1"] as [Bytes]))
        let writer = try AOFWriter(path: path, policy: .everysec)
        writer.append([["SET", "new", "2"]])
        writer.close()
        #expect(try RESPCommandParser.parseAll(readFile(path)) == [["SET", "old", "1"], ["SET", "new", "2"]])
    }
}
