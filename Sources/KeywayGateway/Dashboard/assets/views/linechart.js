// A small time-series chart drawn as SVG: one line with a shaded area over
// a fixed time window, the latest value above it. No library: a few dozen
// points per chart need only a polyline.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 320;
const HEIGHT = 110;
const PAD_TOP = 8;
const PAD_BOTTOM = 16;

function svg(tag, attributes = {}) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/** The smallest of 1, 2, 5 x 10^n at or above `value`: a round top for the axis. */
export function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

export class LineChart {
  /** `format(value)` writes a value for people; `windowMs` is how much time the x axis spans. */
  constructor({ id, title, format, windowMs, fixedMax = null }) {
    this.format = format;
    this.windowMs = windowMs;
    this.fixedMax = fixedMax;
    this.value = document.createElement("span");
    this.value.className = "chart-value";
    this.value.textContent = "–";
    this.plot = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": title });
    this.element = document.createElement("figure");
    this.element.className = "chart card";
    this.element.id = id;
    this.element.dataset.points = "0";
    const head = document.createElement("figcaption");
    const name = document.createElement("span");
    name.className = "chart-title";
    name.textContent = title;
    head.append(name, this.value);
    this.element.append(head, this.plot);
  }

  /** Redraws from `points` (`{t, v}`, oldest first; `v` null leaves a gap); `now` is the right edge. */
  draw(points, now) {
    const shown = points.filter((p) => p.t >= now - this.windowMs);
    const values = shown.filter((p) => p.v !== null).map((p) => p.v);
    const last = [...shown].reverse().find((p) => p.v !== null);
    this.value.textContent = last ? this.format(last.v) : "–";
    this.element.dataset.points = String(values.length);
    this.element.dataset.value = last ? String(last.v) : "";
    const top = this.fixedMax ?? niceCeiling(Math.max(0, ...values));
    const x = (t) => ((t - (now - this.windowMs)) / this.windowMs) * WIDTH;
    const y = (v) => PAD_TOP + (1 - v / top) * (HEIGHT - PAD_TOP - PAD_BOTTOM);
    this.plot.replaceChildren();
    for (const fraction of [0, 0.5, 1]) {
      const level = y(top * fraction);
      this.plot.append(svg("line", { x1: 0, x2: WIDTH, y1: level, y2: level, class: "grid" }));
    }
    const label = svg("text", { x: 2, y: PAD_TOP + 9, class: "axis" });
    label.textContent = this.format(top);
    const left = svg("text", { x: 2, y: HEIGHT - 3, class: "axis" });
    left.textContent = `-${Math.round(this.windowMs / 60000)} min`;
    const right = svg("text", { x: WIDTH - 2, y: HEIGHT - 3, class: "axis end" });
    right.textContent = "now";
    // Runs of consecutive known values, each its own line and area.
    let run = [];
    const runs = [];
    for (const point of shown) {
      if (point.v === null) {
        if (run.length) runs.push(run);
        run = [];
      } else {
        run.push(point);
      }
    }
    if (run.length) runs.push(run);
    for (const segment of runs) {
      const coordinates = segment.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
      const base = y(0).toFixed(1);
      this.plot.append(svg("polygon", {
        class: "area",
        points: `${x(segment[0].t).toFixed(1)},${base} ${coordinates.join(" ")} ${x(segment[segment.length - 1].t).toFixed(1)},${base}`,
      }));
      this.plot.append(svg("polyline", { class: "line", points: coordinates.join(" ") }));
    }
    this.plot.append(label, left, right);
  }
}
