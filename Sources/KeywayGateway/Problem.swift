import KeywayEngine
import KeywayHTTP

/// Problem responses for the resource API, with Keyway's stable codes.
enum Problem {
    static func response(_ status: Int, code: String, detail: String, headers: [(String, String)] = []) -> HTTPResponse {
        ProblemResponse.make(status, code: code, detail: detail, headers: headers)
    }

    static func from(_ error: CommandError) -> HTTPResponse {
        response(ErrorStatus.status(for: error.code, face: .resource), code: error.code.rawValue, detail: error.message)
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
}

/// The HTTP status of every engine error, for both faces, in one table.
///
/// The resource API says what went wrong with the status (409 wrong type,
/// 404 no such key or group); the command API keeps Upstash's dialect, where
/// every command error is 400 and only "try again later" (LOADING, BUSY,
/// OOM) is 503, and an ACL refusal (NOPERM) is 403 on both.
enum ErrorStatus {
    static func status(for code: ErrorCode, face: Face) -> Int {
        let statuses = table(code)
        return face == .command ? statuses.command : statuses.resource
    }

    private static func table(_ code: ErrorCode) -> (resource: Int, command: Int) {
        switch code {
        case .loading, .busy, .outOfMemory, .misconf, .clusterUnavailable: return (503, 503)
        case .noPermission: return (403, 403)
        case .saveFailed: return (500, 500)
        case .wrongPassword: return (401, 401)
        case .wrongType, .busyGroup, .notBusy, .unkillable: return (409, 400)
        case .noSuchKey, .noGroup, .noScript, .noSuchPath: return (404, 400)
        case .generic, .notInteger, .notFloat, .overflow, .syntax, .invalidExpire,
             .wrongArity, .unknownCommand, .execAbort, .notSupported, .invalidJSON, .invalidPath, .crossSlot:
            return (400, 400)
        }
    }
}
