import KeywayEngine
import KeywayHTTP

/// The body of a `PUT .../ttl` request, shared by keys and hash fields:
/// `{"ttl": seconds}` | `{"pttl": ms}` | `{"expiresAt": unix-ms}`, with an
/// optional `"condition": "nx"|"xx"|"gt"|"lt"`.
struct ExpiryRequest {
    /// True for `expiresAt` (PEXPIREAT-style), false for a relative TTL.
    let absolute: Bool
    /// Milliseconds: relative or Unix time.
    let milliseconds: Bytes
    let condition: Bytes?

    /// Reads the body, or answers the problem to send back.
    static func read(_ request: HTTPRequest) -> Result<ExpiryRequest, HTTPResponse> {
        let object: JSONValue
        switch RequestBody.read(request, allowRaw: false) {
        case .failure(let problem): return .failure(problem)
        case .success(.json(let value)): object = value
        case .success: return .failure(Problem.badRequest("send {\"ttl\": seconds}, {\"pttl\": milliseconds} or {\"expiresAt\": unix-milliseconds}"))
        }
        let fields = Fields(json: object, request: request)
        do throws(FieldError) {
            let absolute: Bool
            let milliseconds: Bytes
            if let ttl = try fields.number("ttl") {
                guard let seconds = Double(ttl), seconds > 0, seconds.isFinite else {
                    return .failure(Problem.response(400, code: "INVALID_EXPIRE", detail: "'ttl' must be a positive number of seconds"))
                }
                absolute = false
                milliseconds = Bytes(String(max(1, clampedMilliseconds(seconds))))
            } else if let pttl = try fields.number("pttl") {
                guard let ms = Int64(pttl), ms > 0 else {
                    return .failure(Problem.response(400, code: "INVALID_EXPIRE", detail: "'pttl' must be a positive integer"))
                }
                absolute = false
                milliseconds = Bytes(String(ms))
            } else if let at = try fields.number("expiresAt") {
                absolute = true
                milliseconds = Bytes(at)
            } else {
                throw FieldError("one of 'ttl', 'pttl' or 'expiresAt' is required")
            }
            var condition: Bytes? = nil
            if let text = try fields.string("condition") {
                guard ["nx", "xx", "gt", "lt"].contains(text.lowercased()) else { throw FieldError("'condition' must be nx, xx, gt or lt") }
                condition = Bytes(text)
            }
            return .success(ExpiryRequest(absolute: absolute, milliseconds: milliseconds, condition: condition))
        } catch {
            return .failure(Problem.badRequest(error.message))
        }
    }
}
