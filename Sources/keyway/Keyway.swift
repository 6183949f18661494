import ArgumentParser

@main
struct Keyway: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyway",
        abstract: "A Redis-style data store served over HTTP/JSON.",
        discussion: """
            Keyway keeps strings, counters and keys with TTLs in memory and serves them
            through an Upstash-compatible command API (POST / with ["SET","k","v"]) and a
            REST resource API under /v1. Run `keyway serve` and try:

              curl -X PUT localhost:7379/v1/keys/greeting -d '{"value":"hello","ttl":60}'
              curl localhost:7379/get/greeting

            `keyway rdb-tool` is a diagnostic tool for RDB snapshot files: `export`
            writes one from a JSON list of commands, `inspect` prints one (Keyway's or
            a Redis dump.rdb) as JSON.
            """,
        version: "0.1.0",
        subcommands: [Serve.self, Routes.self, ConfigDoc.self, RDBTool.self, AOFTool.self],
        defaultSubcommand: Serve.self
    )
}
