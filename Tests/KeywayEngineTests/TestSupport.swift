import Testing
import KeywayEngine
import Synchronization

/// 2023-11-14T22:13:20Z: every suite starts its manual clock here.
let startMilliseconds: Int64 = 1_700_000_000_000
let startSeconds: Int64 = startMilliseconds / 1000

/// A fresh engine on a manual clock: time only moves when a test says so.
func makeEngine(milliseconds: Int64 = startMilliseconds) -> (Engine, ManualClock) {
    let clock = ManualClock(milliseconds: milliseconds)
    return (Engine(clock: clock), clock)
}

extension Engine {
    /// Runs one command given as binary-safe words (string literals work).
    @discardableResult
    func run(_ arguments: Bytes...) -> Reply { execute(Command(arguments)) }

    @discardableResult
    func run(_ arguments: [Bytes]) -> Reply { execute(Command(arguments)) }

    /// INFO's `field:value` lines as a dictionary.
    func infoFields(_ sections: Bytes...) -> [String: String] {
        guard case .bulk(let text) = run(["INFO"] + sections) else { return [:] }
        var fields: [String: String] = [:]
        for line in text.text.split(separator: "\r\n") where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    /// A key's PTTL (-2 missing, -1 persistent).
    func pttl(_ key: Bytes) -> Int64? { run("PTTL", key).integerValue }

    /// A key's TTL in seconds as Redis rounds it (-2 missing, -1 persistent).
    func ttl(_ key: Bytes) -> Int64? { run("TTL", key).integerValue }
}

extension Reply {
    /// The Redis error text, or nil when the reply is not an error.
    var errorMessage: String? {
        if case .error(let error) = self { return error.message }
        return nil
    }

    var integerValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    var bytesValue: Bytes? {
        if case .bulk(let value) = self { return value }
        return nil
    }

    var arrayValue: [Reply]? {
        if case .array(let value) = self { return value }
        return nil
    }
}

/// Redis's most common error texts, as plain constants.
let wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
let notFloat = "ERR value is not a valid float"
let notInteger = "ERR value is not an integer or out of range"
let syntaxError = "ERR syntax error"

/// Redis's shared error texts, spelled once.
enum RedisError {
    static let syntax = "ERR syntax error"
    static let wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
    static let notInteger = "ERR value is not an integer or out of range"
    static let notFloat = "ERR value is not a valid float"
    static let overflow = "ERR increment or decrement would overflow"
    static let noSuchKey = "ERR no such key"
    static let tooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    static let nanOrInfinity = "ERR increment would produce NaN or Infinity"
    static func invalidExpire(_ command: String) -> String { "ERR invalid expire time in '\(command)' command" }
    static func arity(_ command: String) -> String { "ERR wrong number of arguments for '\(command)' command" }
}

/// Collects write events from `Database.writeObservers` (run under the engine lock).
final class EventLog: @unchecked Sendable {
    struct Entry: Equatable {
        let key: Bytes
        let event: String
    }

    private(set) var entries: [Entry] = []

    func append(_ key: Bytes, _ event: String) { entries.append(Entry(key: key, event: event)) }
}

/// A parked client that records what it is handed (blocking-command tests).
final class RecordingClient: BlockedClient {
    private let state = Mutex<(connected: Bool, replies: [Reply])>((true, []))
    var isConnected: Bool { state.withLock { $0.connected } }
    func deliver(_ reply: Reply) { state.withLock { $0.replies.append(reply) } }
    var replies: [Reply] { state.withLock { $0.replies } }
    func disconnect() { state.withLock { $0.connected = false } }
}

extension Engine {
    /// Submits a possibly blocking command for a recording client: an
    /// immediate reply is recorded at once, a parked one yields its handle.
    func park(_ arguments: Bytes...) -> (RecordingClient, BlockedHandle?) {
        let client = RecordingClient()
        switch submit(Command(arguments), client: client) {
        case .reply(let reply):
            client.deliver(reply)
            return (client, nil)
        case .blocked(let handle):
            return (client, handle)
        }
    }
}
