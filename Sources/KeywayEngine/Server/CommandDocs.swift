/// `COMMAND DOCS [name ...]`: what each command does and the arguments it
/// takes, in Redis 7's reply shape (a map from command name to a map of
/// `summary`, `since`, `group`, `complexity`, `arguments` and, for container
/// commands such as CONFIG, `subcommands`).
///
/// The documentation itself is data, in `CommandDocsTable`; this file turns
/// it into replies. The replies are built once, on the first call, and kept.
enum CommandDocs {
    /// COMMAND DOCS with no names documents every command of the table;
    /// with names, each one the server knows (`config|get` names a
    /// subcommand). Unknown names are simply left out, as Redis does.
    static func reply(_ c: CommandContext) -> Reply {
        let table = c.server.commands
        var pairs: [Reply] = []
        if c.argumentCount <= 2 {
            for spec in table.all {
                if let docs = built[spec.name] { pairs += [.bulk(Bytes(spec.name)), docs] }
            }
            return .map(pairs)
        }
        var seen: Set<String> = []
        for argument in c.arguments.dropFirst(2) {
            let name = argument.lowercasedASCII
            let container = name.split(separator: "|", maxSplits: 1).first.map(String.init) ?? name
            guard table.lookup(Bytes(container)) != nil, let docs = built[name], seen.insert(name).inserted else { continue }
            pairs += [.bulk(Bytes(name)), docs]
        }
        return .map(pairs)
    }

    /// Every documented command's reply by lowercase name; subcommands both
    /// inside their container's reply and under `container|sub`.
    static let built: [String: Reply] = {
        var entries: [String: CommandDoc] = [:]
        var subcommands: [String: [CommandDoc]] = [:]
        for doc in CommandDocsTable.entries {
            precondition(entries[doc.name] == nil, "command \(doc.name) documented twice")
            entries[doc.name] = doc
            if let bar = doc.name.firstIndex(of: "|") {
                subcommands[String(doc.name[..<bar]), default: []].append(doc)
            }
        }
        var replies: [String: Reply] = [:]
        for (name, doc) in entries {
            replies[name] = doc.reply(subcommands: subcommands[name] ?? [])
        }
        return replies
    }()
}

/// One command's documentation, as written in `CommandDocsTable`.
struct CommandDoc {
    let name: String
    let group: String
    let since: String
    let complexity: String?
    let summary: String
    /// The arguments in the compact syntax `CommandArgumentSyntax` reads.
    let syntax: String

    init(_ name: String, _ group: String, _ since: String, _ summary: String, _ syntax: String = "", complexity: String? = nil) {
        self.name = name
        self.group = group
        self.since = since
        self.summary = summary
        self.syntax = syntax
        self.complexity = complexity
    }

    var arguments: [CommandArgument] { CommandArgumentSyntax.parse(syntax, command: name) }

    func reply(subcommands: [CommandDoc]) -> Reply {
        var fields: [Reply] = [.bulk("summary"), .bulk(Bytes(summary)), .bulk("since"), .bulk(Bytes(since)),
                               .bulk("group"), .bulk(Bytes(group))]
        if let complexity { fields += [.bulk("complexity"), .bulk(Bytes(complexity))] }
        let arguments = self.arguments
        if !arguments.isEmpty { fields += [.bulk("arguments"), .array(arguments.map(\.reply))] }
        if !subcommands.isEmpty {
            let sorted = subcommands.sorted { $0.name < $1.name }
            fields += [.bulk("subcommands"), .map(sorted.flatMap { [.bulk(Bytes($0.name)), $0.reply(subcommands: [])] })]
        }
        return .map(fields)
    }
}

/// One argument of a command, as Redis 7 describes it.
struct CommandArgument: Equatable {
    enum Kind: String {
        case string, integer, double, key, pattern
        case unixTime = "unix-time"
        case pureToken = "pure-token"
        case oneof, block
    }

    var name: String
    var kind: Kind
    var token: String?
    var optional = false
    var multiple = false
    var multipleToken = false
    var arguments: [CommandArgument] = []

    var reply: Reply {
        var fields: [Reply] = [.bulk("name"), .bulk(Bytes(name)), .bulk("type"), .bulk(Bytes(kind.rawValue))]
        if let token { fields += [.bulk("token"), .bulk(Bytes(token))] }
        var flags: [Reply] = []
        if optional { flags.append(.status("optional")) }
        if multiple { flags.append(.status("multiple")) }
        if multipleToken { flags.append(.status("multiple_token")) }
        if !flags.isEmpty { fields += [.bulk("flags"), .array(flags)] }
        if !arguments.isEmpty { fields += [.bulk("arguments"), .array(arguments.map(\.reply))] }
        return .map(fields)
    }
}

/// Reads the compact argument syntax of `CommandDocsTable`:
///
/// | written | means |
/// | --- | --- |
/// | `name:type` | an argument (`key:key`, `count:integer`, `ip:port:string`) |
/// | `NX` | a pure token named `nx` |
/// | `name/TOKEN` | a pure token with another name (`change/CH`, `auto-id/*`) |
/// | `TOKEN=item` | the item follows a token (`EX=seconds:integer`) |
/// | `[item]` | the item is optional |
/// | `name(a b)` / `name(a\|b)` | a block / a choice of one |
/// | `name[a b]` / `name[a\|b]` | the same, optional |
/// | `item...` / `item...*` | repeated (`...*`: the token repeats too) |
///
/// The table is written by hand and read once; a mistake in it is a
/// programming error, caught by the tests that document every command.
enum CommandArgumentSyntax {
    static func parse(_ text: String, command: String) -> [CommandArgument] {
        var reader = Reader(characters: Array(text), command: command)
        let (items, _) = reader.sequence(until: nil)
        return items
    }

    private static let types: [String: CommandArgument.Kind] = [
        "string": .string, "integer": .integer, "double": .double, "key": .key,
        "pattern": .pattern, "unix-time": .unixTime,
    ]

    private struct Reader {
        let characters: [Character]
        let command: String
        var position = 0

        init(characters: [Character], command: String) {
            self.characters = characters
            self.command = command
        }

        var current: Character? { position < characters.count ? characters[position] : nil }

        func fail(_ why: String) -> Never {
            preconditionFailure("COMMAND DOCS syntax of \(command): \(why) at \(position) in \(String(characters))")
        }

        /// Items separated by spaces (a block) or bars (a choice), up to
        /// `closer`; says whether bars separated them.
        mutating func sequence(until closer: Character?) -> ([CommandArgument], Bool) {
            var items: [CommandArgument] = []
            var choice = false
            while true {
                while current == " " { position += 1 }
                if current == closer {
                    if closer != nil { position += 1 }
                    return (items, choice)
                }
                if current == nil { fail("unclosed group") }
                items.append(item())
                while current == " " { position += 1 }
                if current == "|" {
                    choice = true
                    position += 1
                }
            }
        }

        mutating func word() -> String {
            var text = ""
            while let character = current, !" |()[]".contains(character) {
                text.append(character)
                position += 1
            }
            return text
        }

        mutating func repetition(of argument: inout CommandArgument) {
            if characters[position...].starts(with: "...") {
                position += 3
                argument.multiple = true
                if current == "*" {
                    position += 1
                    argument.multipleToken = true
                }
            }
        }

        mutating func item() -> CommandArgument {
            if current == "[" {
                position += 1
                var inner = item()
                while current == " " { position += 1 }
                guard current == "]" else { fail("expected ]") }
                position += 1
                inner.optional = true
                return inner
            }
            var text = word()
            var token: String?
            if let equals = text.firstIndex(of: "="), equals != text.startIndex,
               text[..<equals].allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "_" || $0 == "-" }) {
                token = String(text[..<equals])
                text = String(text[text.index(after: equals)...])
                if text.isEmpty, current == "[" {
                    var inner = item()
                    inner.token = token
                    return inner
                }
            }
            var argument: CommandArgument
            if current == "(" || current == "[" {
                let optional = current == "["
                position += 1
                let (inner, choice) = sequence(until: optional ? "]" : ")")
                argument = CommandArgument(name: text, kind: choice ? .oneof : .block, token: token,
                                           optional: optional, arguments: inner)
            } else {
                var name = text
                var multiple = false, multipleToken = false
                if name.hasSuffix("...*") { name.removeLast(4); multiple = true; multipleToken = true }
                else if name.hasSuffix("...") { name.removeLast(3); multiple = true }
                if let colon = name.lastIndex(of: ":") {
                    guard let kind = CommandArgumentSyntax.types[String(name[name.index(after: colon)...])] else {
                        fail("unknown type")
                    }
                    argument = CommandArgument(name: String(name[..<colon]), kind: kind, token: token)
                } else if let slash = name.firstIndex(of: "/") {
                    argument = CommandArgument(name: String(name[..<slash]), kind: .pureToken,
                                               token: String(name[name.index(after: slash)...]))
                } else if !name.isEmpty, name.allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "_" || $0 == "-" }) {
                    argument = CommandArgument(name: name.lowercased(), kind: .pureToken, token: name)
                } else {
                    fail("cannot read '\(name)'")
                }
                argument.multiple = multiple
                argument.multipleToken = multipleToken
                return argument
            }
            repetition(of: &argument)
            return argument
        }
    }
}
