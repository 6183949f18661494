import NIOCore
import NIOPosix
import NIOSSL

/// How every connection to a node is made: TCP with no delay, a bounded
/// connect time, and TLS first when `cluster-tls` is on, then the
/// handlers of whoever connects (the pooled connections, the pub/sub hubs).
struct NodeTransport: Sendable {
    let settings: ClusterSettings
    /// Built once from `settings.tls`: loading the files per connection
    /// would read them every time.
    let tlsContext: NIOSSLContext?

    init(settings: ClusterSettings) throws {
        self.settings = settings
        guard let tls = settings.tls else {
            tlsContext = nil
            return
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let ca = tls.caCertificateFile {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        }
        if let certificate = tls.certificateFile, let key = tls.keyFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        configuration.certificateVerification = tls.verifyHostname ? .fullVerification : .noHostnameVerification
        tlsContext = try NIOSSLContext(configuration: configuration)
    }

    /// Connects to `address`; `handlers` are added after TLS, in order.
    func connect(to address: NodeAddress, on group: EventLoopGroup,
                 handlers: @escaping @Sendable (Channel) throws -> Void) -> EventLoopFuture<Channel> {
        let tlsContext = self.tlsContext
        let hostname = settings.tls?.verifyHostname == true ? address.host : nil
        return ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(settings.connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tlsContext, serverHostname: hostname))
                    }
                    try handlers(channel)
                }
            }
            .connect(host: address.host, port: address.port)
    }
}
