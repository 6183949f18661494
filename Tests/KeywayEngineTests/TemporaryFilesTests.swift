import Foundation
import KeywayEngine
import Testing

/// A save or rewrite killed midway leaves its temporary file; the next
/// start removes it, and nothing else.
@Suite struct TemporaryFilesTests {
    @Test func leftoversOfDeadProcessesAreRemovedAtStart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("leftovers-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A pid no process has: the highest ones are free on any test machine.
        var dead: Int32 = 4_194_000
        while kill(dead, 0) == 0 || errno != ESRCH { dead -= 1 }
        let alive = getppid()
        let names = [
            "temp-\(dead)-12345.rdb", "temp-rewriteaof-bg-\(dead).aof",   // left by a killed process
            "temp-\(alive)-777.rdb", "temp-rewriteaof-bg-\(alive).aof",   // another live server's
            "dump.rdb", "appendonly.aof", "temp-notes.rdb", "temp-1-x.rdb", // not temporaries
        ]
        for name in names { FileManager.default.createFile(atPath: directory + "/" + name, contents: Data("x".utf8)) }
        let removed = TemporaryFiles.removeLeftovers(in: directory)
        #expect(removed == ["temp-\(dead)-12345.rdb", "temp-rewriteaof-bg-\(dead).aof"])
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: directory))
        #expect(left == Set(names.dropFirst(2)))
    }
}
