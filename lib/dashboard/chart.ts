/**
 * The dashboard's chart of calls delivered per day: an inline SVG of our own
 * drawing, a pure function of the daily summaries.
 *
 * @module
 */
import { type Html, html } from "../core/html.ts";
import type { DailySummary } from "../report/summary.ts";

/**
 * Calls delivered per day as an inline SVG bar chart (our own drawing: one
 * rect per day, a few grid lines, a date label every few days).
 */
export function renderChart(rows: readonly DailySummary[]): Html {
  const W = 1200, H = 170, left = 34, right = 6, top = 14, bottom = 22;
  const plotW = W - left - right, plotH = H - top - bottom;
  const values = rows.map((r) => r.call_data_uploaded);
  const max = niceMax(Math.max(0, ...values));
  const step = plotW / Math.max(1, rows.length);
  const barW = Math.max(2, step * 0.72);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const grid = [0, max / 2, max].map((v) => {
    const gy = fix(y(v));
    return svgLine(left, W - right, gy, v);
  });
  const every = Math.max(1, Math.ceil(rows.length / 10));
  const bars = rows.map((r, i) => {
    const v = r.call_data_uploaded;
    const x = left + i * step + (step - barW) / 2;
    const mid = fix(x + barW / 2);
    const h = v > 0 ? Math.max(2, (v / max) * plotH) : 2;
    const last = i === rows.length - 1;
    // A label every few days and on the last day, never two side by side.
    const labelled = last || (i % every === 0 && rows.length - 1 - i >= every);
    const tip =
      `${r.date}: ${v} delivered, ${r.failed_uploads} failed attempts`;
    return html`
      <g>
        <title>${tip}</title>
        <rect class="${v > 0 ? "bar" : "bar zero"}" x="${fix(x)}" y="${fix(
          top + plotH - h,
        )}" width="${fix(barW)}" height="${fix(h)}" rx="2" />
        ${v > 0 ? svgText("value", mid, fix(y(v) - 4), String(v)) : ""}
        ${labelled ? svgText("axis", mid, String(H - 5), r.date.slice(5)) : ""}
      </g>
    `;
  });
  const total = values.reduce((a, b) => a + b, 0);
  const label =
    `Calls delivered per day, last ${rows.length} days: ${total} in all`;
  return html`
    <svg class="chart" viewBox="0 0 ${W} ${H}" role="img"
      aria-label="${label}" xmlns="http://www.w3.org/2000/svg">
      ${grid}${bars}
    </svg>
  `;
}

function svgLine(x1: number, x2: number, y: string, value: number): Html {
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return html`
    <line class="grid" x1="${x1}" x2="${x2}" y1="${y}"
      y2="${y}" />
    <text class="axis" x="${x1 - 6}" y="${y}" dy="4"
      text-anchor="end">${text}</text>
  `;
}

function svgText(cls: string, x: string, y: string, text: string): Html {
  return html`
    <text class="${cls}" x="${x}" y="${y}"
      text-anchor="middle">${text}</text>
  `;
}

/** The chart's top: 4 at least, else a round number at or above `v`. */
function niceMax(v: number): number {
  if (v <= 4) return 4;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (v <= m * mag) return m * mag;
  }
  return 10 * mag;
}

/** A coordinate with one decimal at most. */
function fix(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}
