// What the console knows about commands, from `COMMAND DOCS` (fetched once
// per session): names to complete, and each command's argument syntax as
// Redis's documentation writes it (`SET key value [NX | XX] ...`).
//
// Over `POST /` the reply is RESP2-shaped: every map is a flat list of
// names and values.

import { text } from "./reply.js";

const loaded = new WeakMap();

/** A flat name/value list as an object. */
function pairs(flat) {
  const out = {};
  if (!Array.isArray(flat)) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) out[text(flat[i])] = flat[i + 1];
  return out;
}

function argument(reply) {
  const fields = pairs(reply);
  return {
    name: text(fields.name ?? ""),
    type: text(fields.type ?? "string"),
    token: fields.token === undefined || fields.token === null ? null : text(fields.token),
    flags: (fields.flags ?? []).map(text),
    arguments: (fields.arguments ?? []).map(argument),
  };
}

function command(name, reply) {
  const fields = pairs(reply);
  const subcommands = new Map();
  for (const [subname, subreply] of Object.entries(pairs(fields.subcommands))) {
    const word = subname.split("|")[1] ?? subname;
    subcommands.set(word.toUpperCase(), command(`${name} ${word.toUpperCase()}`, subreply));
  }
  return {
    name,
    summary: text(fields.summary ?? ""),
    group: text(fields.group ?? ""),
    arguments: (fields.arguments ?? []).map(argument),
    subcommands,
  };
}

/** One argument in Redis's documentation syntax. */
export function argumentSyntax(arg) {
  let out;
  switch (arg.type) {
    case "pure-token": out = arg.token; break;
    case "oneof": out = arg.arguments.map(argumentSyntax).join(" | "); break;
    case "block": out = arg.arguments.map(argumentSyntax).join(" "); break;
    default: out = arg.name;
  }
  if (arg.token && arg.type !== "pure-token") out = `${arg.token} ${out}`;
  if (arg.flags.includes("multiple")) {
    const again = arg.flags.includes("multiple_token") || !arg.token ? out : out.slice(arg.token.length + 1);
    out = `${out} [${again} ...]`;
  }
  if (arg.flags.includes("optional")) return `[${out}]`;
  if (arg.type === "oneof") return `<${out}>`;
  return out;
}

/** A command's whole syntax line: `HSET key field value [field value ...]`. */
export function syntax(doc) {
  return [doc.name, ...doc.arguments.map(argumentSyntax)].join(" ");
}

/**
 * The commands this session may read about: a Map from the uppercase name to
 * `{name, summary, group, arguments, subcommands}`. Falls back to the bare
 * names of COMMAND LIST, then to nothing, when the user may not ask.
 */
export function commandDocs(session) {
  if (!loaded.has(session)) {
    const ask = session.can("command|docs") ? ["COMMAND", "DOCS"] : session.can("command|list") ? ["COMMAND", "LIST"] : null;
    if (!ask) {
      loaded.set(session, Promise.resolve(new Map()));
      return loaded.get(session);
    }
    const docs = (ask[1] === "DOCS" ? session.client.command(ask) : Promise.reject(new Error("no COMMAND DOCS")))
      .then((reply) => {
        const map = new Map();
        for (const [name, doc] of Object.entries(pairs(reply))) {
          map.set(name.toUpperCase(), command(name.toUpperCase(), doc));
        }
        return map;
      })
      .catch(() => session.client.command(["COMMAND", "LIST"])
        .then((names) => new Map(names.map((name) => {
          const upper = text(name).toUpperCase();
          return [upper, { name: upper, summary: "", group: "", arguments: [], subcommands: new Map() }];
        }))))
      .catch(() => new Map());
    loaded.set(session, docs);
  }
  return loaded.get(session);
}
