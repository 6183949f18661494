import KeywayHTTP

/// Leaderboard resource routes (to be filled in).
enum LeaderboardRoutes {
    static func register(on router: inout Router, gateway: Gateway) {}
}
