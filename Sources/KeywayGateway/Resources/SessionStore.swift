import KeywayEngine
import KeywayHTTP

/// A session as loaded from its hash.
struct Session: Sendable {
    let id: String
    /// Field/value pairs as stored (HGETALL order).
    let fields: [(Bytes, Bytes)]
    /// Remaining lifetime in milliseconds (-1: the key has no TTL).
    let ttlMilliseconds: Int64

    /// Remaining lifetime in whole seconds, rounded up (cookie Max-Age).
    var ttlSeconds: Int64 { ttlMilliseconds < 0 ? -1 : (ttlMilliseconds + 999) / 1000 }
}

/// Sessions as Redis users store them: the hash `session:{id}` with a TTL,
/// so `HGETALL session:{id}` shows the fields. Every operation is one
/// atomic batch or one engine command, run for the request `context`
/// (so each command carries its client); ids are checked for shape before
/// any of them.
struct SessionStore {
    let context: ResourceContext

    init(_ context: ResourceContext) {
        self.context = context
    }

    var configuration: SessionConfiguration { context.gateway.sessions }

    static func key(_ id: String) -> Bytes { Bytes("session:" + id) }

    /// Creates a session with `fields` (at least one pair) for `ttl` ms.
    func create(fields: [Bytes], ttlMilliseconds: Int64) throws(HTTPResponse) -> Session {
        let id = RandomToken.make()
        let key = Self.key(id)
        var batch = CommandBatch()
        batch.run("HSET", [key] + fields)
        batch.run("PEXPIRE", [key, Parse.bytes(ttlMilliseconds)])
        let stored = batch.pairs("HGETALL", [key])
        let replies = try context.atomically(&batch)
        return Session(id: id, fields: try replies[stored], ttlMilliseconds: ttlMilliseconds)
    }

    /// The session, refreshed to the configured TTL when sliding; nil when
    /// it does not exist (never created, expired or deleted).
    func load(_ id: String) throws(HTTPResponse) -> Session? {
        let key = Self.key(id)
        var batch = CommandBatch()
        let stored = batch.pairs("HGETALL", [key])
        if configuration.sliding { batch.run("PEXPIRE", [key, Parse.bytes(configuration.ttlSeconds * 1000)]) }
        let pttl = batch.integer("PTTL", [key])
        let replies = try context.atomically(&batch)
        let fields = try replies[stored]
        guard !fields.isEmpty else { return nil }
        return Session(id: id, fields: fields, ttlMilliseconds: try replies[pttl])
    }

    enum PatchOutcome {
        case patched(Session)
        case missing
        /// The change would have removed every field; nothing changed.
        case wouldEmpty
    }

    /// Sets `sets` (field, value pairs) and removes `deletions` on an
    /// existing session only, refreshing the TTL when sliding.
    func patch(_ id: String, sets: [Bytes], deletions: [Bytes]) throws(HTTPResponse) -> PatchOutcome {
        let ttl: Int64 = configuration.sliding ? configuration.ttlSeconds * 1000 : 0
        let reply = try context.execute("KEYWAY.HPATCH", [Self.key(id), Parse.bytes(ttl), Parse.bytes(Int64(sets.count / 2))] + sets + deletions)
        switch reply {
        case .null: return .missing
        case .integer: return .wouldEmpty
        case .array(let parts) where parts.count == 2:
            guard case .integer(let pttl) = parts[1] else { break }
            return .patched(Session(id: id, fields: Self.pairs(parts[0]), ttlMilliseconds: pttl))
        default: break
        }
        throw Problem.response(500, code: "ERR", detail: "unexpected KEYWAY.HPATCH reply")
    }

    /// Deletes the session; false when there was none.
    func delete(_ id: String) throws(HTTPResponse) -> Bool {
        guard case .integer(let count) = try context.execute("DEL", [Self.key(id)]) else {
            throw Problem.response(500, code: "ERR", detail: "unexpected DEL reply")
        }
        return count > 0
    }

    /// HGETALL's flat map as pairs.
    static func pairs(_ reply: Reply) -> [(Bytes, Bytes)] {
        guard case .map(let elements) = reply else { return [] }
        var pairs: [(Bytes, Bytes)] = []
        for i in stride(from: 0, to: elements.count - 1, by: 2) {
            if case .bulk(let field) = elements[i], case .bulk(let value) = elements[i + 1] { pairs.append((field, value)) }
        }
        return pairs
    }
}

extension CommandBatch {
    /// An HGETALL reply as (field, value) pairs; none for a missing key.
    mutating func pairs(_ name: String, _ arguments: [Bytes]) -> ReplySlot<[(Bytes, Bytes)]> {
        add(Command(name, arguments)) { SessionStore.pairs($0) }
    }
}
