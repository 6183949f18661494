/// The bound on repeated random picks (SRANDMEMBER, HRANDFIELD and
/// ZRANDMEMBER with a negative count).
///
/// Redis accepts any count down to -LONG_MAX and streams the reply, letting
/// the client's output-buffer limit cut a reader off; Keyway builds a reply
/// whole under the engine lock before it is sent, so one request for
/// billions of picks would hold every other client back and then exhaust
/// memory. A magnitude above this bound is refused with Redis's range-error
/// wording; at the bound, a reply is built in well under a second.
enum RandomPicks {
    static let maxRepeated: Int64 = 1 << 20

    static let outOfRange = CommandError(.generic, "ERR value is out of range, must be between \(-maxRepeated) and \(Int64.max)")

    /// Throws for a negative count of larger magnitude than the bound.
    static func check(_ count: Int64) throws(CommandError) {
        if count < -maxRepeated { throw outOfRange }
    }
}
