import KeywayHTTP

/// List resource routes (to be filled in).
enum ListRoutes {
    static func register(on router: inout Router, gateway: Gateway) {}
}
