import CMicroHTTPD
import DequeModule
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The body of a response sent while it is still being produced (a big
/// batch's reply), chunked: one producer thread `write`s pieces,
/// libmicrohttpd pulls them through a content reader.
///
/// Memory stays bounded: past `capacity` unsent bytes, `write` waits until
/// the client has read the queue down to a quarter, so a reply of any size
/// holds at most about `capacity` here. The producer is a worker thread
/// that holds no lock while it waits. A client that reads nothing for
/// `stallSeconds` while the producer waits is cut off (the socket shut
/// down), so a stalled reader cannot hold a worker forever.
///
/// While the queue is empty the connection is suspended (no thread, no
/// spinning); `write` and `finish` resume it. Once the client is gone
/// (`completed`) or the server stops (`close`), `write` returns false and
/// the producer stops.
public final class ResponseBodyStream: Sendable {
    private struct State {
        var chunks = Deque<[UInt8]>()
        var offset = 0
        var buffered = 0
        var finished = false
        var closed = false
        var producerWaiting = false
        var connection: CHandle?
        var fd: Int32 = -1
        var server: HTTPServer?
        var suspended = false
    }

    private let state = Mutex(State())
    /// Signalled when a waiting producer may go on (room, or closed).
    private let room = DispatchSemaphore(value: 0)
    public let capacity: Int
    public let stallSeconds: Int

    public init(capacity: Int = 256 * 1024, stallSeconds: Int = 60) {
        self.capacity = capacity
        self.stallSeconds = stallSeconds
    }

    /// Queues bytes, first waiting for room if the client is behind.
    /// False when the client is gone (or too slow, or the server stops):
    /// the producer should stop producing.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        while true {
            let mustWait = state.withLock { state -> Bool? in
                if state.closed || state.finished { return nil }
                if state.buffered > 0 && state.buffered + bytes.count > capacity {
                    state.producerWaiting = true
                    return true
                }
                state.chunks.append(bytes)
                state.buffered += bytes.count
                wake(&state)
                return false
            }
            guard let mustWait else { return false }
            if !mustWait { return true }
            if room.wait(timeout: .now() + .seconds(stallSeconds)) == .timedOut {
                let stalled = state.withLock { state -> Bool in
                    // Nothing was read meanwhile: the client is not reading.
                    guard state.producerWaiting else { return false }
                    state.producerWaiting = false
                    disconnect(&state)
                    return true
                }
                if stalled { return false }
                room.wait()  // signalled just as the wait timed out
            }
        }
    }

    /// The body is complete once what is queued has been sent.
    public func finish() {
        state.withLock { state in
            state.finished = true
            wake(&state)
        }
    }

    /// True once the client has gone or the stream was cut.
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Bytes queued and not yet handed to libmicrohttpd.
    public var bufferedBytes: Int { state.withLock { $0.buffered } }

    /// Resumes a suspended connection; with the lock held.
    private func wake(_ state: inout State) {
        guard state.suspended, let connection = state.connection else { return }
        state.suspended = false
        state.server?.hangups.unwatch(state.fd)
        MHD_resume_connection(connection.pointer)
    }

    /// Marks the stream closed, drops the queue and lets a waiting producer
    /// go; with the lock held.
    private func markClosed(_ state: inout State) {
        state.closed = true
        state.chunks = []
        state.offset = 0
        state.buffered = 0
        if state.producerWaiting {
            state.producerWaiting = false
            room.signal()
        }
    }

    /// Cuts a client that does not read; with the lock held. The socket is
    /// still open: libmicrohttpd reports the request completed (which
    /// closes the stream under this lock) before it closes the socket.
    private func disconnect(_ state: inout State) {
        markClosed(&state)
        if state.fd >= 0 { shutdown(state.fd, Int32(SHUT_RDWR)) }
        wake(&state)
    }

    // MARK: - Server side

    func attach(connection: OpaquePointer, server: HTTPServer) {
        state.withLock { state in
            state.connection = CHandle(connection)
            state.fd = keyway_mhd_connection_fd(connection)
            state.server = server
        }
    }

    /// The content reader: copies queued bytes, ends the body, or suspends
    /// the connection until there is more.
    func read(into buffer: UnsafeMutableRawPointer, max: Int) -> Int {
        state.withLock { state -> Int in
            if state.closed { return -2 }  // MHD_CONTENT_READER_END_WITH_ERROR: the reply is cut, not ended
            if state.buffered > 0 {
                var copied = 0
                while copied < max, let first = state.chunks.first {
                    let count = min(max - copied, first.count - state.offset)
                    first.withUnsafeBytes { (buffer + copied).copyMemory(from: $0.baseAddress! + state.offset, byteCount: count) }
                    copied += count
                    state.offset += count
                    if state.offset == first.count {
                        state.chunks.removeFirst()
                        state.offset = 0
                    }
                }
                state.buffered -= copied
                if state.producerWaiting && state.buffered <= capacity / 4 {
                    state.producerWaiting = false
                    room.signal()
                }
                return copied
            }
            if state.finished { return -1 }  // MHD_CONTENT_READER_END_OF_STREAM
            guard let connection = state.connection, let server = state.server else { return -2 }
            MHD_suspend_connection(connection.pointer)
            state.suspended = true
            server.hangups.watch(state.fd) { [weak self] in self?.clientHungUp() }
            return 0
        }
    }

    private func clientHungUp() {
        state.withLock { state in
            markClosed(&state)
            wake(&state)
        }
    }

    /// The request is over (sent, client gone, server stopping), or its
    /// response was never delivered.
    public func completed() {
        state.withLock { state in
            if state.suspended {
                state.server?.hangups.unwatch(state.fd)
                state.suspended = false
            }
            markClosed(&state)
        }
    }

    /// Wakes a suspended stream so the server can stop.
    func close() {
        state.withLock { state in
            markClosed(&state)
            wake(&state)
        }
    }
}
