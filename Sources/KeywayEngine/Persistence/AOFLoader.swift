#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an AOF could not be loaded.
public enum AOFLoadError: Error, CustomStringConvertible {
    case io(AOFIOError)
    /// Bad bytes in the middle of the file (not a truncated tail).
    case corrupt(offset: Int, reason: String)
    /// The file ends inside a command and truncation is not allowed.
    case truncated(offset: Int)
    /// A command the engine does not know, at the offset where it starts.
    case unknownCommand(name: String, offset: Int)

    public var description: String {
        switch self {
        case .io(let error): return "cannot read the append only file: \(error)"
        case .corrupt(let offset, let reason):
            return "Bad file format reading the append only file at offset \(offset): \(reason); make a backup and try redis-check-aof --fix"
        case .truncated(let offset):
            return "Unexpected end of file reading the append only file (last good offset \(offset)); set aof-load-truncated yes to load it"
        case .unknownCommand(let name, let offset):
            return "Unknown command '\(name)' reading the append only file at offset \(offset)"
        }
    }
}

/// Progress of a load, for logging.
public struct AOFLoadProgress: Sendable {
    public var commands: Int
    public var bytes: Int
    public var totalBytes: Int
}

/// What a load did.
public struct AOFLoadReport: Sendable {
    /// Commands replayed (MULTI/EXEC blocks count their inner commands).
    public var commands = 0
    /// Bytes of the file consumed (the file's size, less a dropped tail).
    public var bytes = 0
    /// Set when a truncated last command was dropped: the offset the file
    /// was cut back to.
    public var truncatedAt: Int?
}

/// Replays an append-only file through a `CommandExecutor`, as Redis loads
/// its AOF at start-up with `aof-load-truncated yes` by default:
/// - a last command cut short (a crash mid-write) is dropped with a warning
///   and the file is truncated to the end of the last complete command;
/// - bad bytes anywhere else stop the load with an error naming the offset;
/// - MULTI ... EXEC blocks run as one transaction; a block left open at the
///   end of the file counts as a truncated tail.
public enum AOFLoader {
    public static func load(
        path: String,
        into executor: any CommandExecutor,
        allowTruncated: Bool = true,
        progressInterval: Int = 100_000,
        progress: ((AOFLoadProgress) -> Void)? = nil,
        warning: ((String) -> Void)? = nil
    ) throws(AOFLoadError) -> AOFLoadReport {
        let fd = open(path, (allowTruncated ? O_RDWR : O_RDONLY) | O_CLOEXEC)
        if fd < 0 { throw .io(AOFIOError(operation: "open", path: path, code: errno)) }
        defer { close(fd) }
        var info = stat()
        let totalBytes = fstat(fd, &info) == 0 ? Int(info.st_size) : 0

        // Nothing expires while the log is replayed (Redis's `server.loading`).
        let engine = executor as? Engine
        engine?.withDatabase { db, _ in db.loading = true }
        defer { engine?.withDatabase { db, _ in db.loading = false } }

        var report = AOFLoadReport()
        var parser = RESPCommandParser()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var transaction: [Command]?
        var transactionStart = 0
        var commandStart = 0
        var nextProgress = progressInterval

        func replay(_ arguments: [Bytes], at offset: Int) throws(AOFLoadError) {
            let name = arguments[0]
            if name.equalsIgnoringCase("multi") {
                transaction = []
                transactionStart = offset
                return
            }
            if name.equalsIgnoringCase("exec"), let queued = transaction {
                transaction = nil
                if case .failure(let error) = executor.executeTransaction(queued) {
                    // Only unknown commands abort a batch at queue time.
                    throw .unknownCommand(name: error.message, offset: transactionStart)
                }
                report.commands += queued.count
                return
            }
            // Redis writes SELECT before the first command; Keyway has one database.
            if name.equalsIgnoringCase("select") { return }
            if transaction != nil {
                transaction!.append(Command(arguments))
                return
            }
            let reply = executor.execute(Command(arguments))
            if case .error(let error) = reply, error.message.hasPrefix("ERR unknown command") {
                throw .unknownCommand(name: name.text, offset: offset)
            }
            report.commands += 1
        }

        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(AOFIOError(operation: "read", path: path, code: errno))
            }
            if n == 0 { break }
            parser.feed(chunk[0..<n])
            do {
                while let arguments = try parser.next() {
                    try replay(arguments, at: commandStart)
                    commandStart = parser.offset
                }
            } catch let error as RESPParseError {
                throw .corrupt(offset: error.offset, reason: "\(error)")
            } catch let error as AOFLoadError {
                throw error
            } catch {
                throw .corrupt(offset: commandStart, reason: "\(error)")
            }
            if let progress, report.commands >= nextProgress {
                nextProgress = report.commands + progressInterval
                progress(AOFLoadProgress(commands: report.commands, bytes: parser.offset, totalBytes: totalBytes))
            }
        }

        var goodEnd = parser.offset
        if transaction != nil { goodEnd = transactionStart }
        if parser.hasPartialCommand || transaction != nil {
            guard allowTruncated else { throw .truncated(offset: goodEnd) }
            warning?("!!! Warning: short read while loading the AOF file \(path)!!! (last good offset \(goodEnd) of \(totalBytes) bytes)")
            if ftruncate(fd, off_t(goodEnd)) != 0 {
                throw .io(AOFIOError(operation: "ftruncate", path: path, code: errno))
            }
            warning?("AOF \(path) loaded anyway because aof-load-truncated is enabled; truncated to \(goodEnd) bytes")
            report.truncatedAt = goodEnd
        }
        report.bytes = goodEnd
        progress?(AOFLoadProgress(commands: report.commands, bytes: goodEnd, totalBytes: totalBytes))
        return report
    }
}
