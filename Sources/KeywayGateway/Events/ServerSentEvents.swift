/// Formatting of Server-Sent Events (the `text/event-stream` wire format).
enum ServerSentEvents {
    /// One event: optional `id:` and `event:` lines, then the data, one
    /// `data:` line per line of it (a client joins them back with `\n`).
    static func event(_ name: String?, id: String? = nil, data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 32)
        if let id { out += Array("id: \(id)\n".utf8) }
        if let name { out += Array("event: \(name)\n".utf8) }
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            out += Array("data: ".utf8)
            out += line.filter { $0 != UInt8(ascii: "\r") }
            out.append(UInt8(ascii: "\n"))
        }
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// The reconnection delay hint, sent as a field of the first event
    /// (a block with no data would reach some clients as an empty event).
    static let retryField = Array("retry: 2000\n".utf8)
}
