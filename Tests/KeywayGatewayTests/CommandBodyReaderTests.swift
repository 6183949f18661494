import Testing
import KeywayEngine
@testable import KeywayGateway
import KeywayHTTP

/// The direct reader of command bodies must agree with the general JSON
/// path on everything it accepts, and hand back (nil) everything else.
@Suite struct CommandBodyReaderTests {
    /// The general path's batch, or nil when it refuses the body.
    static func general(_ body: String) -> [Command]? {
        try? CommandRoutes.parseBatch(Array(body.utf8))
    }

    @Test func readsTheCommonShapes() {
        #expect(CommandBodyReader.command(Array(#"["SET","user:session:1","v",  "EX" , 60]"#.utf8))
                == Command([Bytes("SET"), Bytes("user:session:1"), Bytes("v"), Bytes("EX"), Bytes("60")]))
        #expect(CommandBodyReader.commands(Array(" [[\"INCR\",\"k\"],\n[\"GET\",\"k\"]] ".utf8))
                == [Command("INCR", "k"), Command("GET", "k")])
        // UTF-8 beyond ASCII, numbers as their exact text.
        #expect(CommandBodyReader.command(Array(#"["SET","clé","日本",-0.5e+3,0,1E2]"#.utf8))
                == Command([Bytes("SET"), Bytes("clé"), Bytes("日本"), Bytes("-0.5e+3"), Bytes("0"), Bytes("1E2")]))
    }

    @Test("bodies it does not read go to the general parser", arguments: [
        #"["SET","a\"b","v"]"#,            // an escape
        #"["SET","\u00e9","v"]"#,           // a \u escape
        "[\"SET\",\"a\u{01}b\",\"v\"]",     // a control byte
        #"[]"#, #"[[]]"#, #"["GET",]"#, #"[["GET"],]"#, #"["GET""#, #"["GET"] x"#,
        #"["SET","k",true]"#, #"["SET","k",null]"#, #"["SET","k",{"a":1}]"#, #"["SET","k",["v"]]"#,
        #"["SET","k",01]"#, #"["SET","k",1.]"#, #"["SET","k",-]"#, #"["SET","k",1e]"#, #"["SET","k",+1]"#,
        #"{"cmd":"GET"}"#, "", "   ",
    ])
    func handsBackWhatItDoesNotRead(_ body: String) {
        #expect(CommandBodyReader.command(Array(body.utf8)) == nil)
        #expect(CommandBodyReader.commands(Array("[\(body)]".utf8)) == nil)
    }

    @Test func refusesInvalidUTF8() {
        let body: [UInt8] = Array(#"["SET","k",""#.utf8) + [0xFF, 0xFE] + Array(#""]"#.utf8)
        #expect(CommandBodyReader.command(body) == nil)
    }

    @Test func agreesWithTheGeneralParserOnRandomBodies() {
        var random = SplitMix64(seed: 20_261_204)
        let pieces = ["[", "]", ",", " ", "\"GET\"", "\"k\"", "\"\"", "\"é\"", "12", "-3.5", "1e9", "0", "01",
                      "\"a\\\"b\"", "true", "{", "}", ":", "\n", "\"SET\""]
        var accepted = 0
        for _ in 0..<20_000 {
            var body = "["
            for _ in 0..<Int(random.next() % 12) { body += pieces[Int(random.next() % UInt64(pieces.count))] }
            if random.next() % 2 == 0 { body += "]" }
            let batch = "[" + body + "]"
            if let read = CommandBodyReader.commands(Array(batch.utf8)) {
                accepted += 1
                #expect(read == Self.general(batch), "\(batch)")
            }
            if let read = CommandBodyReader.command(Array(body.utf8)) {
                #expect([read] == Self.general("[" + body + "]"), "\(body)")
            }
        }
        #expect(accepted > 100)
    }
}
