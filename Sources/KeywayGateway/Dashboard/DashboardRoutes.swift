import KeywayHTTP

/// `GET /ui` and `GET /ui/{asset}`: the dashboard's static files.
///
/// They need no credentials (they hold no data; every call the page makes
/// goes through the API with the user's own), so they run on the open face.
/// Each answer carries a strong ETag and `Cache-Control: no-cache`: the
/// browser keeps the file and asks again with `If-None-Match`, and gets a
/// 304 until the binary serves different bytes.
enum DashboardRoutes {
    static func register(_ routes: Routes) {
        let enabled = routes.open.gateway.dashboard
        routes.open.get("/ui") { context throws(HTTPResponse) in
            try serve(DashboardAssets.index, context.request, enabled: enabled)
        }
        routes.open.get("/ui/{asset...}") { context throws(HTTPResponse) in
            let path = context.request.segments.dropFirst().map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
            return try serve(path, context.request, enabled: enabled)
        }
    }

    static func serve(_ path: String, _ request: HTTPRequest, enabled: Bool) throws(HTTPResponse) -> HTTPResponse {
        guard enabled else {
            throw Problem.response(404, code: "NOT_FOUND", detail: "the dashboard is off (ui no, or listening beyond loopback without a password)")
        }
        guard let asset = DashboardAssets.all[path] else {
            throw Problem.response(404, code: "NOT_FOUND", detail: "no dashboard file \(path)")
        }
        var headers = [("ETag", asset.etag), ("Cache-Control", "no-cache")] + securityHeaders
        if let candidates = request.header("if-none-match"), matches(candidates, asset.etag) {
            return HTTPResponse(status: 304, headers: headers)
        }
        headers.insert(("Content-Type", asset.contentType), at: 0)
        return HTTPResponse(status: 200, headers: headers, body: asset.body)
    }

    /// `If-None-Match` compares weakly (RFC 9110 13.1.2): `W/"x"` matches
    /// `"x"`, and `*` matches any file that exists.
    static func matches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: " \t")
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }

    /// The page runs only its own scripts and talks only to this server, so
    /// an injected key name or value can neither run code nor send the
    /// token elsewhere; no other site may frame it.
    static let securityHeaders = [
        ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            + "form-action 'none'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var text = self
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
