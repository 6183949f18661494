import Dispatch
import Synchronization

/// Snapshot persistence settings and status: where the RDB file lives, the
/// save rules, and how the last save went. Lives in `ServerState`, under
/// the engine lock.
public final class SnapshotState: @unchecked Sendable {
    /// `save <seconds> <changes>`: save when at least `changes` writes
    /// happened and `seconds` passed since the last save.
    public struct SaveRule: Sendable, Equatable {
        public let seconds: Int64
        public let changes: Int64
        public init(seconds: Int64, changes: Int64) {
            self.seconds = seconds
            self.changes = changes
        }
    }

    /// Redis's defaults: after 1 hour and 1 change, 5 minutes and 100
    /// changes, 1 minute and 10,000 changes.
    public static let defaultRules = [SaveRule(seconds: 3600, changes: 1), SaveRule(seconds: 300, changes: 100), SaveRule(seconds: 60, changes: 10_000)]

    public var directory = "."
    public var fileName = "dump.rdb"
    public var rules: [SaveRule] = SnapshotState.defaultRules

    /// Unix seconds of the last successful save (or of start-up).
    public internal(set) var lastSaveTime: Int64 = 0
    public internal(set) var lastSaveSucceeded = true
    public internal(set) var lastError: String?
    /// Unix seconds of the last failed save (INFO's rdb_last_bgsave_error_time).
    public internal(set) var lastErrorTime: Int64 = 0
    /// `stop-writes-on-bgsave-error`: refuse writes (MISCONF) after a failed
    /// background save while save rules are set, until a save succeeds.
    public var stopWritesOnError = true
    private let backgroundSaveFailedFlag = Atomic<Bool>(false)
    /// The last background save failed (and no save succeeded since).
    /// Lock-free, for `/readyz`.
    public internal(set) var backgroundSaveFailed: Bool {
        get { backgroundSaveFailedFlag.load(ordering: .relaxed) }
        set { backgroundSaveFailedFlag.store(newValue, ordering: .relaxed) }
    }
    public internal(set) var inProgress = false
    public internal(set) var lastDurationSeconds: Int64 = -1
    /// A BGSAVE SCHEDULE waiting for the running one to end.
    var scheduled = false
    /// Set by BGSAVE for the engine to act on once the command is done.
    var startRequested = false
    var dirtyAtStart: Int64 = 0
    var startedAt: Int64 = 0

    public var path: String {
        fileName.hasPrefix("/") ? fileName : (directory.hasSuffix("/") ? directory : directory + "/") + fileName
    }

    /// Parses `save` arguments: pairs of seconds and changes, or "" for none.
    public static func parseRules(_ words: [String]) -> [SaveRule]? {
        let words = words.filter { !$0.isEmpty }
        guard words.count % 2 == 0 else { return nil }
        var rules: [SaveRule] = []
        for index in stride(from: 0, to: words.count, by: 2) {
            guard let seconds = Int64(words[index]), let changes = Int64(words[index + 1]), seconds > 0, changes >= 0 else { return nil }
            rules.append(SaveRule(seconds: seconds, changes: changes))
        }
        return rules
    }

    public var rulesDescription: String {
        rules.map { "\($0.seconds) \($0.changes)" }.joined(separator: " ")
    }
}

/// SAVE, BGSAVE and LASTSAVE.
enum SnapshotCommands {
    static let commands: [CommandSpec] = [
        CommandSpec("save", arity: 1, flags: [.admin, .noScript, .noMulti], keys: (0, 0, 0), handler: save),
        CommandSpec("bgsave", arity: -1, flags: [.admin, .noScript], keys: (0, 0, 0), handler: bgsave),
        CommandSpec("lastsave", arity: 1, flags: [.fast, .loading], keys: (0, 0, 0), handler: { c throws(CommandError) in
            .integer(c.server.snapshots.lastSaveTime)
        }),
    ]

    /// SAVE writes the snapshot before answering, as in Redis (where it
    /// blocks every client; here writes wait, reads of other threads too).
    static func save(_ c: CommandContext) throws(CommandError) -> Reply {
        let snapshots = c.server.snapshots
        if snapshots.inProgress { throw CommandError(.generic, "ERR Background save already in progress") }
        let started = monotonicMicroseconds()
        do {
            try RDBFile.save(keyspace: c.db.keyspace, now: c.db.now, path: snapshots.path)
        } catch {
            snapshots.lastSaveSucceeded = false
            snapshots.lastError = "\(error)"
            snapshots.lastErrorTime = c.db.now / 1000
            throw CommandError(.saveFailed, "ERR \(error)")
        }
        c.db.resetDirty(by: c.db.dirty)
        snapshots.lastSaveTime = c.db.now / 1000
        snapshots.lastSaveSucceeded = true
        snapshots.backgroundSaveFailed = false
        snapshots.lastError = nil
        snapshots.lastDurationSeconds = (monotonicMicroseconds() - started) / 1_000_000
        return .ok
    }

    /// BGSAVE [SCHEDULE]: the engine copies the keyspace (copy-on-write,
    /// O(1)) once the command is done and writes the copy on another thread.
    static func bgsave(_ c: CommandContext) throws(CommandError) -> Reply {
        let schedule = c.argumentCount == 2 && c[1].equalsIgnoringCase("schedule")
        if c.argumentCount > 2 || (c.argumentCount == 2 && !schedule) { throw .syntax }
        let snapshots = c.server.snapshots
        if snapshots.inProgress || snapshots.startRequested {
            guard schedule else { throw CommandError(.generic, "ERR Background save already in progress") }
            snapshots.scheduled = true
            return .status("Background saving scheduled")
        }
        snapshots.startRequested = true
        return .status("Background saving started")
    }
}

extension Engine {
    /// Starts a background save of the keyspace as it is now, unless one
    /// runs. Call under the lock; the file is written on another thread.
    func startBackgroundSave(_ state: EngineState) {
        let snapshots = state.server.snapshots
        snapshots.startRequested = false
        guard !snapshots.inProgress else {
            snapshots.scheduled = true
            return
        }
        snapshots.inProgress = true
        snapshots.dirtyAtStart = state.db.dirty
        snapshots.startedAt = monotonicMicroseconds()
        let keyspace = state.db.keyspace  // copy-on-write: O(1) here, copies happen as writes go on
        let now = state.db.now
        let path = snapshots.path
        DispatchQueue.global(qos: .utility).async { [weak self] in
            let result: Result<Void, RDBError>
            do throws(RDBError) {
                try RDBFile.save(keyspace: keyspace, now: now, path: path)
                result = .success(())
            } catch {
                result = .failure(error)
            }
            self?.finishBackgroundSave(result, savedAt: now)
        }
    }

    private func finishBackgroundSave(_ result: Result<Void, RDBError>, savedAt now: Int64) {
        withEngineState { state in
            let snapshots = state.server.snapshots
            snapshots.inProgress = false
            snapshots.lastDurationSeconds = (monotonicMicroseconds() - snapshots.startedAt) / 1_000_000
            switch result {
            case .success:
                // Writes made while saving still count as unsaved.
                state.db.resetDirty(by: snapshots.dirtyAtStart)
                snapshots.lastSaveTime = now / 1000
                snapshots.lastSaveSucceeded = true
                snapshots.backgroundSaveFailed = false
                snapshots.lastError = nil
            case .failure(let error):
                snapshots.lastSaveSucceeded = false
                snapshots.backgroundSaveFailed = true
                snapshots.lastError = "\(error)"
                snapshots.lastErrorTime = state.db.clock.nowMilliseconds() / 1000
            }
            if snapshots.scheduled {
                snapshots.scheduled = false
                startBackgroundSave(state)
            }
        }
    }

    /// Runs the save rules: called from the background tick, under the lock.
    func applySaveRules(_ state: EngineState) {
        let snapshots = state.server.snapshots
        guard !snapshots.inProgress, !snapshots.rules.isEmpty else { return }
        let elapsed = state.db.clock.nowMilliseconds() / 1000 - snapshots.lastSaveTime
        let dirty = state.db.dirty
        // Like Redis, don't retry a failed save more than every 5 seconds.
        if !snapshots.lastSaveSucceeded && elapsed < 5 { return }
        if snapshots.rules.contains(where: { dirty >= $0.changes && elapsed >= $0.seconds && dirty > 0 }) {
            startBackgroundSave(state)
        }
    }

    /// Loads a snapshot file into the (empty) keyspace. `isLoading` is true
    /// meanwhile (the gateway answers 503 LOADING); the file is parsed
    /// outside the lock.
    public func loadSnapshot(path: String) throws(RDBError) -> RDBSnapshot {
        loadingDataset.store(true, ordering: .relaxed)
        withEngineState { $0.db.datasetLoading = true }
        defer {
            withEngineState { $0.db.datasetLoading = false }
            loadingDataset.store(false, ordering: .relaxed)
        }
        let now = withEngineState { $0.db.clock.nowMilliseconds() }
        let snapshot = try RDBFile.load(path: path, now: now)
        withEngineState { state in
            state.db.install(snapshot.keyspace)
            for key in snapshot.keysWithVolatileFields { state.db.trackVolatileFields(key) }
            state.server.snapshots.lastSaveTime = now / 1000
        }
        return snapshot
    }

    /// Writes a snapshot now (clean shutdown); the caller logs the outcome.
    public func saveSnapshot() -> Reply {
        execute(Command("SAVE"))
    }

    /// Reads or changes the snapshot settings under the lock.
    public func withSnapshotState<R>(_ body: (SnapshotState) -> R) -> R {
        withEngineState { body($0.server.snapshots) }
    }
}
