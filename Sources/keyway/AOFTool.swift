import ArgumentParser
import Foundation
import KeywayEngine

/// Hidden diagnostics for the append-only file.
struct AOFTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aof-tool",
        abstract: "Append-only file diagnostics.",
        shouldDisplay: false,
        subcommands: [Export.self])

    /// Runs commands from a JSON file against an in-memory engine that logs
    /// to an AOF, as a server with `appendonly yes` would.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a JSON array of commands in memory and write the AOF they produce.")

        @Option(help: "JSON array of commands, each an array of strings (numbers are written as text).")
        var commands: String

        @Option(help: "Where to write the AOF the commands produce.")
        var output: String

        @Option(help: "Also write the rewritten AOF (BGREWRITEAOF) of the final keyspace here.")
        var rewrite: String?

        @Option(help: "Also write the final keyspace as JSON here: key -> {type, value, pexpiretime}.")
        var dump: String?

        @Option(help: "appendfsync policy: always, everysec or no.")
        var fsync: String = "everysec"

        func run() throws {
            let data = try Data(contentsOf: URL(fileURLWithPath: commands))
            guard let list = try JSONSerialization.jsonObject(with: data) as? [[Any]] else {
                throw ValidationError("--commands must hold a JSON array of arrays")
            }
            guard let policy = AOFFsyncPolicy(rawValue: fsync) else { throw ValidationError("unknown fsync policy \(fsync)") }
            unlink(output)
            let writer = try AOFWriter(path: output, policy: policy)
            let engine = Engine()
            engine.attachPropagationSink(writer)
            for words in list {
                let arguments = words.map { word -> Bytes in
                    if let text = word as? String { return Bytes(text) }
                    return Bytes("\(word)")
                }
                guard !arguments.isEmpty else { continue }
                let (reply, ticket) = engine.executeReportingDurability(Command(arguments))
                ticket?.waitDurable()
                if case .error(let error) = reply {
                    FileHandle.standardError.write(Data("\(arguments.map(\.text).joined(separator: " ")): \(error.message)\n".utf8))
                }
            }
            writer.close()
            engine.attachPropagationSink(nil)
            let (keyspace, now) = engine.withDatabase { db, _ in (db.keyspace, db.clock.nowMilliseconds()) }
            if let rewrite {
                try AOFRewriter.writeFile(keyspace, now: now, to: rewrite)
            }
            if let dump {
                let json = try JSONSerialization.data(withJSONObject: Self.dump(keyspace, now: now), options: [.sortedKeys])
                try json.write(to: URL(fileURLWithPath: dump))
            }
        }

        static func dump(_ keyspace: Keyspace, now: Int64) -> [String: Any] {
            var result: [String: Any] = [:]
            for entry in keyspace.entries where !(entry.hasExpiry && entry.expiresAt < now) {
                var value: Any
                switch entry.value {
                case .string(let bytes): value = bytes.text
                case .list(let list): value = list.elements.map(\.text)
                case .set(let set): value = set.members.map(\.text).sorted()
                case .zset(let zset):
                    var items: [[String]] = []
                    zset.forEach(fromRank: 0, count: zset.count, reversed: false) { items.append([$0.text, ScoreFormatting.string($1)]) }
                    value = items
                case .hash(let hash):
                    var fields: [String: String] = [:]
                    hash.forEach { field, fieldValue in fields[field.text] = fieldValue.text }
                    value = fields
                case .json(let document):
                    value = (try? JSONSerialization.jsonObject(with: Data(JSONNodeWriter.compact.bytes(document.root)), options: [.fragmentsAllowed])) ?? NSNull()
                case .stream(let stream):
                    var groups: [String: Any] = [:]
                    for (name, group) in stream.groups {
                        var pending: [[Any]] = []
                        try? group.pending.forEach { id, entry in
                            pending.append(["\(id)", entry.consumer.text, entry.deliveryCount])
                            return true
                        }
                        groups[name.text] = [
                            "last-delivered-id": "\(group.lastID)",
                            "entries-read": group.entriesRead.map { $0 as Any } ?? NSNull(),
                            "pending": pending,
                            "consumers": group.consumerNames.map(\.text),
                        ] as [String: Any]
                    }
                    value = [
                        "entries": stream.entries.range(.zero, .max).map { ["\($0.id)", $0.fields.map(\.text)] as [Any] },
                        "last-generated-id": "\(stream.lastID)",
                        "entries-added": stream.entriesAdded,
                        "groups": groups,
                    ] as [String: Any]
                }
                result[entry.key.text] = [
                    "type": entry.value.typeName,
                    "value": value,
                    "pexpiretime": entry.hasExpiry ? entry.expiresAt : -1,
                ] as [String: Any]
            }
            return result
        }
    }
}
