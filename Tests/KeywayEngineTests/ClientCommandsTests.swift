import KeywayEngine
import Synchronization
import Testing

/// CLIENT's parsing, replies and Redis error words, against a stand-in
/// for the server's connections.
@Suite struct ClientCommandsTests {
    /// Three connections: a normal one (the caller, id 1), a blocked one and a subscriber.
    final class FakeDirectory: ClientDirectory {
        let state = Mutex<(clients: [ClientInfo], killed: [Int64], caller: Int64?)>(([
            ClientInfo(id: 1, address: "127.0.0.1:5001", localAddress: "127.0.0.1:7379", fd: 10, lastCommand: "get"),
            ClientInfo(id: 2, address: "127.0.0.1:5002", localAddress: "127.0.0.1:7379", fd: 11, flags: "b", lastCommand: "blpop"),
            ClientInfo(id: 3, address: "127.0.0.1:5003", localAddress: "127.0.0.1:7379", fd: 12, flags: "P", kind: .pubsub, channels: 2, patterns: 1),
        ], [], nil))

        func clients() -> [ClientInfo] { state.withLock { $0.clients } }
        func client(id: Int64) -> ClientInfo? { state.withLock { $0.clients.first { $0.id == id } } }
        func setName(_ name: String, id: Int64) -> Bool {
            state.withLock { state in
                guard let index = state.clients.firstIndex(where: { $0.id == id }) else { return false }
                state.clients[index].name = name
                return true
            }
        }
        func kill(ids: [Int64], callerID: Int64?) -> Int {
            state.withLock { state in
                let found = ids.filter { id in state.clients.contains { $0.id == id } }
                state.killed += found
                state.caller = callerID
                state.clients.removeAll { found.contains($0.id) }
                return found.count
            }
        }
        var killed: [Int64] { state.withLock { $0.killed } }
    }

    func setUp() -> (Engine, FakeDirectory) {
        let (engine, _) = makeEngine()
        let directory = FakeDirectory()
        engine.withDatabase { _, state in state.clients = directory }
        return (engine, directory)
    }

    /// Runs a command as if sent by connection `client`.
    func run(_ engine: Engine, as client: Int64? = 1, _ words: Bytes...) -> Reply {
        var command = Command(words)
        command.clientID = client
        return engine.execute(command)
    }

    func lines(_ reply: Reply) -> [String] {
        reply.bytesValue.map { $0.text.split(separator: "\n").map(String.init) } ?? []
    }

    @Test func idAndInfoAnswerForTheCaller() {
        let (engine, _) = setUp()
        #expect(run(engine, as: 2, "CLIENT", "ID").integerValue == 2)
        let info = run(engine, as: 2, "client", "info").bytesValue?.text ?? ""
        #expect(info.hasPrefix("id=2 addr=127.0.0.1:5002 laddr=127.0.0.1:7379 fd=11 name= "))
        #expect(info.contains(" flags=b db=0 "))
        #expect(info.contains(" cmd=blpop "))
        #expect(info.hasSuffix("\n"))
    }

    @Test func listShowsEveryConnectionInRedisFormat() {
        let (engine, _) = setUp()
        let all = lines(run(engine, "CLIENT", "LIST"))
        #expect(all.count == 3)
        #expect(all.map { $0.split(separator: " ")[0] } == ["id=1", "id=2", "id=3"])
        #expect(all[2].contains(" flags=P db=0 sub=2 psub=1 "))
        // A connection that never ran a command shows cmd=NULL, as in Redis.
        #expect(all[2].contains(" cmd=NULL "))
    }

    @Test func listFiltersByTypeAndID() {
        let (engine, _) = setUp()
        #expect(lines(run(engine, "CLIENT", "LIST", "TYPE", "pubsub")).count == 1)
        #expect(lines(run(engine, "CLIENT", "LIST", "TYPE", "NORMAL")).count == 2)
        #expect(lines(run(engine, "CLIENT", "LIST", "TYPE", "replica")).isEmpty)
        let picked = lines(run(engine, "CLIENT", "LIST", "ID", "3", "1", "99"))
        #expect(picked.map { $0.split(separator: " ")[0] } == ["id=1", "id=3"])
    }

    @Test func listRejectsBadFilters() {
        let (engine, _) = setUp()
        #expect(run(engine, "CLIENT", "LIST", "TYPE", "robots").errorMessage == "ERR Unknown client type 'robots'")
        #expect(run(engine, "CLIENT", "LIST", "ID", "x").errorMessage == "ERR Invalid client ID")
        #expect(run(engine, "CLIENT", "LIST", "ID", "-4").errorMessage == "ERR Invalid client ID")
        #expect(run(engine, "CLIENT", "LIST", "ID").errorMessage == "ERR syntax error")
        #expect(run(engine, "CLIENT", "LIST", "TYPE").errorMessage == "ERR syntax error")
        #expect(run(engine, "CLIENT", "LIST", "everything").errorMessage == "ERR syntax error")
    }

    @Test func setNameAndGetNameRoundTrip() {
        let (engine, _) = setUp()
        #expect(run(engine, "CLIENT", "GETNAME") == .null)
        #expect(run(engine, "CLIENT", "SETNAME", "worker-7") == .ok)
        #expect(run(engine, "CLIENT", "GETNAME").bytesValue?.text == "worker-7")
        #expect(run(engine, as: 2, "CLIENT", "GETNAME") == .null)
        #expect(lines(run(engine, "CLIENT", "LIST"))[0].contains(" name=worker-7 "))
        // An empty name clears it.
        #expect(run(engine, "CLIENT", "SETNAME", "") == .ok)
        #expect(run(engine, "CLIENT", "GETNAME") == .null)
    }

    @Test func namesWithSpacesOrControlCharactersAreRefused() {
        let (engine, _) = setUp()
        let refusal = "ERR Client names cannot contain spaces, newlines or special characters."
        #expect(run(engine, "CLIENT", "SETNAME", "two words").errorMessage == refusal)
        #expect(run(engine, "CLIENT", "SETNAME", "line\nbreak").errorMessage == refusal)
        #expect(run(engine, "CLIENT", "SETNAME", Bytes([0x63, 0xC3, 0xA9])).errorMessage == refusal)
        #expect(run(engine, "CLIENT", "GETNAME") == .null)
    }

    @Test func killByIDClosesThatConnectionAndCountsIt() {
        let (engine, directory) = setUp()
        #expect(run(engine, "CLIENT", "KILL", "ID", "3").integerValue == 1)
        #expect(directory.killed == [3])
        #expect(run(engine, "CLIENT", "KILL", "ID", "3").integerValue == 0)
        #expect(lines(run(engine, "CLIENT", "LIST")).count == 2)
    }

    @Test func killSkipsTheCallerUnlessToldNot() {
        let (engine, directory) = setUp()
        #expect(run(engine, "CLIENT", "KILL", "ID", "1").integerValue == 0)
        #expect(run(engine, "CLIENT", "KILL", "TYPE", "normal").integerValue == 1)
        #expect(directory.killed == [2])
        #expect(run(engine, "CLIENT", "KILL", "ID", "1", "SKIPME", "no").integerValue == 1)
        #expect(directory.state.withLock { $0.caller } == 1)
    }

    @Test func killByAddressIsTheOldFormWithOK() {
        let (engine, directory) = setUp()
        #expect(run(engine, "CLIENT", "KILL", "127.0.0.1:5002") == .ok)
        #expect(directory.killed == [2])
        #expect(run(engine, "CLIENT", "KILL", "127.0.0.1:5002").errorMessage == "ERR No such client")
        #expect(run(engine, "CLIENT", "KILL", "ADDR", "127.0.0.1:5003").integerValue == 1)
    }

    @Test func killRejectsBadFilters() {
        let (engine, _) = setUp()
        #expect(run(engine, "CLIENT", "KILL", "ID", "0").errorMessage == "ERR client-id should be greater than 0")
        #expect(run(engine, "CLIENT", "KILL", "ID", "abc").errorMessage == "ERR client-id should be greater than 0")
        #expect(run(engine, "CLIENT", "KILL", "ID", "1", "SKIPME").errorMessage == "ERR syntax error")
        #expect(run(engine, "CLIENT", "KILL", "SKIPME", "maybe").errorMessage == "ERR syntax error")
        #expect(run(engine, "CLIENT", "KILL", "COLOUR", "red").errorMessage == "ERR syntax error")
        #expect(run(engine, "CLIENT", "KILL", "TYPE", "robots").errorMessage == "ERR Unknown client type 'robots'")
        #expect(run(engine, "CLIENT", "KILL", "USER", "alice").integerValue == 0)
    }

    @Test func unknownSubcommandsAndArityUseRedisWords() {
        let (engine, _) = setUp()
        #expect(run(engine, "CLIENT").errorMessage == "ERR wrong number of arguments for 'client' command")
        #expect(run(engine, "CLIENT", "Frobnicate").errorMessage == "ERR unknown subcommand 'Frobnicate'. Try CLIENT HELP.")
        #expect(run(engine, "CLIENT", "ID", "extra").errorMessage == "ERR wrong number of arguments for 'client|id' command")
        #expect(run(engine, "CLIENT", "SETNAME").errorMessage == "ERR wrong number of arguments for 'client|setname' command")
        #expect(run(engine, "CLIENT", "GETNAME", "x").errorMessage == "ERR wrong number of arguments for 'client|getname' command")
        #expect(run(engine, "CLIENT", "KILL").errorMessage == "ERR wrong number of arguments for 'client|kill' command")
        #expect(run(engine, "CLIENT", "PAUSE", "100").errorMessage == "ERR CLIENT PAUSE is not supported over HTTP")
        #expect(run(engine, "CLIENT", "HELP").arrayValue?.isEmpty == false)
    }

    @Test func withoutAConnectionTheCallerCommandsExplainWhy() {
        let (engine, _) = setUp()
        #expect(run(engine, as: nil, "CLIENT", "ID").errorMessage?.hasPrefix("ERR CLIENT needs a client connection") == true)
        // Listing needs no caller.
        #expect(lines(run(engine, as: nil, "CLIENT", "LIST")).count == 3)
        // An engine with no server in front lists nobody.
        let (bare, _) = makeEngine()
        #expect(bare.run("CLIENT", "LIST").bytesValue?.text == "")
    }
}
