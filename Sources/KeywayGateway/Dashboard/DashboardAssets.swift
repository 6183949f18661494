import Crypto

/// The dashboard's files as the binary carries them, by the path under
/// `/ui/` that serves each one.
///
/// SwiftPM embeds every file of `Dashboard/assets` as a byte array named
/// after the file alone (`views/keys.js` becomes `keys_js`), so the paths
/// are spelled out here; a test checks that this table and the folder list
/// the same files.
struct DashboardAsset: Sendable {
    let path: String
    let body: [UInt8]
    let contentType: String
    /// A strong validator: the SHA-256 of the bytes, so it changes exactly
    /// when the file does, across restarts and builds.
    let etag: String

    init(_ path: String, _ body: [UInt8]) {
        self.path = path
        self.body = body
        self.contentType = Self.contentType(of: path)
        let digest = SHA256.hash(data: body)
        self.etag = "\"" + digest.prefix(16).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined() + "\""
    }

    /// By extension; the text types say UTF-8, which every asset is.
    static func contentType(of path: String) -> String {
        switch path.split(separator: ".").last {
        case "html": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "json": return "application/json"
        default: return "application/octet-stream"
        }
    }
}

enum DashboardAssets {
    /// The page `/ui` answers with.
    static let index = "index.html"

    static let all: [String: DashboardAsset] = Dictionary(uniqueKeysWithValues: [
        DashboardAsset("index.html", PackageResources.index_html),
        DashboardAsset("style.css", PackageResources.style_css),
        DashboardAsset("icon.svg", PackageResources.icon_svg),
        DashboardAsset("app.js", PackageResources.app_js),
        DashboardAsset("api.js", PackageResources.api_js),
        DashboardAsset("dom.js", PackageResources.dom_js),
        DashboardAsset("reply.js", PackageResources.reply_js),
        DashboardAsset("commanddocs.js", PackageResources.commanddocs_js),
        DashboardAsset("registry.js", PackageResources.registry_js),
        DashboardAsset("views/signin.js", PackageResources.signin_js),
        DashboardAsset("views/keys.js", PackageResources.keys_js),
        DashboardAsset("views/keytree.js", PackageResources.keytree_js),
        DashboardAsset("views/viewers.js", PackageResources.viewers_js),
        DashboardAsset("views/console.js", PackageResources.console_js),
        DashboardAsset("views/streams.js", PackageResources.streams_js),
        DashboardAsset("views/charts.js", PackageResources.charts_js),
        DashboardAsset("views/linechart.js", PackageResources.linechart_js),
        DashboardAsset("views/monitor.js", PackageResources.monitor_js),
        DashboardAsset("views/pubsub.js", PackageResources.pubsub_js),
        DashboardAsset("views/slowlog.js", PackageResources.slowlog_js),
        DashboardAsset("views/clients.js", PackageResources.clients_js),
        DashboardAsset("views/memory.js", PackageResources.memory_js),
        DashboardAsset("views/config.js", PackageResources.config_js),
    ].map { ($0.path, $0) })
}
