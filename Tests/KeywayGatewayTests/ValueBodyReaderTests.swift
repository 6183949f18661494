import Testing
import KeywayEngine
@testable import KeywayGateway
import KeywayHTTP

/// The direct reader of `{"value":"..."}` bodies must agree with the
/// general JSON path on everything it accepts, and hand back (nil)
/// everything else.
@Suite struct ValueBodyReaderTests {
    /// The value the general path reads from a JSON body.
    static func general(_ body: String, field: String = "value") -> [UInt8]? {
        guard case .object(let members)? = try? JSONParser.parse(Array(body.utf8)),
              let member = members.last(where: { $0.0 == field }), case .string(let text) = member.1 else { return nil }
        return Array(text.utf8)
    }

    @Test("reads one string member as the general parser does", arguments: [
        #"{"value":"vvvv"}"#, #" { "value" : "a b/c:d" } "#, "{\"value\":\"\"}", #"{"value":"clé 日本"}"#,
        "{\n\t\"value\":\"x\"\r\n}",
    ])
    func readsTheCommonShape(_ body: String) {
        let read = ValueBodyReader.value(named: "value", in: Array(body.utf8))
        #expect(read != nil)
        #expect(read == Self.general(body))
    }

    @Test func readsTheNamedMember() {
        #expect(ValueBodyReader.value(named: "message", in: Array(#"{"message":"hi"}"#.utf8)) == Array("hi".utf8))
        #expect(ValueBodyReader.value(named: "message", in: Array(#"{"value":"hi"}"#.utf8)) == nil)
    }

    @Test("bodies it does not read go to the general parser", arguments: [
        #"{"value":"a\"b"}"#, #"{"value":"\u00e9"}"#, "{\"value\":\"a\u{01}b\"}",    // escapes, a control byte
        #"{"value":"v","encoding":"base64"}"#, #"{"value":"v","nx":true}"#, #"{"nx":true,"value":"v"}"#,
        #"{"value":1}"#, #"{"value":null}"#, #"{"value":["v"]}"#, #"{"valu\u0065":"v"}"#, #"{"values":"v"}"#,
        #"{"value":"v"} x"#, #"{"value":"v""#, #"{"value""v"}"#, #"["value","v"]"#, "", "  ", "{}",
    ])
    func handsBackWhatItDoesNotRead(_ body: String) {
        #expect(ValueBodyReader.value(named: "value", in: Array(body.utf8)) == nil)
    }

    @Test func refusesInvalidUTF8() {
        let body: [UInt8] = Array(#"{"value":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        #expect(ValueBodyReader.value(named: "value", in: body) == nil)
    }

    /// A JSON body's fields come from the JSON alone: with the direct
    /// reader too, `?nx=true` beside `{"value":...}` is not an option.
    @Test func queryOptionsAreIgnoredBesideAJSONBody() throws {
        let request = HTTPRequest(method: "PUT", rawPath: "/v1/keys/k?nx=true", query: [(name: "nx", value: Array("true".utf8))],
                                  headers: ["content-type": "application/json"], body: Array(#"{"value":"v"}"#.utf8))
        let (value, fields) = try RequestBody.value(request).get()
        #expect(value == Array("v".utf8))
        #expect(try fields.bool("nx") == false)
    }
}
