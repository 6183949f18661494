import KeywayEngine
import KeywayHTTP

// Forwarders for route files not yet on the ResourceContext kit; removed
// once every route family is converted.
extension KeyRoutes {
    static func json(_ status: Int, _ body: (inout ObjectWriter) -> Void) -> HTTPResponse {
        JSONResponse.object(status, body)
    }

    static func writeKey(_ key: Bytes, base64: Bool, into o: inout ObjectWriter) {
        JSONResponse.writeKey(key, base64: base64, into: &o)
    }

    static func writeTTL(pttl: Int64, expiresAt: Int64, into o: inout ObjectWriter) {
        JSONResponse.writeTTL(pttl: pttl, expiresAt: expiresAt, into: &o)
    }

    static func delete(_ key: Bytes, _ gateway: Gateway) -> HTTPResponse {
        let reply = gateway.executor.execute(Command("DEL", [key]))
        if case .error(let error) = reply { return Problem.from(error) }
        return reply == Reply.integer(1) ? HTTPResponse(status: 204) : Problem.noSuchKey(key.storage)
    }
}
