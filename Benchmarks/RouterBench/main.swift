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

func request(_ method: String, _ path: String, _ body: String = "") -> HTTPRequest {
    HTTPRequest(method: method, rawPath: path, segments: path.split(separator: "/").map { Array($0.utf8) },
                headers: ["host": "127.0.0.1:7379", "content-type": "application/json", "user-agent": "bench"],
                body: Array(body.utf8), remoteAddress: "127.0.0.1")
}

let cases: [(String, HTTPRequest)] = [
    ("GET /healthz", request("GET", "/healthz")),
    ("GET /v1/keys/{key}", request("GET", "/v1/keys/bench:key")),
    ("PUT /v1/keys/{key}", request("PUT", "/v1/keys/bench:key", #"{"value":"hello"}"#)),
    ("GET /v1/hashes/{key}/fields/{field}", request("GET", "/v1/hashes/bench:hash/fields/name")),
    (#"POST / ["GET",k]"#, request("POST", "/", #"["GET","bench:key"]"#)),
    (#"POST / ["SET",k,v]"#, request("POST", "/", #"["SET","bench:key","hello"]"#)),
]

let iterations = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 200_000
for (label, request) in cases {
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
