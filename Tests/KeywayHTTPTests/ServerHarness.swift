import KeywayHTTP
import Logging
import Synchronization

/// Starts a real server on a free port for one test and stops it after.
func withServer<R>(
    maxBody: Int = 1 << 20, threads: Int = 2,
    routes: (inout Router) -> Void,
    _ body: (HTTPServer) throws -> R
) throws -> R {
    var router = Router()
    routes(&router)
    var configuration = HTTPServerConfiguration()
    configuration.port = 0
    configuration.threads = threads
    configuration.maxBodyBytes = maxBody
    let server = HTTPServer(configuration: configuration, router: router, logger: quietLogger)
    try server.start()
    defer { server.stop() }
    return try body(server)
}

/// Tests log only warnings and worse.
let quietLogger: Logger = {
    var logger = Logger(label: "keyway.test")
    logger.logLevel = .warning
    return logger
}()

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

func ok(_ body: String) -> HTTPResult {
    .response(HTTPResponse(status: 200, contentType: "text/plain", body: Array(body.utf8)))
}

/// Waits (bounded) until `condition` holds; for cross-thread hand-offs.
func eventually(timeoutMilliseconds: Int = 5000, _ condition: () -> Bool) -> Bool {
    var waited = 0
    while waited < timeoutMilliseconds {
        if condition() { return true }
        usleep(5_000)
        waited += 5
    }
    return condition()
}

#if canImport(Glibc)
import Glibc
#endif
