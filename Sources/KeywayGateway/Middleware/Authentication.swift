import KeywayHTTP

/// Bearer-token check. With no token configured every request passes.
struct Authentication: Sendable {
    let token: String?
    /// `allow-query-token`: off, only the header authenticates.
    var allowQueryToken = true

    enum Outcome { case allowed, missing, invalid }

    /// Reads `Authorization: Bearer <token>`, or `?_token=` when `allowQueryToken`
    /// (the command API accepts it as Upstash does).
    func check(_ request: HTTPRequest, allowQueryToken: Bool) -> Outcome {
        guard let token else { return .allowed }
        var presented: String? = nil
        if let header = request.header("authorization") {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2 && parts[0].lowercased() == "bearer" {
                presented = String(parts[1])
            } else {
                return .invalid
            }
        } else if allowQueryToken, self.allowQueryToken, let queryToken = request.queryString("_token") {
            presented = queryToken
        }
        // An empty credential never matches, not even a token configured
        // empty: that would let `?_token=` in.
        guard let presented, !presented.isEmpty else { return .missing }
        return Self.constantTimeEquals(Array(presented.utf8), Array(token.utf8)) ? .allowed : .invalid
    }

    /// Compares without leaking the position of the first difference.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }

    static let challenge = ("WWW-Authenticate", "Bearer realm=\"keyway\"")
}
