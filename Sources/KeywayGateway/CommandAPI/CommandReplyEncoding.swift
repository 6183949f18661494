import Foundation
import KeywayEngine
import KeywayHTTP

/// Replies in the Upstash REST dialect: `{"result": ...}` or `{"error": ...}`,
/// RESP2-shaped, strings optionally base64-encoded (`Upstash-Encoding: base64`).
struct CommandReplyEncoding {
    /// Encode every string except the status `OK` in base64.
    let base64: Bool

    init(request: HTTPRequest) {
        base64 = request.header("upstash-encoding")?.lowercased() == "base64"
    }

    func write(_ reply: Reply, into json: inout JSONWriter) {
        switch reply {
        case .status(let text):
            if base64 && text != "OK" {
                json.string(Data(text.utf8).base64EncodedString())
            } else {
                json.string(text)
            }
        case .error(let error):
            json.string(error.message)
        case .integer(let value):
            json.integer(value)
        case .double(let value):
            // RESP2 sends doubles as bulk strings.
            write(.bulk(Bytes(Self.formatDouble(value))), into: &json)
        case .bulk(let bytes):
            if base64 {
                json.string(Data(bytes.storage).base64EncodedString())
            } else {
                json.string(bytes: bytes.storage)
            }
        case .null:
            json.null()
        case .array(let elements), .map(let elements):
            json.array(elements) { json, element in write(element, into: &json) }
        }
    }

    static let contentType = ("Content-Type", "application/json")

    /// One reply as a whole response body: `{"result":...}` or `{"error":...}`.
    func response(for reply: Reply, headers: [(String, String)]) -> HTTPResponse {
        response(for: reply, completeHeaders: [Self.contentType] + headers)
    }

    /// `response(for:headers:)` given all its headers, `Content-Type` first.
    func response(for reply: Reply, completeHeaders headers: [(String, String)]) -> HTTPResponse {
        var json = JSONWriter(capacity: 64)
        let status: Int
        if case .error(let error) = reply {
            status = Self.status(for: error)
            json.object { o in o.member("error") { $0.string(error.message) } }
        } else {
            status = 200
            json.object { o in o.member("result") { write(reply, into: &$0) } }
        }
        return HTTPResponse(status: status, headers: headers, body: json.bytes)
    }

    /// An array of `{"result"}`/`{"error"}` objects (pipeline, multi-exec).
    func response(forEach replies: [Reply], headers: [(String, String)]) -> HTTPResponse {
        var json = JSONWriter(capacity: 64 * replies.count)
        json.array(replies) { json, reply in writeElement(reply, into: &json) }
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")] + headers, body: json.bytes)
    }

    /// One element of a batch reply: `{"result":...}` or `{"error":...}`.
    func writeElement(_ reply: Reply, into json: inout JSONWriter) {
        json.object { o in
            if case .error(let error) = reply {
                o.member("error") { $0.string(error.message) }
            } else {
                o.member("result") { write(reply, into: &$0) }
            }
        }
    }

    /// The status of an error reply on the command API (see `ErrorStatus`).
    static func status(for error: CommandError) -> Int {
        ErrorStatus.status(for: error.code, face: .command)
    }

    static func errorResponse(_ message: String, status: Int = 400, headers: [(String, String)] = []) -> HTTPResponse {
        var json = JSONWriter()
        json.object { o in o.member("error") { $0.string(message) } }
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: json.bytes)
    }

    /// Redis's double formatting for replies: shortest round-trip text,
    /// `inf`/`-inf`, integers without a fraction.
    static func formatDouble(_ value: Double) -> String {
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value.isNaN { return "nan" }
        if value == value.rounded(.towardZero) && abs(value) < 1e17 { return String(Int64(value)) }
        return String(value)
    }
}
