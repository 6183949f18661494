// One viewer (and editor) per type. Each is `(container, context)` with
// context = {client, session, key, refresh}; collections load a page at a
// time with "Load more", so a key with millions of members stays usable.
// Write controls appear only when the user's ACL rules allow the command.

import { CommandError } from "../api.js";
import { askForm, confirmAction, fill, formatTTL, h, toast } from "../dom.js";
import { bytes, hexDump, text, utf8Text } from "../reply.js";

const PAGE = 100;

export function viewerFor(type) {
  return {
    string: stringViewer, hash: hashViewer, list: listViewer, set: setViewer, zset: zsetViewer,
    stream: streamViewer, "ReJSON-RL": jsonViewer,
  }[type] ?? ((container) => fill(container, h("p", { class: "muted" }, `No viewer for the type ${type} yet.`)));
}

/** Runs `action`, reporting a refusal or failure as a toast; true when it worked. */
async function attempt(action, done) {
  try {
    await action();
    if (done) toast(done);
    return true;
  } catch (error) {
    toast(error.message, "error");
    return false;
  }
}

function table(id, headers, rows) {
  return h("div", { class: "table-wrap" }, h("table", { class: "data", id },
    h("thead", {}, h("tr", {}, headers.map((name) => h("th", {}, name)))),
    h("tbody", {}, rows)));
}

function value(cell) {
  return h("td", { class: "value" }, h("span", { class: "clip" }, cell));
}

function pager(load) {
  const button = h("button", { type: "button", class: "ghost wide load-more", onclick: () => load() }, "Load more");
  return button;
}

/** Text with a choice of views: as text, as pretty-printed JSON when it parses, as hex. */
function stringViewer(container, { client, session, key, refresh }) {
  return client.command(["GET", key]).then((reply) => {
    const data = bytes(reply) ?? new Uint8Array();
    const asText = utf8Text(data);
    let json = null;
    if (asText !== null) {
      try {
        const parsed = JSON.parse(asText);
        if (typeof parsed === "object" && parsed !== null) json = JSON.stringify(parsed, null, 2);
      } catch { /* not JSON */ }
    }
    const modes = [];
    if (asText !== null) modes.push(["text", "Text", asText]);
    if (json !== null) modes.push(["json", "JSON", json]);
    modes.push(["hex", "Hex", hexDump(data)]);
    const output = h("pre", { class: "value-box", id: "string-value" });
    const tabs = h("div", { class: "tabs small", role: "tablist" });
    const show = (id) => {
      const mode = modes.find((m) => m[0] === id);
      output.textContent = mode[2];
      output.dataset.mode = id;
      for (const tab of tabs.children) tab.classList.toggle("active", tab.dataset.mode === id);
    };
    for (const [id, label] of modes) tabs.append(h("button", { type: "button", role: "tab", dataset: { mode: id }, onclick: () => show(id) }, label));
    const edit = session.can("set") && asText !== null
      ? h("button", { type: "button", class: "primary", id: "edit-string", onclick: () => editString() }, "Edit") : null;
    fill(container, h("div", { class: "viewer-head" }, tabs, h("span", { class: "muted small" }, `${data.length} bytes`), edit), output);
    show(json !== null ? "json" : modes[0][0]);

    async function editString() {
      const values = await askForm({ title: "Edit value", fields: [{ name: "value", label: "Value", type: "textarea", value: asText }], confirm: "Save" });
      if (values && (await attempt(() => client.command(["SET", key, values.value, "KEEPTTL"]), "Value saved"))) refresh();
    }
  });
}

/** Fields with their values and field TTLs (HTTL), editable with HSET and HEXPIRE/HPERSIST. */
async function hashViewer(container, { client, session, key }) {
  const count = await client.command(["HLEN", key]);
  const canEdit = session.can("hset");
  const rows = h("tbody");
  const more = pager(() => loadPage());
  const add = canEdit ? h("button", { type: "button", class: "primary", id: "add-field", onclick: () => edit(null) }, "+ Field") : null;
  const headers = ["Field", "Value", "TTL", canEdit || session.can("hdel") ? "" : null].filter((x) => x !== null);
  const wrap = table("hash-fields", headers, []);
  wrap.querySelector("table").replaceChild(rows, wrap.querySelector("tbody"));
  fill(container, h("div", { class: "viewer-head" }, h("span", { class: "muted small" }, `${count} field${count === 1 ? "" : "s"}`), add), wrap, more);
  let cursor = "0";
  const fields = new Map();

  async function loadPage() {
    const [next, flat] = await client.command(["HSCAN", key, cursor, "COUNT", PAGE]);
    cursor = text(next);
    const page = [];
    for (let i = 0; i < flat.length; i += 2) page.push([text(flat[i]), text(flat[i + 1])]);
    const ttls = session.can("httl") && page.length
      ? await client.command(["HTTL", key, "FIELDS", page.length, ...page.map(([f]) => f)]).catch(() => page.map(() => null))
      : page.map(() => null);
    page.forEach(([field, fieldValue], i) => {
      fields.set(field, { value: fieldValue, ttl: ttls[i] });
      rows.append(row(field));
    });
    more.hidden = cursor === "0";
  }

  function row(field) {
    const { value: fieldValue, ttl } = fields.get(field);
    return h("tr", { dataset: { field } },
      h("td", { class: "field-name" }, field), value(fieldValue),
      h("td", { class: "ttl" }, ttl === null || ttl === undefined ? "–" : formatTTL(ttl)),
      canEdit || session.can("hdel") ? h("td", { class: "row-actions" },
        canEdit ? h("button", { type: "button", class: "link edit-field", onclick: () => edit(field) }, "edit") : null,
        session.can("hdel") ? h("button", { type: "button", class: "link danger-text delete-field", onclick: () => removeField(field) }, "delete") : null) : null);
  }

  async function edit(field) {
    const current = field === null ? null : fields.get(field);
    const withTTL = session.can("hexpire");
    const values = await askForm({
      title: field === null ? "New field" : `Edit ${field}`,
      fields: [
        field === null ? { name: "field", label: "Field", required: true } : null,
        { name: "value", label: "Value", type: "textarea", value: current?.value ?? "" },
        withTTL ? { name: "ttl", label: "Field TTL (seconds, empty for none)", type: "number", value: current?.ttl > 0 ? current.ttl : "" } : null,
      ].filter(Boolean),
      confirm: "Save",
    });
    if (!values) return;
    const name = field ?? values.field;
    const ok = await attempt(async () => {
      await client.command(["HSET", key, name, values.value]);
      if (withTTL && values.ttl !== "") await client.command(["HEXPIRE", key, values.ttl, "FIELDS", 1, name]);
      else if (withTTL && current?.ttl > 0 && session.can("hpersist")) await client.command(["HPERSIST", key, "FIELDS", 1, name]);
    }, "Field saved");
    if (!ok) return;
    const [ttl] = session.can("httl") ? await client.command(["HTTL", key, "FIELDS", 1, name]) : [null];
    const existed = fields.has(name);
    fields.set(name, { value: values.value, ttl });
    const fresh = row(name);
    const old = rows.querySelector(`tr[data-field="${CSS.escape(name)}"]`);
    if (existed && old) old.replaceWith(fresh);
    else rows.prepend(fresh);
  }

  async function removeField(field) {
    if (!(await confirmAction("Delete field", `Delete the field ${field} of ${key}?`))) return;
    if (await attempt(() => client.command(["HDEL", key, field]), "Field deleted")) {
      fields.delete(field);
      rows.querySelector(`tr[data-field="${CSS.escape(field)}"]`)?.remove();
    }
  }

  await loadPage();
}

/** Items by index (LRANGE), a page at a time; LSET edits one. */
async function listViewer(container, { client, session, key, refresh }) {
  const length = await client.command(["LLEN", key]);
  const rows = h("tbody");
  const wrap = table("list-items", ["#", "Value", session.can("lset") ? "" : null].filter((x) => x !== null), []);
  wrap.querySelector("table").replaceChild(rows, wrap.querySelector("tbody"));
  const more = pager(() => loadPage());
  fill(container, h("div", { class: "viewer-head" }, h("span", { class: "muted small" }, `${length} item${length === 1 ? "" : "s"}`)), wrap, more);
  let next = 0;

  async function loadPage() {
    const items = await client.command(["LRANGE", key, next, next + PAGE - 1]);
    items.forEach((item, i) => {
      const index = next + i;
      const itemText = text(item);
      rows.append(h("tr", {}, h("td", { class: "num" }, index), value(itemText),
        session.can("lset") ? h("td", { class: "row-actions" }, h("button", {
          type: "button", class: "link", onclick: async () => {
            const values = await askForm({ title: `Edit item ${index}`, fields: [{ name: "value", label: "Value", type: "textarea", value: itemText }], confirm: "Save" });
            if (values && (await attempt(() => client.command(["LSET", key, index, values.value]), "Item saved"))) refresh();
          },
        }, "edit")) : null));
    });
    next += items.length;
    more.hidden = next >= length || items.length === 0;
  }

  await loadPage();
}

/** Members (SSCAN), a page at a time; SADD and SREM. */
async function setViewer(container, { client, session, key, refresh }) {
  const count = await client.command(["SCARD", key]);
  const rows = h("tbody");
  const wrap = table("set-members", ["Member", session.can("srem") ? "" : null].filter((x) => x !== null), []);
  wrap.querySelector("table").replaceChild(rows, wrap.querySelector("tbody"));
  const more = pager(() => loadPage());
  const add = session.can("sadd") ? h("button", {
    type: "button", class: "primary", id: "add-member", onclick: async () => {
      const values = await askForm({ title: "Add member", fields: [{ name: "member", label: "Member", required: true }], confirm: "Add" });
      if (values && (await attempt(() => client.command(["SADD", key, values.member]), "Member added"))) refresh();
    },
  }, "+ Member") : null;
  fill(container, h("div", { class: "viewer-head" }, h("span", { class: "muted small" }, `${count} member${count === 1 ? "" : "s"}`), add), wrap, more);
  let cursor = "0";

  async function loadPage() {
    const [next, members] = await client.command(["SSCAN", key, cursor, "COUNT", PAGE]);
    cursor = text(next);
    for (const member of members.map(text)) {
      rows.append(h("tr", {}, value(member), session.can("srem") ? h("td", { class: "row-actions" }, h("button", {
        type: "button", class: "link danger-text", onclick: async () => {
          if (await confirmAction("Remove member", `Remove ${member} from ${key}?`, "Remove")
              && (await attempt(() => client.command(["SREM", key, member]), "Member removed"))) refresh();
        },
      }, "remove")) : null));
    }
    more.hidden = cursor === "0";
  }

  await loadPage();
}

/** Members by rank with their scores (ZRANGE ... WITHSCORES); ZADD and ZREM. */
async function zsetViewer(container, { client, session, key, refresh }) {
  const count = await client.command(["ZCARD", key]);
  const rows = h("tbody");
  const wrap = table("zset-members", ["Rank", "Member", "Score", session.can("zrem") ? "" : null].filter((x) => x !== null), []);
  wrap.querySelector("table").replaceChild(rows, wrap.querySelector("tbody"));
  const more = pager(() => loadPage());
  const add = session.can("zadd") ? h("button", {
    type: "button", class: "primary", id: "add-member", onclick: async () => {
      const values = await askForm({
        title: "Add or rescore a member",
        fields: [{ name: "member", label: "Member", required: true }, { name: "score", label: "Score", type: "number", value: "0", required: true }],
        confirm: "Save",
      });
      if (values && (await attempt(() => client.command(["ZADD", key, values.score, values.member]), "Member saved"))) refresh();
    },
  }, "+ Member") : null;
  fill(container, h("div", { class: "viewer-head" }, h("span", { class: "muted small" }, `${count} member${count === 1 ? "" : "s"}`), add), wrap, more);
  let next = 0;

  async function loadPage() {
    const flat = await client.command(["ZRANGE", key, next, next + PAGE - 1, "WITHSCORES"]);
    for (let i = 0; i < flat.length; i += 2) {
      const member = text(flat[i]);
      rows.append(h("tr", {}, h("td", { class: "num" }, next + i / 2), value(member), h("td", { class: "num score" }, text(flat[i + 1])),
        session.can("zrem") ? h("td", { class: "row-actions" }, h("button", {
          type: "button", class: "link danger-text", onclick: async () => {
            if (await confirmAction("Remove member", `Remove ${member} from ${key}?`, "Remove")
                && (await attempt(() => client.command(["ZREM", key, member]), "Member removed"))) refresh();
          },
        }, "remove")) : null));
    }
    next += flat.length / 2;
    more.hidden = next >= count || flat.length === 0;
  }

  await loadPage();
}

/** Entries between two ids (XRANGE), oldest first, a page at a time; XADD. */
async function streamViewer(container, { client, session, key, refresh }) {
  const length = await client.command(["XLEN", key]);
  const start = h("input", { id: "stream-start", value: "-", "aria-label": "First id", size: 14 });
  const end = h("input", { id: "stream-end", value: "+", "aria-label": "Last id", size: 14 });
  const range = h("form", { class: "filters", id: "stream-range" }, start, end, h("button", { type: "submit", class: "ghost" }, "Show"));
  const rows = h("tbody");
  const wrap = table("stream-entries", ["ID", "Fields"], []);
  wrap.querySelector("table").replaceChild(rows, wrap.querySelector("tbody"));
  const more = pager(() => loadPage());
  const add = session.can("xadd") ? h("button", {
    type: "button", class: "primary", id: "add-entry", onclick: async () => {
      const values = await askForm({
        title: "Add entry", message: "One field and value; the server assigns the id.",
        fields: [{ name: "field", label: "Field", required: true }, { name: "value", label: "Value" }], confirm: "Add",
      });
      if (values && (await attempt(() => client.command(["XADD", key, "*", values.field, values.value]), "Entry added"))) refresh();
    },
  }, "+ Entry") : null;
  const groups = h("a", { class: "link-button", id: "stream-groups-link", href: `#/streams/${encodeURIComponent(key)}` }, "Consumer groups →");
  fill(container, h("div", { class: "viewer-head" }, h("span", { class: "muted small" }, `${length} entr${length === 1 ? "y" : "ies"}`), range, groups, add), wrap, more);
  let from = "-";
  range.addEventListener("submit", (event) => {
    event.preventDefault();
    rows.replaceChildren();
    from = start.value.trim() || "-";
    loadPage();
  });

  async function loadPage() {
    const entries = await client.command(["XRANGE", key, from, end.value.trim() || "+", "COUNT", PAGE]).catch((error) => {
      toast(error.message, "error");
      return [];
    });
    for (const [idReply, flat] of entries) {
      const id = text(idReply);
      const pairs = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push(h("span", { class: "pair" }, h("b", {}, text(flat[i])), " ", text(flat[i + 1])));
      rows.append(h("tr", {}, h("td", { class: "mono" }, id), h("td", { class: "value" }, pairs)));
      from = "(" + id;
    }
    more.hidden = entries.length < PAGE;
  }

  await loadPage();
}

/** The whole document pretty-printed (JSON.GET); JSON.SET replaces it. */
async function jsonViewer(container, { client, session, key, refresh }) {
  const document = text(await client.command(["JSON.GET", key]));
  let pretty = document;
  try {
    pretty = JSON.stringify(JSON.parse(document), null, 2);
  } catch { /* shown as it came */ }
  const edit = session.can("json.set") ? h("button", {
    type: "button", class: "primary", id: "edit-json", onclick: async () => {
      const values = await askForm({ title: "Edit document", fields: [{ name: "value", label: "JSON", type: "textarea", value: pretty }], confirm: "Save" });
      if (!values) return;
      try {
        JSON.parse(values.value);
      } catch (error) {
        toast("Not valid JSON: " + error.message, "error");
        return;
      }
      if (await attempt(() => client.command(["JSON.SET", key, "$", values.value]), "Document saved")) refresh();
    },
  }, "Edit") : null;
  fill(container, h("div", { class: "viewer-head" }, h("span", { class: "muted small" }, "JSON document"), edit), h("pre", { class: "value-box", id: "json-value" }, pretty));
}

/** Asks for a new key's name, type and first value; resolves to its name once made. */
export async function createKey(client, session) {
  const kinds = [["string", "string", "set"], ["hash", "hash", "hset"], ["list", "list", "rpush"], ["set", "set", "sadd"],
    ["zset", "sorted set", "zadd"], ["stream", "stream", "xadd"], ["json", "JSON document", "json.set"]].filter(([, , command]) => session.can(command));
  const values = await askForm({
    title: "New key",
    message: "Hashes and streams take the field; sorted sets take the score.",
    fields: [
      { name: "key", label: "Key", required: true },
      { name: "type", label: "Type", options: kinds.map(([value, label]) => [value, label]) },
      { name: "field", label: "Field / score" },
      { name: "value", label: "Value / member", type: "textarea" },
    ],
    confirm: "Create",
  });
  if (!values) return null;
  const { key, type, field, value: first } = values;
  const command = {
    string: ["SET", key, first, "NX"], hash: ["HSET", key, field || "field", first], list: ["RPUSH", key, first],
    set: ["SADD", key, first], zset: ["ZADD", key, field || "0", first], stream: ["XADD", key, "*", field || "field", first],
    json: ["JSON.SET", key, "$", first || "{}", "NX"],
  }[type];
  try {
    if ((await client.command(["EXISTS", key])) === 1) {
      toast(`${key} already exists`, "error");
      return null;
    }
    const reply = await client.command(command);
    if (reply === null) {
      toast(`${key} already exists`, "error");
      return null;
    }
    toast(`Created ${key}`);
    return key;
  } catch (error) {
    toast(error instanceof CommandError ? error.message : String(error), "error");
    return null;
  }
}
