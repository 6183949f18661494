// Small DOM helpers. Text always goes in as text nodes (never innerHTML),
// so key names and values cannot inject markup.

/** `h("button", {class: "x", onclick}, "Save")`: an element with attributes and children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A short message at the bottom of the page; `kind` is "error" or "ok". */
export function toast(message, kind = "ok") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 3000);
}

/**
 * A modal form: `fields` are `{name, label, value, type, options}`;
 * resolves to the values by name, or null when cancelled.
 */
export function askForm({ title, message, fields = [], confirm = "OK", danger = false }) {
  return new Promise((resolve) => {
    const inputs = fields.map((field) => {
      let input;
      if (field.options) {
        input = h("select", { name: field.name }, field.options.map(([value, label]) => h("option", { value }, label)));
        if (field.value) input.value = field.value;
      } else if (field.type === "textarea") {
        input = h("textarea", { name: field.name, rows: 5 });
        input.value = field.value ?? "";
      } else {
        input = h("input", { name: field.name, type: field.type ?? "text", autocomplete: "off" });
        input.value = field.value ?? "";
      }
      if (field.required) input.required = true;
      return { field, input, row: h("label", { class: "field", dataset: { field: field.name } }, h("span", {}, field.label), input) };
    });
    const dialog = h("dialog", { class: "modal" });
    const form = h("form", { method: "dialog" },
      h("h2", {}, title),
      message ? h("p", { class: "muted" }, message) : null,
      inputs.map((i) => i.row),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "ghost", value: "cancel", onclick: () => dialog.close("cancel") }, "Cancel"),
        h("button", { type: "submit", class: danger ? "danger" : "primary", value: "ok", dataset: { role: "confirm" } }, confirm)));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      dialog.close("ok");
    });
    dialog.append(form);
    dialog.addEventListener("close", () => {
      const values = Object.fromEntries(inputs.map(({ field, input }) => [field.name, input.value]));
      dialog.remove();
      resolve(dialog.returnValue === "ok" ? values : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    (inputs[0]?.input ?? form.querySelector("[data-role=confirm]")).focus();
  });
}

/** Asks before a destructive action; resolves true to go ahead. */
export async function confirmAction(title, message, confirm = "Delete") {
  return (await askForm({ title, message, confirm, danger: true })) !== null;
}

/** `1.2 KB`, `3 MB`. */
export function formatBytes(count) {
  if (count === null || count === undefined) return "–";
  const units = ["B", "KB", "MB", "GB"];
  let value = count, unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return (unit === 0 ? value : value.toFixed(1)) + " " + units[unit];
}

/** A TTL in seconds as `2h 5m`, `45s`, or "no expiry" for -1. */
export function formatTTL(seconds) {
  if (seconds === -1) return "no expiry";
  if (seconds < 0) return "–";
  const parts = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (seconds >= size) {
      parts.push(Math.floor(seconds / size) + unit);
      seconds %= size;
    }
  }
  if (seconds || parts.length === 0) parts.push(seconds + "s");
  return parts.slice(0, 2).join(" ");
}

/** A table in a scrolling wrapper: `headers` are the column titles, `rows` the `<tr>`s. */
export function dataTable(id, headers, rows) {
  return h("div", { class: "table-wrap" }, h("table", { class: "data", id },
    h("thead", {}, h("tr", {}, headers.map((name) => h("th", {}, name)))),
    h("tbody", {}, rows)));
}

/** A link that opens `key` in the key browser (`#/keys/<key>`), showing `label` (the key by default). */
export function keyLink(key, label = key) {
  return h("a", { class: "key-link", href: `#/keys/${encodeURIComponent(key)}`, dataset: { key }, title: `Open ${key} in the key browser` }, label);
}
