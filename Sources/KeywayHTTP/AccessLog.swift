import Dispatch
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One answered HTTP request, as the access log writes it.
///
/// Only what is listed here is ever written: never a header, a token, a
/// cookie, a query string or a body. `route` is the route's pattern
/// (`/v1/keys/{key}`), so keys do not reach the log either; only a request
/// that matched no route logs its path (without the query string).
public struct AccessLogEntry: Sendable, Equatable {
    /// When the response was queued: seconds and nanoseconds since the epoch.
    public var seconds: Int64
    public var nanoseconds: Int64
    /// The peer, `ip:port`.
    public var client: String
    /// The connection's id, as CLIENT LIST shows it; nil when unknown.
    public var connection: Int64?
    /// The ACL user the request authenticated as; nil when it did not.
    public var user: String?
    public var method: String
    public var route: String
    public var status: Int
    /// Response body bytes (0 for an event stream, logged when it starts).
    public var bytes: Int
    /// From the request's first byte of headers read to the response queued.
    public var durationNanoseconds: UInt64

    public init(seconds: Int64, nanoseconds: Int64, client: String, connection: Int64?, user: String?,
                method: String, route: String, status: Int, bytes: Int, durationNanoseconds: UInt64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.client = client
        self.connection = connection
        self.user = user
        self.method = method
        self.route = route
        self.status = status
        self.bytes = bytes
        self.durationNanoseconds = durationNanoseconds
    }

    /// The entry as one JSON object and a newline:
    /// `{"time":"2025-01-02T03:04:05.678Z","client":"127.0.0.1:50412","connection":7,"user":"default",`
    /// `"method":"GET","route":"/v1/keys/{key}","status":200,"bytes":17,"duration_ms":0.084}`
    public func line() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + client.utf8.count + route.utf8.count)
        out.append(contentsOf: #"{"time":""#.utf8)
        AccessLogEntry.appendTimestamp(seconds: seconds, nanoseconds: nanoseconds, to: &out)
        out.append(contentsOf: #"","client":"#.utf8)
        AccessLogEntry.appendString(client, to: &out)
        out.append(contentsOf: #","connection":"#.utf8)
        if let connection { out.append(contentsOf: String(connection).utf8) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: #","user":"#.utf8)
        if let user { AccessLogEntry.appendString(user, to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: #","method":"#.utf8)
        AccessLogEntry.appendString(method, to: &out)
        out.append(contentsOf: #","route":"#.utf8)
        AccessLogEntry.appendString(route, to: &out)
        out.append(contentsOf: #","status":"#.utf8)
        out.append(contentsOf: String(status).utf8)
        out.append(contentsOf: #","bytes":"#.utf8)
        out.append(contentsOf: String(bytes).utf8)
        out.append(contentsOf: #","duration_ms":"#.utf8)
        // Milliseconds with microseconds: a JSON number, always with a fraction.
        let micros = durationNanoseconds / 1000
        out.append(contentsOf: String(micros / 1000).utf8)
        out.append(UInt8(ascii: "."))
        AccessLogEntry.appendDigits(Int(micros % 1000), width: 3, to: &out)
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    /// A JSON string: quotes, backslashes and control characters escaped.
    /// Swift strings are valid Unicode (bytes that were not valid UTF-8
    /// became U+FFFD when the string was made), so the line is valid UTF-8.
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20, 0x7F:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0xF))
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    private static func appendDigits(_ value: Int, width: Int, to out: inout [UInt8]) {
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var rest = value
        var index = width - 1
        while index >= 0 {
            digits[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            index -= 1
        }
        out.append(contentsOf: digits)
    }

    /// RFC 3339 in UTC with milliseconds: `2025-01-02T03:04:05.678Z`.
    static func appendTimestamp(seconds: Int64, nanoseconds: Int64, to out: inout [UInt8]) {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        appendDigits(Int(parts.tm_year) + 1900, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(Int(parts.tm_mon) + 1, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(Int(parts.tm_mday), width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(Int(parts.tm_hour), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(Int(parts.tm_min), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(Int(parts.tm_sec), width: 2, to: &out)
        out.append(UInt8(ascii: "."))
        appendDigits(Int(nanoseconds / 1_000_000), width: 3, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    public static func timestamp(seconds: Int64, nanoseconds: Int64) -> String {
        var out: [UInt8] = []
        appendTimestamp(seconds: seconds, nanoseconds: nanoseconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// The access log (`access-log`): one JSON line per answered request,
/// written to standard output or appended to a file.
///
/// Request threads never touch the disk: they format their line and append
/// it to a bounded in-memory buffer, and a serial queue writes whatever has
/// gathered with one `write(2)`. When the writer falls behind and the buffer
/// is full, lines are dropped and counted (`droppedLines`) rather than
/// holding up requests or growing without bound. `flush()` waits for
/// everything appended so far; `reopen()` (SIGHUP) starts a new file after
/// a rotation.
public final class AccessLog: @unchecked Sendable {
    public enum Destination: Sendable, Equatable, CustomStringConvertible {
        case standardOutput
        case file(String)

        /// `stdout`, or a path.
        public init(_ setting: String) {
            self = setting == "stdout" ? .standardOutput : .file(setting)
        }

        public var description: String {
            switch self {
            case .standardOutput: return "stdout"
            case .file(let path): return path
            }
        }
    }

    public struct OpenError: Error, CustomStringConvertible {
        public let description: String
    }

    public let destination: Destination
    /// Most bytes waiting for the writer; a line that does not fit is dropped.
    public let capacityBytes: Int
    private let logger: Logger?

    private struct Pending {
        var bytes: [UInt8] = []
        var closed = false
    }
    private let pending = Mutex(Pending())
    private let dropped = Atomic<Int64>(0)
    private let written = Atomic<Int64>(0)
    private let queue = DispatchQueue(label: "keyway.access-log")

    // Only touched on `queue`.
    private var fd: Int32
    private var spare: [UInt8] = []
    private var reportedDrops: Int64 = 0
    private var failing = false

    public init(destination: Destination, capacityBytes: Int = 4 << 20, logger: Logger? = nil) throws(OpenError) {
        self.destination = destination
        self.capacityBytes = capacityBytes
        self.logger = logger
        self.fd = try Self.open(destination)
    }

    deinit {
        if case .file = destination, fd >= 0 { Glibc.close(fd) }
    }

    private static func open(_ destination: Destination) throws(OpenError) -> Int32 {
        switch destination {
        case .standardOutput:
            return STDOUT_FILENO
        case .file(let path):
            let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard fd >= 0 else {
                throw OpenError(description: "cannot open the access log '\(path)': \(String(cString: strerror(errno)))")
            }
            return fd
        }
    }

    /// Lines dropped because the buffer was full or the write failed.
    public var droppedLines: Int64 { dropped.load(ordering: .relaxed) }

    /// Lines written.
    public var writtenLines: Int64 { written.load(ordering: .relaxed) }

    public func log(_ entry: AccessLogEntry) {
        append(entry.line())
    }

    /// Queues one line (ending in a newline) for the writer.
    func append(_ line: [UInt8]) {
        let wake = pending.withLock { state -> Bool? in
            guard !state.closed, state.bytes.count + line.count <= capacityBytes else { return nil }
            let wasEmpty = state.bytes.isEmpty
            state.bytes.append(contentsOf: line)
            return wasEmpty
        }
        guard let wake else {
            dropped.add(1, ordering: .relaxed)
            return
        }
        // The writer is woken once each time the buffer stops being empty;
        // it takes everything gathered by then.
        if wake { queue.async { self.drain() } }
    }

    /// Waits until every line appended so far is written.
    public func flush() {
        queue.sync { drain() }
    }

    /// Writes what is pending and closes the file; later lines are dropped.
    public func close() {
        pending.withLock { $0.closed = true }
        queue.sync {
            drain()
            if case .file = destination, fd >= 0 { Glibc.close(fd) }
            fd = -1
        }
    }

    /// Opens the file again (after logrotate moved it); pending lines go
    /// to the old file first. On error the old file stays in use.
    public func reopen() throws(OpenError) {
        guard case .file = destination else { return }
        var failure: OpenError?
        queue.sync {
            drain()
            guard fd >= 0 else { return }
            do throws(OpenError) {
                let reopened = try Self.open(destination)
                Glibc.close(fd)
                fd = reopened
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// On `queue`: writes everything pending.
    private func drain() {
        pending.withLock { swap(&$0.bytes, &spare) }
        defer { spare.removeAll(keepingCapacity: spare.capacity <= 1 << 20) }
        let drops = dropped.load(ordering: .relaxed)
        if drops != reportedDrops {
            logger?.warning("access log: lines dropped, the writer could not keep up", metadata: ["dropped_total": "\(drops)"])
            reportedDrops = drops
        }
        guard !spare.isEmpty else { return }
        let lines = spare.reduce(into: Int64(0)) { count, byte in if byte == 10 { count += 1 } }
        guard fd >= 0 else {
            dropped.add(lines, ordering: .relaxed)
            return
        }
        // Standard output is often a pipe shared with the server's own log:
        // writes of whole lines no larger than PIPE_BUF are never interleaved.
        let chunkLimit = destination == .standardOutput ? Int(PIPE_BUF) : Int.max
        let error = spare.withUnsafeBytes { raw -> Int32 in
            var start = 0
            while start < raw.count {
                var end = raw.count
                if end - start > chunkLimit {
                    // The last line end within the limit, or one long line whole.
                    let window = raw[start..<(start + chunkLimit)]
                    if let newline = window.lastIndex(of: 10) {
                        end = newline + 1
                    } else {
                        end = raw[(start + chunkLimit)...].firstIndex(of: 10).map { $0 + 1 } ?? raw.count
                    }
                }
                while start < end {
                    let count = write(fd, raw.baseAddress! + start, end - start)
                    if count < 0 {
                        if errno == EINTR { continue }
                        return errno
                    }
                    start += count
                }
            }
            return 0
        }
        if error == 0 {
            written.add(lines, ordering: .relaxed)
            if failing {
                failing = false
                logger?.notice("access log: writing again", metadata: ["destination": "\(destination)"])
            }
        } else {
            dropped.add(lines, ordering: .relaxed)
            reportedDrops = dropped.load(ordering: .relaxed)
            if !failing {
                failing = true
                logger?.error("access log: write failed, lines are dropped until it works again",
                              metadata: ["destination": "\(destination)", "error": "\(String(cString: strerror(error)))"])
            }
        }
    }
}

extension AccessLog {
    /// Nanoseconds on the monotonic clock, for durations.
    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// The wall clock, for `time`.
    static func now() -> (seconds: Int64, nanoseconds: Int64) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return (Int64(now.tv_sec), Int64(now.tv_nsec))
    }
}
