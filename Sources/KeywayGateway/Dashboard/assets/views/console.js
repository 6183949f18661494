// A command line over `POST /`: any command the user's rules allow, with
// the replies printed as redis-cli prints them, the history of this tab on
// the up and down arrows, and Tab completing the command's name from
// COMMAND LIST (when the user may run COMMAND).

import { CommandError } from "../api.js";
import { fill, h } from "../dom.js";
import { formatCLI, splitArgs, text } from "../reply.js";

const HISTORY_KEY = "keyway.console.history";
const HISTORY_LIMIT = 200;

export function render(container, session) {
  const history = JSON.parse(sessionStorage.getItem(HISTORY_KEY) ?? "[]");
  let position = history.length;
  let draft = "";

  const output = h("div", { class: "console-output", id: "console-output", role: "log", "aria-live": "polite" },
    h("p", { class: "muted" }, "Type a command, as in redis-cli: SET greeting \"hello world\". Up and down walk the history; Tab completes a command's name."));
  const input = h("input", {
    id: "console-input", class: "console-input", type: "text", autocomplete: "off", autocapitalize: "off", spellcheck: "false",
    placeholder: "PING", "aria-label": "Command",
  });
  const form = h("form", { class: "console-line", id: "console-form" }, h("span", { class: "prompt" }, `${session.user}>`), input);
  const hint = h("div", { class: "console-hint muted small", id: "console-hint" });
  fill(container, h("div", { class: "console card" }, output, hint, form));
  input.focus();
  const names = session.client.command(["COMMAND", "LIST"])
    .then((list) => list.map((name) => text(name).toUpperCase()).sort())
    .catch(() => []);

  /** Completes the first word to the longest prefix all matching names share. */
  async function complete() {
    const match = /^(\S*)$/.exec(input.value);
    if (!match) return;
    const typed = match[1].toUpperCase();
    const candidates = (await names).filter((name) => name.startsWith(typed));
    if (candidates.length === 0) return;
    let common = candidates[0];
    for (const name of candidates) while (!name.startsWith(common)) common = common.slice(0, -1);
    input.value = candidates.length === 1 ? common + " " : common;
    fill(hint, candidates.length > 1 ? candidates.slice(0, 30).join("  ") + (candidates.length > 30 ? "  …" : "") : "");
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const line = input.value.trim();
    if (!line) return;
    input.value = "";
    fill(hint);
    if (history[history.length - 1] !== line) history.push(line);
    history.splice(0, Math.max(0, history.length - HISTORY_LIMIT));
    sessionStorage.setItem(HISTORY_KEY, JSON.stringify(history));
    position = history.length;
    draft = "";
    const entry = h("div", { class: "console-entry" }, h("div", { class: "console-command" }, h("span", { class: "prompt" }, `${session.user}>`), " ", line));
    const reply = h("pre", { class: "console-reply" }, "…");
    entry.append(reply);
    output.append(entry);
    if (/^(clear|cls)$/i.test(line)) {
      output.replaceChildren();
      return;
    }
    try {
      const args = splitArgs(line);
      const result = await session.client.command(args);
      reply.textContent = formatCLI(result);
    } catch (error) {
      reply.textContent = error instanceof CommandError ? formatCLI(error.message, true) : `(error) ${error.message}`;
      reply.classList.add("error");
    }
    output.scrollTop = output.scrollHeight;
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Tab" && !event.shiftKey) {
      event.preventDefault();
      complete();
      return;
    }
    if (event.key === "ArrowUp" && position > 0) {
      if (position === history.length) draft = input.value;
      position--;
      input.value = history[position];
    } else if (event.key === "ArrowDown" && position < history.length) {
      position++;
      input.value = position === history.length ? draft : history[position];
    } else {
      return;
    }
    event.preventDefault();
    input.setSelectionRange(input.value.length, input.value.length);
  });
}
