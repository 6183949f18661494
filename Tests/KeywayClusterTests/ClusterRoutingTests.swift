import KeywayEngine
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing
@testable import KeywayCluster

/// The cluster backend's pure parts: the key-to-slot function (checked
/// against redis-server's own CLUSTER KEYSLOT answers), the RESP reply
/// decoder, redirection parsing and the slot map. The routing itself runs
/// against a real cluster in Tests/python/test_cluster_backend.py.
@Suite struct ClusterRoutingTests {
    @Test(arguments: [
        ("foo", 12182), ("bar", 5061), ("hello", 866), ("123456789", 12739),
        ("{user1000}.following", 3443), ("a{}b", 13694), ("{}", 15257), ("x{y", 2740), ("{a}{b}", 15495),
    ])
    func slotsMatchRedis(key: String, slot: Int) {
        #expect(HashSlot.of(Bytes(key)) == slot)
    }

    @Test func hashTagsKeepKeysTogether() {
        #expect(HashSlot.of(Bytes("{user:42}:profile")) == HashSlot.of(Bytes("{user:42}:sessions")))
        #expect(HashSlot.of(Bytes("{user:42}:profile")) == HashSlot.of(Bytes("user:42")))
        #expect(HashSlot.of(Bytes([0, 255, 13, 10])) < HashSlot.count)
    }

    func decode(_ text: String) throws -> [Reply] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPReplyDecoder()))
        var buffer = channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        try channel.writeInbound(buffer)
        var replies: [Reply] = []
        while let reply = try channel.readInbound(as: Reply.self) { replies.append(reply) }
        return replies
    }

    @Test func decodesEveryReplyType() throws {
        let replies = try decode("+OK\r\n-ERR bad\r\n-WRONGTYPE Operation\r\n:42\r\n$3\r\nabc\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n*-1\r\n$0\r\n\r\n")
        #expect(replies == [
            .status("OK"), .error(CommandError(.generic, "ERR bad")), .error(CommandError(.wrongType, "WRONGTYPE Operation")),
            .integer(42), .bulk("abc"), .null, .array([.bulk("a"), .array([.integer(1)])]), .null, .bulk(""),
        ])
    }

    @Test func waitsForWholeRepliesAcrossReads() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPReplyDecoder()))
        let text = "*2\r\n$5\r\nhello\r\n$" + "100000\r\n" + String(repeating: "x", count: 100_000) + "\r\n"
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + 1000, bytes.count)
            var buffer = channel.allocator.buffer(capacity: end - offset)
            buffer.writeBytes(bytes[offset..<end])
            try channel.writeInbound(buffer)
            if end < bytes.count { #expect(try channel.readInbound(as: Reply.self) == nil) }
            offset = end
        }
        guard case .array(let parts)? = try channel.readInbound(as: Reply.self) else { Issue.record("no reply"); return }
        #expect(parts.first == .bulk("hello"))
        #expect(parts.last == .bulk(Bytes(String(repeating: "x", count: 100_000))))
    }

    @Test func decodesLongArraysArrivingInSmallPieces() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPReplyDecoder()))
        var text = "*10000\r\n"
        for n in 0..<10_000 { text += ":\(n)\r\n" }
        text += "+OK\r\n"
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: 100) {
            var buffer = channel.allocator.buffer(capacity: 100)
            buffer.writeBytes(bytes[start..<min(start + 100, bytes.count)])
            try channel.writeInbound(buffer)
        }
        #expect(try channel.readInbound(as: Reply.self) == .array((0..<10_000).map { .integer(Int64($0)) }))
        #expect(try channel.readInbound(as: Reply.self) == .status("OK"))
    }

    @Test func refusesWhatIsNotRESP() {
        #expect(throws: (any Error).self) { try decode("?what\r\n") }
        #expect(throws: (any Error).self) { try decode(":notanumber\r\n") }
        let deep = String(repeating: "*1\r\n", count: 10_000) + ":1\r\n"
        #expect(throws: (any Error).self) { try decode(deep) }
    }

    @Test func nodeErrorsGetTheEnginesCodes() {
        #expect(RESPReplyDecoder.errorCode("ERR value is not an integer or out of range") == .notInteger)
        #expect(RESPReplyDecoder.errorCode("ERR invalid expire time in 'set' command") == .invalidExpire)
        #expect(RESPReplyDecoder.errorCode("ERR syntax error") == .syntax)
        #expect(RESPReplyDecoder.errorCode("ERR wrong number of arguments for 'get' command") == .wrongArity)
        #expect(RESPReplyDecoder.errorCode("WRONGTYPE Operation against a key holding the wrong kind of value") == .wrongType)
        #expect(RESPReplyDecoder.errorCode("ERR Error running script") == .generic)
    }

    @Test func parsesRedirections() {
        let moved = Redirection("MOVED 3999 127.0.0.1:6381")
        #expect(moved?.kind == .moved && moved?.slot == 3999 && moved?.address == NodeAddress(host: "127.0.0.1", port: 6381))
        let ask = Redirection("ASK 12 [::1]:7000")
        #expect(ask?.kind == .ask && ask?.address == NodeAddress(host: "::1", port: 7000))
        #expect(Redirection("MOVED 99999 127.0.0.1:6381") == nil)
        #expect(Redirection("ERR MOVED 1 a:1") == nil)
        #expect(Redirection("MOVED 1 nohostport") == nil)
    }

    @Test func loadsClusterSlots() {
        let map = SlotMap()
        let reply = Reply.array([
            .array([.integer(0), .integer(5460), .array([.bulk("127.0.0.1"), .integer(7001), .bulk("id1")]),
                    .array([.bulk("127.0.0.1"), .integer(7004), .bulk("id4")])]),
            .array([.integer(5461), .integer(16383), .array([.bulk(""), .integer(7002), .bulk("id2")])]),
        ])
        #expect(map.load(clusterSlots: reply, fallbackHost: "10.0.0.9"))
        #expect(map.master(of: 0) == NodeAddress(host: "127.0.0.1", port: 7001))
        #expect(map.replicas(of: 5460) == [NodeAddress(host: "127.0.0.1", port: 7004)])
        #expect(map.master(of: 16383) == NodeAddress(host: "10.0.0.9", port: 7002))
        #expect(map.coveredSlots == HashSlot.count)
        map.move(slot: 7, to: NodeAddress(host: "127.0.0.1", port: 7003))
        #expect(map.master(of: 7) == NodeAddress(host: "127.0.0.1", port: 7003))
        #expect(map.masters.count == 3)
        #expect(!map.load(clusterSlots: .array([.integer(1)]), fallbackHost: "x"))
        #expect(map.master(of: 7) == NodeAddress(host: "127.0.0.1", port: 7003))
    }

    @Test func policyRefusesWhatOnlyTheEngineHas() {
        let table = CommandTable.standard
        #expect(ClusterCommandPolicy.unsupported(table.lookup(Bytes("save"))!) != nil)
        #expect(ClusterCommandPolicy.unsupported(table.lookup(Bytes("get"))!) == nil)
        #expect(ClusterCommandPolicy.fanOut["dbsize"] != nil)
        for name in ["subscribe", "psubscribe", "ssubscribe", "unsubscribe"] {
            #expect(ClusterCommandPolicy.unsupported(table.lookup(Bytes(name))!) != nil, "\(name) would make a shared connection a subscriber's")
        }
    }

    @Test func waitsOnAnotherEventLoopsThreadButNotOnTheFuturesOwn() throws {
        let nodes = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let routes = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer {
            try? nodes.syncShutdownGracefully()
            try? routes.syncShutdownGracefully()
        }
        let answer = nodes.next().scheduleTask(in: .milliseconds(20)) { 42 }.futureResult
        // From a thread running another event loop, as a route's origin fetch does.
        let waited = try routes.next().submit { try answer.waitOffLoop() }.wait()
        #expect(waited == 42)
        let loop = nodes.next()
        let own = loop.makePromise(of: Int.self)
        let refused = try loop.submit { () -> Bool in
            do {
                _ = try own.futureResult.waitOffLoop()
                return false
            } catch ClusterError.waitOnOwnLoop {
                return true
            } catch {
                return false
            }
        }.wait()
        own.succeed(0)
        #expect(refused)
    }
}
