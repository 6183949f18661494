import Foundation
import KeywayGateway
import KeywayTestSupport
import Testing

/// The Upstash-compatible command API: POST /, the path form, pipelines, transactions.
@Suite struct CommandAPITests {
    @Test func setAndGetThroughAJSONArray() throws {
        let server = try TestServer()
        let client = try server.client()
        let set = try client.request("POST", "/", json: #"["SET","greeting","hello","EX",60]"#)
        #expect(set.status == 200)
        #expect(set.json == .object([("result", .string("OK"))]))
        let get = try client.request("POST", "/", json: #"["GET","greeting"]"#)
        #expect(get.json?["result"] == .string("hello"))
        let ttl = try client.request("POST", "/", json: #"["TTL","greeting"]"#)
        #expect(ttl.json?["result"] == .number("60"))
        #expect(try client.request("POST", "/", json: #"["GET","missing"]"#).json?["result"] == .null)
    }

    @Test func numbersArriveAsTheirExactText() throws {
        let server = try TestServer()
        let client = try server.client()
        _ = try client.request("POST", "/", json: #"["SET","f","10.5"]"#)
        let result = try client.request("POST", "/", json: #"["INCRBYFLOAT","f",0.1]"#)
        #expect(result.json?["result"] == .string("10.6"))
        #expect(try client.request("POST", "/", json: #"["INCRBY","n",5]"#).json?["result"] == .number("5"))
    }

    @Test func pathFormTakesOneArgumentPerSegment() throws {
        let server = try TestServer()
        let client = try server.client()
        #expect(try client.request("GET", "/set/a%2Fb%20c/v%00x").json?["result"] == .string("OK"))
        let exists = try client.request("POST", "/", json: "[\"STRLEN\",\"a/b c\"]")
        #expect(exists.json?["result"] == .number("3"))
        // A POST body is the last argument, raw.
        let binary: [UInt8] = [0, 1, 2, 255, 254]
        #expect(try client.request("POST", "/set/bin", body: binary).json?["result"] == .string("OK"))
        let back = try client.request("GET", "/get/bin", headers: ["Upstash-Encoding": "base64"])
        #expect(back.json?["result"] == .string(Data(binary).base64EncodedString()))
        #expect(try client.request("GET", "/ping").json?["result"] == .string("PONG"))
    }

    @Test func keysWithSlashesPercentSpacesNulAndInvalidUTF8() throws {
        let server = try TestServer()
        let client = try server.client()
        let keys = ["a%2Fb", "100%25", "with%20space", "nul%00inside", "bad%FF%FEutf8", "%2F%2F"]
        for (index, key) in keys.enumerated() {
            #expect(try client.request("GET", "/set/\(key)/\(index)").status == 200)
        }
        for (index, key) in keys.enumerated() {
            #expect(try client.request("GET", "/get/\(key)").json?["result"] == .string(String(index)))
        }
        #expect(try client.request("GET", "/dbsize").json?["result"] == .number(String(keys.count)))
    }

    @Test func base64EncodingCoversEveryStringButOK() throws {
        let server = try TestServer()
        let client = try server.client()
        let headers = ["Upstash-Encoding": "base64", "Content-Type": "application/json"]
        #expect(try client.request("POST", "/", headers: headers, body: Array(#"["SET","k","v"]"#.utf8)).json?["result"] == .string("OK"))
        #expect(try client.request("POST", "/", headers: headers, body: Array(#"["GET","k"]"#.utf8)).json?["result"] == .string("dg=="))
        #expect(try client.request("POST", "/", headers: headers, body: Array(#"["PING"]"#.utf8)).json?["result"] == .string("UE9ORw=="))
        #expect(try client.request("POST", "/", headers: headers, body: Array(#"["MGET","k","nope"]"#.utf8)).json?["result"] == .array([.string("dg=="), .null]))
        #expect(try client.request("POST", "/", headers: headers, body: Array(#"["INCR","n"]"#.utf8)).json?["result"] == .number("1"))
    }

    @Test func commandErrorsUseRedisWordingAndStatus400() throws {
        let server = try TestServer()
        let client = try server.client()
        let arity = try client.request("POST", "/", json: #"["GET"]"#)
        #expect(arity.status == 400)
        #expect(arity.json?["error"] == .string("ERR wrong number of arguments for 'get' command"))
        let unknown = try client.request("POST", "/", json: #"["NOPE","a"]"#)
        #expect(unknown.json?["error"] == .string("ERR unknown command 'NOPE', with args beginning with: 'a' "))
        _ = try client.request("POST", "/", json: #"["SET","s","abc"]"#)
        let notInteger = try client.request("POST", "/", json: #"["INCR","s"]"#)
        #expect(notInteger.json?["error"] == .string("ERR value is not an integer or out of range"))
        _ = try client.request("POST", "/", json: #"["SET","max","9223372036854775807"]"#)
        let overflow = try client.request("POST", "/", json: #"["INCR","max"]"#)
        #expect(overflow.status == 400)
        #expect(overflow.json?["error"] == .string("ERR increment or decrement would overflow"))
        let multi = try client.request("POST", "/", json: #"["MULTI"]"#)
        #expect(multi.status == 400)
    }

    @Test func malformedBodiesAreRejectedClearly() throws {
        let server = try TestServer()
        let client = try server.client()
        for body in [#"["SET","a""#, "{}", "[]", #"[["GET","a"]]"#, #"["SET",null,"x"]"#, "", "\u{1}"] {
            let response = try client.request("POST", "/", json: body)
            #expect(response.status == 400, "body \(body)")
            #expect(response.json?["error"]?.stringValue?.hasPrefix("ERR") == true, "body \(body)")
        }
        // The connection is still fine afterwards.
        #expect(try client.request("POST", "/", json: #"["PING"]"#).status == 200)
    }

    @Test func pipelineRunsEachCommandAndReportsEachResult() throws {
        let server = try TestServer()
        let client = try server.client()
        let response = try client.request("POST", "/pipeline", json: #"[["SET","a","1"],["INCR","a"],["INCR","nope","x"],["GET","a"]]"#)
        #expect(response.status == 200)
        #expect(response.json == .array([
            .object([("result", .string("OK"))]),
            .object([("result", .number("2"))]),
            .object([("error", .string("ERR wrong number of arguments for 'incr' command"))]),
            .object([("result", .string("2"))]),
        ]))
    }

    @Test func multiExecIsAtomicAndAbortsOnQueueErrors() throws {
        let server = try TestServer()
        let client = try server.client()
        let ok = try client.request("POST", "/multi-exec", json: #"[["SET","x","5"],["INCRBY","x","10"],["GET","x"]]"#)
        #expect(ok.json == .array([
            .object([("result", .string("OK"))]),
            .object([("result", .number("15"))]),
            .object([("result", .string("15"))]),
        ]))
        let aborted = try client.request("POST", "/multi-exec", json: #"[["SET","x","6"],["GET"]]"#)
        #expect(aborted.status == 400)
        #expect(aborted.json?["error"] == .string("EXECABORT Transaction discarded because of previous errors."))
        #expect(try client.request("GET", "/get/x").json?["result"] == .string("15"))
    }

    @Test func syncTokenGrowsWithWritesOnly() throws {
        let server = try TestServer()
        let client = try server.client()
        let first = Int(try client.request("GET", "/set/a/1").header("upstash-sync-token") ?? "") ?? -1
        let read = Int(try client.request("GET", "/get/a").header("upstash-sync-token") ?? "") ?? -1
        let second = Int(try client.request("GET", "/incr/a").header("upstash-sync-token") ?? "") ?? -1
        #expect(first >= 1)
        #expect(read == first)
        #expect(second > first)
    }

    @Test func concurrentIncrementsSumExactly() throws {
        let server = try TestServer()
        let clients = 16, perClient = 200
        DispatchQueue.concurrentPerform(iterations: clients) { _ in
            guard let client = try? server.client() else { return }
            for _ in 0..<perClient { _ = try? client.request("POST", "/", json: #"["INCR","counter"]"#) }
        }
        let total = try server.client().request("GET", "/get/counter").json?["result"]
        #expect(total == .string(String(clients * perClient)))
    }

    @Test func oversizeBodyGets413() throws {
        let server = try TestServer(maxBody: 1024)
        let response = try server.client().request("POST", "/set/big", body: [UInt8](repeating: 120, count: 5000))
        #expect(response.status == 413)
        #expect(try server.client().request("GET", "/exists/big").json?["result"] == .number("0"))
    }
}
