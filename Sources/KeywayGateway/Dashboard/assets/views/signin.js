// Sign in with a token (Bearer) or a user's name and password (Basic).
// Credentials stay in this tab's sessionStorage and go only to this server.

import { authorizationFor } from "../api.js";
import { fill, h } from "../dom.js";

/** Draws the form; `attempt(authorization)` resolves false when refused. */
export function renderSignIn(container, attempt) {
  let mode = "token";
  const error = h("p", { class: "error", id: "signin-error", role: "alert" });
  const token = h("input", { id: "signin-token", type: "password", autocomplete: "current-password", placeholder: "token or requirepass" });
  const user = h("input", { id: "signin-user", type: "text", autocomplete: "username", placeholder: "user name" });
  const password = h("input", { id: "signin-password", type: "password", autocomplete: "current-password", placeholder: "password" });
  const tokenFields = h("div", { class: "stack" }, h("label", { class: "field" }, h("span", {}, "Token"), token));
  const userFields = h("div", { class: "stack", hidden: true },
    h("label", { class: "field" }, h("span", {}, "User"), user),
    h("label", { class: "field" }, h("span", {}, "Password"), password));
  const tabs = h("div", { class: "tabs", role: "tablist" },
    h("button", { type: "button", role: "tab", class: "active", id: "signin-mode-token", onclick: () => select("token") }, "Token"),
    h("button", { type: "button", role: "tab", id: "signin-mode-user", onclick: () => select("user") }, "User & password"));

  function select(next) {
    mode = next;
    tokenFields.hidden = mode !== "token";
    userFields.hidden = mode !== "user";
    tabs.children[0].classList.toggle("active", mode === "token");
    tabs.children[1].classList.toggle("active", mode === "user");
    (mode === "token" ? token : user).focus();
  }

  const submit = h("button", { type: "submit", class: "primary", id: "signin-submit" }, "Sign in");
  const form = h("form", { class: "card signin", id: "signin" },
    h("h1", {}, "Sign in to Keyway"),
    h("p", { class: "muted" }, "The dashboard runs every call through the API as you: it shows what your ACL rules allow."),
    tabs, tokenFields, userFields, error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    fill(error);
    submit.disabled = true;
    try {
      const authorization = mode === "token" ? authorizationFor({ token: token.value.trim() })
        : authorizationFor({ user: user.value, password: password.value });
      if (!(await attempt(authorization))) fill(error, "Those credentials were not accepted.");
    } catch (failure) {
      fill(error, failure.message);
    } finally {
      submit.disabled = false;
    }
  });
  fill(container, h("div", { class: "center" }, form));
  token.focus();
}
