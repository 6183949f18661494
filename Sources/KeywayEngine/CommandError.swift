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
    public static let invalidCursor = CommandError(.syntax, "ERR invalid cursor")
    public static let nanOrInfinity = CommandError(.notFloat, "ERR increment would produce NaN or Infinity")
    public static let stringTooLong = CommandError(.generic, "ERR string exceeds maximum allowed size (proto-max-bulk-len)")

    public static func invalidExpire(_ command: String) -> CommandError {
        CommandError(.invalidExpire, "ERR invalid expire time in '\(command)' command")
    }

    public static func wrongArity(_ command: String) -> CommandError {
        CommandError(.wrongArity, "ERR wrong number of arguments for '\(command)' command")
    }

    public static func unknownCommand(_ name: Bytes, arguments: ArraySlice<Bytes>) -> CommandError {
        let shown = arguments.prefix(20).map { "'\(String($0.text.prefix(128)))' " }.joined()
        return CommandError(.unknownCommand, "ERR unknown command '\(String(name.text.prefix(128)))', with args beginning with: \(shown)")
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
}
