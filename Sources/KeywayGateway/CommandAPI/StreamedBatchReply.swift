import KeywayEngine
import KeywayHTTP

/// The reply to a big `/pipeline` or `/multi-exec`, sent while the batch
/// runs instead of built whole: the same JSON array, encoded slice by
/// slice into pieces that go out through a chunked `ResponseBodyStream`,
/// so memory for the reply stays bounded and the first results leave
/// before the last command runs.
///
/// - **Status.** Nothing is sent until `wholeReplyBytes` of results are
///   ready: a smaller reply goes out whole with its Content-Length, and a
///   failure found before then (MISCONF) still gets its own status.
/// - **Durability.** With `appendfsync always`, a piece is held back until
///   the writes made before it are on disk (the ticket taken after its
///   slice), as `DurabilityMiddleware` holds whole replies. Once the 200 is
///   out, a piece whose writes were undone is replaced by MISCONF errors
///   in-band, one per command. The worker waits for an fsync only when
///   `heldBytesLimit` of pieces are held, so the batch keeps running while
///   the disk catches up.
/// - **A client that leaves** makes `add` return false: the pipeline stops
///   running its remaining commands.
///
/// Used by one worker thread at a time.
final class StreamedBatchReply {
    /// A reply up to this size is sent whole, with a Content-Length.
    static let wholeReplyBytes = 64 * 1024
    /// Encoded bytes handed to the stream at a time.
    static let pieceBytes = 32 * 1024
    /// Encoded bytes kept back for their fsync before the worker waits for it.
    static let heldBytesLimit = 256 * 1024

    /// Encoded replies waiting to be released.
    private struct Piece {
        var bytes: [UInt8]
        /// Index of its first reply, and how many it holds.
        let first: Int
        let count: Int
        let closesArray: Bool
        let ticket: DurabilityTicket?
        /// The engine's undo count before its first command ran.
        let undosBefore: UInt64
    }

    private let context: ResourceContext
    private let parked: ParkedResponse
    private let encoding: CommandReplyEncoding
    private var json = JSONWriter(capacity: pieceBytes + 1024)
    private var pieceFirst = 0
    private var pieceUndosBefore: UInt64?
    private var encoded = 0
    private var held: [Piece] = []
    private var heldBytes = 0
    /// Released bytes not yet sent, until the response starts.
    private var head: [UInt8] = []
    private var stream: ResponseBodyStream?
    private var stopped = false

    init(_ context: ResourceContext, parked: ParkedResponse) {
        self.context = context
        self.parked = parked
        encoding = CommandReplyEncoding(request: context.request)
    }

    /// Encodes `replies` (the next ones of the batch); their writes are
    /// durable once `ticket` is (nil: nothing to wait for). False once the
    /// reply cannot go on (client gone, MISCONF answered): stop the batch.
    func add(_ replies: [Reply], ticket: DurabilityTicket?, undosBefore: UInt64) -> Bool {
        guard !stopped else { return false }
        if stream == nil && parked.isDone { return stop() }
        if pieceUndosBefore == nil { pieceUndosBefore = undosBefore }
        for reply in replies {
            json.raw(encoded == 0 ? "[" : ",")
            encoding.writeElement(reply, into: &json)
            encoded += 1
            if json.bytes.count >= Self.pieceBytes {
                seal(ticket: ticket, closesArray: false)
                pieceUndosBefore = undosBefore
                if !release(waitingFor: Self.heldBytesLimit) { return false }
            }
        }
        return true
    }

    /// Closes the array and sends what is left: the whole reply if it is
    /// small, else the end of the stream.
    func finish(ticket: DurabilityTicket?) {
        guard !stopped else { return }
        json.raw("]")
        seal(ticket: ticket, closesArray: true)
        guard release(waitingFor: 0) else { return }
        if let stream {
            stream.finish()
        } else {
            let headers = [("Content-Type", "application/json")] + CommandRoutes.syncHeader(context)
            parked.resolve(HTTPResponse(status: 200, headers: headers, body: head))
        }
    }

    private func seal(ticket: DurabilityTicket?, closesArray: Bool) {
        let bytes = json.bytes
        json = JSONWriter(capacity: Self.pieceBytes + 1024)
        let piece = Piece(bytes: bytes, first: pieceFirst, count: encoded - pieceFirst, closesArray: closesArray,
                          ticket: ticket, undosBefore: pieceUndosBefore ?? context.executor.undoCount)
        pieceFirst = encoded
        pieceUndosBefore = nil
        held.append(piece)
        heldBytes += bytes.count
    }

    /// Sends the held pieces whose writes are durable, waiting for the
    /// oldest ones while more than `limit` bytes are held.
    private func release(waitingFor limit: Int) -> Bool {
        var sent = 0
        defer { held.removeFirst(min(sent, held.count)) }
        while sent < held.count {
            let piece = held[sent]
            let durable: Bool
            if let ticket = piece.ticket, !ticket.isDurable {
                guard heldBytes > limit else { break }
                durable = ticket.waitDurable()
            } else {
                durable = true
            }
            sent += 1
            heldBytes -= piece.bytes.count
            if durable && context.executor.undoCount == piece.undosBefore {
                if !send(piece.bytes) { return false }
            } else if stream == nil {
                // Nothing is out yet: the whole reply is the refusal.
                parked.resolve(context.durabilityRefusal())
                return stop()
            } else if !send(misconf(piece)) {
                return false
            }
        }
        return true
    }

    /// In place of a piece whose writes were undone: one MISCONF error per
    /// command, keeping the array's punctuation.
    private func misconf(_ piece: Piece) -> [UInt8] {
        let message = DurabilityMiddleware.message(context.executor)
        var json = JSONWriter(capacity: piece.count * (message.utf8.count + 16))
        for index in piece.first..<(piece.first + piece.count) {
            json.raw(index == 0 ? "[" : ",")
            json.object { o in o.member("error") { $0.string(message) } }
        }
        if piece.closesArray { json.raw("]") }
        return json.bytes
    }

    /// Hands released bytes on: kept until `wholeReplyBytes` are ready,
    /// then the response starts and they stream.
    private func send(_ bytes: [UInt8]) -> Bool {
        if let stream {
            return stream.write(bytes) || stop()
        }
        head += bytes
        guard head.count > Self.wholeReplyBytes else { return true }
        let stream = ResponseBodyStream()
        // A response handed over but never delivered (the client left
        // first) releases the worker.
        parked.setCancellationHandler { stream.completed() }
        // Queued before the response is handed over, so libmicrohttpd's
        // first read finds bytes instead of suspending the connection just
        // as this thread resumes it: a resume that races the suspension
        // made in the content reader was seen to be lost, leaving the
        // connection parked for good.
        stream.write(head)
        head = []
        let headers = [("Content-Type", "application/json")] + CommandRoutes.syncHeader(context)
        guard parked.resolve(HTTPResponse(status: 200, headers: headers, bodyStream: stream)) else { return stop() }
        self.stream = stream
        return !stream.isClosed || stop()
    }

    private func stop() -> Bool {
        stopped = true
        held = []
        heldBytes = 0
        head = []
        return false
    }
}
