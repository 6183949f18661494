// The keys loaded so far, as a tree by ':' separators (user:1:name sits in
// user → 1), each folder with how many keys it holds. Folders remember
// whether they are open across redraws, as more pages of SCAN arrive.

import { h } from "../dom.js";

const SEPARATOR = ":";

export class KeyTree {
  /** `onSelect(key)` runs when a key is clicked. */
  constructor(onSelect) {
    this.onSelect = onSelect;
    this.open = new Set();
    this.selected = null;
  }

  /** `keys` is [{name, type}]; returns the tree's element. */
  render(keys) {
    const root = { folders: new Map(), keys: [], count: 0 };
    for (const key of keys) {
      const parts = key.name.split(SEPARATOR);
      let node = root;
      node.count++;
      for (const part of parts.slice(0, -1)) {
        if (!node.folders.has(part)) node.folders.set(part, { folders: new Map(), keys: [], count: 0 });
        node = node.folders.get(part);
        node.count++;
      }
      node.keys.push(key);
    }
    return h("ul", { class: "tree", role: "tree" }, this.children(root, ""));
  }

  /** Folders and keys of one level, in one order by the name shown. */
  children(node, prefix) {
    const entries = [
      ...[...node.folders.entries()].map(([name, child]) => [name + SEPARATOR, () => this.folder(name, child, prefix + name + SEPARATOR)]),
      ...node.keys.map((key) => [key.name.slice(prefix.length), () => this.leaf(key, prefix)]),
    ];
    return entries.sort(([a], [b]) => a.localeCompare(b)).map(([, make]) => make());
  }

  folder(name, node, path) {
    // One key alone in a folder is shown with its full name instead.
    if (node.count === 1 && node.keys.length === 1) return this.leaf(node.keys[0], path.slice(0, -name.length - 1));
    const details = h("details", { open: this.open.has(path), dataset: { folder: path } },
      h("summary", {}, h("span", { class: "folder-name" }, name + SEPARATOR), h("span", { class: "count" }, node.count)),
      h("ul", {}, this.children(node, path)));
    details.addEventListener("toggle", () => (details.open ? this.open.add(path) : this.open.delete(path)));
    return h("li", { role: "treeitem" }, details);
  }

  leaf(key, prefix) {
    const label = key.name.startsWith(prefix) ? key.name.slice(prefix.length) : key.name;
    return h("li", { role: "treeitem" },
      h("button", {
        type: "button", class: "key" + (key.name === this.selected ? " selected" : ""), title: key.name,
        dataset: { key: key.name }, onclick: () => this.onSelect(key.name),
      }, h("span", { class: `badge type-${typeClass(key.type)}` }, typeLabel(key.type)), h("span", { class: "key-name" }, label || "(empty)")));
  }
}

/** Short labels for the type badges. */
export function typeLabel(type) {
  return { string: "str", hash: "hash", list: "list", set: "set", zset: "zset", stream: "stream", "ReJSON-RL": "json" }[type] ?? type ?? "?";
}

export function typeClass(type) {
  return type === "ReJSON-RL" ? "json" : (type ?? "unknown");
}
