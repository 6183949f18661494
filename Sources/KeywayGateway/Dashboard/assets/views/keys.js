// The key browser: SCAN with a pattern and a type, page by page ("Load
// more"), shown as a tree; the selected key's type, TTL, memory and
// encoding, its value in the viewer for its type, and create, rename,
// delete and TTL edits for users whose rules allow them. `#/keys/<key>`
// opens that key at once (the Diagnose views link their keys here).

import { CommandError } from "../api.js";
import { askForm, confirmAction, fill, formatBytes, formatTTL, h, toast } from "../dom.js";
import { text } from "../reply.js";
import { KeyTree, typeClass, typeLabel } from "./keytree.js";
import { createKey, viewerFor } from "./viewers.js";

const PAGE = 200;
const TYPES = [["", "all types"], ["string", "string"], ["hash", "hash"], ["list", "list"], ["set", "set"],
  ["zset", "sorted set"], ["stream", "stream"], ["ReJSON-RL", "JSON"]];

export function render(container, session, opening = "") {
  const client = session.client;
  const state = { keys: new Map(), cursor: "0", done: false, pattern: "*", type: "", loading: false, selected: null };
  const tree = new KeyTree((key) => select(key));

  const pattern = h("input", { id: "scan-pattern", type: "search", placeholder: "pattern, e.g. user:*", value: "*", "aria-label": "Key pattern" });
  const type = h("select", { id: "scan-type", "aria-label": "Type" }, TYPES.map(([value, label]) => h("option", { value }, label)));
  const filters = h("form", { class: "filters", id: "scan-form" }, pattern, type, h("button", { type: "submit", class: "primary" }, "Scan"));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    restart();
  });
  const status = h("p", { class: "muted small", id: "scan-status" });
  const treeBox = h("div", { class: "tree-box", id: "key-tree" });
  const more = h("button", { type: "button", id: "load-more", class: "ghost wide", onclick: () => loadPage() }, "Load more");
  const newKey = session.canAny("set", "hset", "rpush", "sadd", "zadd", "xadd", "json.set")
    ? h("button", { type: "button", id: "new-key", class: "primary", onclick: () => create() }, "+ New key") : null;
  const side = h("aside", { class: "keys-side" }, h("div", { class: "side-head" }, h("h2", {}, "Keys"), newKey), filters, status, treeBox, more);
  const detail = h("section", { class: "key-detail", id: "key-detail" }, h("p", { class: "muted pad" }, "Select a key to see its value."));
  const layout = h("div", { class: "keys-layout" }, side, detail);
  fill(container, layout);

  if (!session.can("scan")) {
    fill(treeBox, h("p", { class: "error" }, "Your ACL rules do not allow SCAN, so keys cannot be listed."));
    more.hidden = true;
    return;
  }

  function restart() {
    state.keys.clear();
    state.cursor = "0";
    state.done = false;
    state.pattern = pattern.value.trim() || "*";
    state.type = type.value;
    loadPage();
  }

  /**
   * One SCAN call, then each new key's TYPE in one pipeline. A page may
   * come back empty while the cursor goes on (few matches in a big
   * keyspace): keep going until something arrives or the scan ends.
   */
  async function loadPage() {
    if (state.loading || state.done) return;
    state.loading = true;
    more.disabled = true;
    fill(status, "Scanning…");
    try {
      let found = 0;
      for (let calls = 0; calls < 20 && !state.done && found === 0; calls++) {
        const args = ["SCAN", state.cursor, "MATCH", state.pattern, "COUNT", PAGE];
        if (state.type) args.push("TYPE", state.type);
        const [cursor, names] = await client.command(args);
        state.cursor = text(cursor);
        state.done = state.cursor === "0";
        const fresh = names.map(text).filter((name) => !state.keys.has(name));
        const types = state.type ? fresh.map(() => state.type)
          : await client.pipeline(fresh.map((name) => ["TYPE", name])).then((replies) => replies.map((r) => (r instanceof CommandError ? "?" : text(r))));
        fresh.forEach((name, i) => state.keys.set(name, { name, type: types[i] }));
        found += fresh.length;
      }
      redraw();
    } catch (error) {
      fill(status, h("span", { class: "error" }, error.message));
    } finally {
      state.loading = false;
      more.disabled = false;
    }
  }

  function redraw() {
    tree.selected = state.selected;
    fill(treeBox, state.keys.size ? tree.render([...state.keys.values()]) : h("p", { class: "muted" }, "No keys match."));
    more.hidden = state.done;
    fill(status, `${state.keys.size} key${state.keys.size === 1 ? "" : "s"} loaded` + (state.done ? ", scan complete" : ", more to load"));
  }

  async function select(key) {
    state.selected = key;
    tree.selected = key;
    for (const button of treeBox.querySelectorAll("button.key")) button.classList.toggle("selected", button.dataset.key === key);
    layout.classList.add("showing-detail");
    fill(detail, h("p", { class: "muted pad" }, "Loading…"));
    try {
      await showKey(key);
    } catch (error) {
      fill(detail, h("p", { class: "error pad" }, error.message));
    }
  }

  async function showKey(key) {
    const [typeReply, ttlReply, memoryReply, encodingReply] = await client.pipeline([
      ["TYPE", key], ["TTL", key], ["MEMORY", "USAGE", key], ["OBJECT", "ENCODING", key],
    ]);
    const keyType = typeReply instanceof CommandError ? null : text(typeReply);
    if (keyType === "none") {
      state.keys.delete(key);
      redraw();
      fill(detail, h("p", { class: "muted pad" }, `${key} no longer exists.`));
      return;
    }
    const ttl = typeof ttlReply === "number" ? ttlReply : null;
    const memory = typeof memoryReply === "number" ? memoryReply : null;
    const encoding = typeof encodingReply === "string" ? text(encodingReply) : null;

    const actions = h("div", { class: "actions" },
      session.can("renamenx") ? h("button", { type: "button", class: "ghost", id: "rename-key", onclick: () => rename(key) }, "Rename") : null,
      session.can("del") ? h("button", { type: "button", class: "danger", id: "delete-key", onclick: () => remove(key) }, "Delete") : null);
    const ttlCell = h("span", { id: "key-ttl" }, ttl === null ? "–" : formatTTL(ttl));
    const ttlEdit = session.can("expire") ? h("button", { type: "button", class: "link", id: "edit-ttl", onclick: () => editTTL(key, ttl) }, "edit") : null;
    const back = h("button", { type: "button", class: "ghost back", onclick: () => layout.classList.remove("showing-detail") }, "← Keys");
    const body = h("div", { class: "viewer", id: "viewer" });
    fill(detail,
      h("div", { class: "detail-head" }, back,
        h("h2", { class: "key-title", id: "key-title", title: key }, key), actions),
      h("dl", { class: "meta" },
        h("div", {}, h("dt", {}, "Type"), h("dd", {}, h("span", { class: `badge type-${typeClass(keyType)}`, id: "key-type" }, typeLabel(keyType)))),
        h("div", {}, h("dt", {}, "TTL"), h("dd", {}, ttlCell, " ", ttlEdit)),
        h("div", {}, h("dt", {}, "Memory"), h("dd", { id: "key-memory" }, formatBytes(memory))),
        h("div", {}, h("dt", {}, "Encoding"), h("dd", { id: "key-encoding" }, encoding ?? "–"))),
      body);
    const known = state.keys.get(key);
    if (known && known.type !== keyType) {
      known.type = keyType;
      redraw();
    }
    await viewerFor(keyType)(body, { client, session, key, refresh: () => select(key) });
  }

  async function editTTL(key, current) {
    const values = await askForm({
      title: "Time to live", message: "Seconds until the key expires; empty keeps it forever.",
      fields: [{ name: "ttl", label: "TTL (seconds)", type: "number", value: current > 0 ? current : "" }], confirm: "Save",
    });
    if (!values) return;
    try {
      if (values.ttl === "") await client.command(["PERSIST", key]);
      else await client.command(["EXPIRE", key, values.ttl]);
      toast("TTL saved");
      select(key);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async function rename(key) {
    const values = await askForm({ title: "Rename key", fields: [{ name: "name", label: "New name", value: key, required: true }], confirm: "Rename" });
    if (!values || values.name === key) return;
    try {
      if ((await client.command(["RENAMENX", key, values.name])) === 0) {
        toast(`${values.name} already exists: nothing renamed`, "error");
        return;
      }
      const entry = state.keys.get(key);
      state.keys.delete(key);
      state.keys.set(values.name, { ...entry, name: values.name });
      toast(`Renamed to ${values.name}`);
      select(values.name);
      redraw();
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async function remove(key) {
    if (!(await confirmAction("Delete key", `Delete ${key} and its value? This cannot be undone.`))) return;
    try {
      await client.command(["DEL", key]);
      state.keys.delete(key);
      state.selected = null;
      redraw();
      layout.classList.remove("showing-detail");
      fill(detail, h("p", { class: "muted pad" }, `Deleted ${key}.`));
      toast(`Deleted ${key}`);
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async function create() {
    const key = await createKey(client, session);
    if (!key) return;
    const [typeReply] = await client.pipeline([["TYPE", key]]);
    state.keys.set(key, { name: key, type: text(typeReply) });
    redraw();
    select(key);
  }

  restart();
  if (opening) select(opening);
}
