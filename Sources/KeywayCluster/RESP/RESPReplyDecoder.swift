import KeywayEngine
import NIOCore

/// Decodes RESP2 replies from a Redis node into `Reply` values: `+` status,
/// `-` error (its first word picks the stable code), `:` integer, `$` bulk
/// (or nil), `*` array (or nil).
///
/// A reply is decoded only once all of it has arrived. A large reply that
/// arrives in many reads is not re-parsed on each: after an incomplete try
/// the next waits until the buffered bytes have doubled, so the work stays
/// linear in the reply's size.
struct RESPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = Reply

    /// Bytes that were buffered at the last incomplete try.
    private var bytesAtLastTry = 0

    /// Replies nested deeper than this are refused, so a hostile or broken
    /// peer cannot exhaust the stack.
    static let maximumNesting = 512

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let available = buffer.readableBytes
        if bytesAtLastTry > 0 && available < bytesAtLastTry * 2 && !Self.mightBeComplete(buffer) {
            return .needMoreData
        }
        var reader = buffer
        guard let reply = try Self.parse(&reader, depth: 0) else {
            bytesAtLastTry = available
            return .needMoreData
        }
        bytesAtLastTry = 0
        buffer.moveReaderIndex(to: reader.readerIndex)
        context.fireChannelRead(wrapInboundOut(reply))
        return .continue
    }

    /// A cheap check for the common large reply, one bulk string: complete
    /// once its declared length has arrived.
    private static func mightBeComplete(_ buffer: ByteBuffer) -> Bool {
        guard buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == UInt8(ascii: "$") else { return false }
        var probe = buffer
        probe.moveReaderIndex(forwardBy: 1)
        guard let line = readLine(&probe), let length = Int(line), length >= 0 else { return true }
        return probe.readableBytes >= length + 2
    }

    /// One reply, or nil when `buffer` does not hold all of it yet.
    static func parse(_ buffer: inout ByteBuffer, depth: Int) throws -> Reply? {
        guard depth <= maximumNesting else { throw RESPProtocolError("reply nested too deeply") }
        guard let marker = buffer.readInteger(as: UInt8.self) else { return nil }
        guard let line = readLine(&buffer) else { return nil }
        switch marker {
        case UInt8(ascii: "+"):
            return .status(line)
        case UInt8(ascii: "-"):
            return .error(CommandError(ErrorCode.forMessage(line), line))
        case UInt8(ascii: ":"):
            guard let value = Int64(line) else { throw RESPProtocolError("bad integer '\(line)'") }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = Int(line), length >= -1 else { throw RESPProtocolError("bad bulk length '\(line)'") }
            if length == -1 { return .null }
            guard buffer.readableBytes >= length + 2, let bytes = buffer.readBytes(length: length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 2)
            return .bulk(Bytes(bytes))
        case UInt8(ascii: "*"):
            guard let count = Int(line), count >= -1 else { throw RESPProtocolError("bad array length '\(line)'") }
            if count == -1 { return .null }
            var elements: [Reply] = []
            elements.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let element = try parse(&buffer, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            throw RESPProtocolError("unknown reply type byte \(marker)")
        }
    }

    /// The text up to CRLF, consumed with it; nil when no CRLF yet.
    private static func readLine(_ buffer: inout ByteBuffer) -> String? {
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
