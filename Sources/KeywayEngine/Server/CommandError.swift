/// A command failure: Redis's exact text plus a stable machine code.
///
/// `message` is what a Redis client would see (`WRONGTYPE Operation against a
/// key holding the wrong kind of value`); `code` is what HTTP clients branch on.
public struct CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: ErrorCode
    public let message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    public static let wrongType = CommandError(.wrongType, "WRONGTYPE Operation against a key holding the wrong kind of value")
    public static let notInteger = CommandError(.notInteger, "ERR value is not an integer or out of range")
    public static let notFloat = CommandError(.notFloat, "ERR value is not a valid float")
    public static let syntax = CommandError(.syntax, "ERR syntax error")
    public static let overflow = CommandError(.overflow, "ERR increment or decrement would overflow")
    public static let noSuchKey = CommandError(.noSuchKey, "ERR no such key")
    public static let invalidCursor = CommandError(.generic, "ERR invalid cursor")
    public static let nanOrInfinity = CommandError(.notFloat, "ERR increment would produce NaN or Infinity")
    public static let stringTooLong = CommandError(.generic, "ERR string exceeds maximum allowed size (proto-max-bulk-len)")

    public static func invalidExpire(_ command: String) -> CommandError {
        CommandError(.invalidExpire, "ERR invalid expire time in '\(command)' command")
    }

    public static func wrongArity(_ command: String) -> CommandError {
        CommandError(.wrongArity, "ERR wrong number of arguments for '\(command)' command")
    }

    /// Redis's text (server.c `commandCheckExistence`): the name cut at 128
    /// bytes, then quoted arguments until the list reaches 128 bytes, each cut
    /// to what is left of that budget; C formatting stops a value at a NUL,
    /// and CR/LF become spaces so the message stays on one line.
    public static func unknownCommand(_ name: Bytes, arguments: ArraySlice<Bytes>) -> CommandError {
        func cString(_ bytes: Bytes, max: Int) -> ArraySlice<UInt8> {
            bytes.storage.prefix(while: { $0 != 0 }).prefix(max)
        }
        var shown: [UInt8] = []
        for argument in arguments {
            if shown.count >= 128 { break }
            shown += [UInt8(ascii: "'")] + cString(argument, max: 128 - shown.count) + Array("' ".utf8)
        }
        var message = Array("ERR unknown command '".utf8) + cString(name, max: 128)
            + Array("', with args beginning with: ".utf8) + shown
        for i in message.indices where message[i] == UInt8(ascii: "\r") || message[i] == UInt8(ascii: "\n") {
            message[i] = UInt8(ascii: " ")
        }
        return CommandError(.unknownCommand, String(decoding: message, as: UTF8.self))
    }

    public static func generic(_ message: String) -> CommandError {
        CommandError(.generic, "ERR " + message)
    }
}

/// Stable error codes. The gateway maps each to an HTTP status.
public enum ErrorCode: String, Sendable, CaseIterable {
    case generic = "ERR"
    case wrongType = "WRONGTYPE"
    case notInteger = "NOT_INTEGER"
    case notFloat = "NOT_FLOAT"
    case overflow = "OVERFLOW"
    case syntax = "SYNTAX"
    case invalidExpire = "INVALID_EXPIRE"
    case wrongArity = "WRONG_ARITY"
    case unknownCommand = "UNKNOWN_COMMAND"
    case noSuchKey = "NO_SUCH_KEY"
    case execAbort = "EXECABORT"
    case notSupported = "NOT_SUPPORTED"
    case loading = "LOADING"
    /// A stream consumer group that should not exist does (XGROUP CREATE).
    case busyGroup = "BUSYGROUP"
    /// No such stream consumer group (or no such stream key).
    case noGroup = "NOGROUP"
    /// A script has run past lua-time-limit; only SCRIPT KILL is served.
    case busy = "BUSY"
    /// EVALSHA of a script the cache does not hold.
    case noScript = "NOSCRIPT"
    /// SCRIPT KILL with no script running long.
    case notBusy = "NOTBUSY"
    /// SCRIPT KILL of a script that already wrote.
    case unkillable = "UNKILLABLE"
    /// A command that may grow memory refused above `maxmemory`.
    case outOfMemory = "OOM"
    /// The user's ACL rules do not allow the command, a key or a channel.
    case noPermission = "NOPERM"
    /// Wrong user name or password, or a disabled user.
    case wrongPassword = "WRONGPASS"
    /// SAVE could not write the snapshot (a full disk, an unwritable dir):
    /// the server's failure, not the request's.
    case saveFailed = "SAVE_FAILED"
    /// Writes refused while the data cannot be persisted (a failed AOF
    /// write or fsync, a failed background save): Redis's MISCONF.
    case misconf = "MISCONF"
    /// A JSON document or value that does not parse (JSON.SET, JSON.MERGE, ...).
    case invalidJSON = "INVALID_JSON"
    /// A JSONPath or legacy path that does not parse.
    case invalidPath = "INVALID_PATH"
    /// A legacy JSON path that matches nothing in the document.
    case noSuchPath = "NO_SUCH_PATH"
    /// Keys of one command or transaction in different cluster slots.
    case crossSlot = "CROSSSLOT"
    /// The cluster backend could not serve the request in time (no node for
    /// the slot, CLUSTERDOWN, a node down before failover).
    case clusterUnavailable = "CLUSTER_UNAVAILABLE"
}

extension ErrorCode {
    /// The code of an error known only by its text (an error a script
    /// returned or raised): its first word when Keyway knows it, else ERR.
    public static func forMessage(_ message: String) -> ErrorCode {
        let word = message.prefix(while: { $0 != " " })
        switch word {
        case "WRONGTYPE": return .wrongType
        case "EXECABORT": return .execAbort
        case "LOADING": return .loading
        case "BUSYGROUP": return .busyGroup
        case "NOGROUP": return .noGroup
        case "BUSY": return .busy
        case "NOSCRIPT": return .noScript
        case "NOTBUSY": return .notBusy
        case "UNKILLABLE": return .unkillable
        case "OOM": return .outOfMemory
        case "MISCONF": return .misconf
        case "NOPERM": return .noPermission
        case "WRONGPASS": return .wrongPassword
        case "CROSSSLOT": return .crossSlot
        case "CLUSTERDOWN", "TRYAGAIN": return .clusterUnavailable
        default: return .generic
        }
    }
}
