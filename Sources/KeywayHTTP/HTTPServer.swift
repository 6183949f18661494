import CGnuTLS
import CMicroHTTPD
import Dispatch
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Settings of the HTTP listener.
public struct HTTPServerConfiguration: Sendable {
    public var bindAddress: String = "127.0.0.1"
    /// 0 picks a free port; read `HTTPServer.port` after starting.
    public var port: UInt16 = 7379
    public var threads: Int = max(1, System.coreCount)
    /// libmicrohttpd's memory pool for each connection: it holds the
    /// request line and headers as read, their index, and the response's
    /// headers, so request headers that do not fit are answered 431. It is
    /// also most of what an idle connection costs: libmicrohttpd zeroes the
    /// whole pool after every request, so every page of it stays resident
    /// for as long as the connection is open (`client-header-buffer`).
    /// Request bodies go through it in pieces and are not limited by it.
    public var connectionMemoryBytes: Int = HTTPServerConfiguration.defaultConnectionMemoryBytes
    /// 7 KiB: under 8 KiB per idle connection in all, with room for some
    /// 6 KB of request headers (a large JWT or cookie; Tomcat's and
    /// Jetty's limit is 8 KiB).
    public static let defaultConnectionMemoryBytes = 7 * 1024
    /// Largest accepted request body; larger gets 413.
    public var maxBodyBytes: Int = 64 * 1024 * 1024
    public var connectionLimit: Int = 50_000
    /// Idle keep-alive connections are closed after this many seconds.
    public var connectionTimeoutSeconds: Int = 300
    /// A request's headers must arrive within this many seconds (from the
    /// connection's opening, or the next request's first byte); 0 = no deadline.
    public var headerTimeoutSeconds: Double = 20
    /// A request's body must arrive within this many seconds of its headers.
    public var bodyTimeoutSeconds: Double = 60
    /// Most connections one client address may hold; 0 = no cap.
    public var maxConnectionsPerAddress: Int = 0
    /// How often every open event stream gets a `: ping` comment, which
    /// keeps proxies from timing it out and finds dead peers.
    public var heartbeatSeconds: Double = 15
    /// Whether to listen for plain HTTP on `port`; off for an HTTPS-only
    /// server (`port 0` with a `tls-port`).
    public var plainHTTP = true
    /// An HTTPS listener beside (or instead of) the plain one; nil = none.
    public var tls: TLSConfiguration?
    /// One JSON line per answered request (`access-log`); nil = off.
    public var accessLog: AccessLog?

    public init() {}
}

public enum HTTPServerError: Error, CustomStringConvertible {
    case invalidBindAddress(String)
    case startFailed(String)

    public var description: String {
        switch self {
        case .invalidBindAddress(let address): return "cannot bind to '\(address)': not an IPv4 or IPv6 address"
        case .startFailed(let reason): return reason
        }
    }
}

/// The libmicrohttpd server: an epoll thread pool that reads requests,
/// runs the router's handler synchronously on its thread, and queues the
/// response, or parks the connection when the handler returns `.parked`.
public final class HTTPServer: Sendable {
    public let configuration: HTTPServerConfiguration
    private let router: Router
    private let logger: Logger
    private let daemon = Mutex<CHandle?>(nil)
    /// The HTTPS daemon: libmicrohttpd serves TLS on a daemon of its own.
    private let tlsDaemon = Mutex<CHandle?>(nil)
    private let boundTLSPort = Atomic<UInt16>(0)
    /// `tls-auth-clients`, read once per request only on HTTPS connections.
    private let clientAuth: TLSClientAuth
    /// The CA list given to libmicrohttpd; it must outlive the daemon.
    private let trust = Mutex<[CChar]?>(nil)
    private let parked = Mutex<[ObjectIdentifier: ParkedResponse]>([:])
    private let streams = Mutex<[ObjectIdentifier: EventStream]>([:])
    /// Response bodies being sent while produced (big batch replies).
    private let bodyStreams = Mutex<[ObjectIdentifier: ResponseBodyStream]>([:])
    private let heartbeat = Mutex<TimerBox?>(nil)
    /// Watches suspended connections for clients that hang up.
    let hangups = HangupWatcher()
    private let boundPort = Atomic<UInt16>(0)
    private let stopping = Atomic<Bool>(false)
    /// Counters the gateway reports in INFO and metrics.
    public let counters = HTTPCounters()
    /// Open connections, for CLIENT LIST and CLIENT KILL.
    public let connections = ConnectionRegistry()
    /// Returns closed connections' pools to the system.
    let trimmer = MemoryTrimmer()
    /// Read deadlines and room for newcomers (slowloris).
    let connectionGuard: ConnectionGuard
    /// `configuration.accessLog`, checked once per request.
    private let accessLog: AccessLog?

    public init(configuration: HTTPServerConfiguration, router: Router, logger: Logger = Logger(label: "keyway.http")) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.accessLog = configuration.accessLog
        self.clientAuth = configuration.tls?.clientAuth ?? .no
        self.connectionGuard = ConnectionGuard(configuration: configuration)
    }

    /// Connections closed for missing a read deadline, and shut down to
    /// make room for a newcomer (INFO's slow_clients_closed, connections_evicted).
    public var guardCounters: (slowClosed: Int64, evicted: Int64) {
        (connectionGuard.closedSlow.load(ordering: .relaxed), connectionGuard.evicted.load(ordering: .relaxed))
    }

    /// The port actually bound (useful with port 0).
    public var port: UInt16 { boundPort.load(ordering: .relaxed) }

    /// The HTTPS port actually bound; 0 without TLS.
    public var tlsPort: UInt16 { boundTLSPort.load(ordering: .relaxed) }

    /// The serial number (hex) of the certificate HTTPS handshakes get now.
    public var tlsCertificateSerial: String? { configuration.tls == nil ? nil : TLSCertificateStore.current?.serial }

    public var parkedCount: Int { parked.withLock { $0.count } }

    /// Open event streams (SSE subscribers).
    public var streamCount: Int { streams.withLock { $0.count } }

    public var openConnections: Int {
        daemon.withLock { daemon in daemon.map { Int(keyway_mhd_connection_count($0.pointer)) } ?? 0 }
            + tlsDaemon.withLock { daemon in daemon.map { Int(keyway_mhd_connection_count($0.pointer)) } ?? 0 }
    }

    /// Descriptors a server with `connections` for `max-connections` may
    /// hold: each daemon's own limit (see `ConnectionGuard.daemonLimit`),
    /// one daemon per listener, and a reserve for everything else (event
    /// and epoll descriptors, the AOF and snapshots, outgoing connections
    /// to cache origins), as Redis reserves 32 beside `maxclients`.
    public static func openFilesNeeded(connections: Int, listeners: Int = 1) -> Int {
        ConnectionGuard.daemonLimit(for: connections) * max(1, listeners) + reservedFiles
    }

    /// The most `max-connections` that `openFiles` descriptors allow.
    public static func connections(forOpenFiles openFiles: Int, listeners: Int = 1) -> Int {
        let perDaemon = max(1, (openFiles - reservedFiles) / max(1, listeners))
        // daemonLimit(n) = n + max(16, n / 10): invert it, rounding down.
        return max(1, min(perDaemon - 16, perDaemon * 10 / 11))
    }

    static let reservedFiles = 128

    public func start() throws {
        let listeners = (configuration.plainHTTP ? 1 : 0) + (configuration.tls == nil ? 0 : 1)
        let needed = Self.openFilesNeeded(connections: configuration.connectionLimit, listeners: listeners)
        let openFiles = System.raiseOpenFileLimit(to: needed)
        if openFiles < needed {
            let fits = Self.connections(forOpenFiles: openFiles, listeners: listeners)
            logger.warning("""
                max-connections \(configuration.connectionLimit) needs \(needed) open files, but the limit is \(openFiles): \
                connections past about \(fits) will be refused; raise the hard limit (ulimit -Hn, systemd LimitNOFILE=)
                """)
        }
        // Certificates first: a server that cannot serve HTTPS as
        // configured does not start at all.
        if let tls = configuration.tls {
            do {
                TLSCertificateStore.install(try TLSCertificate.load(certificateFile: tls.certificateFile, keyFile: tls.keyFile))
                if let ca = tls.caCertificateFile {
                    let pem = try TLSCertificate.loadTrust(ca)
                    trust.withLock { $0 = pem }
                } else if tls.clientAuth != .no {
                    throw TLSError("tls-auth-clients \(tls.clientAuth.rawValue) needs tls-ca-cert-file")
                }
            } catch {
                throw HTTPServerError.startFailed("\(error)")
            }
        }
        if configuration.plainHTTP {
            let started = try startDaemon(port: configuration.port, tls: false)
            daemon.withLock { $0 = CHandle(started) }
            boundPort.store(keyway_mhd_bound_port(started), ordering: .relaxed)
        }
        if let tls = configuration.tls {
            let started: OpaquePointer
            do {
                started = try startDaemon(port: tls.port, tls: true)
            } catch {
                daemon.withLock { daemon in
                    if let running = daemon { MHD_stop_daemon(running.pointer) }
                    daemon = nil
                }
                throw error
            }
            tlsDaemon.withLock { $0 = CHandle(started) }
            boundTLSPort.store(keyway_mhd_bound_port(started), ordering: .relaxed)
        }
        startHeartbeat()
        connectionGuard.start(connections)
        if configuration.plainHTTP {
            logger.info("listening", metadata: ["address": "\(configuration.bindAddress)", "port": "\(port)", "threads": "\(configuration.threads)"])
        }
        if let tls = configuration.tls {
            logger.info("listening for HTTPS", metadata: [
                "address": "\(configuration.bindAddress)", "port": "\(tlsPort)", "threads": "\(configuration.threads)",
                "certificate_serial": "\(tlsCertificateSerial ?? "")", "client_certificates": "\(tls.clientAuth.rawValue)",
            ])
        }
    }

    /// Reads the certificate and key files again and serves them to every
    /// new HTTPS handshake; open connections keep the session they have.
    /// On error the current certificate stays.
    public func reloadTLSCertificate() throws -> String {
        guard let tls = configuration.tls else { throw TLSError("HTTPS is off (tls-port 0)") }
        let certificate = try TLSCertificate.load(certificateFile: tls.certificateFile, keyFile: tls.keyFile)
        TLSCertificateStore.install(certificate)
        return certificate.serial
    }

    private func startDaemon(port: UInt16, tls: Bool) throws -> OpaquePointer {
        var flags = KEYWAY_MHD_USE_INTERNAL_POLLING_THREAD | KEYWAY_MHD_USE_EPOLL
            | KEYWAY_MHD_ALLOW_SUSPEND_RESUME | KEYWAY_MHD_USE_ERROR_LOG | KEYWAY_MHD_USE_TURBO
        var storage = sockaddr_storage()
        var ipv4 = sockaddr_in()
        var ipv6 = sockaddr_in6()
        if inet_pton(AF_INET, configuration.bindAddress, &ipv4.sin_addr) == 1 {
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = port.bigEndian
            withUnsafeBytes(of: ipv4) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
        } else if inet_pton(AF_INET6, configuration.bindAddress, &ipv6.sin6_addr) == 1 {
            ipv6.sin6_family = sa_family_t(AF_INET6)
            ipv6.sin6_port = port.bigEndian
            withUnsafeBytes(of: ipv6) { raw in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: raw) } }
            flags |= KEYWAY_MHD_USE_IPv6
        } else {
            throw HTTPServerError.invalidBindAddress(configuration.bindAddress)
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        let started = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                if tls {
                    let callback = unsafeBitCast(tlsRetrieveCertificate, to: UnsafeMutableRawPointer.self)
                    // GnuTLS copies the CA list while the daemon starts.
                    let pem = trust.withLock { $0 }
                    return pem.withUnsafeBufferPointerIfPresent { trustPEM in
                        keyway_mhd_start_tls(
                            flags, port, address,
                            UInt32(max(1, configuration.threads)),
                            UInt32(ConnectionGuard.daemonLimit(for: configuration.connectionLimit)),
                            UInt32(configuration.maxConnectionsPerAddress),
                            UInt32(configuration.connectionTimeoutSeconds),
                            configuration.connectionMemoryBytes,
                            httpsAccessHandler, context,
                            httpRequestCompleted, context,
                            httpConnectionNotified, context,
                            callback, trustPEM)
                    }
                }
                return keyway_mhd_start(
                    flags, port, address,
                    UInt32(max(1, configuration.threads)),
                    UInt32(ConnectionGuard.daemonLimit(for: configuration.connectionLimit)),
                    UInt32(configuration.maxConnectionsPerAddress),
                    UInt32(configuration.connectionTimeoutSeconds),
                    configuration.connectionMemoryBytes,
                    httpAccessHandler, context,
                    httpRequestCompleted, context,
                    httpConnectionNotified, context)
            }
        }
        guard let started else {
            throw HTTPServerError.startFailed("could not listen\(tls ? " for HTTPS" : "") on \(configuration.bindAddress):\(port) (address in use or not permitted)")
        }
        return started
    }

    /// Stops accepting, ends every event stream, answers every parked
    /// request with 503, and stops the daemon.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        heartbeat.withLock { box in
            box?.timer.cancel()
            box = nil
        }
        connectionGuard.stop()
        for stream in streams.withLock({ Array($0.values) }) { stream.close() }
        for body in bodyStreams.withLock({ Array($0.values) }) { body.close() }
        let waiting = parked.withLock { Array($0.values) }
        for response in waiting {
            response.resolve(HTTPResponse(status: 503, headers: [("Content-Type", "application/json"), ("Connection", "close")],
                                          body: Array(#"{"error":"server shutting down"}"#.utf8)))
        }
        // Give resumed connections a moment to be flushed before stopping.
        var spins = 0
        while (parkedCount > 0 || streamCount > 0 || bodyStreams.withLock({ !$0.isEmpty })) && spins < 200 {
            usleep(5_000)
            spins += 1
        }
        daemon.withLock { daemon in
            if let running = daemon { MHD_stop_daemon(running.pointer) }
            daemon = nil
        }
        tlsDaemon.withLock { daemon in
            if let running = daemon { MHD_stop_daemon(running.pointer) }
            daemon = nil
        }
        hangups.stop()
        accessLog?.flush()
        logger.info("stopped")
    }

    // MARK: - Parking

    func registerParked(_ response: ParkedResponse) {
        parked.withLock { $0[ObjectIdentifier(response)] = response }
    }

    func unregisterParked(_ response: ParkedResponse) {
        parked.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(response)) }
    }

    func resume(_ connection: OpaquePointer, parked: ParkedResponse) {
        MHD_resume_connection(connection)
    }

    // MARK: - Event streams

    private func startHeartbeat() {
        let interval = configuration.heartbeatSeconds
        guard interval > 0 else { return }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "keyway.sse-heartbeat"))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        let ping = Array(": ping\n\n".utf8)
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            // One buffer shared by every stream's queue.
            for stream in self.streams.withLock({ Array($0.values) }) { stream.send(ping) }
        }
        timer.resume()
        heartbeat.withLock { $0 = TimerBox(timer: timer) }
    }

    /// The buffer libmicrohttpd allocates with each streaming response
    /// (in the response's own block), for the content reader to fill. A
    /// chunked stream (HTTP/1.1) is read into the connection's pool instead
    /// and never uses it: 16 bytes then, which keep the response record in
    /// a 208-byte malloc block (it was 448 with 256). An HTTP/1.0 client, or
    /// one that asked to close (no chunking), gets its events 256 bytes a call.
    static let eventStreamBlockBytes = 256
    static let chunkedEventStreamBlockBytes = 16

    /// Whether libmicrohttpd will send this request's stream chunked: an
    /// HTTP/1.1 request that did not ask to close the connection.
    private static func streamsChunked(_ connection: OpaquePointer, request: RequestState) -> Bool {
        guard request.http11 else { return false }
        guard let value = MHD_lookup_connection_value(connection, MHDKind.header, "Connection") else { return true }
        return !String(cString: value).lowercased().contains("close")
    }

    private func startStream(_ stream: EventStream, headers: [(String, String)], on connection: OpaquePointer, request: RequestState) -> MHD_Result {
        let context = Unmanaged.passRetained(stream).toOpaque()
        let blockBytes = Self.streamsChunked(connection, request: request) ? Self.chunkedEventStreamBlockBytes : Self.eventStreamBlockBytes
        guard let response = MHD_create_response_from_callback(UInt64.max, blockBytes, eventStreamReader, context,
                                                                eventStreamRelease) else {
            Unmanaged<EventStream>.fromOpaque(context).release()
            return MHD_Result(rawValue: 0)!
        }
        stream.attach(connection: connection, server: self)
        MHD_add_response_header(response, "Content-Type", "text/event-stream")
        MHD_add_response_header(response, "Cache-Control", "no-cache")
        MHD_add_response_header(response, "X-Accel-Buffering", "no")
        for (name, value) in headers { MHD_add_response_header(response, name, value) }
        request.stream = stream
        request.client?.streamStarted(stream)
        streams.withLock { $0[ObjectIdentifier(stream)] = stream }
        let result = MHD_queue_response(connection, 200, response)
        MHD_destroy_response(response)
        counters.countStatus(200)
        (request.statistics ?? router.unmatched).count(status: 200)
        // A stream is logged when it starts: status 200, no body bytes yet.
        if let accessLog { logAccess(to: accessLog, request, status: 200, bytes: 0) }
        return result
    }

    // MARK: - Request lifecycle (called from the C callbacks)

    /// A request's first call: its state, counted and tied to its connection.
    private func beginRequest(on connection: OpaquePointer, _ requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> RequestState {
        let request = RequestState()
        requestState.pointee = Unmanaged.passRetained(request).toOpaque()
        counters.requests.add(1, ordering: .relaxed)
        if let slot = keyway_mhd_socket_context(connection) {
            let client = Unmanaged<ClientConnection>.fromOpaque(slot).takeUnretainedValue()
            client.requestStarted(now: ClientConnection.monotonicMilliseconds())
            request.client = client
        }
        return request
    }

    fileprivate func handle(
        connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>, version: UnsafePointer<CChar>?,
        uploadData: UnsafePointer<CChar>?, uploadSize: UnsafeMutablePointer<Int>,
        requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        // First call: headers are in, body not yet.
        guard let existing = requestState.pointee else {
            let request = beginRequest(on: connection, requestState)
            if let version, strcmp(version, "HTTP/1.1") == 0 { request.http11 = true }
            if accessLog != nil { beginAccess(request, url: url, method: method) }
            let contentLength = MHD_lookup_connection_value(connection, MHDKind.header, "Content-Length")
            // RFC 9112 6.3: both framings at once is a request smuggling
            // vector; refuse it and close.
            if contentLength != nil, MHD_lookup_connection_value(connection, MHDKind.header, "Transfer-Encoding") != nil {
                request.answered = true
                return queue(ProblemResponse.make(400, code: "BAD_FRAMING",
                                                  detail: "a request may not carry both Content-Length and Transfer-Encoding",
                                                  headers: [("Connection", "close")]), on: connection, for: request)
            }
            if let length = contentLength.flatMap(Self.integer), length > configuration.maxBodyBytes {
                // Read the body and drop it, so the client reads the 413
                // instead of a reset; a body too large to be worth reading
                // is answered at once and the connection closed.
                request.tooLarge = true
                if length / 16 > configuration.maxBodyBytes {
                    request.answered = true
                    return queue(Self.payloadTooLarge(configuration.maxBodyBytes), on: connection, for: request)
                }
            }
            return MHD_Result(rawValue: 1)!
        }
        // The slot holds the request's state until `completed`: borrowed here.
        return Unmanaged<RequestState>.fromOpaque(existing)._withUnsafeGuaranteedRef { request in
            continueRequest(request, connection: connection, url: url, method: method, uploadData: uploadData, uploadSize: uploadSize)
        }
    }

    /// Every call after the first: body chunks, then the final call that
    /// routes and answers; or a parked request resumed.
    private func continueRequest(
        _ request: RequestState, connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>,
        uploadData: UnsafePointer<CChar>?, uploadSize: UnsafeMutablePointer<Int>
    ) -> MHD_Result {
        // A parked request that was resumed: deliver its response, or
        // close the connection when the client hung up meanwhile.
        if let parkedResponse = request.parked {
            guard let response = parkedResponse.takeResumedResponse() else {
                return MHD_Result(rawValue: parkedResponse.isDone ? 0 : 1)!
            }
            unregisterParked(parkedResponse)
            request.client?.setActivity(.normal)
            return queue(response, on: connection, for: request)
        }
        if request.answered {
            uploadSize.pointee = 0
            return MHD_Result(rawValue: 1)!
        }

        // Body chunks.
        if uploadSize.pointee > 0 {
            let size = uploadSize.pointee
            uploadSize.pointee = 0
            if request.tooLarge || request.body.count + size > configuration.maxBodyBytes {
                // libmicrohttpd accepts no response mid-upload: drop the
                // rest of the body and answer 413 on the final call.
                request.tooLarge = true
                request.body = []
                return MHD_Result(rawValue: 1)!
            }
            if let uploadData {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: size) { pointer in
                    request.body.append(contentsOf: UnsafeBufferPointer(start: pointer, count: size))
                }
            }
            return MHD_Result(rawValue: 1)!
        }

        // Final call: route and answer.
        request.isHead = strcmp(method, "HEAD") == 0
        let client = request.client
        client?.enter(.answering, now: ClientConnection.monotonicMilliseconds())
        if request.tooLarge {
            return queue(Self.payloadTooLarge(configuration.maxBodyBytes), on: connection, for: request)
        }
        let body = request.body
        request.body = []
        client?.bytesIn.add(Int64(body.count), ordering: .relaxed)
        if accessLog == nil, let fixed = router.fixedRoute(method: method, path: url) {
            return answerFixed(fixed, connection: connection, url: url, method: method, request: request)
        }
        let (httpRequest, headerBytes) = buildRequest(connection: connection, url: url, method: method, body: body, client: client)
        if headerBytes > configuration.connectionMemoryBytes - Self.responseHeaderRoom {
            return queue(Self.headersTooLarge(configuration.connectionMemoryBytes), on: connection, for: request)
        }
        let (result, statistics) = router.respond(to: httpRequest)
        request.statistics = statistics
        if accessLog != nil { request.accessRoute = accessRoute(statistics, httpRequest) }
        switch result {
        case .response(let response):
            // A HEAD's answer keeps the GET's body: libmicrohttpd sends its
            // Content-Length and not the body itself (RFC 9110, 9.3.2).
            return queue(response, on: connection, for: request)
        case .parked(let parkedResponse):
            if stopping.load(ordering: .relaxed) {
                parkedResponse.requestCompleted()
                return queue(HTTPResponse(status: 503), on: connection, for: request)
            }
            request.parked = parkedResponse
            if let immediate = parkedResponse.suspendOrTake(connection: connection, server: self) {
                return queue(immediate, on: connection, for: request)
            }
            request.client?.setActivity(.parked)
            return MHD_Result(rawValue: 1)!
        case .stream(let stream, let headers):
            if stopping.load(ordering: .relaxed) {
                stream.completed()
                return queue(HTTPResponse(status: 503), on: connection, for: request)
            }
            return startStream(stream, headers: headers, on: connection, request: request)
        }
    }

    /// HTTPS only (the TLS daemon's access handler), on a request's first
    /// call: under `tls-auth-clients yes|optional`, a client certificate
    /// that is missing (yes) or not signed by the CA is answered 401/403
    /// and the connection closed, before any route or token check; nil lets
    /// the request through to `handle`.
    fileprivate func refuseUnverifiedClient(connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
                                            requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> MHD_Result? {
        guard clientAuth != .no, requestState.pointee == nil, let session = keyway_mhd_tls_session(connection) else { return nil }
        let problem: HTTPResponse
        switch clientAuth.check(session: session) {
        case .allowed:
            return nil
        case .missing:
            problem = ProblemResponse.make(401, code: "CLIENT_CERTIFICATE_REQUIRED",
                                           detail: "this server requires a client certificate signed by its CA (tls-auth-clients yes)",
                                           headers: [("Connection", "close")])
        case .invalid:
            problem = ProblemResponse.make(403, code: "CLIENT_CERTIFICATE_INVALID",
                                           detail: "the client certificate is not signed by this server's CA, or has expired",
                                           headers: [("Connection", "close")])
        }
        let request = beginRequest(on: connection, requestState)
        if accessLog != nil, let url, let method { beginAccess(request, url: url, method: method) }
        request.answered = true
        return queue(problem, on: connection, for: request)
    }

    fileprivate func completed(requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) {
        guard let requestState, let existing = requestState.pointee else { return }
        let request = Unmanaged<RequestState>.fromOpaque(existing).takeRetainedValue()
        requestState.pointee = nil
        request.client?.enter(.waiting, now: ClientConnection.monotonicMilliseconds())
        if let parkedResponse = request.parked {
            unregisterParked(parkedResponse)
            request.client?.setActivity(.normal)
            parkedResponse.requestCompleted()
        }
        if let stream = request.stream {
            streams.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(stream)) }
            request.client?.streamEnded()
            stream.completed()
        }
        if let body = request.bodyStream {
            bodyStreams.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(body)) }
            body.completed()
        }
    }

    /// `bodyOutlivesServer`: the body is a fixed route's, kept by the
    /// router for as long as the daemon runs, so libmicrohttpd may send it
    /// from where it is instead of copying it.
    private func queue(_ response: HTTPResponse, on connection: OpaquePointer, for request: RequestState,
                       bodyOutlivesServer: Bool = false) -> MHD_Result {
        (request.statistics ?? router.unmatched).count(status: response.status)
        if let body = response.bodyStream { return queueStreaming(response, body: body, on: connection, for: request) }
        // MHD_RESPMEM_PERSISTENT (0) or MHD_RESPMEM_MUST_COPY (2).
        let memoryMode = MHD_ResponseMemoryMode(rawValue: bodyOutlivesServer ? 0 : 2)!
        let mhdResponse = response.body.withUnsafeBytes { raw in
            MHD_create_response_from_buffer(raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress), memoryMode)
        }
        guard let mhdResponse else { return MHD_Result(rawValue: 0)! }
        for (name, value) in response.headers {
            // withCString lends the string's own bytes; passing a String
            // where C wants a pointer allocates a copy.
            name.withCString { name in value.withCString { value in _ = MHD_add_response_header(mhdResponse, name, value) } }
        }
        let sentBytes = request.isHead ? 0 : response.body.count
        if let client = request.client {
            client.bytesOut.add(Int64(sentBytes), ordering: .relaxed)
            if client.closeAfterReply.load(ordering: .relaxed) { MHD_add_response_header(mhdResponse, "Connection", "close") }
        }
        let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
        MHD_destroy_response(mhdResponse)
        counters.countStatus(response.status)
        if let accessLog { logAccess(to: accessLog, request, status: response.status, bytes: sentBytes) }
        return result
    }

    /// A response whose body is produced while it is sent: a content
    /// reader of unknown size, so HTTP/1.1 clients get it chunked.
    private func queueStreaming(_ response: HTTPResponse, body: ResponseBodyStream, on connection: OpaquePointer,
                                for request: RequestState) -> MHD_Result {
        body.attach(connection: connection, server: self)
        let context = Unmanaged.passRetained(body).toOpaque()
        guard let mhdResponse = MHD_create_response_from_callback(UInt64.max, 32 * 1024, responseBodyReader, context,
                                                                  responseBodyRelease) else {
            Unmanaged<ResponseBodyStream>.fromOpaque(context).release()
            body.completed()
            return MHD_Result(rawValue: 0)!
        }
        for (name, value) in response.headers {
            name.withCString { name in value.withCString { value in _ = MHD_add_response_header(mhdResponse, name, value) } }
        }
        if request.client?.closeAfterReply.load(ordering: .relaxed) == true {
            MHD_add_response_header(mhdResponse, "Connection", "close")
        }
        request.bodyStream = body
        bodyStreams.withLock { $0[ObjectIdentifier(body)] = body }
        let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
        MHD_destroy_response(mhdResponse)
        counters.countStatus(response.status)
        // Logged when it starts, as event streams are: the body's size is not known yet.
        if let accessLog { logAccess(to: accessLog, request, status: response.status, bytes: 0) }
        return result
    }

    // MARK: - Access log (only while `access-log` is on)

    /// A request's first call: its start, method, and its path for a route
    /// until it is routed. The user of the connection's previous request is
    /// forgotten.
    private func beginAccess(_ request: RequestState, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>) {
        request.accessStart = AccessLog.monotonicNanoseconds()
        request.accessMethod = String(cString: method)
        request.accessRoute = Self.pathWithoutQuery(url)
        request.client?.resetRequestUser()
    }

    /// The matched route's pattern; for a request no route answered (404,
    /// 405, a CORS preflight), the pattern of the path's routes when it has
    /// some, else its path.
    private func accessRoute(_ statistics: RouteStatistics, _ request: HTTPRequest) -> String {
        if statistics !== router.unmatched && statistics !== router.options { return statistics.pattern }
        return router.pattern(segments: request.segments) ?? Self.pathWithoutQuery(request.rawPath)
    }

    /// A request answered before routing (400 BAD_FRAMING, 413, a refused
    /// client certificate): the pattern of the path's routes, else its path.
    private func unroutedAccessRoute(_ path: String) -> String {
        router.pattern(segments: PercentDecoding.segments(ofPath: path)) ?? path
    }

    private static func pathWithoutQuery(_ path: String) -> String {
        guard let question = path.utf8.firstIndex(of: UInt8(ascii: "?")) else { return path }
        return String(path[..<question])
    }

    private static func pathWithoutQuery(_ url: UnsafePointer<CChar>) -> String {
        pathWithoutQuery(String(cString: url))
    }

    private func logAccess(to accessLog: AccessLog, _ request: RequestState, status: Int, bytes: Int) {
        let now = AccessLog.now()
        let elapsed = AccessLog.monotonicNanoseconds() &- request.accessStart
        let client = request.client
        accessLog.log(AccessLogEntry(
            seconds: now.seconds, nanoseconds: now.nanoseconds,
            client: client?.address ?? "", connection: client?.id, user: client?.requestUser,
            method: request.accessMethod,
            route: request.statistics == nil ? unroutedAccessRoute(request.accessRoute) : request.accessRoute,
            status: status, bytes: bytes, durationNanoseconds: request.accessStart == 0 ? 0 : elapsed))
    }

    /// A fixed route (`/healthz`) answered as the router would, from the
    /// path as sent: no `HTTPRequest` is built, nothing is routed.
    private func answerFixed(_ route: Router.FixedRoute, connection: OpaquePointer, url: UnsafePointer<CChar>,
                             method: UnsafePointer<CChar>, request: RequestState) -> MHD_Result {
        var headerBytes = 0
        withUnsafeMutablePointer(to: &headerBytes) { pointer in
            _ = MHD_get_connection_values(connection, MHDKind.header, countHeaderBytes, pointer)
            _ = MHD_get_connection_values(connection, MHDKind.query, countQueryArgumentBytes, pointer)
        }
        if strlen(method) + 1 + strlen(url) + 11 + headerBytes > configuration.connectionMemoryBytes - Self.responseHeaderRoom {
            return queue(Self.headersTooLarge(configuration.connectionMemoryBytes), on: connection, for: request)
        }
        request.statistics = route.statistics
        request.client?.noteCommand(route.statistics.label)
        return queue(route.response, on: connection, for: request, bodyOutlivesServer: true)
    }

    /// The request, and how much of the connection's pool its request line
    /// and headers take (as read, plus libmicrohttpd's index of them).
    private func buildRequest(connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>,
                              body: [UInt8], client: ClientConnection?) -> (HTTPRequest, headerBytes: Int) {
        let rawPath = String(cString: url)
        var collector = ValueCollector()
        withUnsafeMutablePointer(to: &collector) { pointer in
            _ = MHD_get_connection_values(connection, MHDKind.header, collectHeader, pointer)
            _ = MHD_get_connection_values(connection, MHDKind.query, collectQueryArgument, pointer)
        }
        let request = HTTPRequest(
            method: Self.methodName(method),
            rawPath: rawPath,
            segments: PercentDecoding.segments(ofPath: rawPath),
            query: collector.query,
            fields: collector.headers,
            body: body,
            remoteAddress: client?.host ?? ConnectionRegistry.peerHost(connection),
            connection: client)
        let requestLine = strlen(method) + 1 + rawPath.utf8.count + 11
        return (request, requestLine + collector.headerBytes)
    }

    /// A header's value read as `Int(String)` reads it (an optional sign,
    /// then digits, nothing else; nil on overflow), without making a String.
    private static func integer(_ text: UnsafePointer<CChar>) -> Int? {
        var index = 0
        var negative = false
        if text[0] == 0x2B || text[0] == 0x2D {
            negative = text[0] == 0x2D
            index = 1
        }
        guard text[index] != 0 else { return nil }
        var value = 0
        while text[index] != 0 {
            let digit = Int(text[index]) - 0x30
            guard digit >= 0 && digit <= 9 else { return nil }
            let (shifted, overflowShift) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowAdd) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            if overflowShift || overflowAdd { return nil }
            value = next
            index += 1
        }
        return value
    }

    /// The request method as a string: the common ones as literals,
    /// without measuring and validating the C string.
    private static func methodName(_ method: UnsafePointer<CChar>) -> String {
        func spells(_ name: StaticString) -> Bool {
            name.withUTF8Buffer { letters in
                // Stops at the first difference, so never reads past the terminator.
                for index in 0..<letters.count where UInt8(bitPattern: method[index]) != letters[index] { return false }
                return method[letters.count] == 0
            }
        }
        if spells("GET") { return "GET" }
        if spells("POST") { return "POST" }
        if spells("PUT") { return "PUT" }
        return String(cString: method)
    }

    // MARK: - Canned responses

    /// What a response's own headers need of the connection's pool. When
    /// a request's headers fit but leave less than this, libmicrohttpd
    /// cannot build the response and closes the connection without one;
    /// such requests are answered 431 here instead.
    /// (Measured: with 7 KiB, a problem answer still fitted with some
    /// 180 bytes left of the pool by this count, a 404 no longer.)
    static let responseHeaderRoom = 256
    /// libmicrohttpd's record of one request header, in the pool.
    static let headerRecordBytes = 64

    static func headersTooLarge(_ limit: Int) -> HTTPResponse {
        ProblemResponse.make(431, code: "HEADERS_TOO_LARGE",
                             detail: "the request line and headers must fit in \(limit - responseHeaderRoom) bytes (client-header-buffer)",
                             headers: [("Connection", "close")])
    }

    static func payloadTooLarge(_ limit: Int) -> HTTPResponse {
        ProblemResponse.make(413, code: "PAYLOAD_TOO_LARGE", detail: "request body exceeds the limit of \(limit) bytes",
                             headers: [("Connection", "close")])
    }
}

/// A Dispatch timer, which libdispatch lets any thread cancel.
struct TimerBox: @unchecked Sendable {
    let timer: DispatchSourceTimer
}

/// Per-request state kept in libmicrohttpd's `con_cls` slot between calls.
private final class RequestState {
    var body: [UInt8] = []
    var answered = false
    var tooLarge = false
    /// The request line said HTTP/1.1.
    var http11 = false
    /// A HEAD: its answer goes out without the body it describes.
    var isHead = false
    var parked: ParkedResponse?
    var stream: EventStream?
    var bodyStream: ResponseBodyStream?
    /// The matched route's counters; nil until routed.
    var statistics: RouteStatistics?
    /// The connection this request arrived on.
    var client: ClientConnection?
    /// For the access log, set only while it is on: when the request began
    /// (monotonic nanoseconds), its method, and its route pattern (its path,
    /// without the query, until routed).
    var accessStart: UInt64 = 0
    var accessMethod = ""
    var accessRoute = ""
}

/// A C handle (daemon or connection) that libmicrohttpd lets any thread use.
struct CHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

private struct ValueCollector {
    /// Enough for what clients usually send (Host, User-Agent, Accept,
    /// Content-Type, Content-Length, Authorization, ...).
    var headers = HTTPHeaderFields(capacity: 8)
    /// Header lines as read ("name: value\r\n") plus libmicrohttpd's
    /// record of each (see `HTTPServer.responseHeaderRoom`).
    var headerBytes = 0
    var query: [(name: String, value: [UInt8])] = []
}

/// libmicrohttpd's value kinds, named once.
enum MHDKind {
    static let header = MHD_ValueKind(rawValue: 1)!
    static let query = MHD_ValueKind(rawValue: 8)!
}

private func collectHeader(_ context: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind,
                           _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> MHD_Result {
    guard let context, let key else { return MHD_Result(rawValue: 1)! }
    let collector = context.assumingMemoryBound(to: ValueCollector.self)
    let value = value.map { String(cString: $0) } ?? ""
    collector.pointee.headerBytes += strlen(key) + value.utf8.count + 4 + HTTPServer.headerRecordBytes
    // libmicrohttpd copies a Cookie header into the pool once more to parse it.
    if strcasecmp(key, "Cookie") == 0 { collector.pointee.headerBytes += value.utf8.count + HTTPServer.headerRecordBytes }
    collector.pointee.headers.append(lowercasedASCII(key), value)
    return MHD_Result(rawValue: 1)!
}

/// `collectHeader`'s count of the pool a header takes, without keeping it.
private func countHeaderBytes(_ context: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind,
                              _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> MHD_Result {
    guard let context, let key else { return MHD_Result(rawValue: 1)! }
    let total = context.assumingMemoryBound(to: Int.self)
    let valueLength = value.map { strlen($0) } ?? 0
    total.pointee += strlen(key) + valueLength + 4 + HTTPServer.headerRecordBytes
    if strcasecmp(key, "Cookie") == 0 { total.pointee += valueLength + HTTPServer.headerRecordBytes }
    return MHD_Result(rawValue: 1)!
}

/// `collectQueryArgument`'s count of the pool a query argument takes.
private func countQueryArgumentBytes(_ context: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind,
                                     _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> MHD_Result {
    guard let context, key != nil else { return MHD_Result(rawValue: 1)! }
    context.assumingMemoryBound(to: Int.self).pointee += HTTPServer.headerRecordBytes
    return MHD_Result(rawValue: 1)!
}

/// A header name lowercased without going through Unicode case mapping.
private func lowercasedASCII(_ name: UnsafePointer<CChar>) -> String {
    let length = strlen(name)
    return String(unsafeUninitializedCapacity: length) { buffer in
        for index in 0..<length {
            let byte = UInt8(bitPattern: name[index])
            buffer[index] = byte >= 65 && byte <= 90 ? byte + 32 : byte
        }
        return length
    }
}

private func collectQueryArgument(_ context: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind,
                                  _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> MHD_Result {
    guard let context, let key else { return MHD_Result(rawValue: 1)! }
    let collector = context.assumingMemoryBound(to: ValueCollector.self)
    let name = String(decoding: PercentDecoding.decode(Array(String(cString: key).utf8), plusAsSpace: true), as: UTF8.self)
    let decoded = value.map { PercentDecoding.decode(Array(String(cString: $0).utf8), plusAsSpace: true) } ?? []
    collector.pointee.headerBytes += HTTPServer.headerRecordBytes
    collector.pointee.query.append((name, decoded))
    return MHD_Result(rawValue: 1)!
}

// The C callbacks: plain functions (never closures in main.swift), reaching
// the server through the context pointer.

private func httpAccessHandler(
    _ context: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
    _ url: UnsafePointer<CChar>?, _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?,
    _ uploadData: UnsafePointer<CChar>?, _ uploadSize: UnsafeMutablePointer<Int>?,
    _ requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let context, let connection, let url, let method, let uploadSize, let requestState else {
        return MHD_Result(rawValue: 0)!
    }
    // The server outlives its daemon: borrowed, not retained, per call.
    return Unmanaged<HTTPServer>.fromOpaque(context)._withUnsafeGuaranteedRef { server in
        server.handle(connection: connection, url: url, method: method, version: version, uploadData: uploadData,
                      uploadSize: uploadSize, requestState: requestState)
    }
}

/// The HTTPS daemon's access handler: client certificates first, then the
/// same request handling as plain HTTP.
private func httpsAccessHandler(
    _ context: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
    _ url: UnsafePointer<CChar>?, _ method: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?,
    _ uploadData: UnsafePointer<CChar>?, _ uploadSize: UnsafeMutablePointer<Int>?,
    _ requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let context, let connection, let requestState else { return MHD_Result(rawValue: 0)! }
    let server = Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue()
    if let refused = server.refuseUnverifiedClient(connection: connection, url: url, method: method, requestState: requestState) { return refused }
    return httpAccessHandler(context, connection, url, method, version, uploadData, uploadSize, requestState)
}

/// A connection opened or closed: its `ClientConnection` is created and
/// kept in the socket-context slot, and removed from the registry on close
/// (before libmicrohttpd closes the socket).
private func httpConnectionNotified(
    _ context: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
    _ socketContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ code: MHD_ConnectionNotificationCode
) {
    guard let context, let connection, let socketContext else { return }
    let server = Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue()
    if Int32(code.rawValue) == KEYWAY_MHD_CONNECTION_STARTED {
        let client = server.connections.opened(connection)
        socketContext.pointee = Unmanaged.passRetained(client).toOpaque()
        server.connectionGuard.admit(client, into: server.connections)
    } else if let slot = socketContext.pointee {
        socketContext.pointee = nil
        server.connections.closed(Unmanaged<ClientConnection>.fromOpaque(slot).takeRetainedValue())
        server.trimmer.released(server.configuration.connectionMemoryBytes)
    }
}

private func eventStreamReader(_ context: UnsafeMutableRawPointer?, _ position: UInt64,
                               _ buffer: UnsafeMutablePointer<CChar>?, _ max: Int) -> Int {
    guard let context, let buffer else { return -1 }
    // The response holds the stream until `eventStreamRelease`: borrowed
    // here, not retained.
    return Unmanaged<EventStream>.fromOpaque(context)._withUnsafeGuaranteedRef { $0.read(into: buffer, max: max) }
}

private func eventStreamRelease(_ context: UnsafeMutableRawPointer?) {
    guard let context else { return }
    Unmanaged<EventStream>.fromOpaque(context).release()
}

private func responseBodyReader(_ context: UnsafeMutableRawPointer?, _ position: UInt64,
                                _ buffer: UnsafeMutablePointer<CChar>?, _ max: Int) -> Int {
    guard let context, let buffer else { return -1 }
    return Unmanaged<ResponseBodyStream>.fromOpaque(context).takeUnretainedValue().read(into: buffer, max: max)
}

private func responseBodyRelease(_ context: UnsafeMutableRawPointer?) {
    guard let context else { return }
    Unmanaged<ResponseBodyStream>.fromOpaque(context).release()
}

private func httpRequestCompleted(
    _ context: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
    _ requestState: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ reason: MHD_RequestTerminationCode
) {
    guard let context else { return }
    Unmanaged<HTTPServer>.fromOpaque(context)._withUnsafeGuaranteedRef { $0.completed(requestState: requestState) }
}

/// Request and status counters, readable without locks.
public final class HTTPCounters: Sendable {
    public let requests = Atomic<Int64>(0)
    public let status2xx = Atomic<Int64>(0)
    public let status4xx = Atomic<Int64>(0)
    public let status5xx = Atomic<Int64>(0)

    func countStatus(_ status: Int) {
        switch status {
        case 200..<300: status2xx.add(1, ordering: .relaxed)
        case 400..<500: status4xx.add(1, ordering: .relaxed)
        case 500...: status5xx.add(1, ordering: .relaxed)
        default: break
        }
    }
}

extension Optional where Wrapped == [CChar] {
    /// The array's base address for the call, or NULL when absent.
    func withUnsafeBufferPointerIfPresent<Result>(_ body: (UnsafePointer<CChar>?) -> Result) -> Result {
        switch self {
        case .some(let array): return array.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
