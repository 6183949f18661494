import KeywayHTTP

/// Hash resource routes (to be filled in).
enum HashRoutes {
    static func register(on router: inout Router, gateway: Gateway) {}
}
