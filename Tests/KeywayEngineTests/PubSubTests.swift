import KeywayEngine
import Synchronization
import Testing

/// PUBLISH/PUBSUB, glob pattern subscriptions, keyspace notifications.
@Suite struct PubSubTests {
    final class Inbox: MessageSubscriber, @unchecked Sendable {
        var messages: [PubSubMessage] = []
        func receive(_ message: PubSubMessage) { messages.append(message) }
        var texts: [String] { messages.map { $0.channel.text + "=" + $0.payload.text } }
    }

    @Test func publishCountsChannelAndPatternReceivers() {
        let (engine, _) = makeEngine()
        let a = Inbox(), b = Inbox()
        let subA = engine.subscribe(a, channels: ["news", "sport"], patterns: [])
        _ = engine.subscribe(b, channels: ["news"], patterns: ["n*", "news"])
        #expect(engine.run("PUBLISH", "news", "hi").integerValue == 4)
        #expect(a.texts == ["news=hi"])
        #expect(b.messages.count == 3)
        #expect(Set(b.messages.compactMap { $0.pattern?.text }) == ["n*", "news"])
        #expect(engine.run("PUBLISH", "other", "x").integerValue == 0)
        #expect(engine.run("PUBLISH", "nothing", "x").integerValue == 1, "matches n*")
        #expect(engine.run("PUBLISH", "sport", "goal").integerValue == 1)
        subA.cancel()
        #expect(engine.run("PUBLISH", "sport", "goal").integerValue == 0)
        #expect(a.texts == ["news=hi", "sport=goal"])
    }

    /// Subscribers share the registry's copy of a channel name; whichever
    /// leaves first, the others keep receiving, and the last one out
    /// removes the channel.
    @Test func subscribersOfOneChannelLeaveInAnyOrder() {
        let (engine, _) = makeEngine()
        let inboxes = (0..<3).map { _ in Inbox() }
        let subscriptions = inboxes.map { engine.subscribe($0, channels: [Bytes("news")], patterns: [Bytes("n*")]) }
        #expect(engine.run("PUBLISH", "news", "1").integerValue == 6)
        subscriptions[0].cancel()
        #expect(engine.run("PUBSUB", "NUMSUB", "news") == .array([.bulk("news"), .integer(2)]))
        #expect(engine.run("PUBLISH", "news", "2").integerValue == 4)
        subscriptions[2].cancel()
        subscriptions[2].cancel()
        #expect(engine.run("PUBLISH", "news", "3").integerValue == 2)
        #expect(engine.run("PUBSUB", "NUMPAT").integerValue == 1)
        subscriptions[1].cancel()
        #expect(engine.run("PUBSUB", "CHANNELS") == .array([]))
        #expect(engine.run("PUBSUB", "NUMPAT").integerValue == 0)
        #expect(inboxes.map { $0.messages.count } == [2, 6, 4])
    }

    @Test func pubsubIntrospection() {
        let (engine, _) = makeEngine()
        let inbox = Inbox()
        let subscription = engine.subscribe(inbox, channels: ["a", "b", "news.1"], patterns: ["x*", "y?"])
        #expect(engine.run("PUBSUB", "CHANNELS") == .array([.bulk("a"), .bulk("b"), .bulk("news.1")]))
        #expect(engine.run("PUBSUB", "CHANNELS", "news.*") == .array([.bulk("news.1")]))
        #expect(engine.run("PUBSUB", "NUMSUB", "a", "zzz") == .array([.bulk("a"), .integer(1), .bulk("zzz"), .integer(0)]))
        #expect(engine.run("PUBSUB", "NUMPAT").integerValue == 2)
        #expect(engine.run("PUBSUB", "NOPE").errorMessage?.hasPrefix("ERR unknown subcommand") == true)
        subscription.cancel()
        #expect(engine.run("PUBSUB", "CHANNELS") == .array([]))
        #expect(engine.run("PUBSUB", "NUMPAT").integerValue == 0)
        #expect(engine.run("SUBSCRIBE", "a").errorMessage?.contains("/v1/subscribe") == true)
    }

    /// SPUBLISH reaches shard-channel subscribers only, and PUBLISH never
    /// reaches them: the two namespaces are apart, as in Redis 7.
    @Test func shardChannelsAreANamespaceOfTheirOwn() {
        let (engine, _) = makeEngine()
        let shard = Inbox(), plain = Inbox()
        let shardSubscription = engine.subscribe(shard, channels: [], patterns: [], shardChannels: ["orders:{eu}"])
        _ = engine.subscribe(plain, channels: ["orders:{eu}"], patterns: ["orders:*"])
        #expect(engine.run("SPUBLISH", "orders:{eu}", "o1").integerValue == 1)
        #expect(engine.run("PUBLISH", "orders:{eu}", "o2").integerValue == 2)
        #expect(shard.texts == ["orders:{eu}=o1"] && shard.messages.allSatisfy(\.isShard))
        #expect(plain.messages.count == 2 && plain.messages.allSatisfy { !$0.isShard })
        #expect(engine.run("PUBSUB", "SHARDCHANNELS") == .array([.bulk("orders:{eu}")]))
        #expect(engine.run("PUBSUB", "SHARDNUMSUB", "orders:{eu}", "x") == .array([.bulk("orders:{eu}"), .integer(1), .bulk("x"), .integer(0)]))
        #expect(engine.run("PUBSUB", "CHANNELS") == .array([.bulk("orders:{eu}")]))
        shardSubscription.cancel()
        #expect(engine.run("SPUBLISH", "orders:{eu}", "o3").integerValue == 0)
        #expect(engine.run("PUBSUB", "SHARDCHANNELS") == .array([]))
        #expect(engine.run("SSUBSCRIBE", "a").errorMessage?.contains("shard-channel=") == true)
    }

    @Test func keyspaceNotificationsAreOffByDefault() {
        let (engine, _) = makeEngine()
        let inbox = Inbox()
        _ = engine.subscribe(inbox, channels: [], patterns: ["__key*"])
        engine.run("SET", "k", "v")
        #expect(inbox.messages.isEmpty)
    }

    @Test func keyspaceAndKeyeventChannels() {
        let (engine, clock) = makeEngine()
        let inbox = Inbox()
        _ = engine.subscribe(inbox, channels: [], patterns: ["__key*@0__:*"])
        #expect(engine.run("CONFIG", "SET", "notify-keyspace-events", "KEA") == .ok)
        #expect(engine.run("CONFIG", "GET", "notify-keyspace-events") == .map([.bulk("notify-keyspace-events"), .bulk("AKE")]))
        engine.run("SET", "user:1", "v", "PX", "100")
        engine.run("RPUSH", "queue", "job")
        engine.run("DEL", "queue")
        #expect(inbox.texts == [
            "__keyspace@0__:user:1=set", "__keyevent@0__:set=user:1",
            "__keyspace@0__:user:1=expire", "__keyevent@0__:expire=user:1",
            "__keyspace@0__:queue=rpush", "__keyevent@0__:rpush=queue",
            "__keyspace@0__:queue=del", "__keyevent@0__:del=queue",
        ])
        inbox.messages = []
        // Expiry seen by the active cycle, without anyone reading the key.
        clock.advance(milliseconds: 101)
        while engine.runActiveExpiryCycle() > 0 {}
        #expect(inbox.texts == ["__keyspace@0__:user:1=expired", "__keyevent@0__:expired=user:1"])
    }

    @Test func classesFilterEvents() {
        let (engine, _) = makeEngine()
        let inbox = Inbox()
        _ = engine.subscribe(inbox, channels: [], patterns: ["__keyevent@0__:*"])
        engine.run("CONFIG", "SET", "notify-keyspace-events", "El")  // keyevent channel, list events only
        engine.run("SET", "s", "v")
        engine.run("LPUSH", "l", "x")
        engine.run("SADD", "set", "m")
        #expect(inbox.texts == ["__keyevent@0__:lpush=l"])
        #expect(engine.run("CONFIG", "SET", "notify-keyspace-events", "Q").errorMessage?.contains("Invalid event class character") == true)
        #expect(engine.run("CONFIG", "GET", "notify-keyspace-events") == .map([.bulk("notify-keyspace-events"), .bulk("lE")]))
    }

    @Test func flagStringsRoundTrip() {
        #expect(KeyspaceEventFlags("KEA")?.description == "AKE")
        #expect(KeyspaceEventFlags("Kx")?.description == "xK")
        #expect(KeyspaceEventFlags("")?.description == "")
        #expect(KeyspaceEventFlags("KEZ") == nil)
    }

    @Test func configRules() {
        let (engine, _) = makeEngine()
        #expect(engine.run("CONFIG", "SET", "nope", "1").errorMessage == "ERR Unknown option or number of arguments for CONFIG SET - 'nope'")
        #expect(engine.run("CONFIG", "SET", "hz", "20").errorMessage?.contains("immutable") == true)
        #expect(engine.run("CONFIG", "GET", "hz*") == .map([.bulk("hz"), .bulk("10")]))
        #expect(engine.run("CONFIG", "SET", "notify-keyspace-events").errorMessage?.hasPrefix("ERR unknown subcommand") == true)
        engine.run("GET", "missing")
        #expect(engine.run("CONFIG", "RESETSTAT") == .ok)
        #expect(engine.infoFields("stats")["keyspace_misses"] == "0")
    }
}
