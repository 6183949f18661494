// The server's configuration (CONFIG GET *), filterable by name or value;
// for users whose rules allow CONFIG SET, each parameter can be changed
// in place. A refused value (out of range, unknown policy) is reported as
// the server words it and the table shows what the server holds.

import { askForm, dataTable, fill, h, toast } from "../dom.js";
import { record, text } from "../reply.js";

export function render(container, session) {
  if (!session.can("config|get")) {
    fill(container, h("p", { class: "error pad" }, "Your ACL rules do not allow CONFIG GET."));
    return;
  }
  const canSet = session.can("config|set");
  const filter = h("input", { id: "config-filter", type: "search", placeholder: "filter, e.g. maxmemory", "aria-label": "Filter" });
  const summary = h("p", { class: "muted small", id: "config-summary" });
  const body = h("div", { id: "config-body" });
  fill(container, h("div", { class: "page" },
    h("div", { class: "viewer-head" }, h("h2", {}, "Configuration"), filter,
      h("button", { type: "button", class: "ghost", id: "config-refresh", onclick: () => load() }, "Refresh")),
    summary, body));
  let parameters = [];
  filter.addEventListener("input", () => draw());

  async function load() {
    try {
      const all = record(await session.client.command(["CONFIG", "GET", "*"]));
      parameters = Object.entries(all).map(([name, value]) => ({ name, value: text(value) ?? "" })).sort((a, b) => a.name.localeCompare(b.name));
      draw();
    } catch (error) {
      fill(body, h("p", { class: "error" }, error.message));
    }
  }

  function draw() {
    const needle = filter.value.toLowerCase();
    const shown = parameters.filter((p) => !needle || p.name.includes(needle) || p.value.toLowerCase().includes(needle));
    fill(summary, `${parameters.length} parameters` + (shown.length < parameters.length ? `, ${shown.length} shown` : "") +
      (canSet ? "" : "; your ACL rules do not allow CONFIG SET, so they are read-only here"));
    fill(body, dataTable("config-table", ["Parameter", "Value", ...(canSet ? [""] : [])], shown.map((p) =>
      h("tr", { dataset: { param: p.name } },
        h("td", { class: "field-name" }, p.name), h("td", { class: "value config-value" }, p.value === "" ? h("span", { class: "muted" }, "(empty)") : p.value),
        canSet ? h("td", { class: "row-actions" }, h("button", { type: "button", class: "link edit-config", onclick: () => edit(p) }, "edit")) : null))));
  }

  async function edit(parameter) {
    const values = await askForm({
      title: parameter.name, message: "CONFIG SET applies the value at once; it lasts until a restart unless CONFIG REWRITE saves it.",
      fields: [{ name: "value", label: "Value", value: parameter.value }], confirm: "Set",
    });
    if (!values) return;
    try {
      await session.client.command(["CONFIG", "SET", parameter.name, values.value]);
      toast(`${parameter.name} set`);
    } catch (error) {
      toast(error.message, "error");
    }
    load();
  }

  load();
}
