// The dashboard's shell: who is signed in, what they may do, the navigation
// and the view that fills the page (#/keys, #/console, ...).

import { Client, savedAuthorization, saveAuthorization } from "./api.js";
import { fill, h, toast } from "./dom.js";
import { commandsToCheck, views } from "./registry.js";
import { renderSignIn } from "./views/signin.js";

const main = document.getElementById("main");
let leaveView = null;

/** The signed-in user: the API client, their name and their permissions. */
export class Session {
  constructor(client, whoami) {
    this.client = client;
    this.user = whoami.user;
    this.permissions = whoami.commands ?? {};
  }

  /** Whether the user's ACL rules allow `command` (`hset`, `memory|usage`). */
  can(command) {
    return this.permissions[command.toLowerCase()] === true;
  }

  /** Whether any of `commands` is allowed: a user with none of them is read-only here. */
  canAny(...commands) {
    return commands.some((c) => this.can(c));
  }
}

/** Tries the saved credentials (or none, for a server without a password). */
async function start() {
  const client = new Client(savedAuthorization());
  try {
    const whoami = await client.whoami(commandsToCheck);
    if (whoami) return signedIn(new Session(client, whoami));
  } catch (error) {
    toast(error.message, "error");
  }
  saveAuthorization(null);
  showSignIn();
}

function showSignIn() {
  document.getElementById("who").hidden = true;
  document.getElementById("signout").hidden = true;
  fill(document.getElementById("nav"));
  shown = null;
  leave();
  renderSignIn(main, async (authorization) => {
    const client = new Client(authorization);
    const whoami = await client.whoami(commandsToCheck);
    if (!whoami) return false;
    saveAuthorization(authorization);
    signedIn(new Session(client, whoami));
    return true;
  });
}

let session = null;

function signedIn(newSession) {
  session = newSession;
  const who = document.getElementById("who");
  fill(who, h("span", { class: "muted" }, "signed in as "), h("strong", { id: "user-name" }, session.user));
  who.hidden = false;
  const signout = document.getElementById("signout");
  signout.hidden = false;
  signout.onclick = () => {
    saveAuthorization(null);
    session = null;
    location.hash = "";
    showSignIn();
  };
  fill(document.getElementById("nav"), views.map((view) => h("a", { href: `#/${view.id}`, dataset: { view: view.id } }, view.title)));
  route();
}

function leave() {
  if (typeof leaveView === "function") leaveView();
  leaveView = null;
}

/** The view and, for a view with sections, the section a hash names. */
function resolve(hash) {
  const [id, ...rest] = hash.replace(/^#\/?/, "").split("/");
  const view = views.find((v) => v.id === id) ?? views[0];
  if (!view.sections) return { view, section: null, rest, key: view.id };
  const section = view.sections.find((s) => s.id === rest[0]) ?? view.sections[0];
  return { view, section, rest: rest.slice(1), key: `${view.id}/${section.id}` };
}

let shown = null;

/** Shows the view the location's hash names (`#/keys`, `#/live/monitor`), the first by default. */
async function route() {
  if (!session) return;
  const { view, section, rest, key } = resolve(location.hash);
  shown = key;
  for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("active", link.dataset.view === view.id);
  leave();
  const container = h("section", { class: "view", id: `view-${view.id}` });
  let target = container;
  if (section) {
    target = h("div", { class: "section", id: `section-${section.id}` });
    const tabs = h("nav", { class: "section-tabs", "aria-label": view.title },
      view.sections.map((s) => h("a", { href: `#/${view.id}/${s.id}`, class: s === section ? "active" : null, dataset: { section: s.id } }, s.title)));
    fill(container, tabs, target);
    container.classList.add("sectioned");
  }
  fill(main, container);
  const loaded = section ?? view;
  try {
    const module = await loaded.load();
    if (shown !== key) return;
    const cleanup = await module.render(target, session, rest.map(decodeURIComponent).join("/"));
    // The user may have moved on while it drew: stop its streams and timers at once.
    if (shown !== key) {
      if (typeof cleanup === "function") cleanup();
    } else {
      leaveView = cleanup;
    }
  } catch (error) {
    fill(target, h("p", { class: "error pad" }, `Could not show ${loaded.title}: ${error.message}`));
  }
}

window.addEventListener("hashchange", () => {
  if (session && resolve(location.hash).key !== shown) route();
});

start();
