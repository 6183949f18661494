import KeywayEngine
import Testing
@testable import KeywayCluster

/// How the cluster backend turns middleware commands into script calls and
/// node replies into the engine's shapes. What the scripts do on a real
/// node, beside the engine, is in Tests/python/test_cluster_middleware.py.
@Suite struct MiddlewareCallTests {
    func call(_ words: String...) throws(CommandError) -> MiddlewareCall? {
        let arguments = words.map { Bytes($0) }
        let spec = CommandTable.standard.lookup(arguments[0])!
        return try MiddlewareCall(arguments, spec: spec)
    }

    func error(_ words: String...) -> CommandError? {
        let arguments = words.map { Bytes($0) }
        do {
            _ = try MiddlewareCall(arguments, spec: CommandTable.standard.lookup(arguments[0])!)
            return nil
        } catch {
            return error
        }
    }

    @Test func ordinaryCommandsAreNotScripts() throws {
        #expect(try call("GET", "k") == nil)
        #expect(try call("HSET", "k", "f", "v") == nil)
    }

    @Test func aRateLimitBecomesOneScriptCallOnItsKey() throws {
        let rateLimit = try #require(try call("RATELIMIT", "ratelimit:api:u1", "Token-Bucket", "10", "60000", "COST", "3", "PEEK"))
        #expect(rateLimit.kind == .rateLimit)
        #expect(rateLimit.keys == [Bytes("ratelimit:api:u1")])
        #expect(rateLimit.arguments.map(\.text) == ["token-bucket", "10", "60000", "3", "1"])
        #expect(rateLimit.evalSHA.map(\.text) == ["EVALSHA", MiddlewareScript.rateLimit.sha, "1", "ratelimit:api:u1",
                                                   "token-bucket", "10", "60000", "3", "1"])
        #expect(rateLimit.eval[1] == Bytes(MiddlewareScript.rateLimit.source))
    }

    @Test func badArgumentsGetTheEnginesErrorsBeforeAnyRoundTrip() {
        #expect(error("RATELIMIT", "k", "leaky", "5", "1000")?.message.hasPrefix("ERR unknown rate limit algorithm 'leaky'") == true)
        #expect(error("RATELIMIT", "k", "sliding-log", "200000", "1000")?.message == "ERR limit must be between 1 and 100000 for sliding-log")
        #expect(error("RATELIMIT", "k", "fixed-window", "5", "1000", "COST", "6")?.message == "ERR cost must be between 1 and the limit")
        #expect(error("RATELIMIT", "k", "fixed-window", "5", "1000", "NOPE") == .syntax)
        #expect(error("KEYWAY.LOCK", "l", "f", "t", "0", "0")?.code == .invalidExpire)
        #expect(error("KEYWAY.LOCK", "l", "f", "t", "100", "-1")?.message == "ERR timeout is negative")
        #expect(error("KEYWAY.EXTEND", "l", "t", "ten")?.code == .notInteger)
        #expect(error("KEYWAY.HPATCH", "s", "0", "2", "a", "1") == .syntax)
        #expect(error("KEYWAY.HPATCH", "s", "-1", "0")?.code == .invalidExpire)
        #expect(error("KEYWAY.DELTYPE", "k", "blob")?.message == "ERR unknown type 'blob'; use string, list, set, zset, hash or stream")
        #expect((try? call("KEYWAY.DELTYPE", "k", "Hash"))??.arguments == [Bytes("hash")])
    }

    @Test func aLockWaitIsKeptForTheExecutorAndNotSentToTheNode() throws {
        let lock = try #require(try call("KEYWAY.LOCK", "lock:{a}", "lock:{a}:fencing", "token", "30000", "5000"))
        #expect(lock.kind == .lock(waitMilliseconds: 5000))
        #expect(lock.keys.map(\.text) == ["lock:{a}", "lock:{a}:fencing"])
        #expect(lock.arguments.map(\.text) == ["token", "30000"])
    }

    @Test func repliesTakeTheEnginesShapes() throws {
        let lock = try #require(try call("KEYWAY.LOCK", "l", "f", "t", "100", "0"))
        #expect(lock.engineReply(.array([.integer(-1), .integer(80)])) == .null)
        #expect(lock.engineReply(.array([.integer(3), .integer(100)])) == .array([.integer(3), .integer(100)]))
        #expect(MiddlewareCall.heldFor(.array([.integer(-1), .integer(80)])) == 80)
        #expect(MiddlewareCall.heldFor(.array([.integer(3), .integer(100)])) == nil)

        let patch = try #require(try call("KEYWAY.HPATCH", "s", "0", "1", "a", "1"))
        let flat = Reply.array([.array([.bulk("a"), .bulk("1")]), .integer(-1)])
        #expect(patch.engineReply(flat) == .array([.map([.bulk("a"), .bulk("1")]), .integer(-1)]))
        #expect(patch.engineReply(.null) == .null)
        #expect(patch.engineReply(.integer(0)) == .integer(0))
    }

    @Test func scriptsAreNamedByTheSHA1OfTheirSource() {
        for script in [MiddlewareScript.rateLimit, .lock, .unlock, .extend, .hashPatch, .deleteTyped] {
            #expect(script.sha == SHA1.hex(Array(script.source.utf8)))
            #expect(script.sha.count == 40)
            #expect(!script.source.hasPrefix(" "))
        }
        #expect(MiddlewareCall.isMissingScript(.error(CommandError(.generic, "NOSCRIPT No matching script. Please use EVAL."))))
        #expect(!MiddlewareCall.isMissingScript(.error(.syntax)))
    }

    @Test func mapRepliesOfANodeBecomeMaps() throws {
        let hgetall = try #require(CommandTable.standard.lookup(Bytes("hgetall")))
        let flat = Reply.array([.bulk("f"), .bulk("v")])
        #expect(EngineReplyShape.of(flat, spec: hgetall, arguments: [Bytes("HGETALL"), Bytes("h")]) == .map([.bulk("f"), .bulk("v")]))
        let xinfo = try #require(CommandTable.standard.lookup(Bytes("xinfo")))
        let groups = Reply.array([.array([.bulk("name"), .bulk("g1")])])
        #expect(EngineReplyShape.of(groups, spec: xinfo, arguments: ["XINFO", "GROUPS", "s"].map { Bytes($0) })
                == .array([.map([.bulk("name"), .bulk("g1")])]))
        let full = Reply.array([.bulk("length"), .integer(1), .bulk("groups"),
                                .array([.array([.bulk("name"), .bulk("g"), .bulk("consumers"), .array([.array([.bulk("name"), .bulk("c")])])])])])
        #expect(EngineReplyShape.of(full, spec: xinfo, arguments: ["XINFO", "STREAM", "s", "FULL"].map { Bytes($0) })
                == .map([.bulk("length"), .integer(1), .bulk("groups"),
                         .array([.map([.bulk("name"), .bulk("g"), .bulk("consumers"), .array([.map([.bulk("name"), .bulk("c")])])])])]))
        // Nil and errors pass as they are.
        #expect(EngineReplyShape.of(.null, spec: hgetall, arguments: [Bytes("HGETALL"), Bytes("h")]) == .null)
    }

    @Test func syncTokensNameOnlyKnownMastersAndKeepTheLargerOffset() {
        let offsets = ReplicationOffsets()
        let a = NodeAddress(host: "127.0.0.1", port: 7000), b = NodeAddress(host: "127.0.0.1", port: 7001)
        offsets.note(.array([.bulk("master"), .integer(120), .array([])]), from: a)
        offsets.note(.array([.bulk("master"), .integer(90), .array([])]), from: a)
        #expect(offsets.token(merging: nil, known: [a, b]) == "127.0.0.1:7000=120")
        let sent = Bytes("127.0.0.1:7000=100;127.0.0.1:7001=55;10.0.0.9:1=7;garbage;127.0.0.1:7001=-3")
        #expect(offsets.token(merging: sent, known: [a, b]) == "127.0.0.1:7000=120;127.0.0.1:7001=55")
        #expect(ReplicationOffsets.offset(ofRole: .array([.bulk("slave"), .bulk("127.0.0.1"), .integer(7000), .bulk("connected"), .integer(77)])) == 77)
        #expect(ReplicationOffsets.format([:]) == "0")
    }
}
