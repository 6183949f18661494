#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What an online rewrite did.
public struct AOFRewriteReport: Sendable {
    public var keys = 0
    public var commands = 0
    /// Bytes of the snapshot part, and of records appended during the rewrite.
    public var snapshotBytes = 0
    public var bufferedBytes = 0
}

/// AOF rewrite (BGREWRITEAOF): the shortest commands that rebuild a
/// keyspace, as Redis's `rewriteAppendOnlyFile` writes them.
///
/// Per key: SET for strings; RPUSH, SADD, ZADD, HSET in chunks of
/// `itemsPerCommand` elements for collections; HPEXPIREAT for hash fields
/// with a TTL; for streams XADD per entry (an empty stream is created with
/// `XADD key MAXLEN 0 0-1 x y`), XSETID for the last ID and counters, XGROUP
/// CREATE per group, XCLAIM ... TIME RETRYCOUNT JUSTID FORCE per pending
/// entry and XGROUP CREATECONSUMER for consumers with nothing pending; then
/// PEXPIREAT when the key has a TTL. Keys already expired are left out.
///
/// Online: `rewrite(engine:writer:)` snapshots the keyspace under the engine
/// lock (a copy-on-write value: O(1)) while telling the writer to copy new
/// records into its rewrite buffer, writes the snapshot's commands to a
/// temporary file without the lock, appends the buffer, and atomically
/// renames the file over the AOF. Run it on a background thread.
public enum AOFRewriter {
    /// Redis's AOF_REWRITE_ITEMS_PER_CMD.
    public static let itemsPerCommand = 64

    /// Calls `emit` with each command that rebuilds `keyspace`, key by key.
    public static func forEachCommand(
        in keyspace: Keyspace, now: Int64, itemsPerCommand: Int = AOFRewriter.itemsPerCommand,
        _ emit: ([Bytes]) throws -> Void
    ) rethrows {
        for entry in keyspace.entries {
            if entry.hasExpiry && entry.expiresAt < now { continue }
            try commands(for: entry.key, entry.value, now: now, itemsPerCommand: itemsPerCommand, emit)
            if entry.hasExpiry {
                try emit([Bytes("PEXPIREAT"), entry.key, Parse.bytes(entry.expiresAt)])
            }
        }
    }

    /// Every command of `forEachCommand`, collected.
    public static func commands(for keyspace: Keyspace, now: Int64, itemsPerCommand: Int = AOFRewriter.itemsPerCommand) -> [[Bytes]] {
        var result: [[Bytes]] = []
        forEachCommand(in: keyspace, now: now, itemsPerCommand: itemsPerCommand) { result.append($0) }
        return result
    }

    /// The commands that rebuild one value under `key` (no key TTL).
    public static func commands(
        for key: Bytes, _ value: Value, now: Int64, itemsPerCommand: Int = AOFRewriter.itemsPerCommand,
        _ emit: ([Bytes]) throws -> Void
    ) rethrows {
        let chunk = max(1, itemsPerCommand)
        func chunked(_ name: String, _ items: [[Bytes]]) throws {
            var start = 0
            while start < items.count {
                let end = min(start + chunk, items.count)
                var command = [Bytes(name), key]
                for item in items[start..<end] { command.append(contentsOf: item) }
                try emit(command)
                start = end
            }
        }
        switch value {
        case .string(let bytes):
            try emit([Bytes("SET"), key, bytes])
        case .list(let list):
            try chunked("RPUSH", list.elements.map { [$0] })
        case .set(let set):
            try chunked("SADD", set.members.map { [$0] })
        case .zset(let zset):
            var items: [[Bytes]] = []
            items.reserveCapacity(zset.count)
            zset.forEach(fromRank: 0, count: zset.count, reversed: false) { member, score in
                items.append([ScoreFormatting.bytes(score), member])
            }
            try chunked("ZADD", items)
        case .hash(let hash):
            var items: [[Bytes]] = []
            var byDeadline: [Int64: [Bytes]] = [:]
            for (field, fieldValue) in hash.entries {
                if let deadline = hash.expiry(of: field) {
                    if deadline <= now { continue }
                    byDeadline[deadline, default: []].append(field)
                }
                items.append([field, fieldValue])
            }
            if items.isEmpty { return }
            try chunked("HSET", items)
            for (deadline, fields) in byDeadline.sorted(by: { $0.key < $1.key }) {
                var start = 0
                while start < fields.count {
                    let end = min(start + chunk, fields.count)
                    try emit([Bytes("HPEXPIREAT"), key, Parse.bytes(deadline), Bytes("FIELDS"), Parse.bytes(Int64(end - start))] + fields[start..<end])
                    start = end
                }
            }
        case .stream(let stream):
            try streamCommands(key, stream, emit)
        case .json(let document):
            try emit([Bytes("JSON.SET"), key, Bytes("$"), Bytes(JSONNodeWriter.compact.bytes(document.root))])
        }
    }

    static func streamCommands(_ key: Bytes, _ stream: StreamValue, _ emit: ([Bytes]) throws -> Void) rethrows {
        let entries = stream.entries.range(.zero, .max)
        if entries.isEmpty {
            // The MAXLEN 0 trick: creates the key, keeps no entry.
            try emit(argv("XADD", key, "MAXLEN", "0", "0-1", "x", "y"))
        } else {
            for entry in entries {
                try emit([Bytes("XADD"), key, entry.id.bytes] + entry.fields)
            }
        }
        try emit(argv("XSETID", key, stream.lastID, "ENTRIESADDED", stream.entriesAdded, "MAXDELETEDID", stream.maxDeletedID))
        for (name, group) in stream.groups.sorted(by: { $0.key < $1.key }) {
            try emit(argv("XGROUP", "CREATE", key, name, group.lastID, "ENTRIESREAD", group.entriesRead ?? -1))
            var claims: [[Bytes]] = []
            var claimed: Set<Bytes> = []
            try? group.pending.forEach { id, pending in
                // XCLAIM ignores entries gone from the stream: so does the rewrite.
                guard stream.entries.contains(id) else { return true }
                claims.append(argv("XCLAIM", key, name, pending.consumer, "0", id, "TIME", pending.deliveryTime,
                                   "RETRYCOUNT", pending.deliveryCount, "JUSTID", "FORCE"))
                claimed.insert(pending.consumer)
                return true
            }
            for claim in claims { try emit(claim) }
            for consumer in group.consumerNames where !claimed.contains(consumer) {
                try emit(argv("XGROUP", "CREATECONSUMER", key, name, consumer))
            }
        }
    }

    // MARK: - Files

    /// Writes the rewrite of `keyspace` to `path` (replacing it), fsynced.
    /// For tools and tests; a running server uses `rewrite(engine:writer:)`.
    @discardableResult
    public static func writeFile(_ keyspace: Keyspace, now: Int64, to path: String) throws -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw AOFIOError(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        let (_, bytes) = try writeSnapshot(keyspace, now: now, to: fd, path: path)
        if fsync(fd) != 0 { throw AOFIOError(operation: "fsync", path: path, code: errno) }
        return bytes
    }

    /// Streams the rewrite commands to `fd` in large writes.
    static func writeSnapshot(_ keyspace: Keyspace, now: Int64, to fd: Int32, path: String) throws -> (commands: Int, bytes: Int) {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        var commands = 0, bytes = 0
        try forEachCommand(in: keyspace, now: now) { command in
            RESPCommandEncoding.encode(command, into: &buffer)
            commands += 1
            if buffer.count >= 1 << 20 {
                if let code = writeAll(fd, buffer) { throw AOFIOError(operation: "write", path: path, code: code) }
                bytes += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
        }
        if let code = writeAll(fd, buffer) { throw AOFIOError(operation: "write", path: path, code: code) }
        bytes += buffer.count
        return (commands, bytes)
    }

    /// Rewrites the AOF `writer` appends to from `engine`'s keyspace, while
    /// writes go on. Blocks the calling (background) thread until done.
    /// `afterSnapshot` runs once the snapshot is written and before the swap
    /// (tests use it to interleave writes).
    @discardableResult
    public static func rewrite(engine: Engine, writer: AOFWriter, afterSnapshot: (() -> Void)? = nil) throws -> AOFRewriteReport {
        let (keyspace, now) = engine.withDatabase { db, _ in
            writer.beginRewrite()
            return (db.keyspace, db.clock.nowMilliseconds())
        }
        let directory = writer.path.lastIndex(of: "/").map { String(writer.path[..<$0]) } ?? "."
        let temporaryPath = "\(directory)/temp-rewriteaof-bg-\(getpid()).aof"
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 {
            writer.abortRewrite()
            throw AOFIOError(operation: "open", path: temporaryPath, code: errno)
        }
        var report = AOFRewriteReport()
        report.keys = keyspace.count
        do {
            let (commands, bytes) = try writeSnapshot(keyspace, now: now, to: fd, path: temporaryPath)
            report.commands = commands
            report.snapshotBytes = bytes
            afterSnapshot?()
            // Catch up with the records buffered meanwhile, without pausing
            // writers, until what is left is small; the rest is written in
            // the final, paused step.
            for _ in 0..<16 {
                let buffered = writer.drainRewriteBuffer()
                if let code = writeAll(fd, buffered) { throw AOFIOError(operation: "write", path: temporaryPath, code: code) }
                report.bufferedBytes += buffered.count
                if buffered.count < 1 << 16 { break }
            }
            try writer.completeRewrite(temporaryFD: fd, temporaryPath: temporaryPath)
        } catch {
            writer.abortRewrite()
            close(fd)
            unlink(temporaryPath)
            throw error
        }
        return report
    }
}
