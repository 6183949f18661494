// The slow log (SLOWLOG GET): each logged command with its arguments, its
// duration and when and from where it ran, slowest first or newest first;
// SLOWLOG RESET for users whose rules allow it, after a confirmation. The
// arguments at a command's key positions (COMMAND INFO's first, last and
// step, when the user may run COMMAND) link to the key browser.

import { confirmAction, dataTable, fill, h, keyLink, toast } from "../dom.js";
import { quoteArgs, record, text } from "../reply.js";

const COUNT = 128;

/** Microseconds as `850 µs`, `12.4 ms`, `1.2 s`. */
export function formatMicros(us) {
  if (us < 1000) return `${us} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

/** The argv positions that hold keys, from a COMMAND INFO entry's first, last and step. */
export function keyPositions(info, argc) {
  if (!Array.isArray(info) || info.length < 6) return new Set();
  const [first, last, step] = [Number(info[3]), Number(info[4]), Number(info[5])];
  const positions = new Set();
  if (first <= 0 || step <= 0) return positions;
  const end = last < 0 ? argc + last : Math.min(last, argc - 1);
  for (let i = first; i <= end; i += step) positions.add(i);
  return positions;
}

/** COMMAND INFO of each name: name (lowercase) -> the entry; empty when the user may not ask. */
async function commandInfo(session, names) {
  if (names.length === 0 || !session.can("command|info")) return new Map();
  try {
    const reply = await session.client.command(["COMMAND", "INFO", ...names]);
    return new Map(names.map((name, i) => [name, reply[i]]));
  } catch {
    return new Map();
  }
}

/** The command's words, quoted as redis-cli shows them, its keys linked. */
function commandCell(args, positions) {
  const cell = h("span", { class: "clip" });
  args.forEach((arg, i) => {
    if (i > 0) cell.append(" ");
    const quoted = quoteArgs([arg]);
    cell.append(positions.has(i) ? keyLink(arg, quoted) : quoted);
  });
  return cell;
}

export function render(container, session) {
  if (!session.can("slowlog|get")) {
    fill(container, h("p", { class: "error pad" }, "Your ACL rules do not allow SLOWLOG GET."));
    return;
  }
  const order = h("select", { id: "slowlog-order", "aria-label": "Order" },
    h("option", { value: "newest" }, "newest first"), h("option", { value: "slowest" }, "slowest first"));
  const reset = session.can("slowlog|reset")
    ? h("button", { type: "button", class: "danger", id: "slowlog-reset", onclick: () => resetLog() }, "Reset") : null;
  const summary = h("p", { class: "muted small", id: "slowlog-summary" });
  const body = h("div", { id: "slowlog-body" });
  fill(container, h("div", { class: "page" },
    h("div", { class: "viewer-head" }, h("h2", {}, "Slow log"), order,
      h("button", { type: "button", class: "ghost", id: "slowlog-refresh", onclick: () => load() }, "Refresh"), reset),
    summary, body));
  order.addEventListener("change", () => load());

  async function load() {
    const commands = [["SLOWLOG", "GET", COUNT], ["SLOWLOG", "LEN"]];
    if (session.can("config|get")) commands.push(["CONFIG", "GET", "slowlog-*"]);
    const [entriesReply, length, config] = await session.client.pipeline(commands);
    if (entriesReply instanceof Error) {
      fill(body, h("p", { class: "error" }, entriesReply.message));
      return;
    }
    const settings = config && !(config instanceof Error) ? record(config) : {};
    const threshold = settings["slowlog-log-slower-than"] !== undefined ? Number(text(settings["slowlog-log-slower-than"])) : null;
    const limit = settings["slowlog-max-len"] !== undefined ? text(settings["slowlog-max-len"]) : null;
    fill(summary, `${length} entr${length === 1 ? "y" : "ies"}`,
      threshold === null ? "" : threshold < 0 ? "; logging is off (slowlog-log-slower-than < 0)"
        : `; logging commands that take ${threshold === 0 ? "any time" : "at least " + formatMicros(threshold)}`,
      limit === null ? "" : `, keeping the last ${limit}`);
    const entries = entriesReply.map(([id, time, micros, args, addr, name]) => ({
      id, time, micros, args: (args ?? []).map(text), addr: addr ? text(addr) : "", name: name ? text(name) : "",
    }));
    if (order.value === "slowest") entries.sort((a, b) => b.micros - a.micros);
    const infos = await commandInfo(session, [...new Set(entries.filter((e) => e.args.length).map((e) => e.args[0].toLowerCase()))]);
    // The client column only when the server names one.
    const clients = entries.some((entry) => entry.addr || entry.name);
    fill(body, entries.length ? dataTable("slowlog-entries", ["#", "When", "Duration", "Command", ...(clients ? ["Client"] : [])], entries.map((entry) =>
      h("tr", { dataset: { id: entry.id } },
        h("td", { class: "num" }, entry.id),
        h("td", { class: "num" }, new Date(entry.time * 1000).toLocaleString()),
        h("td", { class: "num duration" }, formatMicros(entry.micros)),
        h("td", { class: "value" }, commandCell(entry.args, keyPositions(infos.get(entry.args[0]?.toLowerCase()), entry.args.length))),
        clients ? h("td", { class: "mono small" }, entry.addr, entry.name ? ` (${entry.name})` : "") : null)))
      : h("p", { class: "muted", id: "slowlog-empty" }, "The slow log is empty."));
  }

  async function resetLog() {
    if (!(await confirmAction("Reset the slow log", "SLOWLOG RESET forgets every logged command.", "Reset"))) return;
    try {
      await session.client.command(["SLOWLOG", "RESET"]);
      toast("Slow log reset");
    } catch (error) {
      toast(error.message, "error");
    }
    load();
  }

  load().catch((error) => fill(body, h("p", { class: "error" }, error.message)));
}
