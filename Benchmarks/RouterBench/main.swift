// RouterBench: the gateway's cost per request without sockets. Each route
// is routed and handled in-process (router match + middleware + handler +
// engine), single-threaded, so the figure is what the gateway and the
// engine spend, apart from libmicrohttpd. Compare builds in the same run.
import Dispatch
import KeywayEngine
import KeywayGateway
import KeywayHTTP

let engine = Engine()
let router = Gateway(executor: engine).makeRouter()
_ = engine.execute(Command("SET", [Bytes("bench:key"), Bytes("hello")]))
_ = engine.execute(Command("HSET", [Bytes("bench:hash"), Bytes("name"), Bytes("Ada")]))

func request(_ method: String, _ path: String, _ body: String = "", token: String? = nil) -> HTTPRequest {
    var headers = ["host": "127.0.0.1:7379", "content-type": "application/json", "user-agent": "bench"]
    if let token { headers["authorization"] = "Bearer " + token }
    return HTTPRequest(method: method, rawPath: path, segments: path.split(separator: "/").map { Array($0.utf8) },
                       headers: headers, body: Array(body.utf8), remoteAddress: "127.0.0.1")
}

// ACL: a user with 20 key patterns (the key matched by the last one) and
// a token issued for it, beside the same requests without credentials.
let patterns = (0..<20).map { Bytes("~tenant\($0):*") }
_ = engine.execute(Command("ACL", [Bytes("SETUSER"), Bytes("bench20"), Bytes("on"), Bytes("+@all"), Bytes("-@dangerous")] + patterns))
guard case .map(let issued) = engine.execute(Command("ACL", [Bytes("TOKEN"), Bytes("CREATE"), Bytes("bench20")])),
      case .bulk(let tokenBytes) = issued[1] else { fatalError("no token") }
let token = tokenBytes.text
let aclKey = "tenant19:user:session:0001234"
let value = String(repeating: "v", count: 100)
_ = engine.execute(Command("SET", [Bytes(aclKey), Bytes(value)]))

let cases: [(String, HTTPRequest)] = [
    ("GET /healthz", request("GET", "/healthz")),
    ("GET /v1/keys/{key}", request("GET", "/v1/keys/bench:key")),
    ("PUT /v1/keys/{key}", request("PUT", "/v1/keys/bench:key", #"{"value":"hello"}"#)),
    ("GET /v1/hashes/{key}/fields/{field}", request("GET", "/v1/hashes/bench:hash/fields/name")),
    (#"POST / ["GET",k]"#, request("POST", "/", #"["GET","bench:key"]"#)),
    (#"POST / ["SET",k,v]"#, request("POST", "/", #"["SET","bench:key","hello"]"#)),
    ("open: GET /v1/keys/{key}", request("GET", "/v1/keys/\(aclKey)")),
    ("ACL 20 patterns: GET /v1/keys/{key}", request("GET", "/v1/keys/\(aclKey)", token: token)),
    ("open: PUT /v1/keys/{key}", request("PUT", "/v1/keys/\(aclKey)", #"{"value":"\#(value)"}"#)),
    ("ACL 20 patterns: PUT /v1/keys/{key}", request("PUT", "/v1/keys/\(aclKey)", #"{"value":"\#(value)"}"#, token: token)),
    (#"open: POST / ["GET",k]"#, request("POST", "/", #"["GET","\#(aclKey)"]"#)),
    (#"ACL 20 patterns: POST / ["GET",k]"#, request("POST", "/", #"["GET","\#(aclKey)"]"#, token: token)),
    (#"open: POST / ["SET",k,v]"#, request("POST", "/", #"["SET","\#(aclKey)","\#(value)"]"#)),
    (#"ACL 20 patterns: POST / ["SET",k,v]"#, request("POST", "/", #"["SET","\#(aclKey)","\#(value)"]"#, token: token)),
]

// The same requests with the default user's password as the bearer token
// (`--token`), on a second gateway: authentication without rule checks.
let securedEngine = Engine()
let securedRouter = Gateway(executor: securedEngine, configuration: GatewayConfiguration(token: "bench-admin-password")).makeRouter()
_ = securedEngine.execute(Command("SET", [Bytes(aclKey), Bytes(value)]))
let passwordCases: [(String, HTTPRequest)] = [
    ("password: GET /v1/keys/{key}", request("GET", "/v1/keys/\(aclKey)", token: "bench-admin-password")),
    ("password: PUT /v1/keys/{key}", request("PUT", "/v1/keys/\(aclKey)", #"{"value":"\#(value)"}"#, token: "bench-admin-password")),
    (#"password: POST / ["GET",k]"#, request("POST", "/", #"["GET","\#(aclKey)"]"#, token: "bench-admin-password")),
    (#"password: POST / ["SET",k,v]"#, request("POST", "/", #"["SET","\#(aclKey)","\#(value)"]"#, token: "bench-admin-password")),
]

let iterations = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 200_000
// `RouterBench N "label"` runs one case (for `perf stat -e instructions`).
let only = CommandLine.arguments.dropFirst(2).first
for (label, request, router) in cases.map({ ($0.0, $0.1, router) }) + passwordCases.map({ ($0.0, $0.1, securedRouter) })
    where only == nil || label == only {
    var best = Double.infinity
    for _ in 0..<5 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations {
            guard case .found(let handler, let parameters, _) = router.match(method: request.method, segments: request.segments) else {
                fatalError("no route for \(label)")
            }
            _ = handler(request, parameters)
        }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations))
    }
    print("\(label)\t\(String(format: "%.0f", best)) ns")
}
