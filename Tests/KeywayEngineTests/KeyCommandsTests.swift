import Testing
import KeywayEngine

/// Type-independent key commands (db.c): DEL/UNLINK/EXISTS/TOUCH, TYPE,
/// RENAME/RENAMENX, COPY, KEYS, RANDOMKEY, DBSIZE, FLUSHDB/FLUSHALL.
@Suite struct KeyCommandsTests {
    let engine: Engine
    let clock: ManualClock

    init() { (engine, clock) = makeEngine() }

    private func keys(_ pattern: Bytes) -> Set<Bytes> {
        Set((engine.run("KEYS", pattern).arrayValue ?? []).compactMap(\.bytesValue))
    }

    // MARK: - DEL, UNLINK, EXISTS, TOUCH

    @Test(arguments: ["DEL", "UNLINK"])
    func deleteCountsKeysRemoved(_ command: String) {
        engine.run("MSET", "a", "1", "b", "2", "c", "3")
        #expect(engine.run(Bytes(command), "a", "b", "missing") == .integer(2))
        #expect(engine.run("EXISTS", "a", "b", "c") == .integer(1))
        // A key named twice is deleted once.
        #expect(engine.run(Bytes(command), "c", "c") == .integer(1))
        #expect(engine.run(Bytes(command), "c") == .integer(0))
        #expect(engine.run("DBSIZE") == .integer(0))
    }

    @Test func existsCountsEveryMention() {
        engine.run("SET", "a", "1")
        #expect(engine.run("EXISTS", "a") == .integer(1))
        #expect(engine.run("EXISTS", "a", "a", "a") == .integer(3))
        #expect(engine.run("EXISTS", "a", "missing", "a") == .integer(2))
        #expect(engine.run("EXISTS", "missing") == .integer(0))
    }

    @Test func touchCountsExistingKeys() {
        engine.run("MSET", "a", "1", "b", "2")
        #expect(engine.run("TOUCH", "a", "b", "c") == .integer(2))
        #expect(engine.run("TOUCH", "a", "a") == .integer(2))
    }

    @Test func expiredKeysDoNotExist() {
        engine.run("SET", "a", "1", "PX", "10")
        engine.run("SET", "b", "1")
        clock.advance(milliseconds: 11)
        #expect(engine.run("EXISTS", "a", "b") == .integer(1))
        #expect(engine.run("DEL", "a") == .integer(0))
        #expect(engine.run("TOUCH", "a") == .integer(0))
    }

    // MARK: - TYPE

    @Test func typeOfStringAndMissing() {
        engine.run("SET", "s", "v")
        #expect(engine.run("TYPE", "s") == .status("string"))
        #expect(engine.run("TYPE", "missing") == .status("none"))
        engine.run("INCR", "n")
        #expect(engine.run("TYPE", "n") == .status("string"))
    }

    // MARK: - RENAME, RENAMENX

    @Test func renameMovesTheValue() {
        engine.run("SET", "src", "v")
        #expect(engine.run("RENAME", "src", "dst") == .ok)
        #expect(engine.run("EXISTS", "src") == .integer(0))
        #expect(engine.run("GET", "dst") == .bulk("v"))
    }

    @Test func renameCarriesTheTTL() {
        engine.run("SET", "src", "v", "PX", "5000")
        clock.advance(milliseconds: 1000)
        engine.run("RENAME", "src", "dst")
        #expect(engine.pttl("dst") == 4000)
        clock.advance(milliseconds: 4000)
        #expect(engine.run("GET", "dst") == .bulk("v"))
        clock.advance(milliseconds: 1)
        #expect(engine.run("GET", "dst") == .null)
    }

    @Test func renameOverwritesTheTargetAndItsTTL() {
        engine.run("SET", "src", "v")
        engine.run("SET", "dst", "old", "EX", "100")
        #expect(engine.run("RENAME", "src", "dst") == .ok)
        #expect(engine.run("GET", "dst") == .bulk("v"))
        #expect(engine.ttl("dst") == -1)
        #expect(engine.run("DBSIZE") == .integer(1))
    }

    @Test func renameOfAMissingKey() {
        #expect(engine.run("RENAME", "missing", "dst").errorMessage == RedisError.noSuchKey)
        #expect(engine.run("RENAME", "missing", "missing").errorMessage == RedisError.noSuchKey)
        #expect(engine.run("RENAMENX", "missing", "dst").errorMessage == RedisError.noSuchKey)
        engine.run("SET", "gone", "v", "PX", "1")
        clock.advance(milliseconds: 2)
        #expect(engine.run("RENAME", "gone", "dst").errorMessage == RedisError.noSuchKey)
        #expect(engine.run("EXISTS", "dst") == .integer(0))
    }

    @Test func renameToItself() {
        engine.run("SET", "k", "v", "EX", "100")
        #expect(engine.run("RENAME", "k", "k") == .ok)
        #expect(engine.run("RENAMENX", "k", "k") == .integer(0))
        #expect(engine.run("GET", "k") == .bulk("v"))
        #expect(engine.ttl("k") == 100)
    }

    @Test func renamenxOnlyToAMissingTarget() {
        engine.run("SET", "src", "v", "EX", "100")
        engine.run("SET", "taken", "t")
        #expect(engine.run("RENAMENX", "src", "taken") == .integer(0))
        #expect(engine.run("GET", "src") == .bulk("v"))
        #expect(engine.run("GET", "taken") == .bulk("t"))
        #expect(engine.run("RENAMENX", "src", "free") == .integer(1))
        #expect(engine.run("EXISTS", "src") == .integer(0))
        #expect(engine.run("GET", "free") == .bulk("v"))
        #expect(engine.ttl("free") == 100)
    }

    // MARK: - COPY

    @Test func copyDuplicatesAnIndependentValue() {
        engine.run("SET", "src", "v")
        #expect(engine.run("COPY", "src", "dst") == .integer(1))
        #expect(engine.run("GET", "dst") == .bulk("v"))
        engine.run("APPEND", "src", "x")
        #expect(engine.run("GET", "src") == .bulk("vx"))
        #expect(engine.run("GET", "dst") == .bulk("v"))
    }

    @Test func copyCarriesTheTTL() {
        engine.run("SET", "src", "v", "PX", "5000")
        engine.run("COPY", "src", "dst")
        #expect(engine.pttl("dst") == 5000)
        engine.run("SET", "plain", "v")
        engine.run("COPY", "plain", "plaincopy")
        #expect(engine.ttl("plaincopy") == -1)
    }

    @Test func copyDoesNotOverwriteWithoutReplace() {
        engine.run("SET", "src", "v")
        engine.run("SET", "dst", "old")
        #expect(engine.run("COPY", "src", "dst") == .integer(0))
        #expect(engine.run("GET", "dst") == .bulk("old"))
    }

    @Test func copyWithReplace() {
        engine.run("SET", "src", "v")
        engine.run("SET", "dst", "old", "EX", "100")
        #expect(engine.run("COPY", "src", "dst", "REPLACE") == .integer(1))
        #expect(engine.run("GET", "dst") == .bulk("v"))
        #expect(engine.ttl("dst") == -1)
        #expect(engine.run("COPY", "src", "new", "replace") == .integer(1))
    }

    @Test func copyOfAMissingSource() {
        #expect(engine.run("COPY", "missing", "dst") == .integer(0))
        #expect(engine.run("COPY", "missing", "dst", "REPLACE") == .integer(0))
        #expect(engine.run("EXISTS", "dst") == .integer(0))
    }

    @Test func copyOptionsAndErrors() {
        engine.run("SET", "src", "v")
        #expect(engine.run("COPY", "src", "src").errorMessage == "ERR source and destination objects are the same")
        #expect(engine.run("COPY", "src", "a", "DB", "0") == .integer(1))
        #expect(engine.run("COPY", "src", "b", "DB", "0", "REPLACE") == .integer(1))
        // Keyway has one database.
        #expect(engine.run("COPY", "src", "c", "DB", "1").errorMessage == "ERR DB index is out of range")
        #expect(engine.run("COPY", "src", "c", "DB", "zero").errorMessage == RedisError.notInteger)
        #expect(engine.run("COPY", "src", "c", "DB").errorMessage == RedisError.syntax)
        #expect(engine.run("COPY", "src", "c", "FORCE").errorMessage == RedisError.syntax)
        #expect(engine.run("EXISTS", "c") == .integer(0))
    }

    // MARK: - KEYS

    @Test func keysWithGlobPatterns() {
        // The example of Redis's KEYS documentation, plus a few.
        engine.run("MSET", "hello", "1", "hallo", "1", "hxllo", "1", "hllo", "1", "heeeello", "1", "firstname", "1", "lastname", "1", "age", "1")
        #expect(keys("h?llo") == ["hello", "hallo", "hxllo"])
        #expect(keys("h*llo") == ["hello", "hallo", "hxllo", "hllo", "heeeello"])
        #expect(keys("h[ae]llo") == ["hello", "hallo"])
        #expect(keys("h[^e]llo") == ["hallo", "hxllo"])
        #expect(keys("h[a-b]llo") == ["hallo"])
        #expect(keys("*name*") == ["firstname", "lastname"])
        #expect(keys("a??") == ["age"])
        #expect(keys("nothing*") == [])
        #expect(keys("*").count == 8)
    }

    @Test func keysSkipsExpiredKeys() {
        engine.run("SET", "live", "v")
        engine.run("SET", "dying", "v", "PX", "5")
        clock.advance(milliseconds: 6)
        #expect(keys("*") == ["live"])
    }

    @Test func keysOnAnEmptyDatabase() {
        #expect(engine.run("KEYS", "*") == .array([]))
    }

    // MARK: - RANDOMKEY, DBSIZE

    @Test func randomkey() {
        #expect(engine.run("RANDOMKEY") == .null)
        engine.run("SET", "only", "v")
        #expect(engine.run("RANDOMKEY") == .bulk("only"))
        engine.run("MSET", "a", "1", "b", "2")
        for _ in 0..<20 {
            let key = engine.run("RANDOMKEY").bytesValue
            #expect(key.map { ["only", "a", "b"].contains($0) } == true)
        }
    }

    @Test func randomkeyNeverReturnsAnExpiredKey() {
        engine.run("SET", "k", "v", "PX", "10")
        clock.advance(milliseconds: 11)
        #expect(engine.run("RANDOMKEY") == .null)
    }

    @Test func dbsizeCountsKeys() {
        #expect(engine.run("DBSIZE") == .integer(0))
        engine.run("MSET", "a", "1", "b", "2", "c", "3")
        #expect(engine.run("DBSIZE") == .integer(3))
        engine.run("DEL", "b")
        #expect(engine.run("DBSIZE") == .integer(2))
    }

    // MARK: - FLUSHDB, FLUSHALL

    @Test(arguments: [["FLUSHDB"], ["FLUSHALL"], ["FLUSHDB", "ASYNC"], ["FLUSHALL", "SYNC"], ["flushdb", "sync"], ["FLUSHALL", "async"]])
    func flushEmptiesTheDatabase(_ command: [String]) {
        engine.run("MSET", "a", "1", "b", "2")
        engine.run("SET", "t", "v", "EX", "100")
        #expect(engine.run(command.map { Bytes($0) }) == .ok)
        #expect(engine.run("DBSIZE") == .integer(0))
        #expect(engine.run("GET", "a") == .null)
        // The keyspace works normally afterwards.
        engine.run("SET", "a", "again")
        #expect(engine.run("GET", "a") == .bulk("again"))
        #expect(engine.ttl("a") == -1)
    }

    /// Values past the lazy-free threshold (64 elements) are freed off the
    /// engine; what clients see is the same as an in-place free.
    @Test func bigValuesAreUnlinkedAndFlushedLazily() {
        let members = (0..<1000).map { Bytes("member:\($0)") }
        for key in ["set1", "set2", "set3"] { engine.run([Bytes("SADD"), Bytes(key)] + members) }
        engine.run([Bytes("RPUSH"), Bytes("list")] + members)
        #expect(engine.run("UNLINK", "set1", "list", "missing") == .integer(2))
        #expect(engine.run("EXISTS", "set1", "list") == .integer(0))
        #expect(engine.run("CONFIG", "SET", "lazyfree-lazy-user-del", "yes") == .ok)
        #expect(engine.run("DEL", "set2") == .integer(1))
        #expect(engine.run("SCARD", "set3") == .integer(1000))
        // A copy shares storage with its source: dropping one leaves the other whole.
        engine.run("COPY", "set3", "copy")
        #expect(engine.run("UNLINK", "set3") == .integer(1))
        #expect(engine.run("SCARD", "copy") == .integer(1000))
        #expect(engine.run("CONFIG", "SET", "lazyfree-lazy-user-flush", "yes") == .ok)
        #expect(engine.run("FLUSHALL") == .ok)
        #expect(engine.run("DBSIZE") == .integer(0))
        engine.run([Bytes("SADD"), Bytes("set1")] + members)
        #expect(engine.run("SCARD", "set1") == .integer(1000))
    }

    @Test(arguments: ["FLUSHDB", "FLUSHALL"])
    func flushRefusesBadArguments(_ command: String) {
        engine.run("SET", "a", "1")
        #expect(engine.run(Bytes(command), "NOW").errorMessage == RedisError.syntax)
        #expect(engine.run(Bytes(command), "ASYNC", "SYNC").errorMessage == RedisError.syntax)
        #expect(engine.run(Bytes(command), "SYNC", "SYNC").errorMessage == RedisError.syntax)
        #expect(engine.run("DBSIZE") == .integer(1))
    }

    // MARK: - KEYWAY.DELTYPE

    @Test func typedDeleteDeletesOnlyTheNamedType() {
        engine.run("RPUSH", "l", "a")
        engine.run("SET", "s", "v")
        engine.run("SADD", "set", "m")
        engine.run("ZADD", "z", "1", "m")
        engine.run("HSET", "h", "f", "v")
        engine.run("XADD", "x", "1-0", "f", "v")
        for (key, type) in [("l", "list"), ("s", "string"), ("set", "set"), ("z", "zset"), ("h", "HASH"), ("x", "stream")] as [(Bytes, Bytes)] {
            #expect(engine.run("KEYWAY.DELTYPE", key, type) == .integer(1), "\(type.text)")
            #expect(engine.run("EXISTS", key) == .integer(0), "\(type.text)")
        }
        #expect(engine.run("KEYWAY.DELTYPE", "l", "list") == .integer(0))
        engine.run("SET", "k", "1", "PX", "10")
        clock.advance(milliseconds: 11)
        #expect(engine.run("KEYWAY.DELTYPE", "k", "string") == .integer(0))
    }

    @Test func typedDeleteRefusesAnotherTypeAndLeavesTheKey() {
        engine.run("SET", "s", "v")
        engine.run("RPUSH", "l", "a")
        #expect(engine.run("KEYWAY.DELTYPE", "s", "list").errorMessage == wrongType)
        #expect(engine.run("KEYWAY.DELTYPE", "l", "hash").errorMessage == wrongType)
        #expect(engine.run("GET", "s") == .bulk("v"))
        #expect(engine.run("LRANGE", "l", "0", "-1") == .array([.bulk("a")]))
    }

    @Test func typedDeleteRejectsAnUnknownTypeWord() {
        engine.run("SET", "s", "v")
        for type in ["none", "strings", ""] as [Bytes] {
            let reply = engine.run("KEYWAY.DELTYPE", "s", type)
            guard case .error(let error) = reply else {
                Issue.record("expected an error for type '\(type.text)', got \(reply)")
                continue
            }
            #expect(error.code == .syntax)
            #expect(error.message.hasPrefix("ERR unknown type"))
        }
        // Checked before the key: a missing key with an unknown word is still an error.
        #expect(engine.run("KEYWAY.DELTYPE", "missing", "nope").errorMessage?.hasPrefix("ERR unknown type") == true)
        #expect(engine.run("GET", "s") == .bulk("v"))
        #expect(engine.run("KEYWAY.DELTYPE", "s").errorMessage == RedisError.arity("keyway.deltype"))
    }

    @Test func typedDeleteLogsDELAndEmitsDel() {
        let sink = RecordingSink()
        engine.attachPropagationSink(sink)
        let inbox = PubSubTests.Inbox()
        _ = engine.subscribe(inbox, channels: [], patterns: ["__key*@0__:*"])
        engine.run("RPUSH", "l", "a")
        engine.run("SET", "s", "v")
        engine.run("CONFIG", "SET", "notify-keyspace-events", "KEA")
        sink.clear()
        #expect(engine.run("KEYWAY.DELTYPE", "l", "list") == .integer(1))
        #expect(sink.commands == [["DEL", "l"]])
        #expect(inbox.texts == ["__keyspace@0__:l=del", "__keyevent@0__:del=l"])
        // Nothing deleted, nothing logged or notified.
        sink.clear()
        inbox.messages = []
        engine.run("KEYWAY.DELTYPE", "l", "list")
        engine.run("KEYWAY.DELTYPE", "s", "list")
        #expect(sink.commands == [])
        #expect(inbox.messages.isEmpty)
    }
}
