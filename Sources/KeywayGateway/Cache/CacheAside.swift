import KeywayEngine
import KeywayHTTP

/// The cache-aside middleware's state: the configured origins, the client
/// that reaches them, and the fetches in flight. Entries live in the engine
/// and are reached only through Commands.
final class CacheAside: Sendable {
    let origins: [String: CacheOrigin]
    let client: OriginClient?
    let flights = SingleFlight()

    init(settings: CacheSettings) {
        var byName: [String: CacheOrigin] = [:]
        for origin in settings.origins { byName[origin.name] = origin }
        origins = byName
        // No origins, no client: its event loops start only when needed.
        client = settings.origins.isEmpty ? nil : OriginClient(settings: settings)
    }

    /// The engine's clock in Unix ms (TIME), so a manual clock drives ages.
    static func milliseconds(_ reply: Reply) -> Int64? {
        guard case .array(let parts) = reply, parts.count == 2, case .bulk(let seconds) = parts[0],
              case .bulk(let micros) = parts[1], let s = Int64(seconds.text), let us = Int64(micros.text) else { return nil }
        return s * 1000 + us / 1000
    }

    /// The stored entry (fresh or stale) and the engine's time, atomically.
    /// The entry's commands are the gateway's own: the route authorized the
    /// request's user for the key first (see `CacheRoutes.resolve`).
    func lookup(_ key: Bytes, _ context: ResourceContext) -> (entry: CacheEntry?, now: Int64) {
        let commands = [context.serverCommand("HGETALL", [key]), context.serverCommand("TIME", [])]
        guard case .success(let replies) = context.executor.executeTransaction(commands),
              replies.count == 2, let now = Self.milliseconds(replies[1]) else { return (nil, 0) }
        return (CacheEntry(hgetall: replies[0]), now)
    }

    /// Stores an origin answer when the status and Cache-Control allow it;
    /// a key of another type under the same name is replaced.
    func store(_ response: OriginResponse, key: Bytes, origin: CacheOrigin, _ context: ResourceContext) {
        guard CacheControl.storableStatuses.contains(response.status),
              let fresh = CacheControl(header: response.cacheControl).freshness(configuredTTL: origin.ttl),
              let now = Self.milliseconds(context.executor.execute(context.serverCommand("TIME", []))) else { return }
        let entry = CacheEntry(status: response.status, contentType: response.contentType ?? "", body: response.body,
                               storedAt: now, freshUntil: now + Int64(fresh) * 1000)
        let keep = Int64(fresh + origin.staleIfError) * 1000
        _ = context.executor.executeTransaction([
            context.serverCommand("DEL", [key]),
            context.serverCommand("HSET", [key] + entry.fields),
            context.serverCommand("PEXPIRE", [key, Bytes(String(keep))]),
        ])
    }

    /// Drops a stored entry; true when there was one.
    func purge(_ key: Bytes, _ context: ResourceContext) -> Bool {
        context.executor.execute(context.serverCommand("DEL", [key])) == .integer(1)
    }
}
