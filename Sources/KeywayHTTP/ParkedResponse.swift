import CMicroHTTPD
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A response that is not ready yet: the connection is suspended without
/// holding a thread, and `resolve` (from any thread) resumes it.
///
/// Blocking commands and streams build on this. The race between a handler
/// returning `.parked` and another thread resolving it is settled under one
/// lock: whichever comes second does the work.
public final class ParkedResponse: Sendable {
    private enum State {
        /// Created by a handler, not yet handed to the server.
        case pending
        /// Connection suspended, waiting for a response.
        case suspended(connection: CHandle, fd: Int32, server: HTTPServer)
        /// Resolved before the connection was suspended.
        case resolvedEarly(HTTPResponse)
        /// Resumed; the response waits to be queued on the resumed call.
        case resuming(HTTPResponse)
        case delivered
        /// The client went away or the server stopped.
        case cancelled
    }

    private let state = Mutex<State>(.pending)
    private let cancellationHandler: Mutex<(@Sendable () -> Void)?>
    /// Headers added to the response whenever it comes (taken under `state`).
    private let extraHeaders = Mutex<[(String, String)]>([])

    /// `onCancel` runs once if the request ends without a response being
    /// delivered (client gone, server stopping): release waiters there.
    public init(onCancel: (@Sendable () -> Void)? = nil) {
        cancellationHandler = Mutex(onCancel)
    }

    /// Sets what runs if the request ends undelivered (client gone, server
    /// stopping). Runs at once if that already happened.
    public func setCancellationHandler(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if case .cancelled = state { return true }
            cancellationHandler.withLock { $0 = handler }
            return false
        }
        if runNow { handler() }
    }

    /// Hands the response to the parked connection. Returns false when the
    /// client is already gone (the caller keeps whatever it would have sent).
    @discardableResult
    public func resolve(_ response: HTTPResponse) -> Bool {
        state.withLock { state in
            var response = response
            response.headers += extraHeaders.withLock { $0 }
            switch state {
            case .pending:
                state = .resolvedEarly(response)
                return true
            case .suspended(let connection, let fd, let server):
                state = .resuming(response)
                server.hangups.unwatch(fd)
                server.resume(connection.pointer, parked: self)
                return true
            case .resolvedEarly, .resuming, .delivered, .cancelled:
                return false
            }
        }
    }

    /// Adds headers to the response this request ends with, whether it is
    /// resolved already or later (the gateway's rate-limit headers).
    public func addHeaders(_ headers: [(String, String)]) {
        state.withLock { state in
            switch state {
            case .resolvedEarly(var response):
                response.headers += headers
                state = .resolvedEarly(response)
            case .resuming(var response):
                response.headers += headers
                state = .resuming(response)
            default:
                extraHeaders.withLock { $0 += headers }
            }
        }
    }

    /// True when the parked client has closed its side of the connection.
    /// A suspended connection is not polled by libmicrohttpd, so this peeks
    /// at the socket directly.
    public var clientHasGone: Bool {
        state.withLock { state in
            switch state {
            case .cancelled: return true
            case .suspended(_, let fd, _):
                var byte: UInt8 = 0
                let received = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
                if received == 0 { return true }
                if received < 0 && errno != EAGAIN && errno != EWOULDBLOCK { return true }
                return false
            default: return false
            }
        }
    }

    public var isDone: Bool {
        state.withLock { state in
            switch state {
            case .delivered, .cancelled: return true
            default: return false
            }
        }
    }

    /// The response, once resolved, for a request that was never handed to
    /// a server (a router driven in-process); nil until then.
    public var resolvedResponse: HTTPResponse? {
        state.withLock { state in
            if case .resolvedEarly(let response) = state { return response }
            return nil
        }
    }

    // MARK: - Server side

    /// Called by the server on the handler's thread. Returns the response to
    /// queue at once when it was resolved already; otherwise suspends.
    func suspendOrTake(connection: OpaquePointer, server: HTTPServer) -> HTTPResponse? {
        state.withLock { state in
            if case .resolvedEarly(let response) = state {
                state = .delivered
                return response
            }
            if case .cancelled = state { return HTTPResponse(status: 503) }
            MHD_suspend_connection(connection)
            let fd = keyway_mhd_connection_fd(connection)
            state = .suspended(connection: CHandle(connection), fd: fd, server: server)
            server.registerParked(self)
            server.hangups.watch(fd) { [weak self] in self?.abandon() }
            return nil
        }
    }

    /// The client hung up while parked: withdraw the parked work and wake
    /// the connection so libmicrohttpd closes it.
    private func abandon() {
        let handler = state.withLock { state -> (@Sendable () -> Void)? in
            guard case .suspended(let connection, _, let server) = state else { return nil }
            state = .cancelled
            server.resume(connection.pointer, parked: self)
            return cancellationHandler.withLock { $0.take() }
        }
        handler?()
    }

    /// Called on the resumed access-handler call.
    func takeResumedResponse() -> HTTPResponse? {
        state.withLock { state in
            guard case .resuming(let response) = state else { return nil }
            state = .delivered
            return response
        }
    }

    /// The request ended; if nothing was delivered, the parked work is cancelled.
    func requestCompleted() {
        // The handler is taken under the state lock so a concurrent
        // `setCancellationHandler` either sees `.cancelled` or is seen here.
        let handler = state.withLock { state -> (@Sendable () -> Void)? in
            switch state {
            case .delivered, .cancelled: return nil
            default:
                state = .cancelled
                return cancellationHandler.withLock { $0.take() }
            }
        }
        handler?()
    }
}
