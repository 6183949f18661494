import ArgumentParser
import KeywayEngine
import KeywayGateway
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Diagnostics for RDB snapshots: build one from a list of commands, or
/// print what one holds as JSON. Used by the Redis compatibility tests.
struct RDBTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rdb-tool",
        abstract: "Diagnostic tool: write or inspect RDB snapshot files.",
        subcommands: [Export.self, Inspect.self, Convert.self]
    )

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load an RDB file and write it again, leaving out keys of the given types.",
            discussion: """
            A redis-server without the JSON module cannot load a snapshot holding JSON \
            documents (RedisJSON's ReJSON-RL module type). `--skip-types json` writes \
            one it can, without those keys; every other key keeps its value and TTL.
            """)

        @Argument(help: "The RDB file to read (Keyway's or Redis's).")
        var input: String

        @Option(help: "Where to write the new RDB file.")
        var output: String

        @Option(help: "Comma-separated types to leave out: json, string, hash, list, set, zset, stream.")
        var skipTypes: String = ""

        func run() throws {
            let known = ["json", "string", "hash", "list", "set", "zset", "stream"]
            let skipped = Set(skipTypes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
            for type in skipped where !known.contains(type) {
                throw ValidationError("unknown type '\(type)' (known: \(known.joined(separator: ", ")))")
            }
            let now = SystemClock().nowMilliseconds()
            let snapshot = try RDBFile.load(path: input, now: now)
            var keyspace = snapshot.keyspace
            var removed = 0
            for entry in keyspace.entries where skipped.contains(Self.typeWord(entry.value)) {
                if let slot = keyspace.slot(of: entry.key) { _ = keyspace.remove(atSlot: slot) }
                removed += 1
            }
            try RDBFile.save(keyspace: keyspace, now: now, path: output)
            print("wrote \(output): \(keyspace.count) keys, \(removed) left out")
        }

        /// The word `--skip-types` uses for a value's type.
        static func typeWord(_ value: Value) -> String {
            if case .json = value { return "json" }
            return value.typeName
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a JSON array of commands against an empty in-memory store, then write it as an RDB file.")

        @Option(help: "JSON file holding an array of commands, each an array of strings/numbers, e.g. [[\"SET\",\"k\",\"v\"]].")
        var commands: String

        @Option(help: "Where to write the RDB file.")
        var output: String

        func run() throws {
            let text = try readFile(commands)
            let document = try JSONParser.parse(text)
            guard case .array(let list) = document else { throw ValidationError("--commands must hold a JSON array of commands") }
            let engine = Engine()
            for (index, item) in list.enumerated() {
                guard case .array(let words) = item, !words.isEmpty else {
                    throw ValidationError("command \(index) is not a non-empty array")
                }
                var arguments: [Bytes] = []
                for word in words {
                    switch word {
                    case .string(let s): arguments.append(Bytes(s))
                    case .number(let n): arguments.append(Bytes(n))
                    default: throw ValidationError("command \(index): arguments must be strings or numbers")
                    }
                }
                if case .error(let error) = engine.execute(Command(arguments)) {
                    throw ValidationError("command \(index) (\(arguments.map(\.text).joined(separator: " "))) failed: \(error.message)")
                }
            }
            let keyspace = engine.withDatabase { db, _ in db.keyspace }
            try RDBFile.save(keyspace: keyspace, now: SystemClock().nowMilliseconds(), path: output)
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load an RDB file (Keyway's or Redis's) and print its keys, types, values and TTLs as JSON.")

        @Argument(help: "The RDB file.")
        var path: String

        @Option(help: "Unix time in ms at which keys count as expired (default: now).")
        var now: Int64?

        func run() throws {
            let snapshot = try RDBFile.load(path: path, now: now ?? SystemClock().nowMilliseconds())
            var json = JSONWriter(capacity: 4096)
            let entries = snapshot.keyspace.entries.sorted { $0.key < $1.key }
            json.object { top in
                top.member("version") { $0.integer(Int64(snapshot.version)) }
                top.member("aux") { out in
                    out.object { aux in
                        for (key, value) in snapshot.aux { aux.member(key.text) { $0.bytes(value) } }
                    }
                }
                top.member("expired_keys_skipped") { $0.integer(Int64(snapshot.expiredKeysSkipped)) }
                top.member("keys") { out in
                    out.array(entries) { out, entry in
                        out.object { object in
                            object.member("key") { $0.bytes(entry.key) }
                            object.member("type") { $0.string(entry.value.typeName) }
                            object.member("expires_at") { entry.hasExpiry ? $0.integer(entry.expiresAt) : $0.null() }
                            object.member("value") { $0.value(of: entry.value) }
                            if case .hash(let hash) = entry.value, hash.hasVolatileFields {
                                object.member("field_expires_at") { out in
                                    out.object { fields in
                                        for (field, deadline) in hash.fieldExpiries.sorted(by: { $0.key < $1.key }) {
                                            fields.member(field.utf8String ?? field.text) { $0.integer(deadline) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            print(String(decoding: json.bytes, as: UTF8.self))
        }
    }
}

private func readFile(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else { throw ValidationError("can't open \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count == 0 { break }
        bytes.append(contentsOf: buffer[0..<count])
    }
    return bytes
}

extension JSONWriter {
    /// Bytes as a JSON string when valid UTF-8, else `{"base64": "..."}`.
    mutating func bytes(_ value: Bytes) {
        if let text = value.utf8String {
            string(text)
        } else {
            object { $0.member("base64") { $0.string(base64(value.storage)) } }
        }
    }

    mutating func streamID(_ id: StreamID) { string(id.description) }

    mutating func value(of value: Value) {
        switch value {
        case .string(let bytes):
            self.bytes(bytes)
        case .list(let list):
            array(list.elements) { $0.bytes($1) }
        case .set(let set):
            array(set.members.sorted()) { $0.bytes($1) }
        case .zset(let zset):
            array(zset.allElements) { out, element in
                out.raw("[")
                out.bytes(element.member)
                out.raw(",")
                out.double(element.score)
                out.raw("]")
            }
        case .hash(let hash):
            object { object in
                for (field, value) in hash.entries.sorted(by: { $0.field < $1.field }) {
                    object.member(field.utf8String ?? field.text) { $0.bytes(value) }
                }
            }
        case .json(let document):
            raw(String(decoding: JSONNodeWriter.compact.bytes(document.root), as: UTF8.self))
        case .stream(let stream):
            object { object in
                object.member("entries") { out in
                    out.array(stream.entries.range(.zero, .max)) { out, entry in
                        out.raw("[")
                        out.streamID(entry.id)
                        out.raw(",")
                        out.array(entry.fields) { $0.bytes($1) }
                        out.raw("]")
                    }
                }
                object.member("length") { $0.integer(Int64(stream.length)) }
                object.member("last_id") { $0.streamID(stream.lastID) }
                object.member("first_id") { $0.streamID(stream.firstID) }
                object.member("max_deleted_id") { $0.streamID(stream.maxDeletedID) }
                object.member("entries_added") { $0.integer(stream.entriesAdded) }
                object.member("groups") { out in
                    out.array(stream.groups.keys.sorted()) { out, name in
                        let group = stream.groups[name]!
                        out.object { g in
                            g.member("name") { $0.bytes(name) }
                            g.member("last_id") { $0.streamID(group.lastID) }
                            g.member("entries_read") { out in
                                if let read = group.entriesRead { out.integer(read) } else { out.null() }
                            }
                            g.member("pending") { out in
                                out.array(group.pending.ids()) { out, id in
                                    let entry = group.pending[id]!
                                    out.raw("[")
                                    out.streamID(id); out.raw(",")
                                    out.bytes(entry.consumer); out.raw(",")
                                    out.integer(entry.deliveryTime); out.raw(",")
                                    out.integer(entry.deliveryCount)
                                    out.raw("]")
                                }
                            }
                            g.member("consumers") { out in
                                out.array(group.consumerNames) { out, consumerName in
                                    let consumer = group.consumers[consumerName]!
                                    out.object { c in
                                        c.member("name") { $0.bytes(consumerName) }
                                        c.member("seen_time") { $0.integer(consumer.seenTime) }
                                        c.member("pending") { out in out.array(consumer.pending.ids()) { $0.streamID($1) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

private func base64(_ data: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    var index = 0
    while index < data.count {
        let b0 = Int(data[index])
        let b1 = index + 1 < data.count ? Int(data[index + 1]) : 0
        let b2 = index + 2 < data.count ? Int(data[index + 2]) : 0
        out.append(alphabet[b0 >> 2])
        out.append(alphabet[((b0 & 3) << 4) | (b1 >> 4)])
        out.append(index + 1 < data.count ? alphabet[((b1 & 15) << 2) | (b2 >> 6)] : UInt8(ascii: "="))
        out.append(index + 2 < data.count ? alphabet[b2 & 63] : UInt8(ascii: "="))
        index += 3
    }
    return String(decoding: out, as: UTF8.self)
}
