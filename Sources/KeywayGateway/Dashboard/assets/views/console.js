// A command line over `POST /`: any command the user's rules allow, with
// the replies printed as redis-cli prints them, the history of this tab on
// the up and down arrows, and, from COMMAND DOCS (fetched once per session,
// when the user may run COMMAND), the matching command names and the
// argument syntax of the command being typed; Tab completes the name (and a
// container command's subcommand, CONFIG GET).

import { CommandError } from "../api.js";
import { commandDocs, syntax } from "../commanddocs.js";
import { fill, h } from "../dom.js";
import { formatCLI, splitArgs } from "../reply.js";

const HISTORY_KEY = "keyway.console.history";
const HISTORY_LIMIT = 200;

export function render(container, session) {
  const history = JSON.parse(sessionStorage.getItem(HISTORY_KEY) ?? "[]");
  let position = history.length;
  let draft = "";

  const output = h("div", { class: "console-output", id: "console-output", role: "log", "aria-live": "polite" },
    h("p", { class: "muted" }, "Type a command, as in redis-cli: SET greeting \"hello world\". Up and down walk the history; as you type, the matching commands and their arguments show below, and Tab completes the name."));
  const input = h("input", {
    id: "console-input", class: "console-input", type: "text", autocomplete: "off", autocapitalize: "off", spellcheck: "false",
    placeholder: "PING", "aria-label": "Command",
  });
  const form = h("form", { class: "console-line", id: "console-form" }, h("span", { class: "prompt" }, `${session.user}>`), input);
  const hint = h("div", { class: "console-hint muted small", id: "console-hint" });
  fill(container, h("div", { class: "console card" }, output, hint, form));
  input.focus();
  const docs = commandDocs(session);

  /**
   * What can follow the words typed so far: the candidates for the word being
   * typed (command names, or a container's subcommands) and the documentation
   * of the command the line names.
   */
  async function lookup() {
    const known = await docs;
    const words = input.value.trimStart().split(/\s+/);
    const first = words[0].toUpperCase();
    if (!first) return { candidates: [], doc: null, typed: "", prefix: "" };
    if (words.length === 1) {
      const candidates = [...known.keys()].filter((name) => name.startsWith(first)).sort();
      return { candidates, doc: known.get(first) ?? known.get(candidates[0]) ?? null, typed: first, prefix: "" };
    }
    const doc = known.get(first) ?? null;
    if (!doc || doc.subcommands.size === 0) return { candidates: [], doc, typed: "", prefix: "" };
    const sub = words[1].toUpperCase();
    if (words.length === 2) {
      const candidates = [...doc.subcommands.keys()].filter((name) => name.startsWith(sub)).sort();
      return {
        candidates, doc: doc.subcommands.get(sub) ?? doc.subcommands.get(candidates[0]) ?? doc,
        typed: sub, prefix: `${first} `,
      };
    }
    return { candidates: [], doc: doc.subcommands.get(sub) ?? doc, typed: "", prefix: "" };
  }

  /** Shows the candidates and the syntax hint for the line as it stands. */
  async function describe() {
    const { candidates, doc, typed, prefix } = await lookup();
    const list = candidates.length > 1 || (candidates.length === 1 && candidates[0] !== typed)
      ? h("div", { class: "console-completions", id: "console-completions" },
        candidates.slice(0, 30).map((name) => h("button", {
          type: "button", class: "candidate", dataset: { name: prefix + name },
          onclick: () => { input.value = `${prefix}${name} `; input.focus(); describe(); },
        }, prefix + name)),
        candidates.length > 30 ? "…" : null)
      : null;
    const about = doc && (doc.arguments.length || doc.summary || doc.subcommands.size)
      ? h("div", { class: "console-syntax", id: "console-syntax" },
        h("code", {}, doc.subcommands.size && !doc.arguments.length ? `${doc.name} <${[...doc.subcommands.keys()].sort().join(" | ")}>` : syntax(doc)),
        doc.summary ? h("span", { class: "muted" }, ` ${doc.summary}`) : null)
      : null;
    fill(hint, list, about);
  }

  /** Completes the word being typed to the longest prefix its candidates share. */
  async function complete() {
    if (/\s$/.test(input.value) && input.value.trim()) return;
    const { candidates, prefix } = await lookup();
    if (candidates.length === 0) return;
    let common = candidates[0];
    for (const name of candidates) while (!name.startsWith(common)) common = common.slice(0, -1);
    input.value = prefix + common + (candidates.length === 1 ? " " : "");
    input.setSelectionRange(input.value.length, input.value.length);
    await describe();
  }

  input.addEventListener("input", () => describe());

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
    describe();
  });
}
