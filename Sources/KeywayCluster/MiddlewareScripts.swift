import KeywayEngine

/// Keyway's own commands as Lua scripts, for the cluster backend.
///
/// The embedded engine runs the middleware's `RATELIMIT`, `KEYWAY.LOCK`,
/// `KEYWAY.UNLOCK`, `KEYWAY.EXTEND` and `KEYWAY.HPATCH`, and the resource
/// API's `KEYWAY.DELTYPE`, as commands of its own, each atomic under its
/// lock. A Redis node has none of them, so on a cluster each runs
/// as one script on the master of its key's slot: just as atomic there,
/// keeping its state in the same keys and shapes (a string counter, a
/// sorted set of times, a hash), and answering in the engine's reply
/// shapes. Scripts read the node's clock (`TIME`), which Redis 7 allows
/// before writes (it replicates a script's effects, not the script).
struct MiddlewareScript: Sendable {
    let source: String
    /// What `EVALSHA` names it by: the SHA-1 of the source.
    let sha: String

    init(_ source: String) {
        self.source = source
        self.sha = SHA1.hex(Array(source.utf8))
    }

    /// `RATELIMIT`: the four algorithms of `RateLimitAlgorithm`, their state kept as the engine keeps it.
    static let rateLimit = MiddlewareScript(#"""
        -- RATELIMIT as one script: KEYS[1] the limiter's state; ARGV: algorithm,
        -- limit, window-ms, cost, peek (1 or 0). Replies {allowed, limit,
        -- remaining, reset-ms, retry-after-ms}, as Keyway's engine does.
        local key = KEYS[1]
        local algorithm, limit, window, cost = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
        local peek = ARGV[5] == '1'
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
        local wrongType = {err = 'WRONGTYPE Operation against a key holding the wrong kind of value'}

        local function int(n) return string.format('%d', n) end
        local function strictInteger(text)
          if text and string.match(text, '^%-?%d+$') and #text <= 19 then return tonumber(text) end
          return nil
        end
        local function strictFinite(text)
          if not text or string.find(text, '[%sxXnN]') then return nil end
          local n = tonumber(text)
          if n and n == n and n ~= math.huge and n ~= -math.huge then return n end
          return nil
        end
        local function holds(kind)
          local found = redis.call('TYPE', key).ok
          return found == 'none' or found == kind
        end
        -- a * b / c rounded up (exact while a * b < 2^53)
        local function ceilDiv(a, b, c)
          local p = a * b
          local q = math.floor(p / c)
          if q * c < p then q = q + 1 end
          return q
        end
        local function decision(allowed, remaining, reset, retryAfter)
          return {allowed and 1 or 0, limit, math.max(0, remaining), reset, retryAfter}
        end

        -- A counter that starts with the window's first request and expires
        -- window ms later; refused requests are not counted.
        local function fixedWindow()
          if not holds('string') then return wrongType end
          local used, deadline = 0, now + window - 1
          local stored = redis.call('GET', key)
          if stored then
            local n = strictInteger(stored)
            if not n then return {err = 'ERR value is not an integer or out of range'} end
            used = math.max(0, n)
            local at = redis.call('PEXPIRETIME', key)
            if at >= 0 then deadline = at end
          end
          local allowed = used <= limit - cost
          if allowed and not peek then
            used = used + cost
            redis.call('SET', key, int(used), 'PXAT', int(deadline))
          end
          local untilReset = deadline + 1 - now
          return decision(allowed, limit - used, used > 0 and untilReset or 0, allowed and 0 or untilReset)
        end

        -- Every request's time in a sorted set, trimmed to the window.
        local function slidingLog()
          if not holds('zset') then return wrongType end
          local stale = redis.call('ZCOUNT', key, '-inf', int(now - window))
          local used = redis.call('ZCARD', key) - stale
          local function madeAt(index)
            local entry = redis.call('ZRANGE', key, stale + index, stale + index, 'WITHSCORES')
            return tonumber(entry[2])
          end
          local allowed = used <= limit - cost
          local oldest = used > 0 and madeAt(0) or now
          if not allowed or peek then
            local retryAfter = allowed and 0 or madeAt(used + cost - limit - 1) + window - now
            return decision(allowed, limit - used, used > 0 and oldest + window - now or 0, retryAfter)
          end
          if stale > 0 then redis.call('ZREMRANGEBYRANK', key, 0, stale - 1) end
          local members = {}
          for n = 0, cost - 1 do
            members[#members + 1] = int(now)
            members[#members + 1] = int(now) .. '-' .. int(used + n)
            if #members >= 1000 then
              redis.call('ZADD', key, unpack(members))
              members = {}
            end
          end
          if #members > 0 then redis.call('ZADD', key, unpack(members)) end
          redis.call('PEXPIREAT', key, int(now + window - 1))
          return decision(true, limit - used - cost, oldest + window - now, 0)
        end

        -- Two fixed windows, the previous one weighted by how much of it the
        -- sliding window still covers.
        local function slidingWindow()
          if not holds('hash') then return wrongType end
          local stored = redis.call('HMGET', key, 'start', 'current', 'previous')
          local storedStart, storedCurrent, storedPrevious = -1, 0, 0
          local s, c, p = strictInteger(stored[1]), strictInteger(stored[2]), strictInteger(stored[3])
          if s and c and p then storedStart, storedCurrent, storedPrevious = s, math.max(0, c), math.max(0, p) end
          local aligned = now - now % window
          local start, current, previous = aligned, 0, 0
          if aligned == storedStart then
            current, previous = storedCurrent, storedPrevious
          elseif aligned == storedStart + window then
            previous = storedCurrent
          end
          local function estimate() return current + ceilDiv(previous, window - (now - start), window) end
          -- Milliseconds from now until the estimate is at most target.
          local function wait(target)
            local elapsed = now - start
            local budget = target - current
            if budget >= 0 then
              if previous == 0 or estimate() <= target then return 0 end
              return math.max(0, window - math.floor(budget * window / previous) - elapsed)
            end
            return window - elapsed + math.max(0, window - math.floor(target * window / current))
          end
          local used = estimate()
          local allowed = used <= limit - cost
          if allowed and not peek then
            current = current + cost
            used = used + cost
            local fields = {'current', int(current)}
            if start ~= storedStart or previous ~= storedPrevious then
              fields[3], fields[4], fields[5], fields[6] = 'start', int(start), 'previous', int(previous)
            end
            redis.call('HSET', key, unpack(fields))
            redis.call('PEXPIREAT', key, int(start + 2 * window - 1))
          end
          return decision(allowed, limit - used, used > 0 and wait(used - 1) or 0, allowed and 0 or wait(limit - cost))
        end

        -- A bucket of limit tokens refilled continuously at limit per window.
        local function tokenBucket()
          if not holds('hash') then return wrongType end
          local capacity = limit
          local tokens = capacity
          local stored = redis.call('HMGET', key, 'tokens', 'ts')
          local left, refilled = strictFinite(stored[1]), strictInteger(stored[2])
          if left and refilled then
            tokens = math.min(capacity, math.max(0, left) + math.max(0, now - refilled) * capacity / window)
          end
          local function refillTime(wanted)
            if wanted <= tokens then return 0 end
            return math.ceil((wanted - tokens) * window / capacity)
          end
          local allowed = tokens >= cost
          local retryAfter = allowed and 0 or refillTime(cost)
          if allowed and not peek then
            tokens = tokens - cost
            redis.call('HSET', key, 'tokens', string.format('%.17g', tokens), 'ts', int(now))
            redis.call('PEXPIREAT', key, int(now + math.max(1, refillTime(capacity)) - 1))
          end
          local whole = math.floor(tokens)
          return decision(allowed, whole, tokens >= capacity and 0 or refillTime(whole + 1), retryAfter)
        end

        if algorithm == 'fixed-window' then return fixedWindow()
        elseif algorithm == 'sliding-log' then return slidingLog()
        elseif algorithm == 'sliding-window' then return slidingWindow()
        elseif algorithm == 'token-bucket' then return tokenBucket()
        end
        return {err = 'ERR unknown rate limit algorithm'}
        """#)

    /// `KEYWAY.LOCK` without its wait: a lock held answers at once with its PTTL, and the executor waits (see `ClusterLockWaiter`).
    static let lock = MiddlewareScript(#"""
        -- KEYWAY.LOCK without the wait: KEYS lock, fencing; ARGV token, ttl-ms.
        -- {fencing, ttl} when acquired; {-1, pttl} while someone holds it.
        local counterType = redis.call('TYPE', KEYS[2]).ok
        if counterType ~= 'none' and counterType ~= 'string' then
          return {err = 'WRONGTYPE Operation against a key holding the wrong kind of value'}
        end
        local counter = redis.call('GET', KEYS[2])
        if counter then
          if not (string.match(counter, '^%-?%d+$') and #counter <= 20) then
            return {err = 'ERR value is not an integer or out of range'}
          end
          if counter == '9223372036854775807' then return {err = 'ERR increment or decrement would overflow'} end
        end
        if redis.call('EXISTS', KEYS[1]) == 1 then return {-1, redis.call('PTTL', KEYS[1])} end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return {redis.call('INCR', KEYS[2]), tonumber(ARGV[2])}
        """#)

    /// `KEYWAY.UNLOCK`: compare-and-delete by token.
    static let unlock = MiddlewareScript(#"""
        -- KEYWAY.UNLOCK: KEYS lock; ARGV token. 1 released, 0 another token, -1 not held.
        local found = redis.call('TYPE', KEYS[1]).ok
        if found == 'none' then return -1 end
        if found ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        return 1
        """#)

    /// `KEYWAY.EXTEND`: compare-and-expire by token.
    static let extend = MiddlewareScript(#"""
        -- KEYWAY.EXTEND: KEYS lock; ARGV token, ttl-ms. 1 extended, 0 another token, -1 not held.
        local found = redis.call('TYPE', KEYS[1]).ok
        if found == 'none' then return -1 end
        if found ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        """#)

    /// `KEYWAY.HPATCH`: a merge into a session hash that must exist.
    static let hashPatch = MiddlewareScript(#"""
        -- KEYWAY.HPATCH: KEYS the session hash; ARGV ttl-ms, number of pairs to
        -- set, the pairs, then fields to delete. On an existing hash only; 0 (and
        -- nothing changed) when no field would be left. Replies {HGETALL, pttl}.
        local key = KEYS[1]
        local found = redis.call('TYPE', key).ok
        if found == 'none' then return false end
        if found ~= 'hash' then return {err = 'WRONGTYPE Operation against a key holding the wrong kind of value'} end
        local ttl, setEnd = tonumber(ARGV[1]), 2 + 2 * tonumber(ARGV[2])
        local remaining, count = {}, 0
        for _, field in ipairs(redis.call('HKEYS', key)) do
          remaining[field] = true
          count = count + 1
        end
        for i = setEnd + 1, #ARGV do
          if remaining[ARGV[i]] then remaining[ARGV[i]] = nil; count = count - 1 end
        end
        for i = 3, setEnd, 2 do
          if not remaining[ARGV[i]] then remaining[ARGV[i]] = true; count = count + 1 end
        end
        if count == 0 then return 0 end
        -- In slices, as a script's stack takes a few thousand values at most.
        local function each(command, first, last)
          for i = first, last, 1000 do redis.call(command, key, unpack(ARGV, i, math.min(last, i + 999))) end
        end
        each('HSET', 3, setEnd)
        each('HDEL', setEnd + 1, #ARGV)
        if ttl > 0 then redis.call('PEXPIRE', key, ARGV[1]) end
        return {redis.call('HGETALL', key), redis.call('PTTL', key)}
        """#)

    /// `KEYWAY.DELTYPE`: deletes a key only if it holds the named type.
    static let deleteTyped = MiddlewareScript(#"""
        -- KEYWAY.DELTYPE: KEYS the key; ARGV the TYPE word it must hold.
        -- 1 deleted, 0 no such key, WRONGTYPE for another type.
        local found = redis.call('TYPE', KEYS[1]).ok
        if found == 'none' then return 0 end
        if found ~= ARGV[1] then
          return {err = 'WRONGTYPE Operation against a key holding the wrong kind of value'}
        end
        redis.call('DEL', KEYS[1])
        return 1
        """#)
}
