import Foundation
import KeywayEngine
import KeywayHTTP

// Reply slots and JSON pieces the collection resources (lists, sets,
// leaderboards, streams) share.

extension CommandBatch {
    /// The bulk strings of an array reply (LRANGE, SMEMBERS, SPOP key
    /// count, ...); a null reply reads as none.
    mutating func bulkArray(_ name: String, _ arguments: [Bytes]) -> ReplySlot<[Bytes]> {
        add(Command(name, arguments)) { reply in
            switch reply {
            case .array(let items): return items.compactMap { if case .bulk(let bytes) = $0 { return bytes } else { return nil } }
            case .null: return []
            default: return nil
            }
        }
    }

    /// An integer reply, or nil for a null (ZRANK of a missing member).
    mutating func optionalInteger(_ name: String, _ arguments: [Bytes]) -> ReplySlot<Int64?> {
        add(Command(name, arguments)) { reply in
            switch reply {
            case .integer(let value): return .some(value)
            case .null: return .some(nil)
            default: return nil
            }
        }
    }
}

extension ResourceContext {
    /// Runs one command and hands back its reply, error replies included,
    /// for routes that answer some engine errors their own way (LSET's
    /// "index out of range", XGROUP on a missing stream).
    func replyOrError(_ name: String, _ arguments: [Bytes]) -> Reply {
        executor.execute(command(name, arguments))
    }
}

extension JSONResponse {
    /// `"<name>": [...], "encoding": "utf-8"|"base64"`: one encoding for the
    /// whole list, base64 when asked for or when any item is not UTF-8
    /// (list values, set members).
    static func writeEncodedList(_ name: String, _ items: [Bytes], forceBase64: Bool, into o: inout ObjectWriter) {
        let base64 = forceBase64 || items.contains { !$0.isValidUTF8 }
        o.member(name) { json in
            json.array(items) { json, item in writeBytes(item, base64: base64, into: &json) }
        }
        o.member("encoding") { $0.string(base64 ? "base64" : "utf-8") }
    }
}
