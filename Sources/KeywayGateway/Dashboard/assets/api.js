// The dashboard's only way to the data: Keyway's public HTTP API, with the
// signed-in user's credentials on every call. Nothing here is private to
// the UI; each call is one a curl user could make.

const STORAGE_KEY = "keyway.authorization";

/** A command the server refused, with its message as Redis words it. */
export class CommandError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** The `Authorization` header kept for this tab (sessionStorage), or null. */
export function savedAuthorization() {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function saveAuthorization(value) {
  if (value) sessionStorage.setItem(STORAGE_KEY, value);
  else sessionStorage.removeItem(STORAGE_KEY);
}

/** `Bearer <token>` or `Basic base64(name:password)`, as the API accepts. */
export function authorizationFor({ token, user, password }) {
  if (token) return "Bearer " + token;
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return "Basic " + btoa(String.fromCharCode(...bytes));
}

export class Client {
  constructor(authorization) {
    this.authorization = authorization;
  }

  headers(extra = {}) {
    const headers = { ...extra };
    if (this.authorization) headers.Authorization = this.authorization;
    return headers;
  }

  /**
   * Runs one command through `POST /`. Strings come back base64-encoded
   * (`Upstash-Encoding: base64`, all but the status OK), so binary values
   * survive; `bytes()` and `text()` in reply.js decode them.
   */
  async command(args) {
    const response = await fetch("/", {
      method: "POST",
      headers: this.headers({ "Content-Type": "application/json", "Upstash-Encoding": "base64" }),
      body: JSON.stringify(args.map(String)),
    });
    const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if ("error" in body) throw new CommandError(body.error, response.status);
    return body.result;
  }

  /** Several commands in one request (`POST /pipeline`): each reply or CommandError. */
  async pipeline(commands) {
    if (commands.length === 0) return [];
    const response = await fetch("/pipeline", {
      method: "POST",
      headers: this.headers({ "Content-Type": "application/json", "Upstash-Encoding": "base64" }),
      body: JSON.stringify(commands.map((c) => c.map(String))),
    });
    const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!Array.isArray(body)) throw new CommandError(body.error || body.detail || `HTTP ${response.status}`, response.status);
    return body.map((item) => ("error" in item ? new CommandError(item.error, 400) : item.result));
  }

  /**
   * `POST /v1/channels/{channel}/messages`: PUBLISH; resolves to the
   * number of subscribers that received it.
   */
  async publish(channel, message) {
    const response = await fetch(`/v1/channels/${encodeURIComponent(channel)}/messages`, {
      method: "POST",
      headers: this.headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ message }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new CommandError(body.detail || body.error || `HTTP ${response.status}`, response.status);
    return body.receivers;
  }

  /**
   * Opens an event-stream route (`/v1/monitor`, `/v1/subscribe?...`) and
   * calls `onEvent(type, data)` for each event, data parsed from JSON.
   * It reads the stream with fetch rather than EventSource, which cannot
   * send the Authorization header (and a user's password has no
   * `?_token=` form). `close()` ends it; `done` settles when the stream
   * ends, rejecting with a CommandError when the server refuses it.
   */
  events(path, onEvent) {
    const controller = new AbortController();
    const done = (async () => {
      const response = await fetch(path, { headers: this.headers({ Accept: "text/event-stream" }), signal: controller.signal });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new CommandError(body.detail || body.error || `HTTP ${response.status}`, response.status);
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let type = "message";
      let data = [];
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) return;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, end).replace(/\r$/, "");
          buffer = buffer.slice(end + 1);
          if (line === "") {
            if (data.length) {
              const raw = data.join("\n");
              let parsed = raw;
              try {
                parsed = JSON.parse(raw);
              } catch { /* not JSON: passed as text */ }
              onEvent(type, parsed);
            }
            type = "message";
            data = [];
          } else if (line.startsWith("event:")) {
            type = line.slice(6).trim();
          } else if (line.startsWith("data:")) {
            data.push(line.slice(5).replace(/^ /, ""));
          }
        }
      }
    })().catch((error) => {
      if (error.name !== "AbortError") throw error;
    });
    return { close: () => controller.abort(), done };
  }

  /**
   * Who this is and which of `commands` their ACL rules allow
   * (`GET /v1/acl/whoami?command=...`); null when the credentials are
   * missing or wrong (401).
   */
  async whoami(commands) {
    const query = commands.map((c) => "command=" + encodeURIComponent(c)).join("&");
    const response = await fetch("/v1/acl/whoami?" + query, { headers: this.headers() });
    if (response.status === 401) return null;
    const body = await response.json();
    if (!response.ok) throw new CommandError(body.detail || `HTTP ${response.status}`, response.status);
    return body;
  }
}
