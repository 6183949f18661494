import KeywayEngine
import KeywayHTTP

/// Kit helpers of the admin and event-stream routes.
extension ResourceContext {
    /// Runs one command (stamped with the client); an error reply is thrown
    /// as the response `problem` makes of it, for routes whose errors are
    /// not the usual mapping (a save in progress is a 409 conflict).
    @discardableResult
    func execute(_ name: String, _ arguments: [Bytes], onError problem: (CommandError) -> HTTPResponse) throws(HTTPResponse) -> Reply {
        let reply = executor.execute(command(name, arguments))
        if case .error(let error) = reply { throw problem(error) }
        return reply
    }

    /// Opens a Server-Sent Event stream, or throws 503 TOO_MANY_STREAMS when
    /// the server already serves its limit. The caller gives the slot back
    /// with `gateway.eventStreamClosed()` from the stream's close handler.
    func openEventStream() throws(HTTPResponse) -> EventStream {
        guard let stream = gateway.openEventStream() else { throw Gateway.tooManyStreams(gateway.maxEventStreams) }
        return stream
    }
}
