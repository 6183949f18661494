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
/// atomic batch of commands; ids are checked for shape before any of them.
struct SessionStore {
    let gateway: Gateway
    var configuration: SessionConfiguration { gateway.sessions }

    static func key(_ id: String) -> Bytes { Bytes("session:" + id) }

    /// Creates a session with `fields` (at least one pair) for `ttl` ms.
    func create(fields: [Bytes], ttlMilliseconds: Int64) -> Result<Session, HTTPResponse> {
        let id = RandomToken.make()
        let key = Self.key(id)
        let commands = [Command("HSET", [key] + fields), Command("PEXPIRE", [key, Parse.bytes(ttlMilliseconds)]),
                        Command("HGETALL", [key])]
        return gateway.runAtomically(commands).map { replies in
            Session(id: id, fields: Self.pairs(replies[2]), ttlMilliseconds: ttlMilliseconds)
        }
    }

    /// The session, refreshed to the configured TTL when sliding; nil when
    /// it does not exist (never created, expired or deleted).
    func load(_ id: String) -> Result<Session?, HTTPResponse> {
        let key = Self.key(id)
        var commands = [Command("HGETALL", [key])]
        if configuration.sliding { commands.append(Command("PEXPIRE", [key, Parse.bytes(configuration.ttlSeconds * 1000)])) }
        commands.append(Command("PTTL", [key]))
        return gateway.runAtomically(commands).map { replies in
            let fields = Self.pairs(replies[0])
            guard !fields.isEmpty, case .integer(let pttl) = replies[replies.count - 1] else { return nil }
            return Session(id: id, fields: fields, ttlMilliseconds: pttl)
        }
    }

    enum PatchOutcome {
        case patched(Session)
        case missing
        /// The change would have removed every field; nothing changed.
        case wouldEmpty
    }

    /// Sets `sets` (field, value pairs) and removes `deletions` on an
    /// existing session only, refreshing the TTL when sliding.
    func patch(_ id: String, sets: [Bytes], deletions: [Bytes]) -> Result<PatchOutcome, HTTPResponse> {
        let ttl: Int64 = configuration.sliding ? configuration.ttlSeconds * 1000 : 0
        let command = Command("KEYWAY.HPATCH", [Self.key(id), Parse.bytes(ttl), Parse.bytes(Int64(sets.count / 2))] + sets + deletions)
        switch gateway.executor.execute(command) {
        case .error(let error): return .failure(Problem.from(error))
        case .null: return .success(.missing)
        case .integer: return .success(.wouldEmpty)
        case .array(let parts) where parts.count == 2:
            guard case .integer(let pttl) = parts[1] else { break }
            return .success(.patched(Session(id: id, fields: Self.pairs(parts[0]), ttlMilliseconds: pttl)))
        default: break
        }
        return .failure(Problem.response(500, code: "ERR", detail: "unexpected KEYWAY.HPATCH reply"))
    }

    /// Deletes the session; false when there was none.
    func delete(_ id: String) -> Result<Bool, HTTPResponse> {
        switch gateway.executor.execute(Command("DEL", [Self.key(id)])) {
        case .error(let error): return .failure(Problem.from(error))
        case .integer(let count): return .success(count > 0)
        default: return .failure(Problem.response(500, code: "ERR", detail: "unexpected DEL reply"))
        }
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
