import KeywayEngine
import Testing

/// Negative counts of SRANDMEMBER, HRANDFIELD and ZRANDMEMBER are bounded
/// alike: a count of billions is refused at once instead of holding the
/// engine lock while a reply that size is built.
@Suite struct RandomPicksTests {
    static let outOfRange = "ERR value is out of range, must be between -1048576 and 9223372036854775807"

    @Test(arguments: [
        (["SADD", "k", "a"], ["SRANDMEMBER", "k"]),
        (["HSET", "k", "f", "v"], ["HRANDFIELD", "k"]),
        (["ZADD", "k", "1", "a"], ["ZRANDMEMBER", "k"]),
    ] as [([Bytes], [Bytes])])
    func hugeNegativeCountsAreRefusedAtOnce(setup: [Bytes], command: [Bytes]) {
        let (engine, _) = makeEngine()
        engine.run(setup)
        for count in ["-9223372036854775807", "-67108864", "-1048577"] {
            #expect(engine.run(command + [Bytes(count)]).errorMessage == Self.outOfRange, "\(command[0].text) \(count)")
        }
        #expect(engine.run(command + ["-1048576"]).arrayValue?.count == 1_048_576)
        #expect(engine.run(command + ["-3"]).arrayValue?.count == 3)
        // The engine answers others right after.
        #expect(engine.run("PING") == .status("PONG"))
    }
}
