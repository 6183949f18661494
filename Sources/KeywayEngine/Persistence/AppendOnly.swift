import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Append-only file settings and status (`appendonly`, `appendfilename`,
/// `appendfsync`, automatic rewrite). Lives in `ServerState`, under the
/// engine lock. The file sits in the snapshot directory (`dir`).
public final class AppendOnlyState {
    public var enabled = false
    /// `appendonly` as configured for start-up: the server then loads the
    /// file and keeps it open. CONFIG SET switches through `switchRequested`.
    public var configured = false
    public var fileName = "appendonly.aof"
    public var fsync: AOFFsyncPolicy = .everysec
    /// `aof-load-truncated`: drop a torn last command instead of refusing.
    public var loadTruncated = true
    /// Rewrite when the file has grown this much (percent) over its size
    /// after the last rewrite, and is at least `autoRewriteMinSize` bytes.
    public var autoRewritePercentage: Int64 = 100
    public var autoRewriteMinSize: Int64 = 64 * 1024 * 1024

    var writer: AOFWriter? {
        didSet { published.set(writer) }
    }
    /// The writer, readable without the engine lock: the durability
    /// barrier must not queue behind a script that holds the lock.
    let published = PublishedWriter()
    public internal(set) var rewriteInProgress = false
    public internal(set) var lastRewriteSucceeded = true
    public internal(set) var lastWriteFailed = false
    var rewriteRequested = false
    /// CONFIG SET appendonly: applied once the command is done.
    var switchRequested: Bool?
    /// The file's size after the last rewrite (or at start).
    var baseSize: Int64 = 0

    public func path(in directory: String) -> String {
        fileName.hasPrefix("/") ? fileName : (directory.hasSuffix("/") ? directory : directory + "/") + fileName
    }

    static func fileSize(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }
}

/// BGREWRITEAOF.
enum AppendOnlyCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("bgrewriteaof", arity: 1, flags: [.admin, .noScript], keys: (0, 0, 0), handler: bgrewriteaof),
    ]

    static func bgrewriteaof(_ c: CommandContext) throws(CommandError) -> Reply {
        let appendOnly = c.server.appendOnly
        if appendOnly.rewriteInProgress || appendOnly.rewriteRequested {
            throw CommandError(.generic, "ERR Background append only file rewriting already in progress")
        }
        appendOnly.rewriteRequested = true
        return .status("Background append only file rewriting started")
    }
}

extension Engine {
    /// Opens the append-only file for writing and attaches it to the write
    /// path. Load the existing file first (`loadAppendOnlyFile`), or its
    /// commands would be appended again.
    public func openAppendOnlyFile() throws {
        try withEngineState { state in try openAppendOnlyFile(state) }
    }

    func openAppendOnlyFile(_ state: EngineState) throws {
        let appendOnly = state.server.appendOnly
        let path = appendOnly.path(in: state.server.snapshots.directory)
        let writer = try AOFWriter(path: path, policy: appendOnly.fsync)
        if appendOnly.fsync == .always {
            writer.onFailedBatch { [weak self] in self?.undoUnpersistedWrites() }
        }
        appendOnly.writer = writer
        appendOnly.enabled = true
        appendOnly.baseSize = AppendOnlyState.fileSize(path)
        attachPropagationSink(writer, in: state)
    }

    /// Replays the append-only file, if there is one. `isLoading` is true
    /// meanwhile, and nothing expires during the replay.
    public func loadAppendOnlyFile(progress: ((AOFLoadProgress) -> Void)? = nil, warning: ((String) -> Void)? = nil) throws(AOFLoadError) -> AOFLoadReport? {
        let (path, allowTruncated) = withEngineState { state in
            (state.server.appendOnly.path(in: state.server.snapshots.directory), state.server.appendOnly.loadTruncated)
        }
        guard access(path, F_OK) == 0 else { return nil }
        loadingDataset.store(true, ordering: .relaxed)
        withEngineState { $0.db.datasetLoading = true }
        defer {
            withEngineState { $0.db.datasetLoading = false }
            loadingDataset.store(false, ordering: .relaxed)
        }
        return try AOFLoader.load(path: path, into: self, allowTruncated: allowTruncated, progress: progress, warning: warning)
    }

    /// Flushes and closes the append-only file (clean shutdown).
    public func closeAppendOnlyFile() {
        let writer = withEngineState { state -> AOFWriter? in
            attachPropagationSink(nil, in: state)
            defer { state.server.appendOnly.writer = nil }
            return state.server.appendOnly.writer
        }
        writer?.close()
    }

    /// A ticket covering every write so far when replies must wait for
    /// `appendfsync always`; nil otherwise.
    public func durabilityBarrier() -> DurabilityTicket? {
        appendOnlyWriter.current?.tailTicket()
    }

    /// CONFIG SET appendonly: turning it on writes a complete file by a
    /// rewrite, as Redis does; turning it off closes the file.
    func switchAppendOnly(_ enable: Bool, _ state: EngineState) {
        let appendOnly = state.server.appendOnly
        if enable {
            guard appendOnly.writer == nil else { return }
            do {
                let path = appendOnly.path(in: state.server.snapshots.directory)
                unlink(path)  // the rewrite recreates it from the data
                try openAppendOnlyFile(state)
                appendOnly.rewriteRequested = true
            } catch {
                appendOnly.enabled = false
                appendOnly.lastWriteFailed = true
            }
        } else {
            attachPropagationSink(nil, in: state)
            let writer = appendOnly.writer
            appendOnly.writer = nil
            appendOnly.enabled = false
            DispatchQueue.global(qos: .utility).async { writer?.close() }
        }
    }

    /// Starts BGREWRITEAOF on a background thread. With the AOF off, writes
    /// a fresh file from the data once.
    func startAppendOnlyRewrite(_ state: EngineState) {
        let appendOnly = state.server.appendOnly
        appendOnly.rewriteRequested = false
        guard !appendOnly.rewriteInProgress else { return }
        appendOnly.rewriteInProgress = true
        let writer = appendOnly.writer
        let path = appendOnly.path(in: state.server.snapshots.directory)
        let keyspace = state.db.keyspace
        let now = state.db.now
        DispatchQueue.global(qos: .utility).async { [weak self] in
            guard let self else { return }
            var succeeded = true
            do {
                if let writer {
                    try AOFRewriter.rewrite(engine: self, writer: writer)
                } else {
                    _ = try AOFRewriter.writeFile(keyspace, now: now, to: path)
                }
            } catch {
                succeeded = false
            }
            self.withEngineState { state in
                let appendOnly = state.server.appendOnly
                appendOnly.rewriteInProgress = false
                appendOnly.lastRewriteSucceeded = succeeded
                if succeeded { appendOnly.baseSize = AppendOnlyState.fileSize(path) }
            }
        }
    }

    /// `auto-aof-rewrite-percentage` / `auto-aof-rewrite-min-size`: from the
    /// background tick, under the lock.
    func applyAutomaticRewrite(_ state: EngineState) {
        let appendOnly = state.server.appendOnly
        guard appendOnly.writer != nil, !appendOnly.rewriteInProgress, appendOnly.autoRewritePercentage > 0 else { return }
        let size = AppendOnlyState.fileSize(appendOnly.path(in: state.server.snapshots.directory))
        guard size >= appendOnly.autoRewriteMinSize else { return }
        let base = max(appendOnly.baseSize, 1)
        if (size - base) * 100 / base >= appendOnly.autoRewritePercentage {
            startAppendOnlyRewrite(state)
        }
    }
}

/// The append-only writer, shared outside the engine lock.
final class PublishedWriter: @unchecked Sendable {
    private let writer = Mutex<AOFWriter?>(nil)
    var current: AOFWriter? { writer.withLock { $0 } }
    func set(_ newWriter: AOFWriter?) { writer.withLock { $0 = newWriter } }
}
