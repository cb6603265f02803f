// Bar-and-line charts drawn as SVG by hand (no chart library: nothing to vet or update, and
// the page's CSP allows scripts from this origin only). Elements are made with
// createElementNS and filled with text nodes, like the rest of the desk; colours come from
// classes in reports.css (no style attributes under the CSP).

import { el } from "../../js/dom.js";

const NS = "http://www.w3.org/2000/svg";
const MARGIN = { top: 16, right: 56, bottom: 34, left: 48 };
const MAX_X_LABELS = 14;

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const title = (text) => svg("title", {}, text);

/** Round numbers for an axis from 0 to at least ``max``: [top, step]. */
export function niceScale(max, ticks = 4, integer = false) {
  if (!(max > 0)) return [ticks, 1];
  const raw = integer ? Math.max(1, max / ticks) : max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10]
    .map((m) => m * magnitude)
    .filter((s) => !integer || Number.isInteger(s))
    .find((s) => s >= raw);
  return [step * Math.ceil(max / step), step];
}

/**
 * A chart of grouped bars (left axis) and one or more lines (right axis, or the left one).
 *
 * spec = {
 *   width, height,
 *   groups: [{ key, label, title, values: {seriesKey: number} , points: {lineKey: number|null} }],
 *   bars: [{ key, label, cls }],
 *   lines: [{ key, label, cls }],
 *   left: { max, format, integer, fixed, step },  // max: the largest bar value to fit;
 *                                     // integer: whole steps (counts); fixed: max/step as given
 *   right: { max, format } | null,    // null: lines use the left axis
 *   target: { value, label, cls } | null,  // a horizontal line on the lines' axis
 * }
 */
export function barLineChart(spec) {
  const { width, height, groups, bars, lines } = spec;
  const plotW = Math.max(10, width - MARGIN.left - MARGIN.right);
  const plotH = Math.max(10, height - MARGIN.top - MARGIN.bottom);
  const [leftTop, leftStep] = spec.left.fixed
    ? [spec.left.max, spec.left.step]
    : niceScale(spec.left.max, 4, spec.left.integer);
  const right = spec.right;
  const y = (value, top) => MARGIN.top + plotH - (plotH * Math.max(0, value)) / top;
  const yLeft = (value) => y(value, leftTop);
  const yLine = right ? (value) => y(value, right.max) : yLeft;

  const root = svg("svg", {
    class: "chart-svg",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": spec.label ?? "",
  });

  // Grid and the left axis.
  const grid = svg("g", { class: "grid" });
  for (let v = 0; v <= leftTop + leftStep / 2; v += leftStep) {
    const at = yLeft(v);
    grid.append(
      svg("line", { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: at, y2: at }),
      svg("text", { x: MARGIN.left - 6, y: at + 4, class: "axis-left" }, spec.left.format(v)),
    );
  }
  if (right) {
    for (let v = 0; v <= right.max + right.step / 2; v += right.step) {
      grid.append(svg("text", { x: MARGIN.left + plotW + 6, y: yLine(v) + 4, class: "axis-right" }, right.format(v)));
    }
  }
  root.append(grid);

  // One group of bars per interval (or decile).
  const band = plotW / Math.max(1, groups.length);
  const inner = band * 0.78;
  const barW = inner / Math.max(1, bars.length);
  const labelEvery = Math.max(1, Math.ceil(groups.length / MAX_X_LABELS));
  const barLayer = svg("g", { class: "bars" });
  const labels = svg("g", { class: "x-labels" });
  groups.forEach((group, index) => {
    const x0 = MARGIN.left + index * band + (band - inner) / 2;
    const node = svg("g", { class: "bar-group", "data-key": group.key }, title(group.title ?? group.label));
    bars.forEach((series, b) => {
      const value = group.values[series.key] ?? 0;
      const top = yLeft(value);
      node.append(
        svg("rect", {
          class: `bar ${series.cls}`,
          "data-series": series.key,
          "data-value": value,
          x: (x0 + b * barW).toFixed(2),
          y: top.toFixed(2),
          width: Math.max(1, barW - 1).toFixed(2),
          height: (MARGIN.top + plotH - top).toFixed(2),
        }),
      );
    });
    barLayer.append(node);
    if (index % labelEvery === 0) {
      labels.append(svg("text", { x: MARGIN.left + index * band + band / 2, y: height - MARGIN.bottom + 16 }, group.label));
    }
  });
  root.append(barLayer, labels);
  root.append(svg("line", { class: "axis", x1: MARGIN.left, x2: MARGIN.left + plotW, y1: MARGIN.top + plotH, y2: MARGIN.top + plotH }));

  // The target, then the lines over the bars; a missing point breaks the line.
  if (spec.target) {
    const at = yLine(spec.target.value);
    root.append(
      svg("line", { class: `target ${spec.target.cls ?? ""}`, x1: MARGIN.left, x2: MARGIN.left + plotW, y1: at, y2: at }),
      svg("text", { class: "target-label", x: MARGIN.left + plotW - 4, y: at - 5 }, spec.target.label),
    );
  }
  for (const line of lines) {
    const layer = svg("g", { class: `line ${line.cls}`, "data-line": line.key });
    const paths = svg("g");
    const dots = svg("g");
    layer.append(paths, dots);
    let run = [];
    const flush = () => {
      if (run.length > 1) paths.append(svg("polyline", { points: run.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ") }));
      run = [];
    };
    groups.forEach((group, index) => {
      const value = group.points?.[line.key];
      if (value === null || value === undefined) {
        flush();
        return;
      }
      const px = MARGIN.left + index * band + band / 2;
      const py = yLine(value);
      run.push([px, py]);
      dots.append(svg("circle", { cx: px.toFixed(1), cy: py.toFixed(1), r: 3, "data-value": value }, title(`${group.label}: ${line.format ? line.format(value) : value}`)));
    });
    flush();
    root.append(layer);
  }
  return root;
}

/** The legend of a chart, as HTML chips (swatch + label). */
export function legend(entries) {
  return entries.map(({ label, cls, kind }) =>
    el("span", { class: "legend-item" }, el("span", { class: `swatch ${kind ?? "bar"} ${cls}` }), label),
  );
}

/** The width a chart may take in ``container`` (it is drawn again when the window resizes). */
export function widthOf(container, fallback = 900) {
  return Math.max(320, Math.floor(container.clientWidth || fallback));
}
