import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// When the AOF's bytes are forced to stable storage (`appendfsync`).
public enum AOFFsyncPolicy: String, Sendable, CaseIterable {
    /// Every write is fsynced before its reply is released (group commit).
    case always
    /// A background fsync once a second: at most about a second lost.
    case everysec
    /// The OS decides when to flush.
    case no
}

/// Errors of the AOF files.
public struct AOFIOError: Error, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let code: Int32
    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// A pthread mutex and condition variable: the flusher waits on it with a
/// timeout, which `Synchronization.Mutex` cannot do.
final class AOFMonitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if os(Linux)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func wait() { pthread_cond_wait(condition, mutex) }
    func broadcast() { pthread_cond_broadcast(condition) }

    /// Waits at most `microseconds` (monotonic clock).
    func wait(microseconds: Int64) {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        let total = Int64(spec.tv_nsec) + (microseconds % 1_000_000) * 1000
        spec.tv_sec += Int(microseconds / 1_000_000) + Int(total / 1_000_000_000)
        spec.tv_nsec = Int(total % 1_000_000_000)
        pthread_cond_timedwait(condition, mutex, &spec)
    }

    @inline(__always)
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// Appends propagated commands to the append-only file.
///
/// The engine calls `append` (through `PropagationSink.propagate`) under its
/// lock; that only encodes and appends to a memory buffer. A dedicated
/// flusher thread does the write(2) and fsync(2):
/// - `always`: it takes everything buffered so far, writes and fsyncs it in
///   one go, then marks those records durable. Writers that arrive while an
///   fsync runs are batched into the next one: group commit. Each `append`
///   returns a `DurabilityTicket` to park the reply on.
/// - `everysec`: buffered records are written as they come and the file is
///   fsynced once per interval (1 s; tests pass a shorter one).
/// - `no`: records are written as they come, never fsynced (the OS flushes).
///
/// A rewrite (`AOFRewriter`) asks the writer to also copy new records into a
/// rewrite buffer, and at the end swaps the rewritten file in.
///
/// A failed write(2) or fsync(2) (a full disk, `RLIMIT_FSIZE`, an I/O error)
/// cuts the file back to its last complete record and sets `failure`, which
/// makes the engine refuse writes with MISCONF. The flusher then retries once
/// a second, as Redis does, until a write and fsync succeed again:
/// - `everysec`/`no`: the failed records were already acknowledged, so they
///   are kept and written first when the retry succeeds;
/// - `always`: nobody was told of the failed records yet, so the engine
///   undoes them (`onFailedBatch`) before the parked replies hear of the
///   failure, and the retry writes a no-op record (`SELECT 0`) as a probe.
public final class AOFWriter: PropagationSink, DurabilityTracker, @unchecked Sendable {
    public let path: String
    public let policy: AOFFsyncPolicy
    let fsyncIntervalMicroseconds: Int64

    /// Guards everything below but the file itself; never held during I/O
    /// except for the final step of a rewrite.
    private let state = AOFMonitor()
    /// Held while the descriptor is written or swapped (order: io, then state).
    private let io = AOFMonitor()

    private var fd: Int32
    private var pending: [UInt8] = []
    private var spare: [UInt8] = []
    private var appended: UInt64 = 0
    private var written: UInt64 = 0
    private var durable: UInt64 = 0
    private var unsyncedWrites = false
    private var lastFsync: Int64
    private var callbacks: [(sequence: UInt64, callback: @Sendable (Bool) -> Void)] = []
    private var rewriteBuffer: [UInt8]?
    /// Set when the records a running rewrite copied were undone: the
    /// rewrite must not swap its file in.
    private var rewriteCancelled = false
    private var closing = false
    private var stopped = false
    /// The file's size after the last record known good: a failed write is
    /// cut back to it, so the file never ends in half a command.
    private var goodSize: Int64 = 0
    /// errno of the failed write or fsync while the failure lasts.
    private var failed: Int32?
    private let publishedFailure = Atomic<Int32>(0)
    private var lastFailure: (code: Int32, unixSeconds: Int64)?
    private var lastAttempt: Int64 = 0
    let retryIntervalMicroseconds: Int64
    /// True while `onFailedBatch` runs: no retry meanwhile.
    private var undoing = false
    /// `always` only: undoes the records of a failed batch (and any after
    /// it) in memory. Called on the flusher thread with no writer lock held,
    /// before the replies parked on those records are failed.
    private var failedBatchHandler: (@Sendable () -> Void)?

    /// errno of the write or fsync that failed, while writes are refused
    /// for it (until a retry succeeds); nil when healthy. Lock-free.
    public var failure: Int32? {
        let code = publishedFailure.load(ordering: .relaxed)
        return code == 0 ? nil : code
    }

    /// The last failure, kept after recovery (INFO's aof_last_write_error).
    public var lastError: (message: String, unixSeconds: Int64)? {
        state.withLock { lastFailure.map { (String(cString: strerror($0.code)), $0.unixSeconds) } }
    }

    /// A record that changes nothing, written as a probe when a retry has
    /// no records to write: SELECT 0 (Redis writes it too; loaders skip it).
    static let probeRecord: [UInt8] = Array("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n".utf8)

    private var bytesWrittenTotal: Int64 = 0
    private var fsyncCount: Int64 = 0

    /// Opens (creating if needed) the file at `path` for appending and starts
    /// the flusher thread.
    public init(path: String, policy: AOFFsyncPolicy, fsyncIntervalMilliseconds: Int = 1000, retryIntervalMilliseconds: Int = 1000) throws {
        self.path = path
        self.policy = policy
        self.fsyncIntervalMicroseconds = Int64(max(1, fsyncIntervalMilliseconds)) * 1000
        self.retryIntervalMicroseconds = Int64(max(1, retryIntervalMilliseconds)) * 1000
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 { throw AOFIOError(operation: "open", path: path, code: errno) }
        goodSize = Int64(lseek(fd, 0, SEEK_END))
        lastFsync = monotonicMicroseconds()
        startFlusher()
    }

    /// Installs the undo step of `always` (see `failedBatchHandler`).
    public func onFailedBatch(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { failedBatchHandler = handler }
    }

    /// After an undo: records not yet written are dropped (the engine's
    /// data no longer holds them) and every ticket so far is settled, so
    /// replies stop waiting. A running rewrite, which copied some of them,
    /// is cancelled. Call under the engine lock.
    public func discardUnwritten() {
        let failedCallbacks: [@Sendable (Bool) -> Void] = state.withLock {
            pending.removeAll(keepingCapacity: true)
            written = appended
            durable = appended
            if rewriteBuffer != nil {
                rewriteBuffer = nil
                rewriteCancelled = true
            }
            let waiting = callbacks.map(\.callback)
            callbacks = []
            state.broadcast()
            return waiting
        }
        for callback in failedCallbacks { callback(false) }
    }

    private func setFailure(_ code: Int32) {
        failed = code
        publishedFailure.store(code, ordering: .relaxed)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        lastFailure = (code, Int64(now.tv_sec))
    }

    private func clearFailure() {
        failed = nil
        publishedFailure.store(0, ordering: .relaxed)
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    // MARK: - Appending (under the engine lock)

    public func propagate(_ commands: [[Bytes]]) -> DurabilityTicket? {
        append(commands)
    }

    /// Buffers `commands` (encoded as RESP) and returns the ticket that
    /// becomes durable once they are fsynced (`always`; nil otherwise).
    @discardableResult
    public func append(_ commands: [[Bytes]]) -> DurabilityTicket? {
        var encoded: [UInt8] = []
        for command in commands { RESPCommandEncoding.encode(command, into: &encoded) }
        return appendEncoded(encoded)
    }

    @discardableResult
    public func appendEncoded(_ encoded: [UInt8]) -> DurabilityTicket? {
        let sequence: UInt64 = state.withLock {
            let wasEmpty = pending.isEmpty
            pending.append(contentsOf: encoded)
            if rewriteBuffer != nil { rewriteBuffer!.append(contentsOf: encoded) }
            appended += 1
            // `always` writers wait for their fsync: wake the flusher now.
            // Otherwise let records gather (the flusher writes every couple
            // of milliseconds, as Redis writes once per event-loop pass),
            // unless a lot has piled up: one wake-up per batch, not per write.
            if (wasEmpty && policy == .always) || pending.count >= Self.eagerWriteBytes { state.broadcast() }
            return appended
        }
        return policy == .always ? DurabilityTicket(sequence: sequence, tracker: self) : nil
    }

    /// A ticket for everything appended so far (`always` only): waiting on
    /// it makes every write that came before durable.
    public func tailTicket() -> DurabilityTicket? {
        guard policy == .always else { return nil }
        let sequence = state.withLock { appended }
        return DurabilityTicket(sequence: sequence, tracker: self)
    }

    /// Bytes in the file plus those still buffered: the AOF's size for the
    /// automatic rewrite rule.
    public var approximateSize: Int64 {
        let stats = statistics
        return stats.bytesWritten + Int64(stats.pendingBytes)
    }

    // MARK: - Durability

    public func isDurable(_ sequence: UInt64) -> Bool {
        state.withLock { durable >= sequence }
    }

    public func waitDurable(_ sequence: UInt64) -> Bool {
        state.withLock {
            while durable < sequence && failed == nil && !stopped { state.wait() }
            return durable >= sequence
        }
    }

    public func onDurable(_ sequence: UInt64, _ callback: @escaping @Sendable (Bool) -> Void) {
        let now: Bool? = state.withLock {
            if durable >= sequence { return true }
            // While an undo runs, wait for it: a failed reply means undone.
            if undoing && !stopped {
                callbacks.append((sequence, callback))
                return nil
            }
            if failed != nil || stopped { return false }
            callbacks.append((sequence, callback))
            return nil
        }
        if let now { callback(now) }
    }

    /// Writes and fsyncs everything appended so far, whatever the policy;
    /// returns false if the file could not be written.
    @discardableResult
    public func flush() -> Bool {
        let target: UInt64 = state.withLock {
            state.broadcast()
            return appended
        }
        let ok: Bool = state.withLock {
            while written < target && failed == nil && !stopped { state.wait() }
            return failed == nil
        }
        guard ok else { return false }
        return io.withLock {
            let synced = fsync(fd) == 0
            state.withLock {
                if synced {
                    durable = max(durable, target)
                    unsyncedWrites = false
                    fsyncCount += 1
                } else if failed == nil {
                    setFailure(errno)
                    lastAttempt = monotonicMicroseconds()
                }
                state.broadcast()
            }
            return synced
        }
    }

    /// Flushes, stops the flusher and closes the file.
    public func close() {
        flush()
        state.withLock {
            closing = true
            state.broadcast()
            while !stopped { state.wait() }
        }
        io.withLock {
            if fd >= 0 { Glibc.close(fd); fd = -1 }
        }
    }

    /// Bytes written to the file and fsyncs done, for INFO and tests.
    public var statistics: (bytesWritten: Int64, fsyncs: Int64, pendingBytes: Int) {
        state.withLock { (bytesWrittenTotal, fsyncCount, pending.count) }
    }

    // MARK: - Flusher

    private func startFlusher() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            let writer = Unmanaged<AOFWriter>.fromOpaque(context!).takeRetainedValue()
            writer.flusherLoop()
            return nil
        }, context)
        precondition(result == 0, "cannot start the AOF flusher thread")
        pthread_detach(thread)
    }

    private func fsyncDue(_ now: Int64) -> Bool {
        policy == .everysec && unsyncedWrites && now - lastFsync >= fsyncIntervalMicroseconds
    }

    /// Buffered bytes that wake the flusher at once under everysec/no.
    static let eagerWriteBytes = 64 * 1024
    /// How long records may sit in memory under everysec/no before written.
    static let writeDelayMicroseconds: Int64 = 2000

    private func flusherLoop() {
        while true {
            // Wait for records, a due fsync, a due retry, or the end.
            state.lock()
            while !closing {
                let now = monotonicMicroseconds()
                if failed != nil {
                    let due = lastAttempt + retryIntervalMicroseconds
                    if now >= due && !undoing { break }
                    state.wait(microseconds: max(1000, due - now))
                    continue
                }
                if !pending.isEmpty || fsyncDue(now) { break }
                if policy == .everysec && unsyncedWrites {
                    state.wait(microseconds: min(lastFsync + fsyncIntervalMicroseconds - now, Self.writeDelayMicroseconds))
                } else if policy == .always {
                    state.wait()
                } else {
                    state.wait(microseconds: Self.writeDelayMicroseconds)
                }
            }
            let retrying = failed != nil
            // everysec/no: let a few more records join the batch.
            if !retrying && policy != .always && !pending.isEmpty && pending.count < Self.eagerWriteBytes && !closing {
                state.wait(microseconds: Self.writeDelayMicroseconds)
            }
            if closing && (pending.isEmpty || failed != nil) {
                stopped = true
                let abandoned = callbacks
                callbacks = []
                state.broadcast()
                state.unlock()
                for entry in abandoned { entry.callback(false) }
                return
            }
            state.unlock()

            io.lock()
            state.lock()
            swap(&pending, &spare)
            let sequence = appended
            let descriptor = fd
            state.unlock()

            let probing = retrying && spare.isEmpty
            if probing { spare = Self.probeRecord }
            var writeError: Int32? = nil
            var fsyncError: Int32? = nil
            if !spare.isEmpty {
                writeError = writeAll(descriptor, spare)
            }
            let batchBytes = spare.count
            let now = monotonicMicroseconds()
            var synced = false
            if writeError == nil && (policy == .always || retrying || (policy == .everysec && (unsyncedWrites || batchBytes > 0) && now - lastFsync >= fsyncIntervalMicroseconds)) {
                if fsync(descriptor) == 0 { synced = true } else { fsyncError = errno }
            }
            let error = writeError ?? fsyncError
            // Under `always` a batch counts only once fsynced; otherwise
            // written bytes stay (a failed fsync is retried as a probe).
            let undone = error != nil && policy == .always
            if writeError != nil || undone {
                // Cut the file back to its last complete record.
                _ = ftruncate(descriptor, off_t(goodSize))
            } else {
                goodSize += Int64(batchBytes)
            }
            io.unlock()

            state.lock()
            var ready: [@Sendable (Bool) -> Void] = []
            var failedCallbacks: [@Sendable (Bool) -> Void] = []
            var handler: (@Sendable () -> Void)?
            if let error {
                setFailure(error)
                lastAttempt = now
                if undone {
                    // Nobody was answered for these records: the engine
                    // undoes them, then their parked replies fail.
                    failedCallbacks = callbacks.map(\.callback)
                    callbacks = []
                    handler = failedBatchHandler
                    undoing = handler != nil
                } else if writeError != nil && !probing {
                    // Acknowledged records: keep them, first in line.
                    spare.append(contentsOf: pending)
                    swap(&pending, &spare)
                }
            } else {
                if retrying { clearFailure() }
                bytesWrittenTotal += Int64(batchBytes)
                written = max(written, sequence)
                if synced {
                    durable = max(durable, sequence)
                    fsyncCount += 1
                    lastFsync = now
                    unsyncedWrites = false
                } else if batchBytes > 0 {
                    unsyncedWrites = true
                }
                if !callbacks.isEmpty {
                    let durableNow = durable
                    ready = callbacks.filter { $0.sequence <= durableNow }.map(\.callback)
                    callbacks.removeAll { $0.sequence <= durableNow }
                }
            }
            spare.removeAll(keepingCapacity: true)
            state.broadcast()
            state.unlock()
            if let handler {
                handler()
                // Replies that waited on the undo: it settled them, unless
                // it could not reload (then they fail here).
                let waited: [@Sendable (Bool) -> Void] = state.withLock {
                    undoing = false
                    state.broadcast()
                    defer { callbacks = [] }
                    return callbacks.map(\.callback)
                }
                failedCallbacks += waited
            }
            for callback in failedCallbacks { callback(false) }
            for callback in ready { callback(true) }
        }
    }

    // MARK: - Rewrite support (see AOFRewriter)

    /// Starts copying new records into the rewrite buffer. Call under the
    /// engine lock, in the same critical section that snapshots the keyspace.
    public func beginRewrite() {
        state.withLock {
            rewriteBuffer = []
            rewriteCancelled = false
        }
    }

    /// Takes what the rewrite buffer holds so far.
    func drainRewriteBuffer() -> [UInt8] {
        state.withLock {
            guard rewriteBuffer != nil else { return [] }
            let taken = rewriteBuffer!
            rewriteBuffer!.removeAll(keepingCapacity: true)
            return taken
        }
    }

    public func abortRewrite() {
        state.withLock {
            rewriteBuffer = nil
            rewriteCancelled = false
        }
    }

    public var isRewriting: Bool { state.withLock { rewriteBuffer != nil } }

    /// The last step of a rewrite: with appends and the flusher paused,
    /// writes the rest of the rewrite buffer to `temporaryFD`, fsyncs it,
    /// renames `temporaryPath` over the AOF, fsyncs the directory, and makes
    /// the new file the one appended to. Records still waiting to be written
    /// are already in the new file (through the snapshot or the buffer), so
    /// they are dropped from the queue and count as durable.
    func completeRewrite(temporaryFD: Int32, temporaryPath: String) throws {
        io.lock()
        state.lock()
        var ready: [@Sendable (Bool) -> Void] = []
        defer {
            state.broadcast()
            state.unlock()
            io.unlock()
            for callback in ready { callback(true) }
        }
        if rewriteCancelled {
            rewriteCancelled = false
            throw AOFIOError(operation: "rewrite (cancelled: records it copied were undone)", path: temporaryPath, code: ECANCELED)
        }
        let rest = rewriteBuffer ?? []
        rewriteBuffer = nil
        if let code = writeAll(temporaryFD, rest) { throw AOFIOError(operation: "write", path: temporaryPath, code: code) }
        if fsync(temporaryFD) != 0 { throw AOFIOError(operation: "fsync", path: temporaryPath, code: errno) }
        if rename(temporaryPath, path) != 0 { throw AOFIOError(operation: "rename", path: temporaryPath, code: errno) }
        fsyncDirectory(of: path)
        Glibc.close(fd)
        fd = temporaryFD
        goodSize = Int64(lseek(temporaryFD, 0, SEEK_END))
        // The new file holds every record, those a failure held back too.
        if failed != nil { clearFailure() }
        pending.removeAll(keepingCapacity: true)
        written = appended
        durable = appended
        unsyncedWrites = false
        let durableNow = durable
        ready = callbacks.filter { $0.sequence <= durableNow }.map(\.callback)
        callbacks.removeAll { $0.sequence <= durableNow }
    }
}

/// Writes all of `bytes`, retrying short writes and EINTR; errno on failure.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
    bytes.withUnsafeBytes { buffer -> Int32? in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return nil
    }
}

/// fsyncs the directory holding `path`, so a rename in it is durable.
func fsyncDirectory(of path: String) {
    let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let dirFD = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
    guard dirFD >= 0 else { return }
    _ = fsync(dirFD)
    Glibc.close(dirFD)
}
