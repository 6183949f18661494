// A pub/sub console: subscribe to channels and patterns over
// `GET /v1/subscribe` (one event stream; subscribing again replaces it)
// and publish with `POST /v1/channels/{channel}/messages`, for users whose
// rules allow PUBLISH. Messages show newest at the bottom.

import { fill, h, toast } from "../dom.js";

const KEEP = 500;

export function render(container, session) {
  const canSubscribe = session.canAny("subscribe", "psubscribe");
  let stream = null;

  const channels = h("input", { id: "pubsub-channels", type: "text", placeholder: "channels, e.g. chat orders", "aria-label": "Channels", autocomplete: "off" });
  const patterns = h("input", { id: "pubsub-patterns", type: "text", placeholder: "patterns, e.g. news.*", "aria-label": "Patterns", autocomplete: "off" });
  const state = h("span", { class: "muted small", id: "pubsub-status" }, "Not subscribed");
  const stop = h("button", { type: "button", class: "ghost", id: "pubsub-unsubscribe", hidden: true, onclick: () => unsubscribe() }, "Unsubscribe");
  const subscribeForm = h("form", { class: "toolbar", id: "pubsub-form" }, channels, patterns,
    h("button", { type: "submit", class: "primary", id: "pubsub-subscribe" }, "Subscribe"), stop, state);
  const messages = h("ol", { class: "log-lines", id: "pubsub-messages", role: "log" });
  const output = h("div", { class: "console-output log" }, messages);

  const publishChannel = h("input", { id: "publish-channel", type: "text", placeholder: "channel", "aria-label": "Channel", required: true, autocomplete: "off" });
  const publishMessage = h("input", { id: "publish-message", type: "text", placeholder: "message", "aria-label": "Message", autocomplete: "off" });
  const publishForm = session.can("publish") ? h("form", { class: "toolbar publish", id: "publish-form" },
    publishChannel, publishMessage, h("button", { type: "submit", class: "primary", id: "publish-send" }, "Publish")) : null;

  fill(container, h("div", { class: "console card" },
    canSubscribe ? subscribeForm : h("p", { class: "muted pad" }, "Your ACL rules do not allow SUBSCRIBE."),
    output, publishForm));

  function append(...parts) {
    const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 8;
    messages.append(h("li", { class: "log-line" }, h("span", { class: "muted" }, new Date().toLocaleTimeString([], { hour12: false })), " ", parts));
    while (messages.children.length > KEEP) messages.firstChild.remove();
    if (atBottom) output.scrollTop = output.scrollHeight;
  }

  function unsubscribe() {
    stream?.close();
    stream = null;
    stop.hidden = true;
    fill(state, "Not subscribed");
  }

  subscribeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const names = channels.value.split(/\s+/).filter(Boolean);
    const globs = patterns.value.split(/\s+/).filter(Boolean);
    if (!names.length && !globs.length) {
      toast("Name a channel or a pattern", "error");
      return;
    }
    unsubscribe();
    const query = [...names.map((c) => "channel=" + encodeURIComponent(c)), ...globs.map((p) => "pattern=" + encodeURIComponent(p))].join("&");
    fill(state, "Connecting…");
    const current = session.client.events("/v1/subscribe?" + query, (type, data) => {
      if (type === "subscribe") {
        const all = [...(data.channels ?? []), ...(data.patterns ?? [])];
        fill(state, "Subscribed to " + all.join(", "));
        stop.hidden = false;
        append(h("span", { class: "muted" }, "subscribed to " + all.join(", ")));
      } else if (type === "message") {
        append(h("span", { class: "log-client" }, data.channel), data.pattern ? h("span", { class: "muted" }, ` (${data.pattern})`) : null,
          " ", h("span", { class: "message" }, data.message));
      }
    });
    stream = current;
    current.done.then(() => {
      if (stream === current) fill(state, h("span", { class: "error" }, "The server closed the stream."));
    }, (error) => {
      if (stream === current) fill(state, h("span", { class: "error" }, error.message));
    });
  });

  publishForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const receivers = await session.client.publish(publishChannel.value, publishMessage.value);
      toast(`Delivered to ${receivers} subscriber${receivers === 1 ? "" : "s"}`);
      publishMessage.value = "";
      publishMessage.focus();
    } catch (error) {
      toast(error.message, "error");
    }
  });

  return () => unsubscribe();
}
