// Streams and their consumer groups: each group's consumers, lag and
// pending entries (XINFO GROUPS, XINFO CONSUMERS, XPENDING), and, for users
// whose rules allow XCLAIM, XAUTOCLAIM and XACK, claiming pending entries
// for another consumer and acknowledging them, each after a confirmation.

import { askForm, confirmAction, dataTable as table, fill, formatTTL, h, toast } from "../dom.js";
import { record, text } from "../reply.js";

const PENDING_PAGE = 100;
const STREAM_LIMIT = 2000;

/** Milliseconds as `1m 5s`, `320 ms`. */
export function formatIdle(ms) {
  if (typeof ms !== "number" || ms < 0) return "–";
  if (ms < 1000) return `${ms} ms`;
  return formatTTL(Math.floor(ms / 1000));
}

export function render(container, session, selected) {
  const client = session.client;
  const list = h("div", { class: "tree-box", id: "stream-list" });
  const status = h("p", { class: "muted small", id: "stream-status" });
  const side = h("aside", { class: "keys-side" },
    h("div", { class: "side-head" }, h("h2", {}, "Streams"),
      h("button", { type: "button", class: "ghost", onclick: () => loadStreams() }, "Refresh")),
    status, list);
  const detail = h("section", { class: "key-detail", id: "stream-detail" }, h("p", { class: "muted pad" }, "Select a stream to see its consumer groups."));
  const layout = h("div", { class: "keys-layout" }, side, detail);
  fill(container, layout);

  if (!session.can("scan") || !session.can("xinfo|groups")) {
    fill(list, h("p", { class: "error" }, "Your ACL rules do not allow SCAN and XINFO, so streams cannot be listed."));
    return;
  }

  /** Every stream key, by SCAN with TYPE stream, up to a bound. */
  async function loadStreams() {
    fill(status, "Scanning…");
    const names = new Set();
    let cursor = "0";
    try {
      do {
        const [next, keys] = await client.command(["SCAN", cursor, "MATCH", "*", "COUNT", 500, "TYPE", "stream"]);
        cursor = text(next);
        for (const key of keys) names.add(text(key));
      } while (cursor !== "0" && names.size < STREAM_LIMIT);
    } catch (error) {
      fill(status, h("span", { class: "error" }, error.message));
      return;
    }
    const sorted = [...names].sort();
    fill(list, sorted.length ? h("ul", { class: "tree" }, sorted.map((name) => h("li", {},
      h("button", { type: "button", class: "key", dataset: { key: name }, onclick: () => open(name) },
        h("span", { class: "badge type-stream" }, "stream"), h("span", { class: "key-name" }, name)))))
      : h("p", { class: "muted" }, "No streams."));
    fill(status, `${sorted.length} stream${sorted.length === 1 ? "" : "s"}`);
    highlight();
  }

  function highlight() {
    for (const button of list.querySelectorAll("button.key")) button.classList.toggle("selected", button.dataset.key === selected);
  }

  async function open(key, group = null) {
    selected = key;
    highlight();
    layout.classList.add("showing-detail");
    history.replaceState(null, "", `#/streams/${encodeURIComponent(key)}`);
    try {
      await showStream(key, group);
    } catch (error) {
      fill(detail, h("p", { class: "error pad" }, error.message));
    }
  }

  async function showStream(key, openGroup) {
    const [length, groupsReply] = await client.pipeline([["XLEN", key], ["XINFO", "GROUPS", key]]);
    if (groupsReply instanceof Error) throw groupsReply;
    const groups = groupsReply.map(record).map((g) => ({
      name: text(g.name), consumers: g.consumers, pending: g.pending,
      lastDelivered: text(g["last-delivered-id"]), entriesRead: g["entries-read"], lag: g.lag,
    }));
    const back = h("button", { type: "button", class: "ghost back", onclick: () => layout.classList.remove("showing-detail") }, "← Streams");
    const groupBox = h("div", { id: "group-detail", class: "stack" });
    const rows = groups.map((g) => h("tr", { dataset: { group: g.name } },
      h("td", {}, h("button", { type: "button", class: "link open-group", onclick: () => showGroup(key, g.name, groupBox) }, g.name)),
      h("td", { class: "num" }, g.consumers), h("td", { class: "num" }, g.pending),
      h("td", { class: "mono" }, g.lastDelivered), h("td", { class: "num" }, g.entriesRead ?? "–"),
      h("td", { class: `num lag${g.lag > 0 ? " behind" : ""}` }, g.lag ?? "unknown")));
    fill(detail,
      h("div", { class: "detail-head" }, back, h("h2", { class: "key-title", id: "stream-title" }, key),
        h("span", { class: "muted" }, `${typeof length === "number" ? length : "?"} entries`)),
      h("h3", { class: "sub" }, "Consumer groups"),
      groups.length ? table("stream-groups", ["Group", "Consumers", "Pending", "Last delivered", "Read", "Lag"], rows)
        : h("p", { class: "muted" }, "No consumer groups. XGROUP CREATE makes one."),
      groupBox);
    const first = openGroup ?? (groups.length === 1 ? groups[0].name : null);
    if (first && groups.some((g) => g.name === first)) await showGroup(key, first, groupBox);
  }

  async function showGroup(key, group, box) {
    for (const row of detail.querySelectorAll("#stream-groups tbody tr")) row.classList.toggle("selected", row.dataset.group === group);
    const [consumersReply, pendingReply] = await client.pipeline([
      ["XINFO", "CONSUMERS", key, group], ["XPENDING", key, group, "-", "+", PENDING_PAGE],
    ]);
    if (consumersReply instanceof Error) throw consumersReply;
    if (pendingReply instanceof Error) throw pendingReply;
    const consumers = consumersReply.map(record).map((c) => ({ name: text(c.name), pending: c.pending, idle: c.idle, inactive: c.inactive }));
    const pending = pendingReply.map(([id, consumer, idle, count]) => ({ id: text(id), consumer: text(consumer), idle, count }));
    const canClaim = session.can("xclaim");
    const canAck = session.can("xack");
    const reload = () => showGroup(key, group, box).catch((error) => toast(error.message, "error"));

    const pendingRows = pending.map((entry) => h("tr", { dataset: { id: entry.id } },
      h("td", { class: "mono" }, entry.id), h("td", { class: "consumer" }, entry.consumer),
      h("td", { class: "num idle" }, formatIdle(entry.idle)), h("td", { class: "num deliveries" }, entry.count),
      canClaim || canAck ? h("td", { class: "row-actions" },
        canClaim ? h("button", { type: "button", class: "link claim-entry", onclick: () => claim(entry) }, "claim") : null,
        canAck ? h("button", { type: "button", class: "link ack-entry", onclick: () => ack(entry) }, "ack") : null) : null));
    const autoclaim = session.can("xautoclaim") && pending.length
      ? h("button", { type: "button", class: "ghost", id: "autoclaim", onclick: () => autoClaim() }, "Claim idle…") : null;
    fill(box,
      h("div", { class: "viewer-head" }, h("h3", { class: "sub", id: "group-title" }, `Group ${group}`),
        h("button", { type: "button", class: "ghost", id: "group-refresh", onclick: reload }, "Refresh")),
      h("h4", { class: "muted" }, "Consumers"),
      consumers.length ? table("group-consumers", ["Consumer", "Pending", "Idle", "Inactive"],
        consumers.map((c) => h("tr", { dataset: { consumer: c.name } }, h("td", {}, c.name), h("td", { class: "num" }, c.pending),
          h("td", { class: "num" }, formatIdle(c.idle)), h("td", { class: "num" }, c.inactive === -1 ? "never active" : formatIdle(c.inactive)))))
        : h("p", { class: "muted" }, "No consumers yet."),
      h("div", { class: "viewer-head" }, h("h4", { class: "muted" }, `Pending entries (${pending.length}${pending.length === PENDING_PAGE ? "+" : ""})`), autoclaim),
      pending.length ? table("pending-entries", ["ID", "Consumer", "Idle", "Deliveries", ...(canClaim || canAck ? [""] : [])], pendingRows)
        : h("p", { class: "muted", id: "no-pending" }, "Nothing pending: every delivered entry is acknowledged."));

    async function claim(entry) {
      const others = consumers.map((c) => c.name).filter((name) => name !== entry.consumer);
      const values = await askForm({
        title: `Claim ${entry.id}`,
        message: `XCLAIM moves the entry from ${entry.consumer} to another consumer and counts one more delivery.`,
        fields: [
          { name: "consumer", label: "To consumer", value: others[0] ?? "", required: true },
          { name: "minIdle", label: "Only if idle at least (ms)", type: "number", value: "0" },
        ],
        confirm: "Claim",
      });
      if (!values) return;
      try {
        const claimed = await client.command(["XCLAIM", key, group, values.consumer, values.minIdle || "0", entry.id]);
        if (claimed.length) toast(`${entry.id} claimed by ${values.consumer}`);
        else toast(`${entry.id} was not claimed: it is idle less than that, or no longer pending`, "error");
      } catch (error) {
        toast(error.message, "error");
      }
      await reload();
    }

    async function ack(entry) {
      if (!(await confirmAction("Acknowledge entry", `XACK ${entry.id} for group ${group}: it leaves the pending list and will not be delivered again.`, "Acknowledge"))) return;
      try {
        const count = await client.command(["XACK", key, group, entry.id]);
        toast(count ? `${entry.id} acknowledged` : `${entry.id} was no longer pending`);
      } catch (error) {
        toast(error.message, "error");
      }
      await reload();
    }

    async function autoClaim() {
      const values = await askForm({
        title: "Claim idle entries",
        message: "XAUTOCLAIM gives a consumer the pending entries idle at least this long, oldest first.",
        fields: [
          { name: "consumer", label: "To consumer", value: consumers[0]?.name ?? "", required: true },
          { name: "minIdle", label: "Idle at least (ms)", type: "number", value: "60000" },
          { name: "count", label: "At most", type: "number", value: "100" },
        ],
        confirm: "Claim",
      });
      if (!values) return;
      try {
        const [, claimed] = await client.command(["XAUTOCLAIM", key, group, values.consumer, values.minIdle || "0", "0-0", "COUNT", values.count || "100"]);
        toast(`${claimed.length} entr${claimed.length === 1 ? "y" : "ies"} claimed by ${values.consumer}`);
      } catch (error) {
        toast(error.message, "error");
      }
      await reload();
    }
  }

  loadStreams().then(() => {
    if (selected) open(selected);
  });
}
