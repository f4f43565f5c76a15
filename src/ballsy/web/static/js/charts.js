/**
 * Small SVG charts for the dashboard: vertical grouped columns (activity over time)
 * and horizontal grouped bars (latency per stage, top skills, error counts).
 *
 * Hand-rolled rather than vendored: two chart shapes are ~200 lines, need no
 * dependency updates, and obey the page's CSP. Colours come from CSS classes
 * (`series-0` …) so the light and dark themes both apply. Every chart is an
 * `role="img"` with a summary label and is followed by the same numbers as a
 * visually hidden table for screen readers.
 * @module charts
 */

import { el } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";

/**
 * @param {string} tag
 * @param {Record<string, string|number>} [attrs]
 * @param {...(Node|string)} children
 */
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child);
  return node;
}

/**
 * A "nice" axis maximum (1, 2, 2.5, 5 × 10^n) at or above `value`.
 * @param {number} value
 */
export function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * @typedef {{name: string, values: number[]}} Series
 * @typedef {(value: number) => string} Format
 */

/**
 * @param {HTMLElement} container replaced by the chart, its legend and data table
 * @param {string} summary what the chart shows, for its accessible name
 * @param {SVGElement} chart
 * @param {string[]} categories
 * @param {Series[]} series
 * @param {Format} format
 */
function mount(container, summary, chart, categories, series, format) {
  chart.setAttribute("role", "img");
  chart.setAttribute("aria-label", summary);
  const legend =
    series.length > 1
      ? el(
          "ul",
          { class: "legend", "aria-hidden": "true" },
          ...series.map((s, i) =>
            el("li", {}, el("span", { class: `swatch series-${i}` }), s.name),
          ),
        )
      : null;
  // Wrapped: a table ignores `width: 1px`, a div does not.
  const table = el(
    "div",
    { class: "visually-hidden" },
    el(
      "table",
      {},
      el("caption", {}, summary),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { scope: "col" }, ""),
          ...series.map((s) => el("th", { scope: "col" }, s.name)),
        ),
      ),
      el(
        "tbody",
        {},
        ...categories.map((category, row) =>
          el(
            "tr",
            {},
            el("th", { scope: "row" }, category),
            ...series.map((s) => el("td", {}, format(s.values[row] ?? 0))),
          ),
        ),
      ),
    ),
  );
  container.replaceChildren(chart, ...(legend ? [legend] : []), table);
  container.dataset.points = String(categories.length);
}

/**
 * Grouped vertical columns over time buckets.
 * @param {HTMLElement} container
 * @param {{summary: string, labels: string[], series: Series[], format?: Format}} data
 */
export function columnChart(container, { summary, labels, series, format = String }) {
  const width = 640;
  const height = 240;
  const pad = { left: 40, right: 8, top: 12, bottom: 32 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const top = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart" });
  for (let i = 0; i <= 4; i++) {
    const y = pad.top + plotH - (plotH * i) / 4;
    chart.append(
      svg("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: "grid" }),
      svg(
        "text",
        { x: pad.left - 6, y: y + 4, class: "tick", "text-anchor": "end" },
        format((top * i) / 4),
      ),
    );
  }
  const slot = plotW / Math.max(1, labels.length);
  const barW = Math.max(1, (slot * 0.8) / series.length);
  const every = Math.max(1, Math.ceil(labels.length / 8)); // at most ~8 axis labels
  labels.forEach((label, i) => {
    const x0 = pad.left + i * slot + slot * 0.1;
    series.forEach((s, k) => {
      const value = s.values[i] ?? 0;
      const h = (plotH * value) / top;
      chart.append(
        svg(
          "rect",
          {
            x: x0 + k * barW,
            y: pad.top + plotH - h,
            width: Math.max(0.5, barW - 1),
            height: h,
            class: `bar series-${k}`,
          },
          svg("title", {}, `${label} — ${s.name}: ${format(value)}`),
        ),
      );
    });
    if (i % every === 0) {
      chart.append(
        svg(
          "text",
          {
            x: x0 + (slot * 0.8) / 2,
            y: height - pad.bottom + 16,
            class: "tick",
            "text-anchor": "middle",
          },
          label,
        ),
      );
    }
  });
  chart.append(
    svg("line", {
      x1: pad.left,
      x2: width - pad.right,
      y1: pad.top + plotH,
      y2: pad.top + plotH,
      class: "axis",
    }),
  );
  mount(container, summary, chart, labels, series, format);
}

/**
 * Grouped horizontal bars, one group per category, with the value at each bar's end.
 * @param {HTMLElement} container
 * @param {{summary: string, categories: string[], series: Series[], format?: Format, empty?: string}} data
 */
export function barChart(
  container,
  { summary, categories, series, format = String, empty = "No data yet." },
) {
  if (categories.length === 0) {
    container.replaceChildren(el("p", { class: "empty" }, empty));
    container.dataset.points = "0";
    return;
  }
  const width = 640;
  const labelW = 150;
  const valueW = 70;
  const barH = 14;
  const groupGap = 10;
  const groupH = series.length * barH + groupGap;
  const height = categories.length * groupH + 4;
  const plotW = width - labelW - valueW;
  const top = Math.max(0, ...series.flatMap((s) => s.values)) || 1;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart" });
  categories.forEach((category, i) => {
    const y0 = i * groupH + 2;
    chart.append(
      svg(
        "text",
        {
          x: labelW - 8,
          y: y0 + (series.length * barH) / 2 + 4,
          class: "label",
          "text-anchor": "end",
        },
        category,
      ),
    );
    series.forEach((s, k) => {
      const value = s.values[i] ?? 0;
      const w = Math.max(value > 0 ? 2 : 0, (plotW * value) / top);
      const y = y0 + k * barH;
      chart.append(
        svg(
          "rect",
          { x: labelW, y, width: w, height: barH - 2, rx: 2, class: `bar series-${k}` },
          svg("title", {}, `${category} — ${s.name}: ${format(value)}`),
        ),
        svg("text", { x: labelW + w + 6, y: y + barH - 4, class: "value" }, format(value)),
      );
    });
  });
  mount(container, summary, chart, categories, series, format);
}
