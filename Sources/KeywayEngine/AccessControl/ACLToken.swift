/// A bearer token issued for a user (`ACL TOKEN CREATE`): only the
/// SHA-256 of the token is kept, so a leaked token file authenticates no one.
public struct ACLToken: Sendable, Equatable {
    /// Short public id, part of the token, for LIST and REVOKE.
    public let id: String
    public let user: String
    /// SHA-256 of the whole token, lowercase hex.
    public let hash: String
    public let label: String?
    public let createdMilliseconds: Int64
    /// Unix milliseconds after which it no longer authenticates; nil: never.
    public let expiresMilliseconds: Int64?

    func hasExpired(at nowMilliseconds: Int64) -> Bool {
        expiresMilliseconds.map { nowMilliseconds >= $0 } ?? false
    }

    /// One line per token: `token <id> <user> <hash> <created> <expires|0> [label]`.
    static func renderFile(_ tokens: [ACLToken]) -> String {
        tokens.map { token in
            var line = "token \(token.id) \(token.user) \(token.hash) \(token.createdMilliseconds) \(token.expiresMilliseconds ?? 0)"
            if let label = token.label { line += " " + label }
            return line + "\n"
        }.joined()
    }

    static func parseFile(_ text: String) throws -> [ACLToken] {
        var tokens: [ACLToken] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = line.split(separator: " ", maxSplits: 6).map(String.init)
            if words.isEmpty { continue }
            guard words.count >= 6, words[0] == "token", ACLPasswords.isHash(words[3]),
                  let created = Int64(words[4]), let expires = Int64(words[5]) else {
                throw ACLFileError(message: "token file line \(number + 1): not a token line")
            }
            tokens.append(ACLToken(id: words[1], user: words[2], hash: words[3], label: words.count > 6 ? words[6] : nil,
                                   createdMilliseconds: created, expiresMilliseconds: expires == 0 ? nil : expires))
        }
        return tokens
    }
}

struct ACLFileError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
