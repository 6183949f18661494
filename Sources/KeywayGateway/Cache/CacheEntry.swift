import KeywayEngine

/// A response stored by the cache-aside middleware: an ordinary hash
/// `cache:{origin}:{target}` with fields `status`, `type`, `body`,
/// `stored-at` and `fresh-until` (Unix ms), so it is visible, persisted and
/// evictable like any key. The key's TTL is freshness plus stale-if-error.
struct CacheEntry: Equatable {
    var status: Int
    var contentType: String
    var body: [UInt8]
    /// Engine time (Unix ms) when the origin's answer was stored.
    var storedAt: Int64
    /// Engine time (Unix ms) after which the entry is stale.
    var freshUntil: Int64

    /// The hash fields, for HSET.
    var fields: [Bytes] {
        [
            "status", Bytes(String(status)), "type", Bytes(contentType), "body", Bytes(body),
            "stored-at", Bytes(String(storedAt)), "fresh-until", Bytes(String(freshUntil)),
        ]
    }

    /// Reads an HGETALL reply; nil when the key is missing or was not
    /// written by the cache (a wrong type or missing field is a miss).
    init?(hgetall reply: Reply) {
        let flat: [Reply]
        switch reply {
        case .array(let items), .map(let items): flat = items
        default: return nil
        }
        var values: [String: [UInt8]] = [:]
        var index = 0
        while index + 1 < flat.count {
            if case .bulk(let name) = flat[index], case .bulk(let value) = flat[index + 1] {
                values[name.text] = value.storage
            }
            index += 2
        }
        func number(_ field: String) -> Int64? { values[field].flatMap { Int64(String(decoding: $0, as: UTF8.self)) } }
        guard let status = number("status"), (100...599).contains(status), let body = values["body"],
              let storedAt = number("stored-at"), let freshUntil = number("fresh-until") else { return nil }
        self.init(status: Int(status), contentType: values["type"].map { String(decoding: $0, as: UTF8.self) } ?? "",
                  body: body, storedAt: storedAt, freshUntil: freshUntil)
    }

    init(status: Int, contentType: String, body: [UInt8], storedAt: Int64, freshUntil: Int64) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.storedAt = storedAt
        self.freshUntil = freshUntil
    }

    /// Whole seconds since the entry was stored (the `Age` header).
    func age(now: Int64) -> Int64 { max(0, (now - storedAt) / 1000) }
}

/// Where a cached request goes: the origin-relative target (path and query,
/// re-encoded canonically so `%7E` and `~` are one entry) and its store key.
struct CacheTarget: Equatable {
    /// `/a/b?x=1`: percent-encoded path segments and query, in request order.
    let target: String
    let key: Bytes

    init(origin: String, segments: [[UInt8]], query: [(name: String, value: [UInt8])]) {
        var target = "/" + segments.map { CacheTarget.encode($0) }.joined(separator: "/")
        if !query.isEmpty {
            target += "?" + query.map { CacheTarget.encode(Array($0.name.utf8)) + "=" + CacheTarget.encode($0.value) }
                .joined(separator: "&")
        }
        self.target = target
        self.key = Bytes("cache:\(origin):\(target)")
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func encode(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
