#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Snapshot files on disk.
///
/// `save` never harms the previous file: it writes a temporary file in the
/// same directory in chunks, fsyncs it, renames it over `path` (atomic on
/// POSIX file systems) and fsyncs the directory so the rename itself is
/// durable. A failure or crash at any point before the rename leaves the old
/// snapshot untouched (and the temporary file removed when the process is
/// still alive to do it).
public enum RDBFile {
    /// Writes `keyspace` as it is at `now` to `path`, atomically.
    public static func save(keyspace: Keyspace, now: Int64, path: String,
                            options: RDBWriter.Options = RDBWriter.Options()) throws(RDBError) {
        try save(keyspace: keyspace, now: now, path: path, options: options, beforeChunk: nil)
    }

    /// `beforeChunk` sees the byte count written so far before each chunk
    /// and may throw to simulate an I/O failure (tests).
    static func save(keyspace: Keyspace, now: Int64, path: String, options: RDBWriter.Options,
                     beforeChunk: ((Int) throws(RDBError) -> Void)?) throws(RDBError) {
        let directory = Self.directory(of: path)
        let temporary = "\(directory)/temp-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).rdb"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw systemError("can't create temporary file \(temporary)") }
        var written = 0
        do throws(RDBError) {
            do {
                try RDBWriter.write(keyspace, now: now, options: options, chunkSize: 1 << 20) { chunk in
                    try beforeChunk?(written)
                    try writeAll(fd, chunk, path: temporary)
                    written += chunk.count
                }
            } catch let error as RDBError {
                throw error
            } catch {
                throw RDBError("writing \(temporary): \(error)")
            }
            guard fsync(fd) == 0 else { throw systemError("fsync of \(temporary) failed") }
            guard close(fd) == 0 else {
                unlink(temporary)
                throw systemError("close of \(temporary) failed")
            }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = systemError("can't rename \(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
        // Make the rename durable. Failing here leaves the new file in place.
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            defer { close(directoryFD) }
            guard fsync(directoryFD) == 0 else { throw systemError("fsync of directory \(directory) failed") }
        }
    }

    /// Reads and parses the snapshot at `path`, skipping what expired by `now`.
    public static func load(path: String, now: Int64) throws(RDBError) -> RDBSnapshot {
        try RDBReader.load(bytes: try readAll(path), now: now)
    }

    static func readAll(_ path: String) throws(RDBError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw systemError("can't open \(path)") }
        defer { close(fd) }
        // Read straight into an array of the file's size: growing one by
        // doubling copied the file several times over.
        var info = stat()
        let size = fstat(fd, &info) == 0 ? max(0, Int(info.st_size)) : 0
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, size - filled) }
            if count < 0 {
                if errno == EINTR { continue }
                throw systemError("read of \(path) failed")
            }
            if count == 0 { bytes.removeLast(size - filled); return bytes }
            filled += count
        }
        // The file may have grown since fstat (or fstat told nothing).
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw systemError("read of \(path) failed")
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: buffer[0..<count])
        }
    }

    private static func writeAll(_ fd: Int32, _ chunk: [UInt8], path: String) throws(RDBError) {
        var offset = 0
        while offset < chunk.count {
            let count = chunk.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw systemError("write to \(path) failed")
            }
            offset += count
        }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    private static func systemError(_ message: String) -> RDBError {
        RDBError("\(message): \(String(cString: strerror(errno)))")
    }
}
