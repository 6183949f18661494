import Foundation

/// Redis's `users.acl` format: one `user <name> <rules...>` per line.
enum ACLFile {
    /// Every user of the file, or Redis's error naming the first bad line;
    /// a file with an error changes nothing.
    static func parse(_ text: String, path: String, table: CommandTable) throws(CommandError) -> [ACLUser] {
        var users: [ACLUser] = []
        var seen: Set<String> = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let words = line.split(separator: " ").map(String.init)
            guard words[0] == "user", words.count >= 2 else {
                throw CommandError(.generic, "ERR \(path):\(index + 1): line should start with user keyword")
            }
            guard seen.insert(words[1]).inserted else {
                throw CommandError(.generic, "ERR \(path):\(index + 1): Duplicate user '\(words[1])' found")
            }
            do {
                users.append(try user(words[1], rules: Array(words.dropFirst(2)), table: table))
            } catch {
                throw CommandError(.generic, "ERR \(path):\(index + 1): \(error.message.replacingOccurrences(of: "ERR ", with: ""))")
            }
        }
        return users
    }

    /// A user from rules applied to a new user (a file line, a `user`
    /// directive of the config file).
    static func user(_ name: String, rules: [String], table: CommandTable) throws(CommandError) -> ACLUser {
        var draft = ACLUserDraft(name: name)
        try draft.apply(rules, table: table)
        return draft.build()
    }

    static func render(_ users: [ACLUser]) -> String {
        users.map { "user \($0.name) \($0.rulesDescription)\n" }.joined()
    }
}
