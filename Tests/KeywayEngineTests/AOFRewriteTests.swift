import Testing
import Dispatch
import Synchronization
@testable import KeywayEngine
#if canImport(Glibc)
import Glibc
#endif

/// Every live key of an engine as `key -> "type value ttl"`, in a form that
/// does not depend on how the value was built. `livePendingOnly` leaves out
/// pending entries whose stream entry is gone (a rewrite drops them, as
/// Redis's does).
func dumpKeyspace(_ engine: Engine, livePendingOnly: Bool = false) -> [String: String] {
    engine.withDatabase { db, _ in
        var result: [String: String] = [:]
        let now = db.clock.nowMilliseconds()
        for entry in db.keyspace.entries where !(entry.hasExpiry && entry.expiresAt < now) {
            let key = entry.key.storage.map { String($0, radix: 16) }.joined(separator: ".")
            // Hash fields past their deadline are gone, whether or not removed yet.
            if case .hash(let hash) = entry.value, hash.fieldNames.allSatisfy({ (hash.expiry(of: $0) ?? .max) <= now }) { continue }
            result[key] = describe(entry.value, now: now, livePendingOnly: livePendingOnly) + " ttl=\(entry.hasExpiry ? entry.expiresAt : -1)"
        }
        return result
    }
}

/// The keys whose dumps differ, with both sides, for readable failures.
func keyspaceDifferences(_ a: [String: String], _ b: [String: String]) -> [String] {
    Set(a.keys).union(b.keys).sorted().compactMap { key in
        a[key] == b[key] ? nil : "\(key):\n  \(a[key] ?? "missing")\n  \(b[key] ?? "missing")"
    }
}

private func text(_ bytes: Bytes) -> String { "\(bytes.storage)" }

private func describe(_ value: Value, now: Int64, livePendingOnly: Bool) -> String {
    switch value {
    case .string(let bytes):
        return "string \(text(bytes))"
    case .list(let list):
        return "list \(list.elements.map(text))"
    case .json(let document):
        return "json \(JSONNodeWriter.compact.text(document.root))"
    case .set(let set):
        return "set \(set.members.sorted().map(text))"
    case .zset(let zset):
        var items: [String] = []
        zset.forEach(fromRank: 0, count: zset.count, reversed: false) { member, score in
            items.append("\(text(member))=\(score.bitPattern)")
        }
        return "zset \(items)"
    case .hash(let hash):
        let fields = hash.entries.filter { (hash.expiry(of: $0.field) ?? .max) > now }.sorted { $0.field < $1.field }.map { field, value in
            "\(text(field))=\(text(value))@\(hash.expiry(of: field) ?? -1)"
        }
        return "hash \(fields)"
    case .stream(let stream):
        var parts = ["stream"]
        parts.append("\(stream.entries.range(.zero, .max).map { "\($0.id) \($0.fields.map(text))" })")
        parts.append("last=\(stream.lastID) added=\(stream.entriesAdded) maxdel=\(stream.maxDeletedID)")
        for (name, group) in stream.groups.sorted(by: { $0.key < $1.key }) {
            var pending: [String] = []
            try? group.pending.forEach { id, entry in
                if !livePendingOnly || stream.entries.contains(id) {
                    pending.append("\(id):\(text(entry.consumer)):\(entry.deliveryTime):\(entry.deliveryCount)")
                }
                return true
            }
            parts.append("group \(text(name)) last=\(group.lastID) read=\(group.entriesRead ?? -1) pending=\(pending) consumers=\(group.consumerNames.map(text))")
        }
        return parts.joined(separator: " ")
    }
}


/// Random writes over every type, streams with groups included.
func randomWorkload(_ engine: Engine, _ clock: ManualClock, seed: UInt64, operations: Int) {
    var rng = SplitMix64(seed: seed)
    func pick(_ n: Int) -> Int { Int.random(in: 0..<n, using: &rng) }
    func key(_ prefix: String) -> Bytes { Bytes("\(prefix)\(pick(6))") }
    func member() -> Bytes { pick(10) == 0 ? Bytes([0, 13, 10, UInt8(pick(256))]) : Bytes("m\(pick(40))") }
    for _ in 0..<operations {
        if pick(20) == 0 { clock.advance(milliseconds: Int64(pick(3000))) }
        let n = "\(pick(1000))"
        switch pick(32) {
        case 0: engine.run(["SET", key("s"), member()])
        case 1: engine.run(["SET", key("s"), member(), "EX", Bytes("\(1 + pick(20))")])
        case 2: engine.run(["APPEND", key("s"), member()])
        case 3: engine.run(["INCRBYFLOAT", key("f"), "1.25"])
        case 4: engine.run(["RPUSH", key("l"), member(), member()])
        case 5: engine.run(["LPOP", key("l")])
        case 6: engine.run(["SADD", key("set"), member(), member(), member()])
        case 7: engine.run(["SPOP", key("set")])
        case 8: engine.run(["SREM", key("set"), member()])
        case 9: engine.run(["ZADD", key("z"), Bytes("\(Double(pick(1000)) / 7)"), member()])
        case 10: engine.run(["ZINCRBY", key("z"), "0.1", member()])
        case 11: engine.run(["HSET", key("h"), member(), Bytes(n)])
        case 12: engine.run(["HINCRBYFLOAT", key("h"), member(), "0.5"])
        case 13: engine.run(["HPEXPIRE", key("h"), Bytes("\(500 + pick(5000))"), "FIELDS", "1", member()])
        case 14: engine.run(["HDEL", key("h"), member()])
        case 15: engine.run(["EXPIRE", key(["s", "l", "set", "z", "h"][pick(5)]), Bytes("\(1 + pick(30))")])
        case 16: engine.run(["DEL", key("l")])
        case 17, 18: engine.run(["XADD", key("x"), "*", "f", member()])
        case 19: engine.run(["XADD", key("x"), "MAXLEN", "20", "*", "g", Bytes(n)])
        case 20: engine.run(["XGROUP", "CREATE", key("x"), Bytes("g\(pick(2))"), "0", "MKSTREAM"])
        case 21, 22: engine.run(["XREADGROUP", "GROUP", Bytes("g\(pick(2))"), Bytes("c\(pick(3))"), "COUNT", "3", "STREAMS", key("x"), ">"])
        case 23:
            let stream = key("x")
            if case .array(let entries)? = engine.run(["XRANGE", stream, "-", "+", "COUNT", "2"]).arrayValue.map(Reply.array),
               let first = entries.first?.arrayValue?.first?.bytesValue {
                engine.run(["XACK", stream, Bytes("g\(pick(2))"), first])
            }
        case 24: engine.run(["XCLAIM", key("x"), Bytes("g\(pick(2))"), Bytes("c\(pick(3))"), "0", Bytes("\(startMilliseconds)-0"), Bytes("\(startMilliseconds + Int64(pick(60000)))-0")])
        case 25: engine.run(["XAUTOCLAIM", key("x"), Bytes("g\(pick(2))"), Bytes("c\(pick(3))"), "100", "0", "COUNT", "2"])
        case 26: engine.run(["XTRIM", key("x"), "MAXLEN", "5"])
        case 27: engine.run(["XREADGROUP", "GROUP", Bytes("g\(pick(2))"), Bytes("c\(pick(3))"), "STREAMS", key("x"), "0"])
        case 28: engine.run(["PERSIST", key("s")])
        case 29: engine.run(["JSON.SET", key("j"), "$", Bytes(#"{"n":\#(n),"tags":["a"],"s":"\u00e9"}"#)])
        case 30: engine.run(["JSON.ARRAPPEND", key("j"), "$.tags", Bytes(n)])
        default: _ = engine.executeTransaction([Command(["INCR", key("n")]), Command(["SPOP", key("set"), "2"])])
        }
    }
}

@Suite struct AOFRewriteTests {
    @Test func rewriteCommandsAreMinimalAndChunked() {
        let (engine, _) = makeEngine()
        engine.run(["RPUSH", "l"] + (0..<150).map { Bytes("\($0)") })
        engine.run("SET", "s", "v", "PX", "5000")
        let keyspace = engine.withDatabase { db, _ in db.keyspace }
        let commands = AOFRewriter.commands(for: keyspace, now: startMilliseconds).map { $0.map(\.text) }
        let pushes = commands.filter { $0[0] == "RPUSH" }
        #expect(pushes.map(\.count) == [66, 66, 24])
        #expect(commands.contains(["SET", "s", "v"]))
        #expect(commands.contains(["PEXPIREAT", "s", "\(startMilliseconds + 5000)"]))
    }

    @Test func streamsRewriteWithGroupsAndPendingEntries() throws {
        let (engine, clock) = makeEngine()
        engine.run("XADD", "st", "1-1", "a", "1")
        engine.run("XADD", "st", "2-1", "b", "2")
        engine.run("XGROUP", "CREATE", "st", "g", "0")
        engine.run("XGROUP", "CREATECONSUMER", "st", "g", "idle")
        engine.run("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "st", ">")
        engine.run("XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM")
        clock.advance(milliseconds: 100)
        let keyspace = engine.withDatabase { db, _ in db.keyspace }
        let commands = AOFRewriter.commands(for: keyspace, now: clock.nowMilliseconds()).map { $0.map(\.text) }
        #expect(commands.contains(["XADD", "empty", "MAXLEN", "0", "0-1", "x", "y"]))
        #expect(commands.contains(["XSETID", "st", "2-1", "ENTRIESADDED", "2", "MAXDELETEDID", "0-0"]))
        #expect(commands.contains(["XGROUP", "CREATE", "st", "g", "1-1", "ENTRIESREAD", "1"]))
        #expect(commands.contains(["XCLAIM", "st", "g", "c", "0", "1-1", "TIME", "\(startMilliseconds)", "RETRYCOUNT", "1", "JUSTID", "FORCE"]))
        #expect(commands.contains(["XGROUP", "CREATECONSUMER", "st", "g", "idle"]))

        let (loaded, _) = makeEngine(milliseconds: clock.nowMilliseconds())
        for command in AOFRewriter.commands(for: keyspace, now: clock.nowMilliseconds()) {
            let reply = loaded.execute(Command(command))
            #expect(reply.errorMessage == nil, "\(command.map(\.text)): \(reply)")
        }
        #expect(keyspaceDifferences(dumpKeyspace(loaded), dumpKeyspace(engine)) == [])
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomWorkloadsSurviveLogReplayAndRewrite(seed: UInt64) throws {
        let directory = makeTemporaryDirectory()
        let path = directory + "/appendonly.aof"
        let writer = try AOFWriter(path: path, policy: .no)
        let (engine, clock) = makeEngine()
        engine.attachPropagationSink(writer)
        randomWorkload(engine, clock, seed: seed, operations: 1500)
        writer.close()
        let now = clock.nowMilliseconds()

        // The log, replayed, gives the same keyspace.
        let (replayed, _) = makeEngine(milliseconds: now)
        _ = try AOFLoader.load(path: path, into: replayed)
        #expect(keyspaceDifferences(dumpKeyspace(replayed), dumpKeyspace(engine)) == [])

        // So does the rewritten file.
        let rewritten = directory + "/rewritten.aof"
        let keyspace = engine.withDatabase { db, _ in db.keyspace }
        try AOFRewriter.writeFile(keyspace, now: now, to: rewritten)
        let (loaded, _) = makeEngine(milliseconds: now)
        _ = try AOFLoader.load(path: rewritten, into: loaded)
        #expect(keyspaceDifferences(dumpKeyspace(loaded, livePendingOnly: true), dumpKeyspace(engine, livePendingOnly: true)) == [])
        #expect(readFile(rewritten).count < readFile(path).count)
    }

    @Test func onlineRewriteKeepsWritesMadeWhileItRuns() throws {
        let directory = makeTemporaryDirectory()
        let path = directory + "/appendonly.aof"
        let writer = try AOFWriter(path: path, policy: .always)
        let (engine, clock) = makeEngine()
        engine.attachPropagationSink(writer)
        randomWorkload(engine, clock, seed: 42, operations: 800)
        let stop = Atomic<Bool>(false)
        let background = DispatchGroup()
        // Writers keep going for the whole rewrite, waiting for durability.
        for thread in 0..<2 {
            DispatchQueue.global().async(group: background) {
                var i = 0
                while !stop.load(ordering: .relaxed) || i < 50 {
                    let (_, ticket) = engine.executeReportingDurability(Command(["RPUSH", Bytes("live\(thread)"), Bytes("\(i)")]))
                    #expect(ticket?.waitDurable() == true)
                    i += 1
                }
            }
        }
        let report = try AOFRewriter.rewrite(engine: engine, writer: writer, afterSnapshot: {
            engine.run("SET", "during", "rewrite")
            engine.run("INCRBYFLOAT", "f0", "100")
        })
        engine.run("SET", "after", "rewrite")
        stop.store(true, ordering: .relaxed)
        background.wait()
        writer.close()
        #expect(report.keys > 0)
        #expect(!FileManagerless.exists(directory + "/temp-rewriteaof-bg-\(getpid()).aof"))

        let (loaded, _) = makeEngine(milliseconds: clock.nowMilliseconds())
        _ = try AOFLoader.load(path: path, into: loaded)
        #expect(loaded.run("GET", "during") == .bulk("rewrite"))
        #expect(loaded.run("GET", "after") == .bulk("rewrite"))
        #expect(keyspaceDifferences(dumpKeyspace(loaded, livePendingOnly: true), dumpKeyspace(engine, livePendingOnly: true)) == [])
    }
}

enum FileManagerless {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
