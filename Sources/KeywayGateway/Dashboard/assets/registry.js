// The dashboard's views, in the order the navigation shows them. A view is
// an ES module under views/ whose `render(container, session)` draws it
// (and may return a function that cleans up when the user leaves it).
// A new view is one module and one line here.

export const views = [
  { id: "keys", title: "Keys", load: () => import("./views/keys.js") },
  { id: "console", title: "Console", load: () => import("./views/console.js") },
];

/**
 * Commands whose permission the dashboard asks for at sign-in
 * (`GET /v1/acl/whoami?command=...`), to show only controls that work.
 */
export const commandsToCheck = [
  "scan", "type", "ttl", "pttl", "memory|usage", "object|encoding",
  "get", "set", "del", "rename", "renamenx", "expire", "persist",
  "hscan", "hset", "hdel", "httl", "hexpire", "hpersist",
  "lrange", "rpush", "lset", "sscan", "sadd", "srem", "zrange", "zadd", "zrem",
  "xrange", "xadd", "json.get", "json.set",
];
