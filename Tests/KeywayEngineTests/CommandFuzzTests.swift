import Foundation
import Testing
@testable import KeywayEngine

/// Every command of the table, run with edge integers (0, -1, ±2^31,
/// ±2^63, 2^64, 1e400), huge counts, option words, empty and binary
/// strings, against keys of every type: the engine must answer each one,
/// an error at worst. A trap (overflow, out-of-range index) would end this
/// process, so reaching the end is the assertion; the run is bounded in
/// commands and seeded, so it is the same every time.
@Suite struct CommandFuzzTests {
    /// Commands that touch the file system or the process, or stream
    /// forever: not for a fuzzer in a test process. And PFSELFTEST, a fixed
    /// self-test that takes seconds in a debug build.
    static let excluded: Set<String> = ["save", "bgsave", "bgrewriteaof", "monitor", "config", "debug", "shutdown", "pfselftest"]

    static let integers = [
        "0", "-1", "1", "2", "3", "-2", "2147483647", "-2147483648", "2147483648", "4294967296",
        "9223372036854775807", "-9223372036854775808", "9223372036854775806", "-9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e400", "-1e400",
        "inf", "-inf", "+inf", "nan", "1.5", "-0", "0x10", "1e18", "-1e18", "4611686018427387904",
    ]
    static let words = [
        "EX", "PX", "EXAT", "PXAT", "NX", "XX", "GT", "LT", "CH", "INCR", "KEEPTTL", "GET", "PERSIST",
        "COUNT", "LIMIT", "WITHSCORES", "WITHSCORE", "BYSCORE", "BYLEX", "REV", "MATCH", "TYPE", "FIELDS",
        "IDLE", "TIME", "RETRYCOUNT", "FORCE", "JUSTID", "LASTID", "MAXLEN", "MINID", "NOMKSTREAM", "~", "=",
        "*", "$", ">", "+", "-", "(1", "[a", "(a", "-inf", "+inf", "LEFT", "RIGHT", "BEFORE", "AFTER", "RANK",
        "MAXLEN", "WEIGHTS", "AGGREGATE", "SUM", "MIN", "MAX", "STORE", "BLOCK", "STREAMS", "GROUP", "CREATE",
        "SETID", "DESTROY", "CREATECONSUMER", "DELCONSUMER", "MKSTREAM", "ENTRIESREAD", "NOACK", "ID",
        "FULL", "CONSUMERS", "GROUPS", "STREAM", "HELP", "LIST", "INFO", "KILL", "USAGE", "SAMPLES", "FLUSH",
        "LOAD", "EXISTS", "ENCODING", "FREQ", "IDLETIME", "ASYNC", "SYNC", "DB", "REPLACE", "LEN", "RESET",
        "FNX", "FXX", "KEEPREF", "DELREF", "ACKED", "sliding-window", "fixed-window", "token-bucket", "sliding-log",
    ]
    static let ids = ["0-0", "0", "1-1", "1-0", "18446744073709551615-18446744073709551615", "18446744073709551615",
                      "1-18446744073709551615", "99999999999999999999-1", "*", "1-*"]
    static let keys = ["s", "n", "l", "h", "st", "z", "x", "missing", "f"]
    static let strings: [Bytes] = [Bytes(), Bytes([0, 255, 128, 10]), Bytes(String(repeating: "a", count: 300)), Bytes("a"), Bytes("m1")]

    /// Keys of every type, a stream with a group and a pending entry, a
    /// counter and a float; and a memory limit, so that an edge offset
    /// (`SETBIT k 2147483647 1`) is refused as OOM instead of building
    /// 256 MiB strings for the commands after it to walk.
    static func seed(_ engine: Engine) {
        let setup: [[String]] = [
            ["FLUSHALL"], ["CONFIG", "SET", "maxmemory", "64mb"],
            ["SET", "s", "hello"], ["SET", "n", "10"], ["SET", "f", "1.5"],
            ["RPUSH", "l", "a", "b", "c", "m1"],
            ["HSET", "h", "a", "1", "b", "x", "m1", "2"],
            ["SADD", "st", "a", "b", "m1"],
            ["ZADD", "z", "1", "a", "2", "b", "3", "m1"],
            ["XADD", "x", "1-1", "a", "1"], ["XADD", "x", "2-1", "b", "2"],
            ["XGROUP", "CREATE", "x", "g", "0"], ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "x", ">"],
        ]
        for command in setup { _ = engine.execute(Command(command.map { Bytes($0) })) }
    }

    static func argument(_ random: inout SplitMix64) -> Bytes {
        switch random.next() % 10 {
        case 0, 1, 2: return Bytes(integers[Int(random.next() % UInt64(integers.count))])
        case 3, 4: return Bytes(keys[Int(random.next() % UInt64(keys.count))])
        case 5, 6: return Bytes(words[Int(random.next() % UInt64(words.count))])
        case 7: return Bytes(ids[Int(random.next() % UInt64(ids.count))])
        case 8: return strings[Int(random.next() % UInt64(strings.count))]
        default: return Bytes(["g", "c", "a", "b", "m1", "x", "1"][Int(random.next() % 7)])
        }
    }

    /// Runs a command as a client would: blocking ones through `submit`,
    /// so their timeouts meet the deadline arithmetic; a parked one is
    /// withdrawn at once.
    static func run(_ engine: Engine, _ spec: CommandSpec, _ arguments: [Bytes]) {
        let command = Command(arguments)
        guard spec.flags.contains(.blocking) else { _ = engine.execute(command); return }
        if case .blocked(let handle) = engine.submit(command, client: DiscardingClient()) { handle.cancel() }
    }

    /// Numeric options followed by each edge integer, appended to a
    /// command's arguments: `XCLAIM ... IDLE -9223372036854775808`.
    static let numericOptions = ["EX", "PX", "EXAT", "PXAT", "COUNT", "LIMIT", "IDLE", "TIME", "RETRYCOUNT", "MAXLEN",
                                 "RANK", "BLOCK", "ENTRIESREAD", "WEIGHTS", "FIELDS"]

    @Test func numericOptionsTakeEveryEdgeInteger() {
        let (engine, _) = makeEngine()
        var random = SplitMix64(seed: 7)
        var answered = 0
        let templates: [String: [String]] = [
            "xclaim": ["x", "g", "c", "0", "1-1"], "xautoclaim": ["x", "g", "c", "0", "0"], "xpending": ["x", "g"],
            "xreadgroup": ["GROUP", "g", "c"], "xadd": ["x"], "xtrim": ["x"], "lpos": ["l", "a"], "set": ["s", "v"],
            "getex": ["s"], "zrangebyscore": ["z", "-inf", "+inf"], "zrange": ["z", "0", "-1"], "scan": ["0"],
            "hexpire": ["h", "100"], "sintercard": ["1", "st"], "zintercard": ["1", "z"], "lmpop": ["1", "l", "LEFT"],
            "zmpop": ["1", "z", "MIN"], "srandmember": ["st"], "zrandmember": ["z"], "hrandfield": ["h"],
        ]
        for spec in CommandTable.standard.all where !Self.excluded.contains(spec.name) {
            Self.seed(engine)
            let base = templates[spec.name]
            for option in Self.numericOptions {
                for edge in Self.integers {
                    var arguments = [Bytes(spec.name)]
                    if let base {
                        arguments += base.map { Bytes($0) }
                    } else {
                        for position in 1..<max(abs(spec.arity), 2) {
                            arguments.append(position == spec.firstKey ? Bytes(Self.keys[Int(random.next() % UInt64(Self.keys.count))])
                                                                       : Self.argument(&random))
                        }
                    }
                    arguments += [Bytes(option), Bytes(edge)]
                    if spec.name == "xreadgroup" { arguments += ["STREAMS", "x", ">"] }
                    Self.run(engine, spec, arguments)
                    answered += 1
                }
            }
        }
        #expect(answered > 50_000)
    }

    @Test(arguments: ["a", "b", "c", "d"])
    func everyCommandAnswersEdgeArguments(_ round: String) {
        let (engine, _) = makeEngine()
        var random = SplitMix64(seed: UInt64(round.utf8.first!) &* 0x9E37_79B9)
        let log = ProcessInfo.processInfo.environment["KEYWAY_FUZZ_LOG"].flatMap { FileHandle(forWritingAtPath: $0) }
        var answered = 0
        for spec in CommandTable.standard.all where !Self.excluded.contains(spec.name) {
            Self.seed(engine)
            for _ in 0..<120 {
                let minimum = abs(spec.arity)
                let count = spec.arity > 0 ? spec.arity : minimum + Int(random.next() % 5)
                var arguments = [Bytes(spec.name)]
                for position in 1..<max(count, 1) {
                    // Key positions get a key most of the time, as real clients send.
                    if position == spec.firstKey && random.next() % 4 != 0 {
                        arguments.append(Bytes(Self.keys[Int(random.next() % UInt64(Self.keys.count))]))
                    } else {
                        arguments.append(Self.argument(&random))
                    }
                }
                if let log { log.write(Data((arguments.map(\.text).joined(separator: " ") + "\n").utf8)) }
                Self.run(engine, spec, arguments)
                answered += 1
            }
        }
        #expect(answered > 15_000)
    }

    /// Each argument position of each command, in turn, takes every edge
    /// integer, against a key of every type, the other arguments drawn at
    /// random: the systematic half of the fuzz.
    @Test func everyArgumentPositionTakesEveryEdgeInteger() {
        let (engine, _) = makeEngine()
        var random = SplitMix64(seed: 2026)
        let log = ProcessInfo.processInfo.environment["KEYWAY_FUZZ_LOG"].flatMap { FileHandle(forWritingAtPath: $0) }
        var answered = 0
        for spec in CommandTable.standard.all where !Self.excluded.contains(spec.name) {
            Self.seed(engine)
            let count = max(abs(spec.arity), 2) + (spec.arity < 0 ? 2 : 0)
            for key in Self.keys {
                for position in 1..<count {
                    for edge in Self.integers {
                        var arguments = [Bytes(spec.name)]
                        for other in 1..<count {
                            if other == position { arguments.append(Bytes(edge)) }
                            else if other == spec.firstKey { arguments.append(Bytes(key)) }
                            else { arguments.append(random.next() % 2 == 0 ? Bytes(key) : Self.argument(&random)) }
                        }
                        if spec.arity > 0 && arguments.count != spec.arity { continue }
                        if let log { log.write(Data((arguments.map(\.text).joined(separator: " ") + "\n").utf8)) }
                        Self.run(engine, spec, arguments)
                        answered += 1
                    }
                }
            }
        }
        #expect(answered > 50_000)
    }
}

/// A blocked client that takes whatever it is given.
private final class DiscardingClient: BlockedClient {
    var isConnected: Bool { true }
    func deliver(_ reply: Reply) {}
}
