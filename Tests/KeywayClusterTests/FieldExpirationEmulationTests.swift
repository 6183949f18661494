import KeywayEngine
import Testing
@testable import KeywayCluster

/// How the cluster backend answers hash field TTL commands on masters
/// without field expiration (Redis 7.0): reads become one script call,
/// TTL writes are refused, and each node's support is read from its
/// `COMMAND INFO` reply. The scripts on a real 7.0 cluster, beside the
/// engine, are in Tests/python/test_cluster_hash_ttl.py.
@Suite struct FieldExpirationEmulationTests {
    func arguments(_ words: [String]) -> [Bytes] { words.map { Bytes($0) } }

    func call(_ words: String...) throws(CommandError) -> MiddlewareCall? {
        let command = arguments(words)
        return try MiddlewareCall(emulatingFieldExpiration: command, spec: CommandTable.standard.lookup(command[0])!)
    }

    func error(_ words: String...) -> CommandError? {
        let command = arguments(words)
        do {
            _ = try MiddlewareCall(emulatingFieldExpiration: command, spec: CommandTable.standard.lookup(command[0])!)
            return nil
        } catch {
            return error
        }
    }

    func treatment(_ words: String...) -> FieldExpirationEmulation.Treatment {
        let command = arguments(words)
        return FieldExpirationEmulation.treatment(of: command, name: CommandTable.standard.lookup(command[0])!.name)
    }

    @Test func readsAreEmulatedAndTTLWritesRefused() {
        for name in ["HTTL", "HPTTL", "HEXPIRETIME", "HPEXPIRETIME", "HPERSIST"] {
            #expect(treatment(name, "h", "FIELDS", "1", "f") == .emulate(.ttl))
        }
        #expect(treatment("HGETDEL", "h", "FIELDS", "1", "f") == .emulate(.getAndDelete))
        #expect(treatment("HGETEX", "h", "FIELDS", "1", "f") == .emulate(.get))
        #expect(treatment("HGETEX", "h", "persist", "FIELDS", "1", "f") == .emulate(.get))
        for option in ["EX", "px", "EXAT", "PXAT"] {
            #expect(treatment("HGETEX", "h", option, "10", "FIELDS", "1", "f") == .refuse)
        }
        #expect(treatment("HEXPIRE", "h", "10", "FIELDS", "1", "f") == .refuse)
        #expect(treatment("HPEXPIREAT", "h", "10", "FIELDS", "1", "f") == .refuse)
        #expect(treatment("HSETEX", "h", "FIELDS", "1", "f", "v") == .refuse)
        #expect(treatment("HGET", "h", "f") == .notConcerned)
        #expect(treatment("HSET", "h", "f", "v") == .notConcerned)
    }

    @Test func aReadBecomesOneScriptCallWithItsModeAndFields() throws {
        let ttl = try #require(try call("HPTTL", "user:{1}", "FIELDS", "2", "name", "age"))
        #expect(ttl.kind == .fieldExpiration)
        #expect(ttl.keys == [Bytes("user:{1}")])
        #expect(ttl.arguments.map(\.text) == ["ttl", "name", "age"])
        #expect(ttl.evalSHA.map(\.text) == ["EVALSHA", MiddlewareScript.fieldExpiration.sha, "1", "user:{1}", "ttl", "name", "age"])
        // A pipeline loads the script ahead of its EVALSHAs: a NOSCRIPT
        // resend would come after the pipeline's later commands.
        #expect(ttl.load.map(\.text) == ["SCRIPT", "LOAD", MiddlewareScript.fieldExpiration.source])
        #expect(ttl.engineReply(.array([.integer(-1), .integer(-2)])) == .array([.integer(-1), .integer(-2)]))
        #expect(try call("HGETEX", "h", "PERSIST", "FIELDS", "1", "f")?.arguments.map(\.text) == ["get", "f"])
        #expect(try call("HGETDEL", "h", "FIELDS", "1", "f")?.arguments.map(\.text) == ["getdel", "f"])
        #expect(try call("GET", "k") == nil)
    }

    @Test func badArgumentsGetTheEnginesErrors() {
        #expect(error("HTTL", "h", "FIELD", "1", "f") == FieldExpirationEmulation.missingFields)
        #expect(error("HTTL", "h", "FIELDS", "0", "f") == FieldExpirationEmulation.numFieldsNotPositive)
        #expect(error("HTTL", "h", "FIELDS", "x", "f") == FieldExpirationEmulation.numFieldsNotPositive)
        #expect(error("HGETDEL", "h", "FIELDS", "0", "f") == FieldExpirationEmulation.numberOfFieldsNotPositive)
        #expect(error("HPERSIST", "h", "FIELDS", "2", "f") == FieldExpirationEmulation.numFieldsMismatch)
        #expect(error("HGETEX", "h", "NOPE", "FIELDS", "1", "f") == FieldExpirationEmulation.missingFields)
        #expect(error("HEXPIRE", "h", "10", "FIELDS", "1", "f")?.code == .notSupported)
        #expect(error("HSETEX", "h", "EX", "10", "FIELDS", "1", "f", "v")?.message.hasPrefix("ERR HSETEX sets a hash field TTL") == true)
    }

    @Test func eachNodeSaysWhetherItHasHPTTL() {
        let support = FieldExpirationSupport()
        let old = NodeAddress(host: "127.0.0.1", port: 7000)
        let new = NodeAddress(host: "127.0.0.1", port: 7001)
        let unasked = NodeAddress(host: "127.0.0.1", port: 7002)
        #expect(support.record(.array([.null]), from: old) == false)
        #expect(support.record(.array([.array([.bulk(Bytes("hpttl")), .integer(-5)])]), from: new) == true)
        #expect(support.record(.error(CommandError(.noPermission, "NOPERM")), from: unasked) == false)
        #expect(support.answer(for: old) == false)
        #expect(support.answer(for: new) == true)
        #expect(support.answer(for: unasked) == nil)
        let counts = support.counts(of: [old, new, unasked])
        #expect(counts.with == 1 && counts.without == 1)
    }
}
