import KeywayEngine
import Testing

/// The one table of engine parameters, read by CONFIG GET/SET, the config
/// file and the flags alike.
@Suite struct ConfigTableTests {
    /// A reader of the engine table applying to `engine`, as `keyway serve` builds one.
    func reader(_ engine: Engine) -> ConfigReader {
        engine.withDatabase { db, server in
            let target = EngineSettings(db: db, server: server)
            return ConfigReader(ConfigTable.engine.bound { change in
                var settings = target
                change(&settings)
            })
        }
    }

    func get(_ engine: Engine, _ name: String) -> String? {
        guard case .map(let pairs) = engine.run("CONFIG", "GET", Bytes(name)), pairs.count == 2, case .bulk(let value) = pairs[1] else { return nil }
        return value.text
    }

    func fileError(_ engine: Engine, _ text: String) -> String? {
        do {
            try reader(engine).read(try ConfigFile(parsing: text))
            return nil
        } catch {
            return "\(error)"
        }
    }

    func flagError(_ engine: Engine, _ flags: [String]) -> String? {
        do {
            try reader(engine).read(flags: flags)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func everyDefaultRoundTripsThroughConfigGet() {
        let (engine, _) = makeEngine()
        for parameter in ConfigTable.engine.parameters {
            let value = get(engine, parameter.name)
            #expect(value == parameter.defaultValue, "\(parameter.name)")
            if parameter.aliasesListed {
                for alias in parameter.aliases { #expect(get(engine, alias) == parameter.defaultValue, "\(alias)") }
            }
            // The default is a valid value from each source, and reads back the same.
            guard let defaultValue = parameter.defaultValue else { continue }
            if parameter.mutability == .mutable {
                #expect(engine.run("CONFIG", "SET", Bytes(parameter.name), Bytes(defaultValue)) == .ok, "\(parameter.name)")
            }
            #expect(flagError(engine, ["--\(parameter.name)", defaultValue]) == nil, "\(parameter.name)")
            #expect(fileError(engine, "\(parameter.name) \"\(defaultValue)\"\n") == nil, "\(parameter.name)")
            #expect(get(engine, parameter.name) == defaultValue, "\(parameter.name)")
        }
    }

    @Test func configGetListsTheTableInOrder() {
        let (engine, _) = makeEngine()
        guard case .map(let pairs) = engine.run("CONFIG", "GET", "*") else { Issue.record("no map"); return }
        let names = stride(from: 0, to: pairs.count, by: 2).compactMap { index -> String? in
            if case .bulk(let name) = pairs[index] { return name.text }
            return nil
        }
        let expected = ConfigTable.engine.parameters.flatMap { [$0.name] + ($0.aliasesListed ? $0.aliases : []) }
        #expect(names == expected)
        #expect(names.contains("busy-reply-threshold") && names.contains("maxmemory-policy"))
    }

    /// Bad values for every kind of value: CONFIG SET, the file and the flag
    /// refuse them with the same reason, each in its own frame, and nothing changes.
    @Test func badValuesAreRefusedAlikeEverywhere() throws {
        let cases: [(String, String)] = [
            ("maxmemory", "lots"), ("maxmemory", "-1"), ("maxmemory-policy", "lru"), ("maxmemory-samples", "0"),
            ("maxmemory-samples", "65"), ("lfu-log-factor", "-3"), ("lfu-decay-time", "2147483648"), ("slowlog-max-len", "-1"),
            ("slowlog-log-slower-than", "soon"), ("appendonly", "maybe"), ("lua-time-limit", "-5"),
            ("busy-reply-threshold", "x"), ("notify-keyspace-events", "KQ"), ("save", "10"), ("auto-aof-rewrite-percentage", "-1"),
            ("auto-aof-rewrite-min-size", "12parsecs"), ("hz", "0"), ("hz", "501"), ("appendfsync", "sometimes"),
            ("aof-load-truncated", "perhaps"), ("dbfilename", "a/b.rdb"), ("appendfilename", ""),
        ]
        for (name, value) in cases {
            let (engine, _) = makeEngine()
            let parameter = try #require(ConfigTable.engine.parameter(named: name))
            let before = get(engine, name)
            var refusal: ConfigValueError?
            do { _ = try parameter.change(value: value) } catch { refusal = error }
            let error = try #require(refusal, "\(name) \(value)")

            if parameter.mutability == .mutable {
                #expect(engine.run("CONFIG", "SET", Bytes(name), Bytes(value)).errorMessage == error.configSetMessage(name), "\(name)")
                #expect(error.configSetMessage(name).hasPrefix("ERR CONFIG SET failed (possibly related to argument '\(name)') - "))
            }
            let file = fileError(engine, "\(name) \"\(value)\"\n")
            #expect(file == error.fileMessage(line: 1, directive: name, arguments: [value]), "\(name)")
            #expect(file?.hasPrefix("config file line 1: ") == true)
            let flag = flagError(engine, ["--\(name)=\(value)"])
            #expect(flag == error.flagMessage(name), "\(name)")
            #expect(flag?.hasPrefix("--\(name): ") == true)
            for message in [file, flag, error.configSetMessage(name)] {
                #expect(message?.contains(error.rule) == true, "\(name): \(message ?? "")")
            }
            #expect(get(engine, name) == before, "\(name) changed")
        }
    }

    /// The wording the existing tests and clients rely on.
    @Test func redisWordingIsKept() {
        let (engine, _) = makeEngine()
        #expect(engine.run("CONFIG", "SET", "maxmemory-policy", "most-recent").errorMessage
            == "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction")
        #expect(fileError(engine, "maxmemory-policy most-used\n")?.hasPrefix("config file line 1: unknown maxmemory policy 'most-used'") == true)
        #expect(flagError(engine, ["--maxmemory-policy", "lru"])?.contains("--maxmemory-policy must be one of the following: volatile-lru") == true)
        #expect(fileError(engine, "maxmemory 12parsecs\n")?.hasPrefix("config file line 1: expected a size such as 100mb") == true)
        #expect(flagError(engine, ["--maxmemory", "lots"])?.hasPrefix("--maxmemory: expected a size") == true)
        #expect(fileError(engine, "maxmemory-samples 0\n")?.contains("maxmemory-samples must be 1..64") == true)
        #expect(fileError(engine, "frobnicate yes\n") == "config file line 1: Bad directive or wrong number of arguments ('frobnicate yes')")
        #expect(fileError(engine, "hz 10 20\n") == "config file line 1: expected exactly one argument ('hz 10 20')")
        #expect(flagError(engine, ["--frobnicate", "yes"]) == "unknown option '--frobnicate'")
        #expect(flagError(engine, ["--hz"]) == "--hz: missing value")
    }

    @Test func configSetIsAllOrNothing() {
        let (engine, _) = makeEngine()
        #expect(engine.run("CONFIG", "SET", "maxmemory", "100mb", "maxmemory-policy", "lru").errorMessage?.contains("maxmemory-policy") == true)
        #expect(get(engine, "maxmemory") == "0")
        #expect(engine.run("CONFIG", "SET", "maxmemory", "100mb", "nope", "1").errorMessage == "ERR Unknown option or number of arguments for CONFIG SET - 'nope'")
        #expect(get(engine, "maxmemory") == "0")
        #expect(engine.run("CONFIG", "SET", "maxmemory", "1mb", "MAXMEMORY", "2mb").errorMessage
            == "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter")
        #expect(engine.run("CONFIG", "SET", "lua-time-limit", "1", "busy-reply-threshold", "2").errorMessage?.contains("duplicate parameter") == true)
        #expect(engine.run("CONFIG", "SET", "maxmemory", "100mb", "maxmemory-policy", "ALLKEYS-LRU", "lfu-log-factor", "20") == .ok)
        #expect(get(engine, "maxmemory") == String(100 << 20))
        #expect(get(engine, "maxmemory-policy") == "allkeys-lru")
        #expect(get(engine, "lfu-log-factor") == "20")
        #expect(engine.run("CONFIG", "SET", "hz", "20").errorMessage == "ERR CONFIG SET failed (possibly related to argument 'hz') - can't set immutable config")
    }

    /// Paths are protected configs, as Redis 7's `enable-protected-configs no`:
    /// CONFIG SET refuses them, CONFIG GET shows them, the file and the flags set them.
    @Test func pathsAreProtected() {
        let (engine, _) = makeEngine()
        for name in ["dir", "dbfilename", "appendfilename"] {
            #expect(engine.run("CONFIG", "SET", Bytes(name), "elsewhere").errorMessage
                == "ERR CONFIG SET failed (possibly related to argument '\(name)') - can't set protected config")
            #expect(ConfigTable.engine.parameter(named: name)?.mutability == .protected)
        }
        #expect(engine.run("CONFIG", "SET", "save", "60 1", "dir", "/tmp").errorMessage?.contains("protected") == true)
        #expect(get(engine, "save") == "3600 1 300 100 60 10000")
        #expect(get(engine, "dir") == ".")
        #expect(fileError(engine, "dir /var/lib/keyway\ndbfilename snap.rdb\n") == nil)
        #expect(get(engine, "dir") == "/var/lib/keyway")
        #expect(get(engine, "dbfilename") == "snap.rdb")
        #expect(flagError(engine, ["--dir", "/srv/data", "--appendfilename=log.aof"]) == nil)
        #expect(get(engine, "dir") == "/srv/data")
        #expect(get(engine, "appendfilename") == "log.aof")
        #expect(engine.withSnapshotState { $0.path } == "/srv/data/snap.rdb")
    }

    @Test func saveLinesOfOneFileAddUp() {
        let (engine, _) = makeEngine()
        #expect(fileError(engine, "save 900 1\nsave 300 10\n") == nil)
        #expect(get(engine, "save") == "900 1 300 10")
        #expect(fileError(engine, "save 900 1\nsave \"\"\nsave 60 5\n") == nil)
        #expect(get(engine, "save") == "60 5")
        #expect(flagError(engine, ["--save", "10 1 20 2"]) == nil)
        #expect(get(engine, "save") == "10 1 20 2")
        #expect(flagError(engine, ["--save", ""]) == nil)
        #expect(get(engine, "save") == "")
        #expect(fileError(engine, "notify-keyspace-events\n") == nil)
        #expect(get(engine, "notify-keyspace-events") == "")
    }

    @Test func appendonlyChoosesAtStartAndSwitchesAtRunTime() {
        let (engine, _) = makeEngine()
        #expect(flagError(engine, ["--appendonly", "yes"]) == nil)
        #expect(engine.withDatabase { _, server in server.appendOnly.configured })
        #expect(get(engine, "appendonly") == "no")  // not open until the server opens it
    }
}
