import KeywayEngine
import NIOCore

/// Decodes RESP2 replies from a Redis node into `Reply` values: `+` status,
/// `-` error (its first word picks the stable code), `:` integer, `$` bulk
/// (or nil), `*` array (or nil).
///
/// Parsing is incremental: each complete element is consumed as it
/// arrives and kept on a stack of the arrays still open, so a large reply
/// that arrives in many reads is parsed once, in linear time; a bulk string
/// is taken only once all its bytes are there.
struct RESPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = Reply

    /// Arrays begun but not complete: elements still to come, and those read.
    private var open: [(remaining: Int, elements: [Reply])] = []
    /// Readable bytes the element being received needs at least.
    private var bytesNeeded = 0

    /// Replies nested deeper than this are refused, so a hostile or broken
    /// peer cannot exhaust memory with open arrays.
    static let maximumNesting = 512

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= bytesNeeded else { return .needMoreData }
        bytesNeeded = 0
        while true {
            var reader = buffer
            guard let element = try nextElement(&reader) else { return .needMoreData }
            buffer.moveReaderIndex(to: reader.readerIndex)
            guard var complete = element else { continue }  // an array was opened
            while !open.isEmpty {
                open[open.count - 1].elements.append(complete)
                open[open.count - 1].remaining -= 1
                guard open[open.count - 1].remaining == 0 else { break }
                complete = .array(open.removeLast().elements)
            }
            if open.isEmpty {
                context.fireChannelRead(wrapInboundOut(complete))
                return .continue
            }
        }
    }

    /// The next element at `reader`: nil when it has not all arrived (and
    /// `bytesNeeded` says how much it needs), `.some(nil)` when it opened
    /// a non-empty array, else the element.
    private mutating func nextElement(_ reader: inout ByteBuffer) throws -> Reply?? {
        let start = reader.readerIndex
        guard let marker = reader.readInteger(as: UInt8.self), let line = Self.readLine(&reader) else { return nil }
        switch marker {
        case UInt8(ascii: "+"):
            return .some(.status(line))
        case UInt8(ascii: "-"):
            return .some(.error(CommandError(Self.errorCode(line), line)))
        case UInt8(ascii: ":"):
            guard let value = Int64(line) else { throw RESPProtocolError("bad integer '\(line)'") }
            return .some(.integer(value))
        case UInt8(ascii: "$"):
            guard let length = Int(line), length >= -1, length <= 512 * 1024 * 1024 else { throw RESPProtocolError("bad bulk length '\(line)'") }
            if length == -1 { return .some(.null) }
            guard reader.readableBytes >= length + 2, let bytes = reader.readBytes(length: length) else {
                bytesNeeded = reader.readerIndex - start + length + 2
                return nil
            }
            reader.moveReaderIndex(forwardBy: 2)
            return .some(.bulk(Bytes(bytes)))
        case UInt8(ascii: "*"):
            guard let count = Int(line), count >= -1 else { throw RESPProtocolError("bad array length '\(line)'") }
            if count == -1 { return .some(.null) }
            if count == 0 { return .some(.array([])) }
            guard open.count < Self.maximumNesting else { throw RESPProtocolError("reply nested too deeply") }
            open.append((count, []))
            open[open.count - 1].elements.reserveCapacity(min(count, 1024))
            return .some(nil)
        default:
            throw RESPProtocolError("unknown reply type byte \(marker)")
        }
    }

    /// The text up to CRLF, consumed with it; nil when no CRLF yet.
    static func readLine(_ buffer: inout ByteBuffer) -> String? {
        guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\r")),
              end + 1 < buffer.writerIndex,
              buffer.getInteger(at: end + 1, as: UInt8.self) == UInt8(ascii: "\n") else { return nil }
        let line = buffer.readString(length: end - buffer.readerIndex) ?? ""
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }
}

/// A node sent something that is not RESP.
struct RESPProtocolError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Writes commands as RESP arrays of bulk strings.
enum RESPCommandEncoder {
    static func encode(_ arguments: [Bytes], into buffer: inout ByteBuffer) {
        buffer.writeStaticString("*")
        buffer.writeString(String(arguments.count))
        buffer.writeStaticString("\r\n")
        for argument in arguments {
            buffer.writeStaticString("$")
            buffer.writeString(String(argument.count))
            buffer.writeStaticString("\r\n")
            buffer.writeBytes(argument.storage)
            buffer.writeStaticString("\r\n")
        }
    }
}

extension RESPReplyDecoder {
    /// The code a node's error gets: its first word's (WRONGTYPE, NOSCRIPT,
    /// ...), or for Redis's `ERR` texts that the embedded engine gives a code
    /// of their own the same code, so both backends answer alike.
    static func errorCode(_ message: String) -> ErrorCode {
        let code = ErrorCode.forMessage(message)
        guard code == .generic else { return code }
        for known in [CommandError.notInteger, .notFloat, .syntax, .overflow, .noSuchKey, .nanOrInfinity] where message == known.message {
            return known.code
        }
        if message.hasPrefix("ERR invalid expire time in '") { return .invalidExpire }
        if message.hasPrefix("ERR wrong number of arguments for '") { return .wrongArity }
        if message.hasPrefix("ERR unknown command '") { return .unknownCommand }
        return .generic
    }
}
