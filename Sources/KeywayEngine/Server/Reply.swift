/// What a command returns. Only the gateway turns a Reply into JSON or HTTP.
///
/// The cases follow RESP3's types so any later wire protocol maps one to one.
public enum Reply: Sendable, Equatable {
    /// A simple status string such as `OK` or `PONG`.
    case status(String)
    case error(CommandError)
    case integer(Int64)
    /// A RESP3 double (scores, INCRBYFLOAT results stay bulk strings as in RESP2).
    case double(Double)
    case bulk(Bytes)
    /// Redis's nil.
    case null
    case array([Reply])
    /// Key/value pairs in order (RESP3 map); rendered as an object or a flat array.
    case map([Reply])

    public static let ok = Reply.status("OK")

    public static func bulk(_ string: String) -> Reply { .bulk(Bytes(string)) }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }
}
