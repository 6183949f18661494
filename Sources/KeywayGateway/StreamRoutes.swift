import KeywayHTTP

/// Stream resource routes (to be filled in).
enum StreamRoutes {
    static func register(on router: inout Router, gateway: Gateway) {}
}
