import Foundation

/// The temporary files a save or a rewrite writes before renaming them into
/// place: `temp-<pid>-<n>.rdb` (SAVE, BGSAVE) and
/// `temp-rewriteaof-bg-<pid>.aof` (BGREWRITEAOF). A process killed midway
/// leaves them behind, as large as the dataset; they are removed at start.
public enum TemporaryFiles {
    /// Removes the leftovers in `directory` of processes that no longer
    /// run, and returns their names. A file of a live process (another
    /// server sharing the directory) is left alone.
    @discardableResult
    public static func removeLeftovers(in directory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names {
            guard let pid = ownerPID(of: name), !isRunning(pid) else { continue }
            if unlink(directory + "/" + name) == 0 { removed.append(name) }
        }
        return removed.sorted()
    }

    /// The process id in a temporary file's name, or nil for any other file.
    static func ownerPID(of name: String) -> Int32? {
        if name.hasPrefix("temp-rewriteaof-bg-"), name.hasSuffix(".aof") {
            return Int32(name.dropFirst("temp-rewriteaof-bg-".count).dropLast(".aof".count))
        }
        if name.hasPrefix("temp-"), name.hasSuffix(".rdb") {
            let parts = name.dropFirst("temp-".count).dropLast(".rdb".count).split(separator: "-")
            guard parts.count == 2, UInt32(parts[1]) != nil else { return nil }
            return Int32(parts[0])
        }
        return nil
    }

    static func isRunning(_ pid: Int32) -> Bool {
        guard pid > 0, pid != getpid() else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
