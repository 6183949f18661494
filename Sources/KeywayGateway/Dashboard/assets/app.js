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

/** Shows the view the location's hash names (`#/keys/...`), the first by default. */
async function route() {
  if (!session) return;
  const [id, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const view = views.find((v) => v.id === id) ?? views[0];
  for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("active", link.dataset.view === view.id);
  leave();
  const container = h("section", { class: "view", id: `view-${view.id}` });
  fill(main, container);
  try {
    const module = await view.load();
    leaveView = await module.render(container, session, rest.map(decodeURIComponent).join("/"));
  } catch (error) {
    fill(container, h("p", { class: "error pad" }, `Could not show ${view.title}: ${error.message}`));
  }
}

window.addEventListener("hashchange", () => {
  const id = location.hash.replace(/^#\/?/, "").split("/")[0];
  if (session && id !== document.querySelector(".view")?.id?.replace(/^view-/, "")) route();
});

start();
