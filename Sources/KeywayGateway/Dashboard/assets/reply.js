// Replies as they arrive from `POST /` with `Upstash-Encoding: base64`, and
// the two ways the dashboard shows them: decoded values for the viewers,
// redis-cli's text for the console.

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A reply string's bytes. Every string is base64 except the status `OK`. */
export function bytes(value) {
  if (value === null || value === undefined) return null;
  if (value === "OK") return new TextEncoder().encode("OK");
  const binary = atob(value);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The bytes as UTF-8 text, or null when they are not valid UTF-8. */
export function utf8Text(data) {
  try {
    return utf8.decode(data);
  } catch {
    return null;
  }
}

/** A reply string as text; invalid UTF-8 shows as redis-cli's `\xNN` escapes. */
export function text(value) {
  const data = bytes(value);
  if (data === null) return null;
  return utf8Text(data) ?? escaped(data);
}

/** `\xff\x00abc`: printable ASCII as is, everything else escaped. */
export function escaped(data) {
  let out = "";
  for (const byte of data) {
    if (byte === 0x5c) out += "\\\\";
    else if (byte === 0x22) out += '\\"';
    else if (byte === 0x0a) out += "\\n";
    else if (byte === 0x0d) out += "\\r";
    else if (byte === 0x09) out += "\\t";
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += "\\x" + byte.toString(16).padStart(2, "0");
  }
  return out;
}

/** A classic hex dump: offset, 16 bytes, their ASCII. */
export function hexDump(data) {
  const lines = [];
  for (let offset = 0; offset < data.length; offset += 16) {
    const row = data.slice(offset, offset + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(offset.toString(16).padStart(8, "0") + "  " + hex.padEnd(48) + "  " + ascii);
  }
  return lines.join("\n");
}

/**
 * A reply as redis-cli prints it on a terminal: `(integer) 1`, `(nil)`,
 * `"quoted"` strings, `OK`, numbered (and nested) arrays, `(error) ...`.
 */
export function formatCLI(reply, isError = false) {
  if (isError) return "(error) " + reply;
  return format(reply, "").replace(/\n$/, "");
}

function format(reply, prefix) {
  if (reply === null || reply === undefined) return "(nil)\n";
  if (typeof reply === "number") return `(integer) ${reply}\n`;
  if (reply === "OK") return "OK\n";
  if (typeof reply === "string") {
    const data = bytes(reply);
    return '"' + escaped(data) + '"\n';
  }
  if (Array.isArray(reply)) {
    if (reply.length === 0) return "(empty array)\n";
    const width = String(reply.length).length;
    const inner = prefix + " ".repeat(width + 2);
    let out = "";
    reply.forEach((element, index) => {
      if (index > 0) out += prefix;
      out += String(index + 1).padStart(width) + ") " + format(element, inner);
    });
    return out;
  }
  return JSON.stringify(reply) + "\n";
}

/**
 * Splits a command line as redis-cli does: spaces separate, "double" quotes
 * take escapes (\n, \", \xNN), 'single' quotes take the text as it is.
 */
export function splitArgs(line) {
  const args = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length) break;
    let current = "";
    if (line[i] === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === "\\" && i + 1 < line.length) {
          const next = line[i + 1];
          if (next === "x" && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
            current += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
            i += 4;
            continue;
          }
          current += { n: "\n", r: "\r", t: "\t", b: "\b", a: "\x07" }[next] ?? next;
          i += 2;
          continue;
        }
        current += line[i++];
      }
      if (i >= line.length) throw new Error("unbalanced quotes");
      i++;
    } else if (line[i] === "'") {
      i++;
      while (i < line.length && line[i] !== "'") current += line[i++];
      if (i >= line.length) throw new Error("unbalanced quotes");
      i++;
    } else {
      while (i < line.length && !/\s/.test(line[i])) current += line[i++];
    }
    args.push(current);
  }
  return args;
}

/**
 * A flat `[name, value, name, value, ...]` reply (XINFO, CONFIG GET) as an
 * object whose keys are the decoded names; the values stay as they came.
 */
export function record(reply) {
  if (reply && !Array.isArray(reply) && typeof reply === "object") return { ...reply };
  const out = {};
  for (let i = 0; i + 1 < (reply?.length ?? 0); i += 2) out[text(reply[i])] = reply[i + 1];
  return out;
}

/** A command's arguments as redis-cli's MONITOR shows them: each quoted, escapes inside. */
export function quoteArgs(args) {
  return args.map((arg) => '"' + String(arg).replace(/[\\"]/g, (c) => "\\" + c).replace(/\n/g, "\\n") + '"').join(" ");
}
