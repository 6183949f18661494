import KeywayHTTP

/// Set resource routes (to be filled in).
enum SetRoutes {
    static func register(on router: inout Router, gateway: Gateway) {}
}
