import Foundation
import KeywayEngine
import KeywayHTTP

/// The JSON shapes every resource route shares: the response itself, keys
/// and byte strings (UTF-8 or base64), values with their encoding, TTLs.
enum JSONResponse {
    /// A JSON object response.
    static func object(_ status: Int = 200, headers: [(String, String)] = [], _ body: (inout ObjectWriter) -> Void) -> HTTPResponse {
        var json = JSONWriter(capacity: 128)
        json.object(body)
        return HTTPResponse(status: status, headers: headers.isEmpty ? jsonHeaders : jsonHeaders + headers, body: json.bytes)
    }

    /// A response of JSON written already.
    static func ok(_ json: JSONWriter, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: jsonHeaders, body: json.bytes)
    }

    /// The headers of most JSON responses, made once and shared: an array
    /// of tuples made per response is an allocation, and is destroyed
    /// through the runtime's generic tuple witnesses.
    static let jsonHeaders = [("Content-Type", "application/json")]

    /// `"key": ...`, base64 when asked or when the key is not UTF-8.
    static func writeKey(_ key: Bytes, base64: Bool = false, into o: inout ObjectWriter) {
        if !base64, key.isValidUTF8 {
            o.member("key") { $0.string(validUTF8: key.storage) }
        } else {
            o.member("key") { $0.string(Data(key.storage).base64EncodedString()) }
        }
    }

    /// Bytes as a JSON string, base64 when asked.
    static func writeBytes(_ bytes: Bytes, base64: Bool, into json: inout JSONWriter) {
        if base64 { json.string(Data(bytes.storage).base64EncodedString()) } else { json.string(bytes: bytes.storage) }
    }

    /// `"name": bytes`, base64 when the bytes are not UTF-8.
    static func writeBytesMember(_ name: String, _ bytes: Bytes, into o: inout ObjectWriter) {
        o.member(name) { writeBytes(bytes, base64: !bytes.isValidUTF8, into: &$0) }
    }

    /// `"ttl"` (seconds), `"pttl"` and `"expiresAt"` (Unix ms), all null
    /// without an expiry (`pttl` < 0): the TTL body of keys and hash fields.
    static func writeTTL(pttl: Int64, expiresAt: Int64, into o: inout ObjectWriter) {
        let hasExpiry = pttl >= 0
        o.member("ttl") { hasExpiry ? $0.double(Double(pttl) / 1000) : $0.null() }
        o.member("pttl") { hasExpiry ? $0.integer(pttl) : $0.null() }
        o.member("expiresAt") { hasExpiry ? $0.integer(expiresAt) : $0.null() }
    }

    /// `"ttl": seconds` or null: the short TTL member of a value body.
    static func writeSecondsTTL(pttl: Int64?, into o: inout ObjectWriter) {
        o.member("ttl") { json in
            if let pttl { json.double(Double(pttl) / 1000) } else { json.null() }
        }
    }

    /// A value as raw bytes (`Accept: application/octet-stream`), its TTL in a header.
    static func octetStream(_ value: Bytes, pttl: Int64?) -> HTTPResponse {
        var headers = [("Content-Type", "application/octet-stream")]
        if let pttl { headers.append(("Keyway-TTL-Milliseconds", String(pttl))) }
        return HTTPResponse(status: 200, headers: headers, body: value.storage)
    }

    /// The `"value"` of an INCRBY-style reply: an integer, or a float's exact text.
    static func writeCounter(_ reply: Reply, into o: inout ObjectWriter) {
        switch reply {
        case .integer(let value): o.member("value") { $0.integer(value) }
        case .bulk(let text): o.member("value") { $0.raw(text.text) }
        default: break
        }
    }
}
