import CMicroHTTPD
import DequeModule
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Redis's `client-output-buffer-limit pubsub <hard> <soft> <seconds>`:
/// an event stream whose unsent bytes pass `hardBytes`, or stay above
/// `softBytes` for `softSeconds`, is a subscriber that does not keep up,
/// and is disconnected. 0 turns a limit off.
public struct OutputBufferLimits: Sendable, Equatable {
    public var hardBytes: Int
    public var softBytes: Int
    public var softSeconds: Int

    public init(hardBytes: Int, softBytes: Int, softSeconds: Int) {
        self.hardBytes = hardBytes
        self.softBytes = softBytes
        self.softSeconds = softSeconds
    }

    /// Redis's default for pub/sub clients: 32mb 8mb 60.
    public static let pubsub = OutputBufferLimits(hardBytes: 32 * 1024 * 1024, softBytes: 8 * 1024 * 1024, softSeconds: 60)
}

/// The bytes every event stream holds unsent, against one total, so that
/// many slow readers together cannot take the memory either. Past the
/// total, a message to a stream holding more than its fair share (the
/// total over the streams open) disconnects that stream; a stream that
/// keeps up (holding less) is still served, the total then overshooting
/// by at most what such streams hold. Also counts the disconnections
/// (INFO's `client_output_buffer_limit_disconnections`).
public final class StreamBufferBudget: Sendable {
    public let totalBytes: Int
    private let used = Atomic<Int>(0)
    private let disconnectedCount = Atomic<Int64>(0)
    private let streams = Atomic<Int>(0)

    public init(totalBytes: Int) { self.totalBytes = totalBytes }

    public var usedBytes: Int { used.load(ordering: .relaxed) }
    public var disconnections: Int64 { disconnectedCount.load(ordering: .relaxed) }

    /// Takes `bytes` for a stream already holding `held`; false when the
    /// stream should be cut instead.
    func reserve(_ bytes: Int, held: Int) -> Bool {
        let now = used.add(bytes, ordering: .relaxed).newValue
        if totalBytes > 0 && now > totalBytes && held + bytes > totalBytes / max(1, streams.load(ordering: .relaxed)) {
            used.subtract(bytes, ordering: .relaxed)
            return false
        }
        return true
    }

    func streamOpened() { streams.add(1, ordering: .relaxed) }
    func streamClosed() { streams.subtract(1, ordering: .relaxed) }

    func release(_ bytes: Int) {
        if bytes > 0 { used.subtract(bytes, ordering: .relaxed) }
    }

    func countDisconnection() { disconnectedCount.add(1, ordering: .relaxed) }
}

/// A streaming response (Server-Sent Events): producers on any thread
/// `send` bytes; libmicrohttpd pulls them through a content reader.
///
/// While the queue is empty the connection is suspended, so an idle stream
/// costs no thread and no CPU; `send` resumes it. The reader never returns 0
/// without suspending (that would make libmicrohttpd spin).
///
/// A reader that does not keep up is disconnected at once when its queue
/// passes the output buffer limits or the servers' total (`send` returns
/// false), its queue dropped: the socket is shut down, as CLIENT KILL does.
public final class EventStream: Sendable {
    private struct State {
        /// Queued messages, each kept as sent (no copy into one buffer,
        /// no doubling growth): the oldest in `head` (empty when none is
        /// queued), the others in `rest`; `offset` bytes of `head` are handed
        /// out. A subscriber that keeps up has one message at a time queued,
        /// which then takes no allocation of its own, and an idle one holds
        /// no queue storage.
        var head: [UInt8] = []
        var rest = Deque<[UInt8]>()
        var offset = 0
        var buffered = 0
        /// A producer waiting for the queue to drain (`waitForRoom`).
        var drainWaiter: (@Sendable () -> Void)?
        var connection: CHandle?
        var server: HTTPServer?
        var onClose: (@Sendable () -> Void)?
        /// The first page of the reader's buffer handed back to the kernel
        /// and not written since (see `wholePages`); 0 when none is.
        var releasedPage = 0
        // The small fields last and together (in this order they share
        // 16 bytes instead of taking 32).
        /// When the queue went above the soft limit (monotonic ms), if it is.
        var overSoftLimitSince: Int64?
        var suspended = false
        var finished = false
        var closed = false
        var fd: Int32 = -1
    }

    private let state: Mutex<State>
    public let limits: OutputBufferLimits
    private let budget: StreamBufferBudget?

    public init(limits: OutputBufferLimits = .pubsub, budget: StreamBufferBudget? = nil, onClose: (@Sendable () -> Void)? = nil) {
        self.limits = limits
        self.budget = budget
        state = Mutex(State(onClose: onClose))
        budget?.streamOpened()
    }

    deinit {
        let held = state.withLock { $0.buffered }
        budget?.release(held)
        budget?.streamClosed()
    }

    public func setCloseHandler(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.closed { return true }
            state.onClose = handler
            return false
        }
        if runNow { handler() }
    }

    /// Queues bytes for the client. False when the stream has ended, or
    /// has just been disconnected for not keeping up.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        state.withLock { state -> Bool in
            guard !state.finished && !state.closed else { return false }
            let buffered = state.buffered + bytes.count
            if limits.hardBytes > 0 && buffered > limits.hardBytes {
                disconnect(&state)
                return false
            }
            if limits.softBytes > 0 && buffered > limits.softBytes {
                let now = ClientConnection.monotonicMilliseconds()
                if let since = state.overSoftLimitSince {
                    if now - since > Int64(limits.softSeconds) * 1000 {
                        disconnect(&state)
                        return false
                    }
                } else {
                    state.overSoftLimitSince = now
                }
            } else {
                state.overSoftLimitSince = nil
            }
            if let budget, !budget.reserve(bytes.count, held: state.buffered) {
                disconnect(&state)
                return false
            }
            if !bytes.isEmpty {
                if state.head.isEmpty { state.head = bytes } else { state.rest.append(bytes) }
            }
            state.buffered += bytes.count
            wake(&state)
            return true
        }
    }

    /// Past this many queued bytes a producer that can wait (a stream
    /// replaying history) should, rather than queue more (`waitForRoom`).
    public static let backpressureBytes = 256 * 1024

    /// For producers that can pause: true when the queue holds more than
    /// `backpressureBytes`, and then `resume` runs once it has drained to a
    /// quarter of that (never if the stream closes first). False: go on now.
    public func waitForRoom(_ resume: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            guard !state.closed, state.buffered > Self.backpressureBytes else { return false }
            state.drainWaiter = resume
            return true
        }
    }

    /// Drops the queue and cuts the connection; with the lock held. The
    /// socket is valid here: libmicrohttpd reports a response completed
    /// (which sets `closed` under this lock) before it closes the socket.
    private func disconnect(_ state: inout State) {
        budget?.release(state.buffered)
        budget?.countDisconnection()
        state.head = []
        state.rest = []
        state.offset = 0
        state.buffered = 0
        state.drainWaiter = nil
        state.closed = true
        if state.fd >= 0 { shutdown(state.fd, Int32(SHUT_RDWR)) }
        wake(&state)
    }

    /// Bytes queued and not yet handed to libmicrohttpd.
    public var bufferedBytes: Int { state.withLock { $0.buffered } }

    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Ends the stream after what is queued has been sent.
    public func finish() {
        state.withLock { state in
            state.finished = true
            wake(&state)
        }
    }

    public var isClosed: Bool { state.withLock { $0.closed } }

    // MARK: - What CLIENT LIST shows

    /// The flag (top 8 bits), then the channel and pattern counts (28
    /// bits each, clamped): one word, where three took 16 bytes.
    private let subscriberInfo = Atomic<UInt64>(UInt64(UInt8(ascii: "P")) << 56)
    private static let countMask: UInt64 = (1 << 28) - 1

    /// Describes the subscriber for `CLIENT LIST`: `flag` is `P` for pub/sub
    /// and stream events (the default), `O` for MONITOR; the counts are its
    /// channels and patterns (`sub=`, `psub=`).
    public func describeSubscriber(flag: Character = "P", channels: Int = 0, patterns: Int = 0) {
        let flagBits = UInt64(flag.asciiValue ?? UInt8(ascii: "P")) << 56
        let channelBits = UInt64(min(max(channels, 0), Int(Self.countMask))) << 28
        let patternBits = UInt64(min(max(patterns, 0), Int(Self.countMask)))
        subscriberInfo.store(flagBits | channelBits | patternBits, ordering: .relaxed)
    }

    var subscriberFlag: Character { Character(Unicode.Scalar(UInt8(truncatingIfNeeded: subscriberInfo.load(ordering: .relaxed) >> 56))) }
    var channelCount: Int { Int((subscriberInfo.load(ordering: .relaxed) >> 28) & Self.countMask) }
    var patternCount: Int { Int(subscriberInfo.load(ordering: .relaxed) & Self.countMask) }

    /// Resumes a suspended connection; called with the lock held.
    private func wake(_ state: inout State) {
        guard state.suspended, let connection = state.connection else { return }
        state.suspended = false
        MHD_resume_connection(connection.pointer)
    }

    // MARK: - Server side

    func attach(connection: OpaquePointer, server: HTTPServer) {
        state.withLock { state in
            state.connection = CHandle(connection)
            state.fd = keyway_mhd_connection_fd(connection)
            state.server = server
            // Watched for the stream's whole life (until `completed`): a
            // peer that leaves while the stream is idle is noticed at once.
            // The handler holds the stream strongly, which is its only
            // capture, so it needs no closure context of its own and the
            // stream no weak-reference side table (80 bytes a stream); it
            // is dropped by `unwatch` in `completed`, or when it runs.
            server.hangups.watchForLife(state.fd) { self.clientHungUp() }
        }
    }

    /// The content reader: copies queued bytes, ends, or suspends.
    func read(into buffer: UnsafeMutableRawPointer, max: Int) -> Int {
        let (result, drained, release) = state.withLock { state -> (Int, (@Sendable () -> Void)?, Range<Int>?) in
            if state.buffered > 0 && !state.closed {
                var copied = 0
                while copied < max, !state.head.isEmpty {
                    let count = min(max - copied, state.head.count - state.offset)
                    state.head.withUnsafeBytes { (buffer + copied).copyMemory(from: $0.baseAddress! + state.offset, byteCount: count) }
                    copied += count
                    state.offset += count
                    if state.offset == state.head.count {
                        if let next = state.rest.popFirst() {
                            state.head = next
                            // A backlog drained: its storage goes too.
                            if state.rest.isEmpty { state.rest = Deque() }
                        } else {
                            state.head = []
                        }
                        state.offset = 0
                    }
                }
                state.buffered -= copied
                budget?.release(copied)
                // libmicrohttpd ends the chunk with two bytes after the data.
                if state.releasedPage != 0 && Int(bitPattern: buffer) + copied + 2 > state.releasedPage { state.releasedPage = 0 }
                var drained: (@Sendable () -> Void)?
                if state.drainWaiter != nil && state.buffered <= Self.backpressureBytes / 4 {
                    drained = state.drainWaiter
                    state.drainWaiter = nil
                }
                return (copied, drained, nil)
            }
            if state.finished || state.closed { return (-1, nil, nil) }  // MHD_CONTENT_READER_END_OF_STREAM
            guard let connection = state.connection, state.server != nil else { return (-1, nil, nil) }
            MHD_suspend_connection(connection.pointer)
            state.suspended = true
            // Pages already handed back and not written since need no
            // second system call (an event shorter than the distance to the
            // page never reaches it).
            let pages = Self.wholePages(of: buffer, count: max)
            guard let pages, pages.lowerBound != state.releasedPage else { return (0, nil, nil) }
            state.releasedPage = pages.lowerBound
            return (0, nil, pages)
        }
        // Still inside the reader's call, so the buffer is still ours;
        // outside the lock, so publishers do not wait on the system call.
        if let release, let first = UnsafeMutableRawPointer(bitPattern: release.lowerBound) {
            _ = madvise(first, release.count, MADV_DONTNEED)
        }
        drained?()
        return result
    }

    /// The system's page size.
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// The whole pages inside the reader's buffer, which `read` hands back
    /// to the kernel while the stream is idle.
    ///
    /// For a chunked stream, libmicrohttpd passes the connection's write
    /// buffer: most of its pool (`client-header-buffer`), every page of
    /// which has been written. A reader may put any bytes there and only
    /// the count it returns is used, so on returning 0 (suspended, nothing
    /// queued) the content is dead until the next call, which writes before
    /// anything is read. `MADV_DONTNEED` drops those pages: they read as
    /// zeros afterwards, as if the reader had zeroed them, and come back
    /// only when a message long enough to reach them is written. Only pages
    /// wholly inside the buffer are touched, never a neighbour's bytes.
    /// With the default 7 KiB pool the buffer holds one whole page (4 KiB)
    /// about two times in three, depending on where it falls.
    static func wholePages(of buffer: UnsafeMutableRawPointer, count: Int) -> Range<Int>? {
        let start = (Int(bitPattern: buffer) + pageSize - 1) & ~(pageSize - 1)
        let end = (Int(bitPattern: buffer) + count) & ~(pageSize - 1)
        return end > start ? start..<end : nil
    }

    private func clientHungUp() {
        state.withLock { state in
            state.closed = true
            wake(&state)
        }
    }

    /// The response is over (client gone, stream finished, server stopping).
    func completed() {
        let handler = state.withLock { state -> (@Sendable () -> Void)? in
            state.closed = true
            // Before libmicrohttpd closes the socket (and its number can be reused).
            state.server?.hangups.unwatch(state.fd)
            budget?.release(state.buffered)
            state.head = []
            state.rest = []
            state.offset = 0
            state.buffered = 0
            state.drainWaiter = nil
            let handler = state.onClose
            state.onClose = nil
            return handler
        }
        handler?()
    }

    /// Wakes a suspended stream so the server can stop.
    func close() {
        state.withLock { state in
            state.closed = true
            wake(&state)
        }
    }
}
