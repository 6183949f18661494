import KeywayEngine
import Testing

/// COMMAND DOCS: Redis 7's reply shape, every command documented, unknown
/// names left out, subcommands of container commands, and the ACL.
@Suite struct CommandDocsTests {
    let engine: Engine

    init() { (engine, _) = makeEngine() }

    /// A RESP3 map as a dictionary keyed by its (bulk) names.
    func dictionary(_ reply: Reply?) -> [String: Reply] {
        guard case .map(let pairs)? = reply else { return [:] }
        var out: [String: Reply] = [:]
        for index in stride(from: 0, to: pairs.count - 1, by: 2) {
            if let name = pairs[index].bytesValue?.text { out[name] = pairs[index + 1] }
        }
        return out
    }

    func text(_ reply: Reply?) -> String? { reply?.bytesValue?.text }

    func docs(_ names: String...) -> [String: Reply] {
        dictionary(engine.run((["COMMAND", "DOCS"] + names).map { Bytes($0) }))
    }

    /// An argument as `name:type` with its token and flags, for comparing shapes.
    func describe(_ argument: Reply) -> String {
        let fields = dictionary(argument)
        var out = "\(text(fields["name"]) ?? "?"):\(text(fields["type"]) ?? "?")"
        if let token = text(fields["token"]) { out = "\(token)=" + out }
        let flags = fields["flags"]?.arrayValue?.compactMap { reply -> String? in
            if case .status(let flag) = reply { return flag }
            return nil
        } ?? []
        if !flags.isEmpty { out += "{\(flags.joined(separator: ","))}" }
        if let children = fields["arguments"]?.arrayValue {
            out += "(" + children.map(describe).joined(separator: " ") + ")"
        }
        return out
    }

    func arguments(_ name: String) -> String {
        (dictionary(docs(name)[name])["arguments"]?.arrayValue ?? []).map(describe).joined(separator: " ")
    }

    @Test func everyCommandHasASummaryGroupAndSince() {
        let all = docs()
        let names = engine.run("COMMAND", "LIST").arrayValue?.compactMap { $0.bytesValue?.text } ?? []
        #expect(!names.isEmpty)
        #expect(Set(all.keys) == Set(names))
        for name in names {
            let fields = dictionary(all[name])
            #expect(!(text(fields["summary"]) ?? "").isEmpty, "\(name) has no summary")
            #expect(!(text(fields["group"]) ?? "").isEmpty, "\(name) has no group")
            #expect(text(fields["since"])?.split(separator: ".").count == 3, "\(name) has no since")
        }
    }

    @Test func aCommandsMapHoldsRedisSevenFields() {
        let get = dictionary(docs("get")["get"])
        #expect(text(get["summary"]) != nil)
        #expect(text(get["since"]) == "1.0.0")
        #expect(text(get["group"]) == "string")
        #expect(text(get["complexity"]) == "O(1)")
        #expect(arguments("get") == "key:key")
        // Names are case-insensitive and answered in lowercase.
        #expect(docs("GeT").keys.sorted() == ["get"])
    }

    @Test func argumentsCarryTokensFlagsAndNesting() {
        #expect(arguments("set") == "key:key value:string condition:oneof{optional}(NX=nx:pure-token XX=xx:pure-token) "
            + "GET=get:pure-token{optional} expiration:oneof{optional}(EX=seconds:integer PX=milliseconds:integer "
            + "EXAT=unix-time-seconds:unix-time PXAT=unix-time-milliseconds:unix-time KEEPTTL=keepttl:pure-token)")
        #expect(arguments("hset") == "key:key field_value:block{multiple}(field:string value:string)")
        #expect(arguments("mget") == "key:key{multiple}")
        #expect(arguments("scan") == "cursor:integer MATCH=pattern:pattern{optional} COUNT=count:integer{optional} TYPE=type:string{optional}")
        #expect(arguments("xadd").contains("id_or_auto:oneof(*=auto_id:pure-token id:string)"))
        #expect(arguments("bitfield_ro") == "key:key GET=encoding_offset:block{optional,multiple,multiple_token}(encoding:string offset:integer)")
        #expect(arguments("zrangebyscore").hasSuffix("LIMIT=offset_count:block{optional}(offset:integer count:integer)"))
        #expect(arguments("xread") == "COUNT=count:integer{optional} BLOCK=milliseconds:integer{optional} "
            + "STREAMS=streams:block(key:key{multiple} id:string{multiple})")
        // A command without arguments has no `arguments` field.
        #expect(dictionary(docs("dbsize")["dbsize"])["arguments"] == nil)
    }

    @Test func unknownNamesAreLeftOut() {
        #expect(docs("nosuchcommand").isEmpty)
        #expect(docs("get", "nosuchcommand", "set").keys.sorted() == ["get", "set"])
        #expect(docs("get", "get").count == 1)
        guard case .map(let pairs) = engine.run("COMMAND", "DOCS", "nosuchcommand") else {
            Issue.record("COMMAND DOCS answers a map")
            return
        }
        #expect(pairs.isEmpty)
    }

    @Test func containerCommandsListTheirSubcommands() {
        let config = dictionary(docs("config")["config"])
        let subcommands = dictionary(config["subcommands"])
        #expect(subcommands.keys.sorted() == ["config|get", "config|resetstat", "config|rewrite", "config|set"])
        #expect(text(dictionary(subcommands["config|get"])["group"]) == "server")
        #expect(dictionary(docs("command")["command"])["subcommands"].map { dictionary($0).keys.contains("command|docs") } == true)
        // A subcommand may be asked for by its full name.
        let docsOfDocs = docs("command|docs")
        #expect(docsOfDocs.keys.sorted() == ["command|docs"])
        #expect(arguments("command|docs") == "command-name:string{optional,multiple}")
        #expect(docs("config|nosuch").isEmpty)
    }

    @Test func otherSubcommandsKeepTheirArity() {
        #expect(engine.run("COMMAND", "COUNT", "x").errorMessage?.hasPrefix("ERR unknown subcommand or wrong number of arguments for 'COUNT'") == true)
        #expect(engine.run("COMMAND", "NOSUCH").errorMessage?.hasPrefix("ERR unknown subcommand") == true)
        #expect(engine.run("COMMAND", "LIST", "x").errorMessage?.hasPrefix("ERR unknown subcommand") == true)
        // DOCS takes any number of names, none included.
        #expect(docs().count > 200)
    }

    @Test func theACLAllowsItWhereItAllowsCommand() {
        let (engine, _) = makeEngine()
        func run(as user: String, _ words: Bytes...) -> Reply {
            var command = Command(words)
            command.user = engine.accessControl!.user(named: user)
            return engine.execute(command)
        }
        for rules in [["on", "nopass", "+@connection"], ["on", "nopass", "+command"], ["on", "nopass", "+@slow"],
                      ["on", "nopass", "+command|docs"]] {
            #expect(engine.run((["ACL", "SETUSER", "u"] + rules).map { Bytes($0) }) == .ok)
            guard case .map(let pairs) = run(as: "u", "COMMAND", "DOCS", "get") else {
                Issue.record("\(rules) should allow COMMAND DOCS")
                continue
            }
            #expect(pairs.count == 2)
            #expect(engine.run("ACL", "DELUSER", "u") == .integer(1))
        }
        for rules in [["on", "nopass", "+@read"], ["on", "nopass", "+@connection", "-command|docs"], ["on", "nopass", "+command|info"]] {
            #expect(engine.run((["ACL", "SETUSER", "u"] + rules).map { Bytes($0) }) == .ok)
            #expect(run(as: "u", "COMMAND", "DOCS").errorMessage?.hasPrefix("NOPERM") == true, "\(rules)")
            #expect(engine.run("ACL", "DELUSER", "u") == .integer(1))
        }
        let categories = engine.run("COMMAND", "INFO", "command").arrayValue?.first?.arrayValue?.last?.arrayValue ?? []
        #expect(categories.contains(.status("@connection")) && categories.contains(.status("@slow")))
    }
}
