// The open connections (CLIENT LIST): address, name, age, idle time, flags,
// last command and user, refreshed on demand or every few seconds; CLIENT
// KILL ID for users whose rules allow it, after a confirmation.

import { confirmAction, dataTable, fill, formatTTL, h, toast } from "../dom.js";
import { text } from "../reply.js";

const AUTO_MS = 3000;

/** One CLIENT LIST line (`id=7 addr=... cmd=get user=default`) as an object. */
export function parseClient(line) {
  const client = {};
  for (const pair of line.trim().split(" ")) {
    const equals = pair.indexOf("=");
    if (equals > 0) client[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return client;
}

const FLAGS = { N: "normal", b: "blocked in a command", P: "event stream", O: "MONITOR" };

export function render(container, session) {
  if (!session.can("client|list")) {
    fill(container, h("p", { class: "error pad" }, "Your ACL rules do not allow CLIENT LIST."));
    return;
  }
  const canKill = session.can("client|kill");
  const filter = h("input", { id: "clients-filter", type: "search", placeholder: "filter by address, name, user, command", "aria-label": "Filter" });
  const auto = h("input", { type: "checkbox", id: "clients-auto" });
  const summary = h("p", { class: "muted small", id: "clients-summary" });
  const body = h("div", { id: "clients-body" });
  fill(container, h("div", { class: "page" },
    h("div", { class: "viewer-head" }, h("h2", {}, "Clients"), filter,
      h("label", { class: "inline" }, auto, " auto-refresh"),
      h("button", { type: "button", class: "ghost", id: "clients-refresh", onclick: () => load() }, "Refresh")),
    summary, body));
  let clients = [];
  let timer = null;
  let again = null;
  filter.addEventListener("input", () => draw());
  auto.addEventListener("change", () => schedule());

  function schedule() {
    clearTimeout(timer);
    if (auto.checked) timer = setTimeout(() => load().finally(schedule), AUTO_MS);
  }

  async function load() {
    try {
      clients = text(await session.client.command(["CLIENT", "LIST"])).split("\n").filter(Boolean).map(parseClient);
      draw();
    } catch (error) {
      fill(body, h("p", { class: "error" }, error.message));
    }
  }

  function draw() {
    const needle = filter.value.toLowerCase();
    const shown = clients.filter((c) => !needle || [c.addr, c.name, c.user, c.cmd].some((v) => (v ?? "").toLowerCase().includes(needle)));
    fill(summary, `${clients.length} connection${clients.length === 1 ? "" : "s"}` + (shown.length < clients.length ? `, ${shown.length} shown` : ""));
    fill(body, dataTable("client-list", ["ID", "Address", "Name", "Age", "Idle", "Flags", "Last command", "User", ...(canKill ? [""] : [])],
      shown.map((c) => h("tr", { dataset: { id: c.id, name: c.name ?? "" } },
        h("td", { class: "num" }, c.id), h("td", { class: "mono" }, c.addr), h("td", { class: "client-name" }, c.name || "–"),
        h("td", { class: "num" }, formatTTL(Number(c.age))), h("td", { class: "num" }, formatTTL(Number(c.idle))),
        h("td", { title: [...(c.flags ?? "")].map((f) => FLAGS[f] ?? f).join(", ") }, c.flags),
        h("td", { class: "mono" }, c.cmd), h("td", {}, c.user),
        canKill ? h("td", { class: "row-actions" }, h("button", { type: "button", class: "link danger-text kill-client", onclick: () => kill(c) }, "kill")) : null))));
  }

  async function kill(c) {
    if (!(await confirmAction("Close connection", `CLIENT KILL closes connection ${c.id} (${c.addr}${c.name ? ", " + c.name : ""}) at once; a request it is waiting on is dropped.`, "Kill"))) return;
    try {
      if (await session.client.command(["CLIENT", "KILL", "ID", c.id])) {
        toast(`Connection ${c.id} closed`);
        // The server may list a closed connection for a moment after
        // closing it: drop the row now, and ask again shortly.
        clients = clients.filter((other) => other.id !== c.id);
        draw();
        again = setTimeout(() => load(), 1000);
        return;
      }
      toast(`Connection ${c.id} was already closed`);
    } catch (error) {
      toast(error.message, "error");
    }
    load();
  }

  load();
  return () => {
    clearTimeout(timer);
    clearTimeout(again);
  };
}
