import Testing
@testable import KeywayEngine

@Suite struct AOFRESPTests {
    @Test func encodesCommandsAsRESPArraysOfBulkStrings() {
        let bytes = RESPCommandEncoding.encode(["SET", "key", "value"] as [Bytes])
        #expect(String(decoding: bytes, as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")
        let long = Bytes([UInt8](repeating: 65, count: 1234))
        let encoded = String(decoding: RESPCommandEncoding.encode([Bytes("SET"), Bytes(""), long]), as: UTF8.self)
        #expect(encoded.hasPrefix("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$1234\r\nAAAA"))
    }

    @Test func binaryArgumentsRoundTrip() throws {
        let binary = Bytes([0, 13, 10, 255, 36, 42, 13, 10, 0])
        let commands: [[Bytes]] = [[Bytes("SET"), binary, Bytes("\r\n")], [Bytes("DEL"), Bytes([0xC3, 0x28])], [Bytes("PING")]]
        let bytes = RESPCommandEncoding.encode(commands)
        #expect(try RESPCommandParser.parseAll(bytes) == commands)
    }

    @Test func parsesInputFedOneByteAtATime() throws {
        let commands: [[Bytes]] = (0..<20).map { [Bytes("RPUSH"), Bytes("list"), Bytes("element-\($0)")] }
        let bytes = RESPCommandEncoding.encode(commands)
        var parser = RESPCommandParser()
        var parsed: [[Bytes]] = []
        for byte in bytes {
            parser.feed([byte])
            while let command = try parser.next() { parsed.append(command) }
        }
        try parser.finish()
        #expect(parsed == commands)
        #expect(parser.offset == bytes.count)
    }

    @Test func skipsAnnotationLines() throws {
        let bytes = Array("#TS:1700000000\r\n".utf8) + RESPCommandEncoding.encode(["PING"] as [Bytes])
        #expect(try RESPCommandParser.parseAll(bytes) == [["PING"]])
    }

    @Test func truncatedTailIsReportedAtTheLastGoodOffset() {
        let good = RESPCommandEncoding.encode([["SET", "a", "1"], ["SET", "b", "2"]] as [[Bytes]])
        let whole = RESPCommandEncoding.encode(["SET", "c", "3"] as [Bytes])
        for cut in 1..<whole.count {
            let bytes = good + whole[0..<cut]
            #expect(throws: RESPParseError.truncated(offset: good.count)) {
                _ = try RESPCommandParser.parseAll(bytes)
            }
        }
    }

    @Test func corruptionInTheMiddleNamesItsOffset() {
        let first = RESPCommandEncoding.encode(["SET", "a", "1"] as [Bytes])
        let rest = RESPCommandEncoding.encode(["SET", "b", "2"] as [Bytes])
        // Garbage where a command should start.
        var bytes = first + Array("garbage".utf8) + rest
        #expect(throws: RESPParseError.corrupt(offset: first.count, reason: "expected '*' at the start of a command")) {
            _ = try RESPCommandParser.parseAll(bytes)
        }
        // A bulk length that does not match its data: CRLF missing after it.
        bytes = first + Array("*2\r\n$3\r\nDEL\r\n$1\r\nab\r\n".utf8) + rest
        do {
            _ = try RESPCommandParser.parseAll(bytes)
            Issue.record("expected an error")
        } catch {
            guard case .corrupt(let offset, _) = error else { Issue.record("not corruption: \(error)"); return }
            #expect(offset == first.count + 18)
        }
        // A non-numeric count.
        bytes = first + Array("*x\r\n".utf8) + rest
        #expect(throws: RESPParseError.corrupt(offset: first.count + 1, reason: "invalid argument count")) {
            _ = try RESPCommandParser.parseAll(bytes)
        }
    }
}
