import CMicroHTTPD
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A streaming response (Server-Sent Events): producers on any thread
/// `send` bytes; libmicrohttpd pulls them through a content reader.
///
/// While the queue is empty the connection is suspended, so an idle stream
/// costs no thread and no CPU; `send` resumes it. The reader never returns 0
/// without suspending (that would make libmicrohttpd spin).
public final class EventStream: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var connection: CHandle?
        var fd: Int32 = -1
        var server: HTTPServer?
        var suspended = false
        var finished = false
        var closed = false
        var onClose: (@Sendable () -> Void)?
    }

    private let state: Mutex<State>
    /// Bytes buffered beyond which a slow client is cut off rather than
    /// letting its queue grow without bound.
    public let maxBufferedBytes: Int

    public init(maxBufferedBytes: Int = 8 * 1024 * 1024, onClose: (@Sendable () -> Void)? = nil) {
        self.maxBufferedBytes = maxBufferedBytes
        state = Mutex(State(onClose: onClose))
    }

    public func setCloseHandler(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.closed { return true }
            state.onClose = handler
            return false
        }
        if runNow { handler() }
    }

    /// Queues bytes for the client. False when the stream has ended.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        let (accepted, overflow) = state.withLock { state -> (Bool, Bool) in
            guard !state.finished && !state.closed else { return (false, false) }
            if state.pending.count + bytes.count > maxBufferedBytes {
                state.finished = true
                wake(&state)
                return (false, true)
            }
            state.pending.append(contentsOf: bytes)
            wake(&state)
            return (true, false)
        }
        _ = overflow
        return accepted
    }

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

    private let flag = Atomic<UInt8>(UInt8(ascii: "P"))
    private let channels = Atomic<Int>(0)
    private let patterns = Atomic<Int>(0)

    /// Describes the subscriber for `CLIENT LIST`: `flag` is `P` for pub/sub
    /// and stream events (the default), `O` for MONITOR; the counts are its
    /// channels and patterns (`sub=`, `psub=`).
    public func describeSubscriber(flag: Character = "P", channels: Int = 0, patterns: Int = 0) {
        self.flag.store(flag.asciiValue ?? UInt8(ascii: "P"), ordering: .relaxed)
        self.channels.store(channels, ordering: .relaxed)
        self.patterns.store(patterns, ordering: .relaxed)
    }

    var subscriberFlag: Character { Character(Unicode.Scalar(flag.load(ordering: .relaxed))) }
    var channelCount: Int { channels.load(ordering: .relaxed) }
    var patternCount: Int { patterns.load(ordering: .relaxed) }

    /// Resumes a suspended connection; called with the lock held.
    private func wake(_ state: inout State) {
        guard state.suspended, let connection = state.connection else { return }
        state.suspended = false
        state.server?.hangups.unwatch(state.fd)
        MHD_resume_connection(connection.pointer)
    }

    // MARK: - Server side

    func attach(connection: OpaquePointer, server: HTTPServer) {
        state.withLock { state in
            state.connection = CHandle(connection)
            state.fd = keyway_mhd_connection_fd(connection)
            state.server = server
        }
    }

    /// The content reader: copies queued bytes, ends, or suspends.
    func read(into buffer: UnsafeMutableRawPointer, max: Int) -> Int {
        state.withLock { state in
            if !state.pending.isEmpty {
                let count = min(max, state.pending.count)
                state.pending.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: count) }
                state.pending.removeFirst(count)
                return count
            }
            if state.finished || state.closed { return -1 }  // MHD_CONTENT_READER_END_OF_STREAM
            guard let connection = state.connection, let server = state.server else { return -1 }
            MHD_suspend_connection(connection.pointer)
            state.suspended = true
            let fd = state.fd
            server.hangups.watch(fd) { [weak self] in self?.clientHungUp() }
            return 0
        }
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
            if state.suspended { state.server?.hangups.unwatch(state.fd) }
            state.pending = []
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
