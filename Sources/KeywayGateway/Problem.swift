import KeywayEngine
import KeywayHTTP

/// RFC 9457 problem responses for the resource API, with Keyway's stable codes.
enum Problem {
    static func response(_ status: Int, code: String, detail: String, headers: [(String, String)] = []) -> HTTPResponse {
        var json = JSONWriter(capacity: 160)
        json.object { o in
            o.member("type") { $0.string("urn:keyway:error:" + code.lowercased()) }
            o.member("title") { $0.string(title(for: status)) }
            o.member("status") { $0.integer(Int64(status)) }
            o.member("detail") { $0.string(detail) }
            o.member("code") { $0.string(code) }
        }
        return HTTPResponse(status: status, headers: [("Content-Type", "application/problem+json")] + headers, body: json.bytes)
    }

    static func from(_ error: CommandError) -> HTTPResponse {
        response(status(for: error.code), code: error.code.rawValue, detail: error.message)
    }

    static func badRequest(_ detail: String) -> HTTPResponse {
        response(400, code: "BAD_REQUEST", detail: detail)
    }

    static func noSuchKey(_ key: [UInt8]) -> HTTPResponse {
        response(404, code: "NO_SUCH_KEY", detail: "no such key: \(String(decoding: key, as: UTF8.self))")
    }

    static func conditionNotMet(_ detail: String) -> HTTPResponse {
        response(412, code: "CONDITION_NOT_MET", detail: detail)
    }

    /// The HTTP status for an engine error code.
    static func status(for code: ErrorCode) -> Int {
        switch code {
        case .wrongType: return 409
        case .noSuchKey, .noGroup: return 404
        case .busyGroup: return 409
        case .loading: return 503
        case .busy: return 503
        case .noScript: return 404
        case .notBusy, .unkillable: return 409
        case .generic, .notInteger, .notFloat, .overflow, .syntax, .invalidExpire,
             .wrongArity, .unknownCommand, .execAbort, .notSupported:
            return 400
        }
    }

    static func title(for status: Int) -> String {
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
        case 503: return "Service Unavailable"
        default: return "Error"
        }
    }
}
