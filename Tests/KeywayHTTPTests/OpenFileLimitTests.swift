import Testing
@testable import KeywayHTTP

/// How many descriptors `max-connections` needs, and how many connections
/// a given open-file limit leaves room for (the warning at start-up).
struct OpenFileLimitTests {
    @Test func eachListenerNeedsItsDaemonLimitPlusAReserve() {
        #expect(HTTPServer.openFilesNeeded(connections: 50_000) == 55_000 + HTTPServer.reservedFiles)
        #expect(HTTPServer.openFilesNeeded(connections: 100) == 116 + HTTPServer.reservedFiles)
        #expect(HTTPServer.openFilesNeeded(connections: 20_000, listeners: 2) == 44_000 + HTTPServer.reservedFiles)
    }

    @Test func theConnectionsALimitAllowsNeedNoMoreThanIt() {
        for limit in [200, 1024, 4096, 20_000, 65_536, 1_048_576] {
            for listeners in [1, 2] {
                let connections = HTTPServer.connections(forOpenFiles: limit, listeners: listeners)
                #expect(connections >= 1)
                #expect(HTTPServer.openFilesNeeded(connections: connections, listeners: listeners) <= limit)
                // And not far below what fits.
                #expect(HTTPServer.openFilesNeeded(connections: connections + 12, listeners: listeners) > limit)
            }
        }
    }

    @Test func raisingToWhatIsAlreadyAllowedKeepsTheLimit() {
        let now = System.raiseOpenFileLimit(to: 64)
        #expect(now >= 64)
        #expect(System.raiseOpenFileLimit(to: 64) == now)
    }
}
