import Foundation
import KeywayEngine
@testable import KeywayGateway
import KeywayHTTP
import Testing

/// The dashboard's files at `/ui`: what the binary carries, how they are
/// served and cached, and when they are not served at all.
@Suite struct DashboardTests {
    static func gateway(token: String? = "s3cret", dashboard: Bool = true) -> InProcessGateway {
        var configuration = GatewayConfiguration(token: token)
        configuration.dashboard = dashboard
        return InProcessGateway(configuration: configuration)
    }

    /// `Sources/KeywayGateway/Dashboard/assets`, found from this file.
    static var assetsDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/KeywayGateway/Dashboard/assets")
    }

    static func filesInAssets() throws -> [String: Data] {
        let root = assetsDirectory.standardizedFileURL.path
        let enumerator = try #require(FileManager.default.enumerator(atPath: root))
        var files: [String: Data] = [:]
        for case let path as String in enumerator {
            var isDirectory: ObjCBool = false
            let full = root + "/" + path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[path] = try Data(contentsOf: URL(fileURLWithPath: full))
            }
        }
        return files
    }

    @Test func theBinaryCarriesEveryFileOfTheAssetsFolderUnderItsPath() throws {
        let files = try Self.filesInAssets()
        #expect(files.count >= 10)
        #expect(Set(files.keys) == Set(DashboardAssets.all.keys))
        for (path, contents) in files {
            #expect(DashboardAssets.all[path]?.body == Array(contents), "\(path) is served with other bytes than the file holds")
        }
    }

    /// Every `/ui/...` the page links and every module a script imports is
    /// an asset: a renamed file cannot leave the page half loaded.
    @Test func everyLinkAndImportResolvesToAnAsset() throws {
        let linked = try NSRegularExpression(pattern: #"(?:href|src)="/ui/([^"]+)""#)
        let imported = try NSRegularExpression(pattern: #"(?:from|import\()\s*"(\.{1,2}/[^"]+)""#)
        var references = 0
        for (path, asset) in DashboardAssets.all {
            let text = String(decoding: asset.body, as: UTF8.self)
            let range = NSRange(text.startIndex..., in: text)
            for match in linked.matches(in: text, range: range) {
                let target = String(text[Range(match.range(at: 1), in: text)!])
                #expect(DashboardAssets.all[target] != nil, "\(path) links /ui/\(target)")
                references += 1
            }
            for match in imported.matches(in: text, range: range) {
                let relative = String(text[Range(match.range(at: 1), in: text)!])
                let base = URL(fileURLWithPath: "/ui/" + path).deletingLastPathComponent()
                let target = String(base.appendingPathComponent(relative).standardized.path.dropFirst("/ui/".count))
                #expect(DashboardAssets.all[target] != nil, "\(path) imports \(relative)")
                references += 1
            }
        }
        #expect(references > 15)
    }

    @Test func servesThePageAndItsFilesWithTheirTypesWithoutCredentials() throws {
        let keyway = Self.gateway()
        let cases = [("/ui", "text/html; charset=utf-8", "index.html"), ("/ui/", "text/html; charset=utf-8", "index.html"),
                     ("/ui/app.js", "text/javascript; charset=utf-8", "app.js"),
                     ("/ui/views/keys.js", "text/javascript; charset=utf-8", "views/keys.js"),
                     ("/ui/style.css", "text/css; charset=utf-8", "style.css"), ("/ui/icon.svg", "image/svg+xml", "icon.svg")]
        for (target, contentType, path) in cases {
            let response = try #require(keyway.send("GET", target))
            let asset = try #require(DashboardAssets.all[path])
            #expect(response.status == 200, "\(target)")
            #expect(response.headerValue("Content-Type") == contentType, "\(target)")
            #expect(response.body == asset.body, "\(target)")
            #expect(response.headerValue("ETag") == asset.etag)
            #expect(response.headerValue("Cache-Control") == "no-cache")
            #expect(response.headerValue("X-Content-Type-Options") == "nosniff")
            #expect(response.headerValue("Content-Security-Policy")?.contains("default-src 'self'") == true)
        }
        let head = try #require(keyway.send("HEAD", "/ui"))
        #expect(head.status == 200)
        #expect(head.headerValue("ETag") == DashboardAssets.all["index.html"]?.etag)
    }

    @Test func etagsAreStrongAndDifferPerFile() {
        let tags = DashboardAssets.all.values.map(\.etag)
        #expect(Set(tags).count == tags.count)
        for tag in tags {
            #expect(tag.hasPrefix("\"") && tag.hasSuffix("\"") && !tag.hasPrefix("W/"))
            #expect(tag.count == 34)
        }
    }

    @Test func aMatchingIfNoneMatchGets304WithoutABody() throws {
        let keyway = Self.gateway()
        let etag = try #require(DashboardAssets.all["app.js"]?.etag)
        for header in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
            let response = try #require(keyway.send("GET", "/ui/app.js", headers: ["If-None-Match": header]))
            #expect(response.status == 304, "\(header)")
            #expect(response.body.isEmpty)
            #expect(response.headerValue("ETag") == etag)
            #expect(response.headerValue("Cache-Control") == "no-cache")
        }
        let stale = try #require(keyway.send("GET", "/ui/app.js", headers: ["If-None-Match": "\"0123\""]))
        #expect(stale.status == 200)
        #expect(stale.body == DashboardAssets.all["app.js"]?.body)
        // Another file's tag is not this one's.
        let other = try #require(DashboardAssets.all["style.css"]?.etag)
        #expect(keyway.send("GET", "/ui/app.js", headers: ["If-None-Match": other])?.status == 200)
    }

    @Test func anUnknownFileIsAProblem404() throws {
        let keyway = Self.gateway()
        for target in ["/ui/nothing.js", "/ui/views", "/ui/../Package.swift", "/ui/views/../../x"] {
            let response = try #require(keyway.send("GET", target))
            #expect(response.status == 404, "\(target)")
            #expect(response.headerValue("Content-Type") == "application/problem+json")
            #expect(response.jsonBody?["code"] == .string("NOT_FOUND"))
        }
        #expect(keyway.send("POST", "/ui")?.status == 405)
    }

    @Test func turnedOffItAnswers404Everywhere() throws {
        let keyway = Self.gateway(dashboard: false)
        for target in ["/ui", "/ui/app.js"] {
            let response = try #require(keyway.send("GET", target))
            #expect(response.status == 404)
            #expect(response.jsonBody?["detail"]?.stringValue?.contains("dashboard is off") == true)
            #expect(response.headerValue("ETag") == nil)
        }
    }

    @Test func servedUnlessTurnedOffOrOpenBeyondLoopback() {
        let cases: [(Bool, Bool, Bool, DashboardAvailability)] = [
            (true, false, false, .served), (true, false, true, .served), (true, true, true, .served),
            (true, true, false, .unprotectedNetwork),
            (false, false, false, .turnedOff), (false, true, true, .turnedOff),
        ]
        for (setting, beyond, authenticated, expected) in cases {
            #expect(DashboardAvailability(setting: setting, listensBeyondLoopback: beyond, requiresAuthentication: authenticated) == expected,
                    "ui \(setting), beyond loopback \(beyond), authentication \(authenticated)")
        }
    }

    /// A browser sends `Origin` on the page's own POSTs: the server's own
    /// origin is not another site's, while other origins and rebound names
    /// are still refused.
    @Test func thePagesOwnOriginMayCallTheAPI() throws {
        var configuration = GatewayConfiguration(token: "s3cret")
        configuration.browser = BrowserPolicy(allowedOrigins: [], allowedHosts: BrowserPolicy.loopbackHosts)
        let keyway = InProcessGateway(configuration: configuration)
        func post(origin: String, host: String) -> HTTPResponse? {
            keyway.send("POST", "/", headers: ["Authorization": "Bearer s3cret", "Content-Type": "application/json",
                                               "Origin": origin, "Host": host], body: #"["SET","k","v"]"#)
        }
        let own = try #require(post(origin: "http://127.0.0.1:7379", host: "127.0.0.1:7379"))
        #expect(own.status == 200)
        #expect(own.headerValue("Access-Control-Allow-Origin") == nil)
        #expect(post(origin: "http://LOCALHOST:7379", host: "localhost:7379")?.status == 200)
        // Another port is another origin.
        #expect(post(origin: "http://127.0.0.1:3000", host: "127.0.0.1:7379")?.jsonBody?["error"]?.stringValue?.contains("not allowed") == true)
        #expect(post(origin: "http://evil.example", host: "127.0.0.1:7379")?.status == 403)
        // A rebound name matches its own Origin, and the Host check refuses it.
        #expect(post(origin: "http://evil.example:7379", host: "evil.example:7379")?.status == 421)
        // The page's own GET of a path-form write is not a cross-site one.
        let get = keyway.send("GET", "/set/k/w", headers: ["Authorization": "Bearer s3cret", "Origin": "http://127.0.0.1:7379",
                                                            "Host": "127.0.0.1:7379", "Sec-Fetch-Site": "same-origin"])
        #expect(get?.status == 200)
    }

    /// What the dashboard asks at sign-in: which commands the user may run.
    @Test func whoamiSaysWhichCommandsTheUserMayRun() throws {
        let keyway = Self.gateway(token: "admin")
        _ = keyway.engine.execute(Command(["ACL", "SETUSER", "reader", "on", ">readerpw", "~*", "+@read", "+config|get"].map { Bytes($0) }))
        let query = "/v1/acl/whoami?command=get&command=SET&command=hset&command=config%7Cget&command=config%7Cset&command=nosuch"
        let reader = try #require(keyway.send("GET", query, headers: ["Authorization": "Basic " + Data("reader:readerpw".utf8).base64EncodedString()]))
        #expect(reader.status == 200)
        #expect(reader.jsonBody?["user"] == .string("reader"))
        let commands = reader.jsonBody?["commands"]
        #expect(commands?["get"] == .bool(true))
        #expect(commands?["set"] == .bool(false))
        #expect(commands?["hset"] == .bool(false))
        #expect(commands?["config|get"] == .bool(true))
        #expect(commands?["config|set"] == .bool(false))
        #expect(commands?["nosuch"] == .bool(false))
        let admin = try #require(keyway.send("GET", query, headers: ["Authorization": "Bearer admin"]))
        #expect(admin.jsonBody?["commands"]?["set"] == .bool(true))
        #expect(admin.jsonBody?["commands"]?["config|set"] == .bool(true))
        // Without ?command= the answer is as before.
        #expect(keyway.send("GET", "/v1/acl/whoami", headers: ["Authorization": "Bearer admin"])?.jsonBody?["commands"] == nil)
    }
}
