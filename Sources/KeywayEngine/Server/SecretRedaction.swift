/// What MONITOR and SLOWLOG show of a command, with secrets replaced by
/// `(redacted)`, as Redis redacts AUTH's password: the token that proves
/// ownership of a lock (KEYWAY.LOCK, UNLOCK, EXTEND) and the id in a
/// session key (`session:<id>`, which is the session's bearer credential).
/// Only what these two show is redacted; the engine runs the real argv.
enum SecretRedaction {
    static let redacted = Bytes("(redacted)")
    static let redactedSession = Bytes("session:(redacted)")

    /// The argv positions that hold a lock token.
    static let lockTokenPositions: [String: Int] = ["keyway.lock": 3, "keyway.unlock": 2, "keyway.extend": 2]

    static let sessionPrefix = Array("session:".utf8)
    /// A session id: 22 base64url characters (128 random bits).
    static let sessionIDLength = 22

    static func shown(_ spec: CommandSpec, _ arguments: [Bytes]) -> [Bytes] {
        var shown = arguments
        if let position = lockTokenPositions[spec.name], position < shown.count { shown[position] = redacted }
        for index in shown.indices.dropFirst() where isSessionKey(shown[index]) { shown[index] = redactedSession }
        return shown
    }

    static func isSessionKey(_ argument: Bytes) -> Bool {
        let bytes = argument.storage
        guard bytes.count == sessionPrefix.count + sessionIDLength, bytes.starts(with: sessionPrefix) else { return false }
        return bytes.dropFirst(sessionPrefix.count).allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): return true
            default: return false
            }
        }
    }
}
