import Testing
import KeywayEngine

/// Keys are bytes: NUL, 0xFF, CR/LF, invalid UTF-8 and prefixes all stay distinct.
@Suite struct BinaryKeysTests {
    let engine: Engine
    let clock: ManualClock

    init() { (engine, clock) = makeEngine() }

    let nulKey = Bytes([UInt8(ascii: "a"), 0, UInt8(ascii: "b")])
    let ffKey = Bytes([0xFF, 0xFE, 0x00])
    let crlfKey = Bytes("line\r\nbreak")
    let invalidUTF8 = Bytes([0xC3, 0x28, 0xA0, 0xA1])

    @Test func setAndGetBinaryKeys() {
        for (i, key) in [nulKey, ffKey, crlfKey, invalidUTF8, Bytes([0])].enumerated() {
            #expect(engine.run("SET", key, Bytes("value\(i)")) == .ok)
        }
        for (i, key) in [nulKey, ffKey, crlfKey, invalidUTF8, Bytes([0])].enumerated() {
            #expect(engine.run("GET", key) == .bulk(Bytes("value\(i)")))
        }
        #expect(engine.run("DBSIZE") == .integer(5))
    }

    @Test func keysDifferingAfterANulAreDistinct() {
        let a = Bytes([UInt8(ascii: "k"), 0, 1])
        let b = Bytes([UInt8(ascii: "k"), 0, 2])
        engine.run("SET", "k", "plain")
        engine.run("SET", a, "one")
        engine.run("SET", b, "two")
        #expect(engine.run("MGET", "k", a, b) == .array([.bulk("plain"), .bulk("one"), .bulk("two")]))
        #expect(engine.run("DEL", a) == .integer(1))
        #expect(engine.run("EXISTS", "k", a, b) == .integer(2))
    }

    @Test func keysAndScanReturnTheExactBytes() {
        engine.run("SET", nulKey, "1")
        engine.run("SET", ffKey, "2")
        let all = Set((engine.run("KEYS", "*").arrayValue ?? []).compactMap(\.bytesValue))
        #expect(all == [nulKey, ffKey])
        let scanned = engine.run("SCAN", "0", "COUNT", "100").arrayValue?.last?.arrayValue?.compactMap(\.bytesValue) ?? []
        #expect(Set(scanned) == [nulKey, ffKey])
        // Patterns hold bytes too.
        #expect(engine.run("KEYS", Bytes([UInt8(ascii: "a"), 0, UInt8(ascii: "*")])) == .array([.bulk(nulKey)]))
        #expect(engine.run("KEYS", Bytes([0xFF, UInt8(ascii: "?"), 0])) == .array([.bulk(ffKey)]))
    }

    @Test func keyCommandsOnBinaryKeys() {
        engine.run("SET", nulKey, "v", "EX", "100")
        #expect(engine.run("TYPE", nulKey) == .status("string"))
        #expect(engine.ttl(nulKey) == 100)
        #expect(engine.run("RENAME", nulKey, ffKey) == .ok)
        #expect(engine.run("GET", ffKey) == .bulk("v"))
        #expect(engine.ttl(ffKey) == 100)
        #expect(engine.run("COPY", ffKey, invalidUTF8) == .integer(1))
        #expect(engine.run("INCR", crlfKey) == .integer(1))
        #expect(engine.run("APPEND", crlfKey, Bytes([0])) == .integer(2))
        #expect(engine.run("GET", crlfKey) == .bulk(Bytes([UInt8(ascii: "1"), 0])))
        #expect(engine.run("DEL", ffKey, invalidUTF8, crlfKey) == .integer(3))
        #expect(engine.run("DBSIZE") == .integer(0))
    }

    @Test func emptyKeyIsAKeyToo() {
        #expect(engine.run("SET", "", "empty") == .ok)
        #expect(engine.run("GET", "") == .bulk("empty"))
        #expect(engine.run("EXISTS", "") == .integer(1))
        #expect(engine.run("KEYS", "*") == .array([.bulk("")]))
    }
}
