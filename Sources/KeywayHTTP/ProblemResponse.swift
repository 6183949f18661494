/// RFC 9457 problem responses (`application/problem+json`) with Keyway's
/// stable machine `code`. The one builder for every error body the server
/// answers with a problem: the HTTP layer's own (404, 405, 413) and the
/// gateway's.
public enum ProblemResponse {
    public static func make(_ status: Int, code: String, detail: String, headers: [(String, String)] = []) -> HTTPResponse {
        var body = "{\"type\":\"urn:keyway:error:"
        body += code.lowercased()
        body += "\",\"title\":\"" + title(for: status) + "\",\"status\":" + String(status)
        body += ",\"detail\":" + jsonQuoted(detail) + ",\"code\":" + jsonQuoted(code) + "}"
        return HTTPResponse(status: status, headers: [("Content-Type", "application/problem+json")] + headers, body: Array(body.utf8))
    }

    /// The reason phrase a problem's `title` carries.
    public static func title(for status: Int) -> String {
        switch status {
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 409: return "Conflict"
        case 412: return "Precondition Failed"
        case 413: return "Payload Too Large"
        case 415: return "Unsupported Media Type"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "Error"
        }
    }

    /// A JSON string literal for `text`.
    static func jsonQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
