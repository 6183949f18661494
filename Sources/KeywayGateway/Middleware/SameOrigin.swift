import KeywayHTTP

extension HTTPRequest {
    /// Whether the `Origin` a browser sent names this server as the request
    /// reached it (`http://127.0.0.1:7379` with `Host: 127.0.0.1:7379`):
    /// a page Keyway served itself, such as the dashboard at `/ui`, calling
    /// back. Browsers send `Origin` on a same-origin POST too, so without
    /// this the dashboard's own calls would be taken for another site's.
    /// A page reaching the server under a rebound DNS name passes this too;
    /// the Host check (`allowed-hosts`) is what refuses that name.
    var isSameOrigin: Bool {
        guard let origin = header("origin"), let host = header("host"), !host.isEmpty else { return false }
        let lowered = origin.lowercased(), target = host.lowercased()
        return lowered == "http://" + target || lowered == "https://" + target
    }
}
