/// What an origin's `Cache-Control` header allows a shared cache to do.
///
/// Keyway is a shared cache, so `private` forbids storing like `no-store`,
/// and `s-maxage` wins over `max-age`. `no-cache` (store, but revalidate
/// every time) is treated as `no-store`: Keyway does not revalidate.
struct CacheControl: Equatable {
    var noStore = false
    /// `s-maxage`, else `max-age`, in seconds; nil when neither is given.
    var maxAge: Int?

    init(noStore: Bool = false, maxAge: Int? = nil) {
        self.noStore = noStore
        self.maxAge = maxAge
    }

    /// Parses the header's comma-separated directives, case-insensitively;
    /// unknown directives are ignored, a malformed age is ignored.
    init(header: String?) {
        guard let header else { return }
        var sharedMaxAge: Int?
        for part in header.split(separator: ",") {
            let directive = part.trimmingSpaces
            let name: Substring
            var value: Substring?
            if let equals = directive.firstIndex(of: "=") {
                name = directive[..<equals].trimmingSpaces
                var raw = directive[directive.index(after: equals)...].trimmingSpaces
                if raw.hasPrefix("\"") && raw.hasSuffix("\"") && raw.count >= 2 { raw = raw.dropFirst().dropLast() }
                value = raw
            } else {
                name = directive
            }
            switch name.lowercased() {
            case "no-store", "private", "no-cache":
                noStore = true
            case "max-age":
                if let seconds = value.flatMap({ Int($0) }), seconds >= 0 { maxAge = seconds }
            case "s-maxage":
                if let seconds = value.flatMap({ Int($0) }), seconds >= 0 { sharedMaxAge = seconds }
            default:
                continue
            }
        }
        if let sharedMaxAge { maxAge = sharedMaxAge }
    }

    /// Seconds to keep the response fresh under the origin's configured
    /// `ttl`, or nil when it must not be stored (max-age=0 included).
    func freshness(configuredTTL: Int) -> Int? {
        if noStore { return nil }
        let seconds = min(configuredTTL, maxAge ?? configuredTTL)
        return seconds > 0 ? seconds : nil
    }

    /// Statuses stored: those RFC 9110 lets a cache store without explicit
    /// freshness that need no other header than Content-Type to replay
    /// (redirects would need Location, 206 a range).
    static let storableStatuses: Set<Int> = [200, 203, 404, 410]
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
