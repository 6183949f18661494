// The dashboard's views, in the order the navigation shows them. A view is
// an ES module under views/ whose `render(container, session, rest)` draws
// it (and may return a function that cleans up when the user leaves it).
// A view with `sections` is a row of tabs (#/live/monitor), each section
// such a module. A new view is one module and one line here.

export const views = [
  { id: "keys", title: "Keys", load: () => import("./views/keys.js") },
  { id: "streams", title: "Streams", load: () => import("./views/streams.js") },
  {
    id: "live", title: "Live", sections: [
      { id: "charts", title: "Charts", load: () => import("./views/charts.js") },
      { id: "monitor", title: "Monitor", load: () => import("./views/monitor.js") },
      { id: "pubsub", title: "Pub/sub", load: () => import("./views/pubsub.js") },
    ],
  },
  {
    id: "diagnose", title: "Diagnose", sections: [
      { id: "slowlog", title: "Slow log", load: () => import("./views/slowlog.js") },
      { id: "clients", title: "Clients", load: () => import("./views/clients.js") },
      { id: "memory", title: "Memory", load: () => import("./views/memory.js") },
      { id: "config", title: "Config", load: () => import("./views/config.js") },
    ],
  },
  { id: "console", title: "Console", load: () => import("./views/console.js") },
];

/**
 * Commands whose permission the dashboard asks for at sign-in
 * (`GET /v1/acl/whoami?command=...`), to show only controls that work.
 */
export const commandsToCheck = [
  "scan", "type", "ttl", "pttl", "memory|usage", "object|encoding", "dbsize",
  "get", "set", "del", "rename", "renamenx", "expire", "persist",
  "hscan", "hset", "hdel", "httl", "hexpire", "hpersist",
  "lrange", "rpush", "lset", "sscan", "sadd", "srem", "zrange", "zadd", "zrem",
  "xrange", "xadd", "json.get", "json.set",
  "xinfo|groups", "xinfo|consumers", "xpending", "xack", "xclaim", "xautoclaim",
  "info", "monitor", "subscribe", "psubscribe", "publish",
  "slowlog|get", "slowlog|reset", "client|list", "client|kill", "config|get", "config|set",
  "command|docs", "command|list", "command|info",
];
