// MONITOR over `GET /v1/monitor`: every command the server runs, as
// redis-cli's MONITOR prints it, newest at the bottom. Pausing keeps the
// lines that arrive meanwhile and shows them on resume; the filter hides
// lines without its text. The stream closes when the user leaves.

import { fill, h } from "../dom.js";
import { quoteArgs } from "../reply.js";

const KEEP = 1000;

export function render(container, session) {
  if (!session.can("monitor")) {
    fill(container, h("p", { class: "error pad" }, "Your ACL rules do not allow MONITOR."));
    return;
  }
  let paused = false;
  let held = [];
  const state = h("span", { class: "muted small", id: "monitor-status" }, "Connecting…");
  const filter = h("input", { id: "monitor-filter", type: "search", placeholder: "filter, e.g. user:1 or HSET", "aria-label": "Filter" });
  const pause = h("button", { type: "button", class: "ghost", id: "monitor-pause" }, "Pause");
  const clear = h("button", { type: "button", class: "ghost", id: "monitor-clear" }, "Clear");
  const lines = h("ol", { class: "log-lines", id: "monitor-lines", role: "log", "aria-live": "off" });
  const output = h("div", { class: "console-output log" }, lines);
  fill(container, h("div", { class: "console card" },
    h("div", { class: "toolbar" }, filter, pause, clear, state), output));

  const matches = (line) => !filter.value || line.dataset.text.toLowerCase().includes(filter.value.toLowerCase());

  function show(events) {
    const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 8;
    for (const event of events) {
      const command = Array.isArray(event.command) ? event.command : [];
      const when = new Date(Number(event.time) * 1000);
      const stamp = when.toLocaleTimeString([], { hour12: false }) + "." + String(when.getMilliseconds()).padStart(3, "0");
      const args = quoteArgs(command);
      const line = h("li", { class: "log-line monitor-line", dataset: { text: `${event.client ?? ""} ${args}` } },
        h("span", { class: "muted" }, stamp), " ",
        h("span", { class: "log-client" }, `[${event.client ?? "resource"}]`), " ", args);
      line.hidden = !matches(line);
      lines.append(line);
    }
    while (lines.children.length > KEEP) lines.firstChild.remove();
    if (atBottom) output.scrollTop = output.scrollHeight;
  }

  function status() {
    fill(state, paused ? `Paused, ${held.length} new` : "Watching");
  }

  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.classList.toggle("primary", paused);
    if (!paused) {
      show(held);
      held = [];
    }
    status();
  });
  clear.addEventListener("click", () => lines.replaceChildren());
  filter.addEventListener("input", () => {
    for (const line of lines.children) line.hidden = !matches(line);
  });

  const stream = session.client.events("/v1/monitor", (type, data) => {
    if (type === "monitor") return status();
    if (type !== "command") return;
    if (paused) {
      held.push(data);
      if (held.length > KEEP) held.shift();
      status();
    } else {
      show([data]);
    }
  });
  let left = false;
  stream.done.then(() => left || fill(state, h("span", { class: "error" }, "The server closed the stream.")),
    (error) => fill(state, h("span", { class: "error" }, error.message)));
  return () => {
    left = true;
    stream.close();
  };
}
