import Testing
@testable import KeywayEngine

/// JSONPath and RedisJSON's legacy paths over `JSONNode`.
@Suite struct JSONPathTests {
    private func doc(_ text: String) -> JSONNode {
        try! JSONNodeParser.parse(text)
    }

    /// The values `path` matches in `document`, written compactly.
    private func values(_ path: String, _ document: String) throws -> [String] {
        let root = doc(document)
        let compiled = try JSONPath(parsing: path)
        return compiled.locations(in: root).map { JSONNodeWriter.compact.text(root[$0]!) }
    }

    private func isInvalid(_ path: String) -> Bool {
        do {
            _ = try JSONPath(parsing: path)
            return false
        } catch {
            return error.code == .invalidPath
        }
    }

    static let store = """
    {"store":{"book":[
      {"category":"reference","author":"Nigel Rees","title":"Sayings of the Century","price":8.95},
      {"category":"fiction","author":"Evelyn Waugh","title":"Sword of Honour","price":12.99},
      {"category":"fiction","author":"Herman Melville","title":"Moby Dick","isbn":"0-553-21311-3","price":8},
      {"category":"fiction","author":"J. R. R. Tolkien","title":"The Lord of the Rings","isbn":"0-395-19395-8","price":22.99}
    ],"bicycle":{"color":"red","price":19.95}}}
    """

    @Test func root() throws {
        #expect(try values("$", #"{"a":1}"#) == [#"{"a":1}"#])
        #expect(try JSONPath(parsing: "$").isRoot)
        #expect(try JSONPath(parsing: ".").isRoot)
        #expect(try !JSONPath(parsing: "$.a").isRoot)
        #expect(try JSONPath(parsing: "$").locations(in: doc("3")) == [[]])
    }

    @Test func members() throws {
        let document = #"{"a":{"b":{"c":3}},"x y":1,"q'\"":2,"a-b":4,"é":5}"#
        #expect(try values("$.a.b.c", document) == ["3"])
        #expect(try values("$['a']['b']", document) == [#"{"c":3}"#])
        #expect(try values(#"$["a"]["b"].c"#, document) == ["3"])
        #expect(try values("$['x y']", document) == ["1"])
        #expect(try values(#"$['q\'"']"#, document) == ["2"])
        #expect(try values(#"$["q'\""]"#, document) == ["2"])
        #expect(try values("$.a-b", document) == ["4"])
        #expect(try values("$.é", document) == ["5"])
        #expect(try values("$[ 'a' ][ 'b' ]", document) == [#"{"c":3}"#])
        #expect(isInvalid("$['a'] ['b']"))  // no whitespace between steps
    }

    @Test func missingAndMismatched() throws {
        #expect(try values("$.nope", #"{"a":1}"#) == [])
        #expect(try values("$.a.b", #"{"a":1}"#) == [])
        #expect(try values("$.a", "[1,2]") == [])
        #expect(try values("$[0]", #"{"0":1}"#) == [])
        #expect(try values("$[5]", "[1,2]") == [])
        #expect(try values("$[-3]", "[1,2]") == [])
    }

    @Test func locationsAreSteps() throws {
        let root = doc(#"{"a":[10,{"b":true}]}"#)
        #expect(try JSONPath(parsing: "$.a[1].b").locations(in: root) == [[.member("a"), .element(1), .member("b")]])
        #expect(try JSONPath(parsing: "$.a[-1]").locations(in: root) == [[.member("a"), .element(1)]])
        #expect(try JSONPath(parsing: "$.a[*]").locations(in: root) == [[.member("a"), .element(0)], [.member("a"), .element(1)]])
    }

    @Test func wildcards() throws {
        let document = #"{"b":1,"a":[2,3],"c":{"d":4}}"#
        #expect(try values("$.*", document) == ["1", "[2,3]", #"{"d":4}"#])
        #expect(try values("$[*]", document) == ["1", "[2,3]", #"{"d":4}"#])
        #expect(try values("$.a[*]", document) == ["2", "3"])
        #expect(try values("$.a.*", document) == ["2", "3"])
        #expect(try values("$.b.*", document) == [])
        #expect(try values("$[ * ]", "[1]") == ["1"])
    }

    @Test func indexesAndUnions() throws {
        let array = "[0,1,2,3,4]"
        #expect(try values("$[0]", array) == ["0"])
        #expect(try values("$[-1]", array) == ["4"])
        #expect(try values("$[-5]", array) == ["0"])
        #expect(try values("$[0,2,-1]", array) == ["0", "2", "4"])
        #expect(try values("$[ 0 , 2 ]", array) == ["0", "2"])
        #expect(try values("$[3,1]", array) == ["3", "1"])
        #expect(try values("$[0,0]", array) == ["0"])
        #expect(try values("$[4,-1,9]", array) == ["4"])
        let object = #"{"a":1,"b":2,"c":3}"#
        #expect(try values("$['a','c']", object) == ["1", "3"])
        #expect(try values(#"$["c", 'a', "c"]"#, object) == ["3", "1"])
        #expect(try values("$['a',0]", object) == ["1"])
        #expect(try JSONPath(parsing: "$[0,0]").locations(in: doc(array)) == [[.element(0)]])
    }

    @Test func slices() throws {
        let array = "[0,1,2,3,4,5]"
        #expect(try values("$[1:3]", array) == ["1", "2"])
        #expect(try values("$[:2]", array) == ["0", "1"])
        #expect(try values("$[4:]", array) == ["4", "5"])
        #expect(try values("$[:]", array) == ["0", "1", "2", "3", "4", "5"])
        #expect(try values("$[::2]", array) == ["0", "2", "4"])
        #expect(try values("$[1:6:2]", array) == ["1", "3", "5"])
        #expect(try values("$[-2:]", array) == ["4", "5"])
        #expect(try values("$[:-4]", array) == ["0", "1"])
        #expect(try values("$[-100:100]", array) == ["0", "1", "2", "3", "4", "5"])
        #expect(try values("$[3:1]", array) == [])
        #expect(try values("$[ 1 : 3 ]", array) == ["1", "2"])
        #expect(try values("$[0:2]", #"{"a":1}"#) == [])
        #expect(isInvalid("$[::0]"))
        #expect(isInvalid("$[::-1]"))
        #expect(isInvalid("$[0,1:2]"))
    }

    @Test func recursiveDescent() throws {
        #expect(try values("$..a", #"{"a":1,"b":{"a":2}}"#) == ["1", "2"])
        #expect(try values("$..a", #"{"a":{"a":1}}"#) == [#"{"a":1}"#, "1"])
        #expect(try values("$..a", #"{"b":[{"a":1},{"c":{"a":2}}],"a":3}"#) == ["3", "1", "2"])
        #expect(try values("$..[0]", #"{"a":[1,[2,3]],"b":[4]}"#) == ["1", "2", "4"])
        #expect(try values("$..['x']", #"{"x":1,"y":{"x":2}}"#) == ["1", "2"])
        #expect(try values("$.store..price", Self.store) == ["8.95", "12.99", "8", "22.99", "19.95"])
        #expect(try values("$..author", Self.store).count == 4)
        #expect(try values("$..book[2].title", Self.store) == [#""Moby Dick""#])
    }

    @Test func recursiveWildcardIsPreOrder() throws {
        // Each value's children, for each value in pre-order.
        let root = doc(#"{"a":[1,{"b":2}],"c":3}"#)
        let found = try JSONPath(parsing: "$..*").locations(in: root)
        #expect(found == [
            [.member("a")], [.member("c")],
            [.member("a"), .element(0)], [.member("a"), .element(1)],
            [.member("a"), .element(1), .member("b")],
        ])
    }

    @Test func deduplication() throws {
        // `..a` then `..b`: the inner b is reached from both a's.
        let root = doc(#"{"a":{"a":{"b":1}}}"#)
        #expect(try JSONPath(parsing: "$..a..b").locations(in: root) == [[.member("a"), .member("a"), .member("b")]])
        // `$..[*]` overlapping `$..*`-style walks: every value once.
        let nested = doc("[[1,[2]],[3]]")
        let all = try JSONPath(parsing: "$..[*]").locations(in: nested)
        #expect(all.count == Set(all).count)
        #expect(all.count == 6)
        let twice = try JSONPath(parsing: "$..*..*").locations(in: nested)
        #expect(twice.count == Set(twice).count)
        #expect(try values("$[0,-2,0]", "[1,2]") == ["1"])
    }

    @Test func filters() throws {
        let books = "$.store.book"
        #expect(try values(books + "[?(@.price < 10)].title", Self.store) == [#""Sayings of the Century""#, #""Moby Dick""#])
        #expect(try values(books + "[?(@.price<10)].title", Self.store).count == 2)
        #expect(try values(books + "[?(@.isbn)].price", Self.store) == ["8", "22.99"])
        #expect(try values(books + "[?(!@.isbn)].price", Self.store) == ["8.95", "12.99"])
        #expect(try values(books + "[?(@.category == 'fiction' && @.price > 10)].price", Self.store) == ["12.99", "22.99"])
        #expect(try values(books + "[?(@.price == 8 || @.price == 8.95)].price", Self.store) == ["8.95", "8"])
        #expect(try values(books + "[?(@.price == 8.0)].price", Self.store) == ["8"])
        #expect(try values(books + "[?(@.price >= 12.99)].price", Self.store) == ["12.99", "22.99"])
        #expect(try values(books + "[?(@.price <= 8.95)].price", Self.store) == ["8.95", "8"])
        #expect(try values(books + "[?(@.category != 'fiction')].price", Self.store) == ["8.95"])
        #expect(try values(books + "[?(@.author =~ 'R\\.')].price", Self.store) == ["22.99"])
        #expect(try values(books + "[?(@.author =~ '\\bR')].price", Self.store) == ["8.95", "22.99"])
        #expect(try values(books + "[?(@.isbn =~ '^\\d-\\d{3}')].price", Self.store) == ["8", "22.99"])
        #expect(try values(books + "[?(@.author =~ \"^H\")].price", Self.store) == ["8"])
        #expect(try values(books + "[?(@.price < $.store.bicycle.price)].price", Self.store) == ["8.95", "12.99", "8"])
        #expect(try values(books + "[?( ( @.price < 9 ) && !( @.category == \"reference\" ) )].price", Self.store) == ["8"])
        #expect(try values("$..[?(@.color)].price", Self.store) == ["19.95"])
    }

    @Test func filterOnObjectsAndScalars() throws {
        let document = #"{"a":{"x":1},"b":{"x":5},"c":7}"#
        #expect(try values("$[?(@.x > 2)]", document) == [#"{"x":5}"#])
        #expect(try values("$[?(@ == 7)]", document) == ["7"])
        #expect(try values("$.c[?(@ == 7)]", document) == [])
        #expect(try values("$[?(@ > 3)]", "[1,5,2,9]") == ["5", "9"])
        #expect(try values("$[?(@['x'] == 1)]", document) == [#"{"x":1}"#])
        #expect(try values("$[?(@[0] == 1)]", "[[1,2],[3],[1]]") == ["[1,2]", "[1]"])
        #expect(try values("$[?(@.a.b == 1)]", #"[{"a":{"b":1}},{"a":{"b":2}}]"#) == [#"{"a":{"b":1}}"#])
    }

    @Test func filterComparisonSemantics() throws {
        let array = #"[1, 1.5, "1", "b", true, false, null, [1], {"a":1}]"#
        #expect(try values("$[?(@ == 1)]", array) == ["1"])
        #expect(try values("$[?(@ == 1.0)]", array) == ["1"])
        #expect(try values("$[?(@ > 1)]", array) == ["1.5"])
        #expect(try values("$[?(@ == '1')]", array) == [#""1""#])
        #expect(try values("$[?(@ < 'c')]", array) == [#""1""#, #""b""#])
        #expect(try values("$[?(@ >= \"b\")]", array) == [#""b""#])
        #expect(try values("$[?(@ == true)]", array) == ["true"])
        #expect(try values("$[?(@ == false)]", array) == ["false"])
        #expect(try values("$[?(@ == null)]", array) == ["null"])
        #expect(try values("$[?(@ < true)]", array) == [])
        // Mismatched types: only != holds.
        #expect(try values("$[?(@ != 1)]", array).count == 8)
        // A relative path that matches nothing makes a comparison false, even !=.
        #expect(try values("$[?(@.a != 2)]", array) == [#"{"a":1}"#])
        #expect(try values("$[?(@.a == 1)]", array) == [#"{"a":1}"#])
        // Literal on the left, negative and exponent literals.
        #expect(try values("$[?(1 == @)]", array) == ["1"])
        #expect(try values("$[?(@ > -1e1)]", "[-20, -5, 3]") == ["-5", "3"])
        // Regex: only strings match; a bad regex matches nothing.
        #expect(try values("$[?(@ =~ '.')]", array) == [#""1""#, #""b""#])
        #expect(try values("$[?(@ =~ '(')]", array) == [])
        #expect(try values("$[?(@ =~ @)]", #"["a.c"]"#) == [#""a.c""#])
        // Constants and existence of @ itself.
        #expect(try values("$[?(true)]", "[1,2]") == ["1", "2"])
        #expect(try values("$[?(false)]", "[1,2]") == [])
        #expect(try values("$[?(@)]", "[1,2]") == ["1", "2"])
        #expect(try values("$[?(!!@.a)]", #"[{"a":0},{}]"#) == [#"{"a":0}"#])
        #expect(try values("$[?@.a]", #"[{"a":0},{}]"#) == [#"{"a":0}"#])
    }

    @Test func legacyPaths() throws {
        let document = #"{"a":{"b":[1,2,{"c d":3}]},"x y":4}"#
        for (path, expected) in [
            (".", [#"{"a":{"b":[1,2,{"c d":3}]},"x y":4}"#]),
            (".a.b[0]", ["1"]), ("a.b[0]", ["1"]), (".a.b[-1]", [#"{"c d":3}"#]),
            (#".a.b[2]["c d"]"#, ["3"]), (".a['b'][1]", ["2"]), (#"["x y"]"#, ["4"]),
            ("a", [#"{"b":[1,2,{"c d":3}]}"#]), (".nope", []),
        ] {
            #expect(try values(path, document) == expected, "\(path)")
            #expect(try JSONPath(parsing: path).isLegacy)
        }
        #expect(try values("[1]", "[5,6]") == ["6"])
        #expect(try !JSONPath(parsing: "$.a").isLegacy)
        #expect(try JSONPath(parsing: ".a.b").text == ".a.b")
    }

    @Test func errorText() throws {
        #expect(try JSONPath(parsing: ".a.b").errorText == "$.a.b")
        #expect(try JSONPath(parsing: "a.b").errorText == "$.a.b")
        #expect(try JSONPath(parsing: ".").errorText == "$")
        #expect(try JSONPath(parsing: "a[0]").errorText == "$.a[0]")
        #expect(try JSONPath(parsing: #"["x y"]"#).errorText == #"$["x y"]"#)
        #expect(try JSONPath(parsing: "$.q[0]").errorText == "$.q[0]")
    }

    @Test func parentAndMember() throws {
        func split(_ text: String) throws -> (String, Bool, String)? {
            guard let (parent, member) = try JSONPath(parsing: text).parentAndMember else { return nil }
            return (parent.text, parent.isLegacy, member)
        }
        #expect(try split("$.a.b")! == ("$.a", false, "b"))
        #expect(try split("$['x y']")! == ("$", false, "x y"))
        #expect(try split(#"$.a["b"]"#)! == ("$.a", false, "b"))
        #expect(try split("$.a").map { $0.0 } == "$")
        #expect(try split("$.a[0]") == nil)
        #expect(try split("$..a") == nil)
        #expect(try split("$.*") == nil)
        #expect(try split("$['a','b']") == nil)
        #expect(try split("$[?(@.a)]") == nil)
        #expect(try split("$[1:2]") == nil)
        #expect(try split("$") == nil)
        #expect(try split(".") == nil)
        #expect(try split(".a.b")! == (".a", true, "b"))
        #expect(try split("a.b")! == ("a", true, "b"))
        #expect(try split(".a")! == (".", true, "a"))
        #expect(try split("a")! == (".", true, "a"))
        #expect(try split(#"["a"]"#)! == (".", true, "a"))
        #expect(try split(#".a["b c"]"#)! == (".a", true, "b c"))

        // The parent evaluates as a path of its own.
        let root = doc(#"{"a":{"b":1},"c":[{"b":2},{"b":3}]}"#)
        let (parent, member) = try JSONPath(parsing: "$.c[*].b").parentAndMember!
        #expect(member == "b")
        #expect(parent.text == "$.c[*]")
        #expect(parent.locations(in: root) == [[.member("c"), .element(0)], [.member("c"), .element(1)]])
        let legacyParent = try JSONPath(parsing: ".a.b").parentAndMember!.parent
        #expect(legacyParent.errorText == "$.a")
        #expect(legacyParent.locations(in: root) == [[.member("a")]])
        let rootParent = try JSONPath(parsing: "a").parentAndMember!.parent
        #expect(rootParent.isRoot)
        #expect(rootParent.errorText == "$")
    }

    @Test func badSyntax() {
        for path in [
            "", "$.", "$[", "$..", "$a", "$.a.", "$.a[", "$['a'", "$['a]", #"$["a"#, "$[?(@.a <)]", "$[?(@.a == )]",
            "$[?(@.a)", "$[?(@.a]", "$[?()]", "$[?(1)]", "$[?(@.a = 1)]", "$[?(@.a === 1)]", "$[?(@.a == 1 &&)]",
            "$[?(@.a == 1 & @.b)]", "$[?(@.a == tru)]", "$[?(@.a == 'x)]", "$[?(@.a == 1))]", "$[?((@.a == 1)]",
            "$.a b", "$ ", " $", "$[0", "$[0,]", "$[,0]", "$[abc]", "$[-]", "$[1.5]", "$[99999999999999999999]",
            "$...a", "$.a..", "$..[", "$[?(@.a =~)]", "$.[0]", "$$", "$[?(@ == 1e)]", "$['\\u12']", "$['\\ud800']",
            "..", ".a.", "a[", " .a", "$[0]]", "$[::0]", "$[?(@.a == 1)", "$.a\r\n", "$[?(!)]", "$[?(@.a == -)]",
        ] {
            #expect(isInvalid(path), "\(path)")
        }
    }

    @Test func errorMessages() {
        do {
            _ = try JSONPath(parsing: "$.a[")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidPath)
            #expect(error.message.hasPrefix("ERR invalid JSONPath: $.a["))
        }
        do {
            _ = try JSONPath(parsing: "a[")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("ERR invalid legacy path: a["))
        }
        do {
            _ = try JSONPath(parsing: "$.a\r\nb" + String(repeating: "x", count: 1000))
            Issue.record("expected an error")
        } catch {
            #expect(!error.message.contains("\r") && !error.message.contains("\n"))
            #expect(error.message.utf8.count < 400)
        }
    }

    @Test func hostileInput() throws {
        let deepFilter = "$" + String(repeating: "[?(", count: 100_000) + "@" + String(repeating: ")]", count: 100_000)
        #expect(isInvalid(deepFilter))
        let deepNestedFilters = "$" + String(repeating: "[?(@", count: 100_000) + String(repeating: ")]", count: 100_000)
        #expect(isInvalid(deepNestedFilters))
        let deepBareFilters = "$" + String(repeating: "[?@", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(isInvalid(deepBareFilters))
        let deepParens = "$[?(" + String(repeating: "(", count: 100_000) + "@" + String(repeating: ")", count: 100_001) + "]"
        #expect(isInvalid(deepParens))
        let deepNot = "$[?(" + String(repeating: "!", count: 100_000) + "@)]"
        #expect(isInvalid(deepNot))
        let unterminated = "$" + String(repeating: "[?((((", count: 100_000)
        #expect(isInvalid(unterminated))
        // Within the bound, nesting works.
        let nested = "$[?(" + String(repeating: "(", count: 50) + "@ == 1" + String(repeating: ")", count: 50) + ")]"
        #expect(try values(nested, "[1,2]") == ["1"])
        let nestedFilters = "$" + String(repeating: "[?(@", count: 10) + String(repeating: ")]", count: 10)
        #expect(!isInvalid(nestedFilters))
        // Long flat paths and chains are fine.
        let longPath = "$" + String(repeating: ".a", count: 100_000)
        #expect(try JSONPath(parsing: longPath).locations(in: doc(#"{"a":{"a":1}}"#)) == [])
        let longLegacy = String(repeating: ".a", count: 100_000)
        #expect(try JSONPath(parsing: longLegacy).isLegacy)
        let longChain = "$[?(" + Array(repeating: "@ == 1", count: 20_000).joined(separator: " && ") + ")]"
        #expect(try values(longChain, "[1,2]") == ["1"])
        let longDescent = "$" + String(repeating: "..a", count: 1_000)
        #expect(try JSONPath(parsing: longDescent).locations(in: doc(#"{"a":{"a":{"a":1}}}"#)) == [])
        // Odd bytes never crash.
        for path in ["$[\u{0}]", "$.\u{0}", "$['\u{0}']", "$[?(@.\u{1F600} == '😀')]", "\u{FFFF}", "$[-0]", "$[?(@ =~ '[')]"] {
            _ = try? JSONPath(parsing: path).locations(in: doc(#"{"a":[1]}"#))
        }
    }

    @Test func deepDocumentDescent() throws {
        let depth = 128
        let text = String(repeating: #"{"a":"#, count: depth - 1) + "[1]" + String(repeating: "}", count: depth - 1)
        let root = doc(text)
        #expect(try JSONPath(parsing: "$..a").locations(in: root).count == depth - 1)
        #expect(try JSONPath(parsing: "$..[0]").locations(in: root).count == 1)
        #expect(try JSONPath(parsing: "$..*").locations(in: root).count == depth)
    }
}
