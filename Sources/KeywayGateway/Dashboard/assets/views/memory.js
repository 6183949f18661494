// Memory analysis from a bounded sample: SCAN collects up to N keys, then
// TYPE, MEMORY USAGE and PTTL for each in pipelines of a few hundred. It
// shows the biggest keys, memory by key prefix (the name up to its first
// `:`) and by type, and how the sampled keys' TTLs are spread. A sample
// keeps it cheap on a big keyspace; the totals say how much it covered.

import { dataTable, fill, formatBytes, formatTTL, h, keyLink } from "../dom.js";
import { text } from "../reply.js";
import { typeClass, typeLabel } from "./keytree.js";

const BATCH = 200;
const TOP = 20;
const TTL_BUCKETS = [
  ["no expiry", (ms) => ms === -1],
  ["under 1 minute", (ms) => ms >= 0 && ms < 60_000],
  ["1 minute to 1 hour", (ms) => ms >= 60_000 && ms < 3_600_000],
  ["1 hour to 1 day", (ms) => ms >= 3_600_000 && ms < 86_400_000],
  ["1 to 7 days", (ms) => ms >= 86_400_000 && ms < 7 * 86_400_000],
  ["over 7 days", (ms) => ms >= 7 * 86_400_000],
];

/** The prefix a key is grouped under: its name up to and with the first `:`. */
export function prefixOf(key) {
  const colon = key.indexOf(":");
  return colon > 0 ? key.slice(0, colon + 1) + "*" : "(no prefix)";
}

export function render(container, session) {
  if (!session.can("scan") || !session.can("memory|usage")) {
    fill(container, h("p", { class: "error pad" }, "Your ACL rules do not allow SCAN and MEMORY USAGE, which the analysis needs."));
    return;
  }
  const size = h("input", { id: "memory-sample", type: "number", min: 10, max: 100000, value: 2000, "aria-label": "Keys to sample" });
  const pattern = h("input", { id: "memory-pattern", type: "search", value: "*", "aria-label": "Key pattern" });
  const run = h("button", { type: "submit", class: "primary", id: "memory-run" }, "Analyze");
  const form = h("form", { class: "toolbar" }, h("label", { class: "inline" }, "Sample ", size, " keys matching "), pattern, run);
  const status = h("p", { class: "muted small", id: "memory-status" }, "Samples keys with SCAN and sizes each with MEMORY USAGE.");
  const results = h("div", { class: "memory-results", id: "memory-results" });
  fill(container, h("div", { class: "page" }, h("div", { class: "viewer-head" }, h("h2", {}, "Memory")), form, status, results));
  let cancelled = false;

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    analyze().catch((error) => fill(status, h("span", { class: "error" }, error.message)));
  });

  async function analyze() {
    run.disabled = true;
    try {
      const limit = Math.max(10, Math.min(100000, Number(size.value) || 2000));
      const names = new Set();
      let cursor = "0";
      do {
        const [next, keys] = await session.client.command(["SCAN", cursor, "MATCH", pattern.value || "*", "COUNT", 500]);
        cursor = text(next);
        for (const key of keys) if (names.size < limit) names.add(text(key));
        fill(status, `Scanning… ${names.size} keys`);
      } while (cursor !== "0" && names.size < limit && !cancelled);
      const keys = [...names];
      const sampled = [];
      for (let start = 0; start < keys.length && !cancelled; start += BATCH) {
        const batch = keys.slice(start, start + BATCH);
        const replies = await session.client.pipeline(batch.flatMap((key) => [["TYPE", key], ["MEMORY", "USAGE", key], ["PTTL", key]]));
        batch.forEach((key, i) => {
          const [type, bytes, ttl] = replies.slice(3 * i, 3 * i + 3);
          if (typeof bytes !== "number") return; // gone since the scan
          sampled.push({ key, type: type instanceof Error ? "?" : text(type), bytes, ttl: typeof ttl === "number" ? ttl : null });
        });
        fill(status, `Sizing… ${Math.min(start + BATCH, keys.length)} of ${keys.length}`);
      }
      if (cancelled) return;
      const total = session.can("dbsize") ? await session.client.command(["DBSIZE"]).catch(() => null) : null;
      show(sampled, total, cursor === "0");
    } finally {
      run.disabled = false;
    }
  }

  function show(sampled, total, complete) {
    const bytes = sampled.reduce((sum, s) => sum + s.bytes, 0);
    const matching = pattern.value && pattern.value !== "*";
    fill(status, `${sampled.length} key${sampled.length === 1 ? "" : "s"} sampled` +
      (complete ? (matching ? ", every key matching" : ", the whole keyspace") : total ? ` of ${total}` : "") +
      `, ${formatBytes(bytes)} in them` +
      (!complete && !matching && total && sampled.length ? `; about ${formatBytes(Math.round((bytes / sampled.length) * total))} in all keys` : "") + ".");
    const biggest = [...sampled].sort((a, b) => b.bytes - a.bytes).slice(0, TOP);
    const byPrefix = group(sampled, (s) => prefixOf(s.key));
    const byType = group(sampled, (s) => s.type);
    const ttls = TTL_BUCKETS.map(([label, test]) => {
      const hit = sampled.filter((s) => s.ttl !== null && test(s.ttl));
      return { name: label, count: hit.length, bytes: hit.reduce((sum, s) => sum + s.bytes, 0) };
    });
    fill(results,
      h("section", { class: "card panel" }, h("h3", { class: "sub" }, `Biggest keys`),
        dataTable("memory-biggest", ["Key", "Type", "Memory", "TTL"], biggest.map((s) => h("tr", { dataset: { key: s.key } },
          h("td", { class: "value" }, keyLink(s.key)), h("td", {}, h("span", { class: `badge type-${typeClass(s.type)}` }, typeLabel(s.type))),
          h("td", { class: "num" }, formatBytes(s.bytes)), h("td", { class: "num" }, s.ttl === null ? "–" : s.ttl < 0 ? formatTTL(s.ttl) : formatTTL(Math.ceil(s.ttl / 1000))))))),
      h("section", { class: "card panel" }, h("h3", { class: "sub" }, "By key prefix"), shares("memory-prefixes", "Prefix", byPrefix, bytes)),
      h("section", { class: "card panel" }, h("h3", { class: "sub" }, "By type"), shares("memory-types", "Type", byType.map((g) => ({ ...g, label: typeLabel(g.name) })), bytes)),
      h("section", { class: "card panel" }, h("h3", { class: "sub" }, "Time to live"), shares("memory-ttls", "TTL", ttls, sampled.length, "count")));
  }

  return () => {
    cancelled = true;
  };
}

/** Sums bytes and counts keys by `keyOf`, biggest first. */
function group(sampled, keyOf) {
  const groups = new Map();
  for (const s of sampled) {
    const name = keyOf(s);
    const entry = groups.get(name) ?? { name, count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += s.bytes;
    groups.set(name, entry);
  }
  return [...groups.values()].sort((a, b) => b.bytes - a.bytes);
}

/** A table of groups, each with a bar for its share of `whole` (by bytes, or by key count). */
function shares(id, heading, groups, whole, by = "bytes") {
  return dataTable(id, [heading, "Keys", "Memory", "Share"], groups.map((g) => {
    const share = whole > 0 ? g[by] / whole : 0;
    const bar = h("span", { class: "bar-fill" });
    bar.style.width = `${(share * 100).toFixed(1)}%`;
    return h("tr", { dataset: { name: g.name } },
      h("td", { class: "value" }, g.label ?? g.name), h("td", { class: "num" }, g.count), h("td", { class: "num" }, formatBytes(g.bytes)),
      h("td", { class: "share" }, h("span", { class: "share-bar" }, bar), h("span", { class: "muted small" }, ` ${Math.round(share * 100)} %`)));
  }));
}
