import Testing
@testable import KeywayEngine

/// The JSON value type on its own: parsing (and its bounds), writing, and
/// the memory figure kept across changes.
@Suite struct JSONDocumentTests {
    @Test func parsesEveryKindOfValue() throws {
        let node = try JSONNodeParser.parse(#" {"a": [1, -2.5, 3e2, true, false, null, "x\n\u00e9\ud83d\ude00"], "b": {}} "#)
        guard case .object(let members) = node, case .array(let elements)? = members["a"] else {
            Issue.record("not an object with an array"); return
        }
        #expect(Array(members.keys) == ["a", "b"])
        #expect(elements == [.integer(1), .number(-2.5), .number(300), .bool(true), .bool(false), .null, .string("x\né😀")])
        #expect(members["b"] == .object([:]))
    }

    @Test func integersBeyondSixtyFourBitsBecomeNumbers() throws {
        #expect(try JSONNodeParser.parse("9223372036854775807") == .integer(Int64.max))
        guard case .number = try JSONNodeParser.parse("9223372036854775808") else { Issue.record("not a number"); return }
        #expect(try JSONNodeParser.parse("-0") == .integer(0))
    }

    @Test(arguments: [
        ("", "EOF while parsing a value at line 1 column 1"),
        ("{", "EOF while parsing an object at line 1 column 2"),
        ("[1,]", "expected value at line 1 column 4"),
        ("{\"a\" 1}", "expected `:` at line 1 column 6"),
        ("{1:2}", "key must be a string at line 1 column 2"),
        ("[1 2]", "expected `,` or `]` at line 1 column 4"),
        ("\"abc", "EOF while parsing a string at line 1 column 5"),
        ("\"a\u{01}\"", "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 3"),
        ("01", "trailing characters at line 1 column 2"),
        ("1.", "invalid number at line 1 column 3"),
        ("tru", "EOF while parsing a value at line 1 column 1"),
        ("nul1", "expected ident at line 1 column 1"),
        ("\"\\x\"", "invalid escape at line 1 column 4"),
        ("\"\\ud800\"", "lone leading surrogate in hex escape at line 1 column 8"),
        ("1e999", "number out of range at line 1 column 6"),
        ("[\n1,\n?]", "expected value at line 3 column 1"),
    ])
    func refusesMalformedText(text: String, message: String) {
        #expect(throws: CommandError(.invalidJSON, "ERR " + message)) { try JSONNodeParser.parse(text) }
    }

    @Test func boundsNesting() throws {
        let limit = JSONNodeParser.maximumDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(try JSONNodeParser.parse(deepest).depth == limit)
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(throws: CommandError(.invalidJSON, "ERR recursion limit exceeded at line 1 column \(limit + 1)")) { try JSONNodeParser.parse(tooDeep) }
        // A hostile document is refused at the bound, long before its end.
        let hostile = String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        #expect(throws: CommandError.self) { try JSONNodeParser.parse(hostile) }
    }

    @Test func writesCompactlyAndWithLayout() throws {
        let node = try JSONNodeParser.parse(#"{"a":[1,{"b":"q\"\\\u0001"}],"e":[],"o":{}}"#)
        #expect(JSONNodeWriter.compact.text(node) == #"{"a":[1,{"b":"q\"\\\u0001"}],"e":[],"o":{}}"#)
        let pretty = JSONNodeWriter(indent: "\t", newline: "\n", space: " ").text(node)
        #expect(pretty == "{\n\t\"a\": [\n\t\t1,\n\t\t{\n\t\t\t\"b\": \"q\\\"\\\\\\u0001\"\n\t\t}\n\t],\n\t\"e\": [],\n\t\"o\": {}\n}")
    }

    @Test(arguments: [
        (3.0, "3.0"), (0.1, "0.1"), (-2.5, "-2.5"), (1e15, "1000000000000000.0"), (1e16, "1e16"),
        (1.5e-7, "1.5e-7"), (0.0001, "0.0001"), (1e21, "1e21"), (123.456, "123.456"), (0.0, "0.0"),
    ])
    func formatsNumbersAsRedisJSON(value: Double, text: String) {
        #expect(JSONNodeWriter.format(value) == text)
        #expect(Double(text) == value)
    }

    @Test func roundTripsText() throws {
        let text = #"{"name":"Ada","tags":["x","y"],"n":-12,"f":1.25,"ok":true,"nil":null,"nested":{"deep":[[[]]]}}"#
        #expect(JSONNodeWriter.compact.text(try JSONNodeParser.parse(text)) == text)
    }

    @Test func memoryFigureFollowsChanges() throws {
        var document = JSONDocument(try JSONNodeParser.parse(#"{"a":{"b":[1,2,3]},"c":"a string longer than fifteen bytes"}"#))
        #expect(document.memoryUsage == document.recountMemoryUsage())
        document.replace(at: [.member("a"), .member("b")], with: .string(String(repeating: "z", count: 100)))
        #expect(document.memoryUsage == document.recountMemoryUsage())
        document.setMember("new member name that is long", to: .array([.integer(1)]), inObjectAt: [])
        #expect(document.memoryUsage == document.recountMemoryUsage())
        document.remove(at: [.member("c")])
        #expect(document.memoryUsage == document.recountMemoryUsage())
        _ = try document.update(at: [.member("a")]) { (node: inout JSONNode) throws(CommandError) in node = .object([:]) }
        #expect(document.memoryUsage == document.recountMemoryUsage())
        #expect(JSONNodeWriter.compact.text(document.root) == #"{"a":{},"new member name that is long":[1]}"#)
    }

    @Test func mergePatchFollowsRFC7386() throws {
        // The examples of RFC 7386's appendix A.
        let cases: [(String, String, String)] = [
            (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
            (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
            (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
            (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
            (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
            (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
            (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
            (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
            (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
            (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
            (#"{"a":"foo"}"#, "null", "null"),
            (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
            (#"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
            (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
            (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
        ]
        for (target, patch, result) in cases {
            let merged = JSONMergePatch.apply(try JSONNodeParser.parse(patch), to: try JSONNodeParser.parse(target))
            #expect(JSONNodeWriter.compact.text(merged) == result, "\(target) + \(patch)")
        }
    }
}
