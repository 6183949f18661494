// Live charts of the server's health from INFO, sampled every second while
// the view is open and kept for the last five minutes of this tab: ops per
// second and evictions per second (from the counters' growth between two
// samples, so nothing is missed between them), the keyspace hit ratio,
// used memory and connected clients.

import { fill, formatBytes, h } from "../dom.js";
import { text } from "../reply.js";
import { LineChart } from "./linechart.js";

const INTERVAL_MS = 1000;
const WINDOW_MS = 5 * 60 * 1000;

/** INFO's `name:value` lines as an object. */
export function parseInfo(body) {
  const fields = {};
  for (const line of body.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

// Samples outlive the view, so coming back shows the recent past.
const samples = [];

const rate = (name) => (sample, previous) => {
  if (!previous) return null;
  const seconds = (sample.t - previous.t) / 1000;
  const grown = sample.info[name] - previous.info[name];
  return seconds > 0 && grown >= 0 ? grown / seconds : null;
};

const number = (value) => (value >= 100 ? Math.round(value).toLocaleString() : String(Math.round(value * 10) / 10));

const SERIES = [
  { id: "chart-ops", title: "Operations / s", format: number, value: rate("total_commands_processed") },
  {
    id: "chart-hits", title: "Keyspace hit ratio", format: (v) => `${Math.round(v)} %`, fixedMax: 100,
    value: (sample) => {
      const hits = sample.info.keyspace_hits, misses = sample.info.keyspace_misses;
      return hits + misses > 0 ? (100 * hits) / (hits + misses) : null;
    },
  },
  { id: "chart-memory", title: "Used memory", format: formatBytes, value: (sample) => sample.info.used_memory },
  { id: "chart-clients", title: "Connected clients", format: number, value: (sample) => sample.info.connected_clients },
  { id: "chart-evictions", title: "Evictions / s", format: number, value: rate("evicted_keys") },
];

export function render(container, session) {
  if (!session.can("info")) {
    fill(container, h("p", { class: "error pad" }, "Your ACL rules do not allow INFO, which the charts read."));
    return;
  }
  const charts = SERIES.map((series) => ({ series, chart: new LineChart({ ...series, windowMs: WINDOW_MS }) }));
  const state = h("p", { class: "muted small", id: "charts-status" }, "Sampling INFO every second.");
  fill(container, h("div", { class: "charts-page" }, state, h("div", { class: "charts", id: "charts" }, charts.map((c) => c.chart.element))));

  let timer = null;
  let stopped = false;

  function redraw() {
    const now = Date.now();
    for (const { series, chart } of charts) {
      const points = samples.map((sample, index) => {
        const previous = samples[index - 1]?.info ? samples[index - 1] : null;
        return { t: sample.t, v: sample.info ? series.value(sample, previous) : null };
      });
      chart.draw(points, now);
    }
  }

  async function sample() {
    try {
      const body = text(await session.client.command(["INFO", "stats", "memory", "clients"]));
      const fields = parseInfo(body);
      const info = {};
      for (const name of ["total_commands_processed", "keyspace_hits", "keyspace_misses", "used_memory", "connected_clients", "evicted_keys"]) {
        info[name] = Number(fields[name] ?? 0);
      }
      const t = Date.now();
      // A gap (the view was closed) breaks the rates: start again from here.
      if (samples.length && t - samples[samples.length - 1].t > 5 * INTERVAL_MS) samples.push({ t: t - 1, info: null });
      samples.push({ t, info });
      while (samples.length && samples[0].t < t - WINDOW_MS) samples.shift();
      fill(state, "Sampling INFO every second.");
    } catch (error) {
      fill(state, h("span", { class: "error" }, error.message));
    }
    if (stopped) return;
    redraw();
    timer = setTimeout(sample, INTERVAL_MS);
  }

  sample();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
