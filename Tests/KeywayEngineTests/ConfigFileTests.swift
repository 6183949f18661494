import KeywayEngine
import Testing

/// redis.conf parsing: Redis's argument splitting, comments, errors with lines.
@Suite struct ConfigFileTests {
    @Test func directivesCommentsAndBlankLines() throws {
        let file = try ConfigFile(parsing: """
            # Keyway configuration
            port 7380

            bind 127.0.0.1 ::1
              save 3600 1 300 100
            requirepass "s3cret pass"
            NOTIFY-KEYSPACE-EVENTS Ex\r
            """)
        #expect(file.directives.map(\.name) == ["port", "bind", "save", "requirepass", "notify-keyspace-events"])
        #expect(file.directives[1].arguments == ["127.0.0.1", "::1"])
        #expect(file.directives[2].arguments == ["3600", "1", "300", "100"])
        #expect(file.value("requirepass") == "s3cret pass")
        #expect(file.value("notify-keyspace-events") == "Ex")
        #expect(file.directives[3].line == 6)
    }

    @Test func quotingFollowsRedis() {
        #expect(ConfigFile.splitArguments(#"save """#) == ["save", ""])
        #expect(ConfigFile.splitArguments(#"a "b\tc\x41\n" 'it\'s'"#) == ["a", "b\tcA\n", "it's"])
        #expect(ConfigFile.splitArguments(#"a 'x\n'"#) == ["a", "x\\n"])
        #expect(ConfigFile.splitArguments(#"a "unterminated"#) == nil)
        #expect(ConfigFile.splitArguments(#"a "closed"glued"#) == nil)
        #expect(ConfigFile.splitArguments("   ") == [])
    }

    @Test func badLinesNameTheirLine() {
        #expect(throws: ConfigFile.ParseError(line: 2, message: "unbalanced quotes in configuration line")) {
            try ConfigFile(parsing: "port 1\nrequirepass \"oops\n")
        }
    }

    @Test func theLastValueWins() throws {
        let file = try ConfigFile(parsing: "port 1\nport 2\n")
        #expect(file.value("port") == "2")
        #expect(file.value("bind") == nil)
    }
}
