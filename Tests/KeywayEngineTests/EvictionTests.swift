import Testing
import KeywayEngine

extension Engine {
    /// Looks without running a command: any command run while above the
    /// limit evicts first, as in Redis.
    func keyExists(_ key: Bytes) -> Bool { withDatabase { db, _ in db.keyspace.slot(of: key) != nil } }
    var usedMemory: Int { memoryFigures().running }

    /// Sets the limit one byte below what is used now, so the next command
    /// evicts one key (when keys are the same size) before it runs.
    func limitJustBelowUsage() {
        run("CONFIG", "SET", "maxmemory", Bytes(String(usedMemory - 1)))
    }
}

@Suite("Eviction")
struct EvictionTests {
    static let oom = "OOM command not allowed when used memory > 'maxmemory'."

    @Test("noeviction refuses writes that may grow memory, still serves reads and deletes, and recovers")
    func noEvictionRefuses() {
        let (engine, _) = makeEngine()
        for i in 0..<5 { engine.run("SET", Bytes("k\(i)"), "value") }
        engine.run("CONFIG", "SET", "maxmemory", Bytes(String(engine.usedMemory - 1)))
        #expect(engine.run("SET", "new", "v").errorMessage == Self.oom)
        #expect(engine.run("LPUSH", "list", "v").errorMessage == Self.oom)
        #expect(engine.isOutOfMemory)
        #expect(engine.run("GET", "k1") == .bulk("value"))
        #expect(engine.run("INFO", "memory").bytesValue != nil)
        #expect(engine.infoFields("stats")["total_error_replies"] == "2")
        #expect(engine.run("DEL", "k0").integerValue == 1)
        #expect(!engine.isOutOfMemory)
        #expect(engine.run("SET", "k0", "v") == .ok)
        #expect(engine.infoFields("stats")["evicted_keys"] == "0")
        engine.run("CONFIG", "SET", "maxmemory", "0")
        #expect(engine.run("SET", "after", "v") == .ok)
    }

    @Test("above the limit a transaction with a write is refused whole; one of reads and deletes runs")
    func transactionRefusedWhole() {
        let (engine, _) = makeEngine()
        for i in 0..<5 { engine.run("SET", Bytes("k\(i)"), "value") }
        engine.limitJustBelowUsage()
        let refused = engine.executeTransaction([Command("GET", ["k1"]), Command("SET", ["new", "v"]), Command("DEL", ["k2"])])
        guard case .failure(let error) = refused else {
            Issue.record("a transaction with SET ran above maxmemory under noeviction")
            return
        }
        #expect(error.code == .outOfMemory)
        #expect(error.message == Self.oom)
        // Nothing of it ran: k2 is still there, `new` never was.
        #expect(engine.run("EXISTS", "k2", "new").integerValue == 1)
        let allowed = engine.executeTransaction([Command("GET", ["k1"]), Command("DEL", ["k2"])])
        guard case .success(let replies) = allowed else {
            Issue.record("reads and deletes were refused")
            return
        }
        #expect(replies == [.bulk("value"), .integer(1)])
        // Under the limit again: the write transaction runs.
        guard case .success = engine.executeTransaction([Command("SET", ["new", "v"])]) else {
            Issue.record("refused under the limit")
            return
        }
        #expect(engine.run("GET", "new") == .bulk("v"))
    }

    @Test("a limit lowered far below usage is worked off over several commands, none refused")
    func largeDropIsGradual() {
        let (engine, _) = makeEngine()
        engine.run("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
        for batch in 0..<100 {
            engine.run(["MSET"] + (0..<500).flatMap { i in [Bytes("key:\(batch):\(i)"), Bytes("value")] })
        }
        engine.run("CONFIG", "SET", "maxmemory", "10000")
        var commands = 0
        while engine.usedMemory > 10_000 + 200 && commands < 100_000 {
            #expect(engine.run("SET", "writer", "value") == .ok)
            commands += 1
        }
        // Each command stops evicting after its time budget (2 ms): 50,000
        // keys take more than one command in a debug build, never a refusal.
        #expect(engine.usedMemory <= 10_200)
        #expect(engine.run("DBSIZE").integerValue! <= 10_200 / MemoryCost.keyEntry)
    }

    @Test("keys expiring by time end the OOM state without another command")
    func expiryEndsOutOfMemory() {
        let (engine, clock) = makeEngine()
        engine.run("SET", "temporary", Bytes([UInt8](repeating: 1, count: 1000)), "PX", "100")
        engine.run("SET", "kept", "v")
        engine.limitJustBelowUsage()
        #expect(engine.run("SET", "more", "v").errorMessage == Self.oom)
        #expect(engine.isOutOfMemory)
        clock.advance(milliseconds: 101)
        engine.runActiveExpiryCycle()
        #expect(!engine.isOutOfMemory)
        #expect(engine.run("SET", "more", "v") == .ok)
    }

    @Test("allkeys-lru evicts the least recently used keys first")
    func lruOrder() {
        let (engine, clock) = makeEngine()
        // Seeded: 64 samples of 10 keys miss one with probability ~0.1%.
        engine.withDatabase { db, _ in db.eviction.seed(3) }
        engine.run("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        engine.run("CONFIG", "SET", "maxmemory-samples", "64")
        for i in 0..<10 {
            engine.run("SET", Bytes("k\(i)"), "value")
            clock.advance(milliseconds: 2000)
        }
        // Reading k0 makes it the most recent; k1 is now the oldest.
        engine.run("GET", "k0")
        clock.advance(milliseconds: 2000)
        let perKey = engine.run("MEMORY", "USAGE", "k5").integerValue!
        engine.limitJustBelowUsage()
        #expect(engine.run("SET", "n1", "value") == .ok)
        #expect(!engine.keyExists("k1"))
        #expect(engine.keyExists("k0"))
        #expect(engine.keyExists("k2"))
        #expect(engine.run("SET", "n2", "value") == .ok)
        #expect(!engine.keyExists("k2"))
        #expect(engine.keyExists("k3"))
        // Room for one more key's worth gone: three at once go oldest first.
        engine.run("CONFIG", "SET", "maxmemory", Bytes(String(engine.usedMemory - 3 * Int(perKey) + 1)))
        engine.run("SET", "n1", "value")
        #expect(!engine.keyExists("k3") && !engine.keyExists("k4") && !engine.keyExists("k5"))
        #expect(engine.keyExists("k6") && engine.keyExists("k0"))
        #expect(engine.infoFields("stats")["evicted_keys"] == "5")
        #expect(engine.usedMemory <= Int(engine.infoFields("memory")["maxmemory"]!)!)
    }

    @Test("volatile-lru ignores keys without a TTL and refuses when none has one")
    func volatileLRU() {
        let (engine, clock) = makeEngine()
        engine.run("CONFIG", "SET", "maxmemory-policy", "volatile-lru")
        engine.run("CONFIG", "SET", "maxmemory-samples", "64")
        engine.run("SET", "persistent-old", "value")
        clock.advance(milliseconds: 5000)
        engine.run("SET", "volatile-old", "value", "EX", "1000")
        clock.advance(milliseconds: 5000)
        engine.run("SET", "volatile-new", "value", "EX", "1000")
        clock.advance(milliseconds: 5000)
        engine.limitJustBelowUsage()
        engine.run("SET", "x", "value")
        #expect(engine.keyExists("persistent-old"))
        #expect(!engine.keyExists("volatile-old"))
        #expect(engine.keyExists("volatile-new"))
        engine.limitJustBelowUsage()
        engine.run("SET", "y", "value")
        #expect(!engine.keyExists("volatile-new"))
        // Only persistent keys left: nothing can go, so writes are refused.
        engine.limitJustBelowUsage()
        #expect(engine.run("SET", "z", "value").errorMessage == Self.oom)
        #expect(engine.keyExists("persistent-old"))
    }

    @Test("volatile-ttl evicts the key with the nearest deadline")
    func volatileTTL() {
        let (engine, _) = makeEngine()
        engine.run("CONFIG", "SET", "maxmemory-policy", "volatile-ttl")
        engine.run("CONFIG", "SET", "maxmemory-samples", "64")
        engine.run("SET", "far", "value", "EX", "5000")
        engine.run("SET", "near", "value", "EX", "50")
        engine.run("SET", "middle", "value", "EX", "500")
        engine.run("SET", "forever", "value")
        engine.limitJustBelowUsage()
        engine.run("SET", "x", "value")
        #expect(!engine.keyExists("near"))
        #expect(engine.keyExists("middle") && engine.keyExists("far") && engine.keyExists("forever"))
        engine.limitJustBelowUsage()
        engine.run("SET", "y", "value")
        #expect(!engine.keyExists("middle"))
        #expect(engine.keyExists("far"))
    }

    @Test("random policies evict only eligible keys", arguments: ["allkeys-random", "volatile-random"])
    func randomPolicies(policy: String) {
        let (engine, _) = makeEngine()
        engine.run("CONFIG", "SET", "maxmemory-policy", Bytes(policy))
        func name(_ prefix: String, _ i: Int) -> Bytes { Bytes(prefix + (i < 10 ? "0" : "") + String(i)) }
        for i in 0..<50 { engine.run("SET", name("p", i), "value") }
        for i in 0..<50 { engine.run("SET", name("v", i), "value", "EX", "1000") }
        engine.limitJustBelowUsage()
        // New keys get no TTL, so under volatile-random only v* keys can go.
        for i in 0..<30 { #expect(engine.run("SET", name("n", i), "value") == .ok) }
        let persistentLeft = (0..<50).filter { engine.keyExists(name("p", $0)) }.count
        let volatileLeft = (0..<50).filter { engine.keyExists(name("v", $0)) }.count
        let newLeft = (0..<30).filter { engine.keyExists(name("n", $0)) }.count
        // Read under the lock: any command (INFO too) would evict first.
        let evicted = Int(engine.withDatabase { db, _ in db.eviction.evictedKeys })
        #expect(persistentLeft + volatileLeft + newLeft == 130 - evicted)
        // A volatile key costs more than a new one (its expiry), so some
        // writes fit without evicting.
        #expect((20...30).contains(evicted))
        if policy == "volatile-random" {
            #expect(persistentLeft == 50 && newLeft == 30)
        } else {
            #expect(persistentLeft < 50)
        }
    }

    @Test("allkeys-lfu keeps frequently used keys and evicts rarely used ones")
    func lfuKeepsHotKeys() {
        let (engine, _) = makeEngine()
        engine.withDatabase { db, _ in db.eviction.seed(7) }
        engine.run("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        engine.run("CONFIG", "SET", "maxmemory-samples", "64")
        for i in 0..<20 { engine.run("SET", Bytes("k\(i)"), "value") }
        for _ in 0..<200 { for i in 0..<10 { engine.run("GET", Bytes("k\(i)")) } }
        engine.limitJustBelowUsage()
        for i in 0..<10 { engine.run("SET", Bytes("n\(i)"), "value") }
        let hotLeft = (0..<10).filter { engine.keyExists(Bytes("k\($0)")) }.count
        #expect(hotLeft == 10)
        // Read under the lock: INFO, like any command, would evict first.
        #expect(engine.withDatabase { db, _ in db.eviction.evictedKeys } == 10)
    }

    @Test("the LFU counter starts at 5, grows logarithmically, and decays per idle minute")
    func lfuCounter() {
        let (engine, clock) = makeEngine()
        engine.withDatabase { db, _ in db.eviction.seed(42) }
        #expect(engine.run("OBJECT", "FREQ", "k").errorMessage == nil)  // missing key: null before the policy check
        engine.run("SET", "k", "v")
        #expect(engine.run("OBJECT", "FREQ", "k").errorMessage?.hasPrefix("ERR An LFU maxmemory policy is not selected") == true)
        engine.run("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        engine.run("SET", "k", "v")
        #expect(engine.run("OBJECT", "FREQ", "k").integerValue! <= 6)
        engine.run("DEL", "k")
        engine.run("SET", "k", "v")
        #expect(engine.run("OBJECT", "FREQ", "k").integerValue == 5)
        for _ in 0..<100 { engine.run("GET", "k") }
        let after100 = engine.run("OBJECT", "FREQ", "k").integerValue!
        for _ in 0..<900 { engine.run("GET", "k") }
        let after1000 = engine.run("OBJECT", "FREQ", "k").integerValue!
        // Redis's table for lfu-log-factor 10: about 10 after 100 hits, 18 after 1000.
        #expect((7...14).contains(after100))
        #expect((14...24).contains(after1000))
        // Ten times the hits, far less than ten times the counter.
        #expect(after1000 < 3 * after100)
        // OBJECT FREQ itself does not count as an access.
        #expect(engine.run("OBJECT", "FREQ", "k").integerValue == after1000)
        clock.advance(milliseconds: 3 * 60_000)
        #expect(engine.run("OBJECT", "FREQ", "k").integerValue == after1000 - 3)
        engine.run("CONFIG", "SET", "lfu-decay-time", "0")
        #expect(engine.run("OBJECT", "FREQ", "k").integerValue == after1000)
        engine.run("CONFIG", "SET", "lfu-decay-time", "1")
        clock.advance(milliseconds: 600 * 60_000)
        #expect(engine.run("OBJECT", "FREQ", "k").integerValue == 0)
        #expect(engine.run("OBJECT", "IDLETIME", "k").errorMessage?.hasPrefix("ERR An LFU maxmemory policy is selected, idle time not tracked") == true)
    }

    @Test("OBJECT IDLETIME counts from the last access, not from introspection")
    func idleTime() {
        let (engine, clock) = makeEngine()
        engine.run("SET", "k", "v")
        clock.advance(milliseconds: 10_500)
        #expect(engine.run("OBJECT", "IDLETIME", "k").integerValue == 10)
        engine.run("TYPE", "k")
        engine.run("OBJECT", "ENCODING", "k")
        engine.run("MEMORY", "USAGE", "k")
        #expect(engine.run("OBJECT", "IDLETIME", "k").integerValue == 10)
        engine.run("GET", "k")
        #expect(engine.run("OBJECT", "IDLETIME", "k").integerValue == 0)
        clock.advance(milliseconds: 3000)
        engine.run("APPEND", "k", "w")
        #expect(engine.run("OBJECT", "IDLETIME", "k").integerValue == 0)
        #expect(engine.run("OBJECT", "IDLETIME", "missing") == .null)
    }

    @Test("OBJECT ENCODING reports Redis's names at Redis's default thresholds")
    func encodings() {
        let (engine, _) = makeEngine()
        engine.run("SET", "int", "12345")
        engine.run("SET", "embstr", "hello")
        engine.run("SET", "raw", Bytes([UInt8](repeating: 97, count: 45)))
        engine.run("SET", "padded", "012")
        #expect(engine.run("OBJECT", "ENCODING", "int") == .bulk("int"))
        #expect(engine.run("OBJECT", "ENCODING", "embstr") == .bulk("embstr"))
        #expect(engine.run("OBJECT", "ENCODING", "raw") == .bulk("raw"))
        #expect(engine.run("OBJECT", "ENCODING", "padded") == .bulk("embstr"))
        engine.run("RPUSH", "list", "a", "b")
        #expect(engine.run("OBJECT", "ENCODING", "list") == .bulk("listpack"))
        for _ in 0..<100 { engine.run("RPUSH", "list", Bytes([UInt8](repeating: 98, count: 100))) }
        #expect(engine.run("OBJECT", "ENCODING", "list") == .bulk("quicklist"))
        engine.run("HSET", "hash", "f", "v")
        #expect(engine.run("OBJECT", "ENCODING", "hash") == .bulk("listpack"))
        engine.run("HSET", "hash", "long", Bytes([UInt8](repeating: 99, count: 65)))
        #expect(engine.run("OBJECT", "ENCODING", "hash") == .bulk("hashtable"))
        engine.run("SADD", "ints", "1", "2", "3")
        #expect(engine.run("OBJECT", "ENCODING", "ints") == .bulk("intset"))
        engine.run("SADD", "ints", "x")
        #expect(engine.run("OBJECT", "ENCODING", "ints") == .bulk("listpack"))
        for i in 0..<200 { engine.run("SADD", "ints", Bytes("m\(i)")) }
        #expect(engine.run("OBJECT", "ENCODING", "ints") == .bulk("hashtable"))
        engine.run("ZADD", "zset", "1", "a")
        #expect(engine.run("OBJECT", "ENCODING", "zset") == .bulk("listpack"))
        for i in 0..<129 { engine.run("ZADD", "zset", Bytes(String(i)), Bytes("m\(i)")) }
        #expect(engine.run("OBJECT", "ENCODING", "zset") == .bulk("skiplist"))
        engine.run("XADD", "stream", "*", "f", "v")
        #expect(engine.run("OBJECT", "ENCODING", "stream") == .bulk("stream"))
        #expect(engine.run("OBJECT", "ENCODING", "missing") == .null)
    }

    @Test("OBJECT REFCOUNT, HELP and bad subcommands")
    func objectMisc() {
        let (engine, _) = makeEngine()
        engine.run("SET", "shared", "100")
        engine.run("SET", "text", "hello")
        #expect(engine.run("OBJECT", "REFCOUNT", "shared").integerValue == 2_147_483_647)
        #expect(engine.run("OBJECT", "REFCOUNT", "text").integerValue == 1)
        engine.run("CONFIG", "SET", "maxmemory", "1gb")
        engine.run("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        #expect(engine.run("OBJECT", "REFCOUNT", "shared").integerValue == 1)
        #expect(engine.run("OBJECT", "HELP").arrayValue?.count ?? 0 > 5)
        #expect(engine.run("OBJECT", "BOGUS", "k").errorMessage == "ERR unknown subcommand 'BOGUS'. Try OBJECT HELP.")
        #expect(engine.run("OBJECT", "ENCODING").errorMessage?.hasPrefix("ERR unknown subcommand or wrong number of arguments") == true)
        #expect(engine.run("OBJECT").errorMessage == "ERR wrong number of arguments for 'object' command")
    }

    @Test("evicted keys emit the evicted event and propagate as DEL")
    func evictionEventsAndPropagation() {
        let (engine, clock) = makeEngine()
        let sink = RecordingSink()
        engine.attachPropagationSink(sink)
        let inbox = PubSubTests.Inbox()
        _ = engine.subscribe(inbox, channels: [], patterns: ["__keyevent@0__:*"])
        engine.run("CONFIG", "SET", "notify-keyspace-events", "Ee")
        engine.run("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        // Sampling is random: with two keys and 5 samples, "old" goes
        // unsampled one time in 32. A seed and a larger sample make it sure.
        engine.withDatabase { db, _ in db.eviction.seed(7) }
        engine.run("CONFIG", "SET", "maxmemory-samples", "32")
        engine.run("SET", "old", "value")
        clock.advance(milliseconds: 5000)
        engine.run("SET", "young", "value")
        engine.limitJustBelowUsage()
        engine.run("SET", "newest", "value")
        #expect(!engine.keyExists("old"))
        #expect(inbox.texts == ["__keyevent@0__:evicted=old"])
        let logged = sink.commands
        let deletion = logged.firstIndex { $0 == ["DEL", "old"] }
        let write = logged.firstIndex { $0.first == "SET" && $0.count > 1 && $0[1] == "newest" }
        #expect(deletion != nil && write != nil && deletion! < write!)
    }
}
