import Foundation
import KeywayEngine
import KeywayHTTP

/// Values travel as UTF-8 JSON strings, or base64 when asked for or when
/// the bytes are not UTF-8.
enum ValueEncoding {
    static func wantsBase64(_ request: HTTPRequest) -> Bool {
        request.queryString("encoding")?.lowercased() == "base64"
    }

    /// Writes `"value": ..., "encoding": ...` members.
    static func writeValue(_ bytes: [UInt8], forceBase64: Bool, into o: inout ObjectWriter, name: String = "value") {
        // Most values are printable ASCII: one pass tells both that they are
        // UTF-8 and that they need no escapes.
        if !forceBase64, bytes.withUnsafeBufferPointer(JSONPlainText.isPlain) {
            o.member(name) { $0.string(plain: bytes) }
            o.member("encoding") { $0.string("utf-8") }
        } else if !forceBase64, UTF8Validation.isValid(bytes) {
            o.member(name) { $0.string(validUTF8: bytes) }
            o.member("encoding") { $0.string("utf-8") }
        } else {
            o.member(name) { $0.string(Data(bytes).base64EncodedString()) }
            o.member("encoding") { $0.string("base64") }
        }
    }

    static func decode(_ text: String, encoding: String?) throws(FieldError) -> [UInt8] {
        switch encoding?.lowercased() {
        case nil, "utf-8", "utf8": return Array(text.utf8)
        case "base64":
            guard let data = Data(base64Encoded: text) else { throw FieldError("'value' is not valid base64") }
            return Array(data)
        default: throw FieldError("'encoding' must be utf-8 or base64")
        }
    }
}
