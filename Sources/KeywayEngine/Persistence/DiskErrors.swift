import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Writes refused while the data cannot be persisted, as Redis's
/// `writeCommandsDeniedByDiskError`: after a failed background save (with
/// `stop-writes-on-bgsave-error yes` and save rules set) until a save
/// succeeds, and after a failed AOF write or fsync until the writer's retry
/// succeeds. Reads go on; so does everything that does not write.
extension EngineState {
    func diskErrorRefusal() -> CommandError? {
        let snapshots = server.snapshots
        if snapshots.stopWritesOnError && !snapshots.rules.isEmpty && snapshots.backgroundSaveFailed {
            return DiskErrors.snapshotRefusal
        }
        if let code = server.appendOnly.writer?.failure {
            return DiskErrors.appendOnlyRefusal(code)
        }
        return nil
    }
}

public enum DiskErrors {
    static let snapshotRefusal = CommandError(.misconf, "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.")

    static func appendOnlyRefusal(_ code: Int32) -> CommandError {
        CommandError(.misconf, "MISCONF Errors writing to the AOF file: \(String(cString: strerror(code)))")
    }
}

extension Engine {
    /// What keeps the data from reaching disk, for `/readyz`: the AOF's
    /// failed write or fsync, or a failed background save. Lock-free.
    public var persistenceFailure: String? {
        if let code = appendOnlyWriter.current?.failure {
            return "append-only file: \(String(cString: strerror(code)))"
        }
        if snapshotState.backgroundSaveFailed { return "background save failed" }
        return nil
    }

    /// How many times unpersisted writes were undone: a reply computed
    /// across an undo may have read them (`DurabilityMiddleware`).
    public var undoCount: UInt64 { undoneWriteBatches.load(ordering: .sequentiallyConsistent) }

    /// `appendfsync always`: the writes of a batch that could not be written
    /// are undone before anyone is answered. Their replies are parked on the
    /// batch, and every reply computed since (which may have read them) too,
    /// so no client saw them; reloading the file, which the writer cut back
    /// to its last complete record, returns the data to exactly what is on
    /// disk. Clients get LOADING meanwhile. Runs on the flusher thread.
    func undoUnpersistedWrites() {
        loadingDataset.store(true, ordering: .relaxed)
        defer { loadingDataset.store(false, ordering: .relaxed) }
        withEngineState { state in
            guard let writer = state.server.appendOnly.writer else { return }
            let scratch = Engine(clock: state.db.clock, commands: state.server.commands)
            do {
                _ = try AOFLoader.load(path: writer.path, into: scratch, allowTruncated: true)
            } catch {
                // The file is what a restart would load; if even that fails
                // the data stays as it is and writes stay refused.
                return
            }
            let (keyspace, volatileFields) = scratch.withEngineState { ($0.db.keyspace, $0.db.keysWithVolatileFields) }
            state.db.install(keyspace)
            for key in volatileFields.keys { state.db.trackVolatileFields(key) }
            // Done loading before anyone hears of the failure: a client
            // answered MISCONF finds the data undone, not LOADING.
            loadingDataset.store(false, ordering: .relaxed)
            // Counted before the writer settles the tickets, so whoever sees
            // them settled also sees the count move.
            undoneWriteBatches.add(1, ordering: .sequentiallyConsistent)
            writer.discardUnwritten()
        }
    }
}
