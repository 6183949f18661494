import KeywayEngine
import Testing

/// INFO commandstats/errorstats, SLOWLOG, and CONFIG RESETSTAT.
@Suite struct ObservabilityTests {
    @Test func commandAndErrorStatistics() {
        let (engine, _) = makeEngine()
        engine.run("SET", "a", "1")
        engine.run("SET", "b", "2")
        engine.run("INCR", "a")
        engine.run("RPUSH", "a", "x")      // WRONGTYPE
        engine.run("NOPE")                 // unknown command: an error, not a command
        let fields = engine.infoFields("commandstats")
        #expect(fields["cmdstat_set"]?.hasPrefix("calls=2,usec=") == true)
        #expect(fields["cmdstat_rpush"]?.hasSuffix("failed_calls=1") == true)
        #expect(fields["cmdstat_nope"] == nil)
        let errors = engine.infoFields("errorstats")
        #expect(errors["errorstat_WRONGTYPE"] == "count=1")
        #expect(errors["errorstat_ERR"] == "count=1")
        // Not in the default INFO, in INFO all.
        #expect(engine.infoFields()["cmdstat_set"] == nil)
        #expect(engine.infoFields("all")["cmdstat_set"] != nil)
        #expect(engine.run("CONFIG", "RESETSTAT") == .ok)
        #expect(engine.infoFields("commandstats").keys.filter { $0 != "cmdstat_config" }.isEmpty)
    }

    @Test func slowLogRecordsWithRedisTruncation() {
        let (engine, _) = makeEngine()
        #expect(engine.run("CONFIG", "SET", "slowlog-log-slower-than", "0") == .ok)  // log everything
        engine.run("SLOWLOG", "RESET")
        let long = Bytes(String(repeating: "x", count: 200))
        engine.run("SET", "k", long)
        engine.run(["RPUSH", "list"] + (0..<40).map { Bytes("e\($0)") })
        guard case .array(let entries) = engine.run("SLOWLOG", "GET", "2"), entries.count == 2,
              case .array(let newest) = entries[0], case .array(let older) = entries[1],
              case .array(let rpush) = newest[3], case .array(let set) = older[3] else {
            Issue.record("unexpected SLOWLOG GET shape")
            return
        }
        #expect(rpush.count == 32)
        #expect(rpush.last == .bulk("... (11 more arguments)"))
        #expect(set[2] == .bulk(Bytes(String(repeating: "x", count: 128) + "... (72 more bytes)")))
        #expect(newest[0].integerValue! > older[0].integerValue!)
        // A command no client sent names none.
        #expect(newest.count == 6 && newest[4] == .bulk("") && newest[5] == .bulk(""))
        #expect(engine.run("SLOWLOG", "LEN").integerValue! >= 3)
        #expect(engine.run("CONFIG", "SET", "slowlog-max-len", "1") == .ok)
        #expect(engine.run("SLOWLOG", "LEN").integerValue == 1)
        #expect(engine.run("SLOWLOG", "RESET") == .ok)
        // As in Redis, the RESET itself is logged once it has run.
        #expect(engine.run("SLOWLOG", "LEN").integerValue == 1)
        #expect(engine.run("CONFIG", "SET", "slowlog-log-slower-than", "-1") == .ok)  // off
        engine.run("SLOWLOG", "RESET")
        engine.run("SET", "k", "v")
        #expect(engine.run("SLOWLOG", "LEN").integerValue == 0)
        #expect(engine.run("SLOWLOG", "GET", "-2").errorMessage == "ERR count should be greater than or equal to -1")
    }

    @Test func opsPerSecondIsReported() {
        let (engine, clock) = makeEngine()
        engine.runActiveExpiryCycle()
        for _ in 0..<500 { engine.run("PING") }
        clock.advance(milliseconds: 1000)
        engine.runActiveExpiryCycle()
        #expect(engine.infoFields("stats")["instantaneous_ops_per_sec"] == "500")
    }
}

/// MONITOR at the engine: every command, in order, with its client.
@Suite struct MonitorTests {
    final class Watcher: CommandWatcher, @unchecked Sendable {
        var seen: [MonitoredCommand] = []
        func observe(_ command: MonitoredCommand) { seen.append(command) }
    }

    @Test func watchersSeeCommandsUntilCancelled() {
        let (engine, clock) = makeEngine()
        let watcher = Watcher()
        let subscription = engine.monitor(watcher)
        var command = Command("SET", ["k", "v"])
        command.client = "127.0.0.1"
        _ = engine.execute(command)
        engine.run("GET", "k")
        engine.run("CONFIG", "GET", "hz")  // admin commands are not shown
        #expect(watcher.seen.map { $0.arguments } == [["SET", "k", "v"], ["GET", "k"]])
        #expect(watcher.seen.first?.client == "127.0.0.1")
        #expect(watcher.seen.first?.microseconds == clock.nowMicroseconds())
        subscription.cancel()
        engine.run("GET", "k")
        #expect(watcher.seen.count == 2)
        #expect(engine.run("MONITOR").errorMessage?.contains("/v1/monitor") == true)
    }

    /// Lock tokens and session ids are credentials: MONITOR and SLOWLOG
    /// show `(redacted)` in their place; the commands themselves run as sent.
    @Test func secretsAreRedactedInMonitorAndSlowlog() {
        let (engine, _) = makeEngine()
        engine.run("CONFIG", "SET", "slowlog-log-slower-than", "0")
        let watcher = Watcher()
        let subscription = engine.monitor(watcher)
        defer { subscription.cancel() }
        let session: Bytes = "session:AAAAAAAAAAAAAAAAAAAAAA"
        #expect(engine.run("KEYWAY.LOCK", "lock:a", "lock:a:fencing", "s3cret-token", "10000", "0").isError == false)
        #expect(engine.run("KEYWAY.EXTEND", "lock:a", "s3cret-token", "20000") == .integer(1))
        #expect(engine.run("KEYWAY.UNLOCK", "lock:a", "s3cret-token") == .integer(1))
        engine.run("HSET", session, "user", "ada")
        engine.run("SET", "session:short", "x")  // not a session id: shown
        let shown = watcher.seen.map { $0.arguments.map(\.text).joined(separator: " ") }
        #expect(shown == [
            "KEYWAY.LOCK lock:a lock:a:fencing (redacted) 10000 0",
            "KEYWAY.EXTEND lock:a (redacted) 20000",
            "KEYWAY.UNLOCK lock:a (redacted)",
            "HSET session:(redacted) user ada",
            "SET session:short x",
        ])
        let slowlog = "\(engine.run("SLOWLOG", "GET", "10"))"
        #expect(!slowlog.contains("s3cret-token") && !slowlog.contains("AAAAAAAAAAAAAAAAAAAAAA"))
        #expect(slowlog.contains("(redacted)"))
        #expect(engine.run("HGET", session, "user") == .bulk("ada"))
    }
}
