import Testing
@testable import KeywayEngine

/// RedisJSON's commands: both path dialects, their reply shapes, and the
/// errors and bounds a client can hit.
@Suite struct JSONCommandsTests {
    let engine: Engine

    init() { (engine, _) = makeEngine() }

    func run(_ words: String...) -> Reply { engine.run(words.map { Bytes($0) }) }

    /// A bulk reply's text.
    func text(_ reply: Reply) -> String? {
        if case .bulk(let bytes) = reply { return bytes.text }
        return nil
    }

    func error(_ reply: Reply) -> CommandError? {
        if case .error(let error) = reply { return error }
        return nil
    }

    let store = #"{"name":"Ada","age":36,"tags":["x","y"],"address":{"city":"London","zip":null},"books":[{"title":"A","price":8.5},{"title":"B","price":12}]}"#

    @Test func setAndGetWholeDocuments() {
        #expect(run("JSON.SET", "doc", "$", store) == .ok)
        #expect(text(run("JSON.GET", "doc")) == store)
        #expect(text(run("JSON.GET", "doc", "$")) == "[" + store + "]")
        #expect(run("TYPE", "doc") == .status("ReJSON-RL"))
        #expect(run("JSON.GET", "missing") == .null)
        #expect(run("OBJECT", "ENCODING", "doc") == .bulk("json"))
    }

    @Test func getWithPathsInBothDialects() {
        _ = run("JSON.SET", "doc", "$", store)
        #expect(text(run("JSON.GET", "doc", "$.name")) == #"["Ada"]"#)
        #expect(text(run("JSON.GET", "doc", ".name")) == #""Ada""#)
        #expect(text(run("JSON.GET", "doc", "name")) == #""Ada""#)
        #expect(text(run("JSON.GET", "doc", "$..price")) == "[8.5,12]")
        #expect(text(run("JSON.GET", "doc", "$.books[?(@.price < 10)].title")) == #"["A"]"#)
        #expect(text(run("JSON.GET", "doc", "$.nothing")) == "[]")
        #expect(error(run("JSON.GET", "doc", ".nothing")) == CommandError(.noSuchPath, "ERR Path '$.nothing' does not exist"))
        #expect(text(run("JSON.GET", "doc", ".name", ".age")) == #"{".name":"Ada",".age":36}"#)
        #expect(text(run("JSON.GET", "doc", "$.name", ".age")) == #"{"$.name":["Ada"],".age":[36]}"#)
        #expect(text(run("JSON.GET", "doc", "INDENT", "  ", "NEWLINE", "\n", "SPACE", " ", ".tags")) == "[\n  \"x\",\n  \"y\"\n]")
    }

    @Test func setAtPaths() {
        _ = run("JSON.SET", "doc", "$", store)
        #expect(run("JSON.SET", "doc", "$.age", "37") == .ok)
        #expect(run("JSON.SET", "doc", "$.address.country", #""UK""#) == .ok)
        #expect(text(run("JSON.GET", "doc", "$.address")) == #"[{"city":"London","zip":null,"country":"UK"}]"#)
        // A path whose parent is missing stores nothing.
        #expect(run("JSON.SET", "doc", "$.no.such", "1") == .null)
        // Every match changes.
        #expect(run("JSON.SET", "doc", "$.books[*].price", "1") == .ok)
        #expect(text(run("JSON.GET", "doc", "$..price")) == "[1,1]")
        // Legacy paths work for writes too.
        #expect(run("JSON.SET", "doc", ".name", #""Grace""#) == .ok)
        #expect(text(run("JSON.GET", "doc", ".name")) == #""Grace""#)
    }

    @Test func setConditions() {
        #expect(run("JSON.SET", "doc", "$", "{}", "XX") == .null)
        #expect(run("JSON.SET", "doc", "$", "{}", "NX") == .ok)
        #expect(run("JSON.SET", "doc", "$", "[]", "NX") == .null)
        #expect(run("JSON.SET", "doc", "$.a", "1", "XX") == .null)
        #expect(run("JSON.SET", "doc", "$.a", "1", "NX") == .ok)
        #expect(run("JSON.SET", "doc", "$.a", "2", "NX") == .null)
        #expect(run("JSON.SET", "doc", "$.a", "2", "XX") == .ok)
        #expect(text(run("JSON.GET", "doc")) == #"{"a":2}"#)
        #expect(error(run("JSON.SET", "doc", "$", "1", "NX", "XX"))?.code == .syntax)
        #expect(error(run("JSON.SET", "doc", "$", "1", "BOGUS"))?.code == .syntax)
    }

    @Test func setRefusals() {
        #expect(error(run("JSON.SET", "new", "$.a", "1")) == CommandError(.noSuchKey, "ERR new objects must be created at the root"))
        #expect(error(run("JSON.SET", "new", "$", "{bad"))?.code == .invalidJSON)
        #expect(error(run("JSON.SET", "new", "$[", "1"))?.code == .invalidPath)
        _ = run("SET", "str", "x")
        #expect(error(run("JSON.SET", "str", "$", "1"))?.code == .wrongType)
        #expect(error(run("JSON.GET", "str"))?.code == .wrongType)
        #expect(run("EXISTS", "new") == .integer(0))
    }

    @Test func nestingStaysBoundedAcrossWrites() {
        let limit = JSONNodeParser.maximumDepth
        // The deepest document there may be, and a path to its innermost array.
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        let innermost = "$" + String(repeating: "[0]", count: limit - 1)
        #expect(run("JSON.SET", "doc", "$", deepest) == .ok)
        #expect(error(run("JSON.SET", "doc", innermost, "[[]]"))?.code == .invalidJSON)
        #expect(error(run("JSON.ARRAPPEND", "doc", innermost, "[1]"))?.code == .invalidJSON)
        #expect(error(run("JSON.ARRINSERT", "doc", innermost, "0", "{}"))?.code == .invalidJSON)
        #expect(error(run("JSON.MERGE", "doc", innermost, #"{"a":[1]}"#))?.code == .invalidJSON)
        #expect(text(run("JSON.GET", "doc")) == deepest)
        // Scalars still fit, and a container where the nesting allows it.
        #expect(run("JSON.ARRAPPEND", "doc", innermost, "1") == .array([.integer(1)]))
        #expect(run("JSON.SET", "doc", "$[0]", "[[]]") == .ok)
    }

    @Test func deleteMatchesAndKeys() {
        _ = run("JSON.SET", "doc", "$", #"{"a":[1,2,3,4],"b":{"a":5},"c":6}"#)
        #expect(run("JSON.DEL", "doc", "$.a[0,2]") == .integer(2))
        #expect(text(run("JSON.GET", "doc", "$.a")) == "[[2,4]]")
        #expect(run("JSON.DEL", "doc", "$..a") == .integer(2))
        #expect(text(run("JSON.GET", "doc")) == #"{"b":{},"c":6}"#)
        #expect(run("JSON.FORGET", "doc", ".c") == .integer(1))
        #expect(run("JSON.DEL", "doc", "$.nothing") == .integer(0))
        #expect(run("JSON.DEL", "doc") == .integer(1))
        #expect(run("EXISTS", "doc") == .integer(0))
        #expect(run("JSON.DEL", "doc") == .integer(0))
    }

    @Test func typesOfValues() {
        _ = run("JSON.SET", "doc", "$", #"{"i":1,"f":1.5,"s":"x","b":true,"n":null,"a":[],"o":{}}"#)
        #expect(run("JSON.TYPE", "doc") == .status("object"))
        #expect(run("JSON.TYPE", "doc", "$.*") == .array(["integer", "number", "string", "boolean", "null", "array", "object"].map { .status($0) }))
        #expect(run("JSON.TYPE", "doc", ".f") == .status("number"))
        #expect(run("JSON.TYPE", "doc", "$.nothing") == .array([]))
        #expect(run("JSON.TYPE", "missing") == .null)
    }

    @Test func arithmetic() {
        _ = run("JSON.SET", "doc", "$", #"{"a":1,"b":{"a":2.5},"c":"x"}"#)
        #expect(text(run("JSON.NUMINCRBY", "doc", "$..a", "2")) == "[3,4.5]")
        #expect(text(run("JSON.NUMINCRBY", "doc", ".a", "1.5")) == "4.5")
        #expect(text(run("JSON.NUMMULTBY", "doc", "$.*", "2")) == "[9.0,null,null]")
        #expect(error(run("JSON.NUMINCRBY", "doc", ".c", "1"))?.code == .wrongType)
        #expect(error(run("JSON.NUMINCRBY", "doc", "$.a", "\"x\""))?.code == .notFloat)
        #expect(error(run("JSON.NUMINCRBY", "missing", "$.a", "1")) == JSONSupport.missingKey)
        _ = run("JSON.SET", "n", "$", "9223372036854775807")
        #expect(text(run("JSON.NUMINCRBY", "n", "$", "1")) == "[9.223372036854776e18]")
        _ = run("JSON.SET", "n", "$", "1e308")
        #expect(error(run("JSON.NUMMULTBY", "n", "$", "10"))?.code == .overflow)
    }

    @Test func stringsAndBooleans() {
        _ = run("JSON.SET", "doc", "$", #"{"s":"ab","t":true,"n":{"s":"é"}}"#)
        #expect(run("JSON.STRAPPEND", "doc", "$..s", #""c""#) == .array([.integer(3), .integer(3)]))
        #expect(run("JSON.STRLEN", "doc", "$..s") == .array([.integer(3), .integer(3)]))
        #expect(run("JSON.STRLEN", "doc", "$.t") == .array([.null]))
        #expect(error(run("JSON.STRLEN", "doc", ".t"))?.code == .wrongType)
        #expect(run("JSON.TOGGLE", "doc", "$.t") == .array([.integer(0)]))
        #expect(run("JSON.TOGGLE", "doc", ".t") == .bulk("true"))
        #expect(run("JSON.TOGGLE", "doc", "$.s") == .array([.null]))
        #expect(error(run("JSON.STRAPPEND", "doc", "$.s", "1"))?.code == .wrongType)
        _ = run("JSON.SET", "str", "$", #""x""#)
        #expect(run("JSON.STRAPPEND", "str", #""yz""#) == .integer(3))
        #expect(run("JSON.STRLEN", "str") == .integer(3))
    }

    @Test func arrays() {
        _ = run("JSON.SET", "doc", "$", #"{"a":[1,2,3],"b":"x"}"#)
        #expect(run("JSON.ARRAPPEND", "doc", "$.a", "4", #""five""#) == .array([.integer(5)]))
        #expect(run("JSON.ARRAPPEND", "doc", "$.*", "0") == .array([.integer(6), .null]))
        #expect(run("JSON.ARRINDEX", "doc", "$.a", #""five""#) == .array([.integer(4)]))
        #expect(run("JSON.ARRINDEX", "doc", "$.a", "3.0") == .array([.integer(2)]))
        #expect(run("JSON.ARRINDEX", "doc", "$.a", "2", "2") == .array([.integer(-1)]))
        #expect(run("JSON.ARRINDEX", "doc", "$.a", "1", "0", "-3") == .array([.integer(0)]))
        #expect(run("JSON.ARRINDEX", "doc", "$.a", "4", "-3") == .array([.integer(3)]))
        #expect(run("JSON.ARRINSERT", "doc", "$.a", "0", "-1") == .array([.integer(7)]))
        #expect(run("JSON.ARRINSERT", "doc", "$.a", "-1", "9") == .array([.integer(8)]))
        #expect(error(run("JSON.ARRINSERT", "doc", "$.a", "20", "9")) == CommandError(.generic, "ERR index out of bounds"))
        #expect(text(run("JSON.GET", "doc", ".a")) == #"[-1,1,2,3,4,"five",9,0]"#)
        #expect(run("JSON.ARRLEN", "doc", "$.*") == .array([.integer(8), .null]))
        #expect(run("JSON.ARRLEN", "doc", ".a") == .integer(8))
        #expect(run("JSON.ARRPOP", "doc", "$.a") == .array([.bulk("0")]))
        #expect(run("JSON.ARRPOP", "doc", ".a", "0") == .bulk("-1"))
        #expect(run("JSON.ARRPOP", "doc", "$.a", "100") == .array([.bulk("9")]))
        #expect(run("JSON.ARRTRIM", "doc", "$.a", "1", "-2") == .array([.integer(3)]))
        #expect(text(run("JSON.GET", "doc", ".a")) == "[2,3,4]")
        #expect(run("JSON.ARRTRIM", "doc", "$.a", "5", "10") == .array([.integer(0)]))
        #expect(run("JSON.ARRPOP", "doc", "$.a") == .array([.null]))
        #expect(run("JSON.ARRPOP", "missing") == .null)
        #expect(error(run("JSON.ARRAPPEND", "doc", ".b", "1"))?.code == .wrongType)
    }

    @Test func objectsAndClear() {
        _ = run("JSON.SET", "doc", "$", #"{"o":{"x":1,"y":[1]},"n":5,"s":"keep"}"#)
        #expect(run("JSON.OBJKEYS", "doc", "$.o") == .array([.array([.bulk("x"), .bulk("y")])]))
        #expect(run("JSON.OBJKEYS", "doc", ".o") == .array([.bulk("x"), .bulk("y")]))
        #expect(run("JSON.OBJLEN", "doc") == .integer(3))
        #expect(run("JSON.OBJLEN", "doc", "$.n") == .array([.null]))
        #expect(run("JSON.CLEAR", "doc", "$.*") == .integer(2))
        #expect(text(run("JSON.GET", "doc")) == #"{"o":{},"n":0,"s":"keep"}"#)
        #expect(run("JSON.CLEAR", "doc") == .integer(1))
        #expect(text(run("JSON.GET", "doc")) == "{}")
        #expect(run("EXISTS", "doc") == .integer(1))
    }

    @Test func mergePatches() {
        #expect(run("JSON.MERGE", "doc", "$", #"{"a":1,"b":{"c":2,"d":null}}"#) == .ok)
        #expect(text(run("JSON.GET", "doc")) == #"{"a":1,"b":{"c":2}}"#)
        #expect(run("JSON.MERGE", "doc", "$.b", #"{"c":null,"e":[1]}"#) == .ok)
        #expect(run("JSON.MERGE", "doc", "$.f", #"{"g":true}"#) == .ok)
        #expect(text(run("JSON.GET", "doc")) == #"{"a":1,"b":{"e":[1]},"f":{"g":true}}"#)
        #expect(error(run("JSON.MERGE", "missing", "$.a", "1"))?.code == .noSuchKey)
    }

    @Test func multiKeyCommands() {
        #expect(run("JSON.MSET", "a", "$", #"{"v":1}"#, "b", "$", #"{"v":2}"#, "a", "$.w", "3") == .ok)
        #expect(run("JSON.MGET", "a", "b", "missing", "$.v") == .array([.bulk("[1]"), .bulk("[2]"), .null]))
        #expect(run("JSON.MGET", "a", "b", ".w") == .array([.bulk("3"), .null]))
        // One bad triple changes nothing.
        #expect(error(run("JSON.MSET", "a", "$.v", "10", "c", "$.x", "1")) == JSONSupport.newObjectsAtRoot)
        #expect(error(run("JSON.MSET", "a", "$.v", "10", "b", "$", "{bad"))?.code == .invalidJSON)
        #expect(text(run("JSON.GET", "a", ".v")) == "1")
        #expect(error(run("JSON.MSET", "a", "$"))?.code == .wrongArity)
        _ = run("SET", "str", "x")
        #expect(run("JSON.MGET", "str", "a", "$.v") == .array([.null, .bulk("[1]")]))
    }

    @Test func respForm() {
        _ = run("JSON.SET", "doc", "$", #"{"a":[1,2.5,"x",true,null],"o":{"k":"v"}}"#)
        #expect(run("JSON.RESP", "doc", ".a") == .array([.status("["), .integer(1), .bulk("2.5"), .bulk("x"), .status("true"), .null]))
        #expect(run("JSON.RESP", "doc", "$.o") == .array([.array([.status("{"), .bulk("k"), .bulk("v")])]))
    }

    @Test func debugMemoryAndMemoryUsage() {
        _ = run("JSON.SET", "doc", "$", store)
        let whole = run("JSON.DEBUG", "MEMORY", "doc"), usage = run("MEMORY", "USAGE", "doc")
        guard case .integer(let whole) = whole, case .integer(let usage) = usage else { Issue.record("no sizes: \(whole) \(usage)"); return }
        #expect(whole > 0 && usage > whole)
        guard case .array(let parts) = run("JSON.DEBUG", "MEMORY", "doc", "$.books[*]") else { Issue.record("no parts"); return }
        #expect(parts.count == 2)
    }

    @Test func keyspaceEventsAreInTheModuleClass() {
        #expect(KeyspaceEventFlags("d") == .module)
        #expect(KeyspaceEventFlags("A")!.contains(.module))
    }

    @Test func runsInsideTransactionsAndScripts() throws {
        let replies = engine.executeTransaction([
            Command(["JSON.SET", "doc", "$", #"{"n":1}"#]),
            Command(["JSON.NUMINCRBY", "doc", "$.n", "1"]),
        ])
        #expect(try replies.get() == [.ok, .bulk("[2]")])
        #expect(run("EVAL", "return redis.call('JSON.GET', KEYS[1], '$.n')", "1", "doc") == .bulk("[2]"))
    }

    @Test func surviveSnapshotAndRewrite() throws {
        _ = run("JSON.SET", "doc", "$", store)
        _ = run("PEXPIRE", "doc", "100000")
        let keyspace = engine.withDatabase { db, _ in db.keyspace }
        var bytes: [UInt8] = []
        RDBWriter.write(keyspace, now: startMilliseconds, to: &bytes)
        let loaded = try RDBReader.load(bytes: bytes, now: startMilliseconds).keyspace
        let (reloaded, _) = makeEngine()
        reloaded.withDatabase { db, _ in db.keyspace = loaded }
        #expect(reloaded.run("JSON.GET", "doc") == .bulk(Bytes(store)))
        #expect(reloaded.run("PTTL", "doc") == .integer(100000))
        #expect(reloaded.run("MEMORY", "USAGE", "doc") == run("MEMORY", "USAGE", "doc"))

        var commands: [[Bytes]] = []
        AOFRewriter.commands(for: Bytes("doc"), .json(JSONDocument(try JSONNodeParser.parse(store))), now: startMilliseconds) { commands.append($0) }
        #expect(commands == [[Bytes("JSON.SET"), Bytes("doc"), Bytes("$"), Bytes(store)]])
        #expect(RDBJSONModule.name(of: RDBJSONModule.moduleID) == "ReJSON-RL")
    }
}
