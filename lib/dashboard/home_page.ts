/**
 * The dashboard page of `callsync serve`: totals, the last run, the oldest
 * set not delivered, a chart of calls delivered per day, the Run now and
 * retry controls, the sets not delivered and the latest deliveries. A pure
 * function from a {@link DashboardView} to HTML text.
 *
 * @module
 */
import { renderChart } from "./chart.ts";
import {
  formatAge,
  outcomeClass,
  outcomeText,
  setHref,
  when,
  whenIso,
} from "./format.ts";
import {
  badge,
  hiddenIf,
  kindTag,
  layout,
  READ_ONLY,
  retryable,
  table,
} from "./layout.ts";
import type { DashboardView, RunView } from "./model.ts";
import { matchesFilter, recentKeys, rowKeys } from "./search.ts";
import { type Html, html, safeHttpUrl, trusted } from "../core/html.ts";
import type { DailySummary } from "../report/summary.ts";

const STATES = ["pending", "waiting", "failed", "delivered"] as const;
const SET_COLUMNS = [
  "State",
  "Conversation",
  "Recording",
  "Lead",
  "Attempts",
  "Last error",
  "Next attempt",
  "",
];
const RECENT_COLUMNS = [
  "Delivered",
  "Set",
  "Call ID",
  "Recording",
  "Recording URL",
  "Lead",
];

/** The dashboard page. */
export function renderDashboard(v: DashboardView): string {
  const body = html`
    ${renderWarnings(v.warnings)}
    ${renderCards(v)}
    ${renderChartPanel(v.summaries)}
    ${renderActions(v)}
    ${renderSetsTable(v)}
    ${renderRecentTable(v)}
    <footer>
      Times in ${v.timezone}. Page generated ${when(v.now, v.timezone)}.
      <a href="/api/status">status JSON</a>
    </footer>
  `;
  return layout("callsync dashboard", v.nonce, v.writable, body);
}

/** The totals, the last run and the oldest set not delivered. */
function renderCards(v: DashboardView): Html {
  const tz = v.timezone;
  const count = (state: typeof STATES[number], hint: string) => {
    const n = v.counts[state];
    return html`
      <a class="card ${state}" href="/?state=${state}">
        <span class="num">${n}</span>
        <span class="label">${state}</span>
        <span class="hint">${hint}</span>
      </a>
    `;
  };
  const info = (label: string, big: string, hint: Html | string) =>
    html`
      <div class="card info">
        <span class="label">${label}</span>
        <span class="big">${big}</span>
        <span class="hint">${hint}</span>
      </div>
    `;
  const last = v.lastRun;
  let lastCard: Html;
  if (last) {
    const ended = Date.parse(last.ended_at);
    const outcome = html`
      <span class="pill ${outcomeClass(last.exit_code)}">${outcomeText(
        last.exit_code,
      )}</span>
    `;
    const ago = formatAge((v.now - ended) / 1000);
    lastCard = info(
      "Last run",
      when(ended, tz),
      html`${outcome} ${last.delivered} delivered, ${last.failed} failed · ${ago} ago`,
    );
  } else {
    lastCard = info(
      "Last run",
      "none recorded",
      "no run has finished here yet",
    );
  }
  const o = v.oldestPending;
  const oldestCard = o
    ? info(
      "Oldest not delivered",
      formatAge(o.ageSeconds),
      html`
        call started ${whenIso(o.startedAt, tz)}<br><a href="${setHref(o.set)}"
          title="${o.set}">${o.set}</a>
      `,
    )
    : info("Oldest not delivered", "—", "everything is delivered");
  return html`
    <section class="cards">
      ${count("delivered", "accepted by the CRM")}
      ${count("pending", "due on the next run")}
      ${count("waiting", "for files or a backoff")}
      ${count("failed", "retry to send again")}
      ${lastCard}
      ${oldestCard}
    </section>
  `;
}

/** The chart of calls delivered per day, with its totals. */
function renderChartPanel(summaries: readonly DailySummary[]): Html {
  const days = summaries.length;
  const total = summaries.reduce((a, r) => a + r.call_data_uploaded, 0);
  return html`
    <section class="panel" id="chart">
      <div class="panel-head">
        <h2>Calls delivered per day</h2>
        <span class="hint">
          last ${days} days · ${total} in all ·
          <a href="/api/summary?days=${days}">JSON</a>
        </span>
      </div>
      ${renderChart(summaries)}
    </section>
  `;
}

/** What needs a person, above everything else (hidden when nothing does). */
function renderWarnings(warnings: readonly string[]): Html | "" {
  if (warnings.length === 0) return "";
  return html`
    <section class="panel warnings" id="warnings">
      <h2>Needs attention</h2>
      <ul>${warnings.map((w) => html`<li class="err">${w}</li>`)}</ul>
    </section>
  `;
}

/** Run now, Retry all failed, and the run started from here. */
function renderActions(v: DashboardView): Html {
  const failed =
    v.rows.filter((r) => r.state === "failed" && r.kind !== "file").length;
  const hint = !v.writable
    ? READ_ONLY
    : !v.uploadReady
    ? "Runs are off: the CRM settings (CRM_UPLOAD_URL, CRM_CALL_DATA_URL, DEFAULT_*) are not configured."
    : "Enter the dashboard token (top right) to run and retry.";
  // Disabled until the page's script has a token to send.
  const blocked = trusted(v.uploadReady ? "" : ' data-blocked="crm"');
  return html`
    <section class="panel" id="actions">
      <div class="panel-head">
        <h2>Upload pass</h2>
        <div class="buttons">
          <button type="button" class="primary" data-action="run" disabled ${blocked}>Run now</button>
          <button type="button" data-action="retry-all" disabled>Retry all failed (${failed})</button>
        </div>
      </div>
      <p class="hint" id="action-hint">${hint}</p>
      <p id="flash" class="flash" hidden></p>
      ${renderRunBox(v.run, v.timezone)}
    </section>
  `;
}

/** The latest run started from the dashboard and its log (hidden if none). */
function renderRunBox(run: RunView | undefined, timezone: string): Html {
  const lines = run
    ? run.lines.join("\n") +
      (run.linesDropped ? `\n… ${run.linesDropped} more lines not kept` : "")
    : "";
  const started = run ? `started ${whenIso(run.startedAt, timezone)}` : "";
  return html`
    <div id="run" class="run" data-run-id="${run?.id}" data-run-state="${run
      ?.state}"
      ${hiddenIf(!run)}>
      <p class="run-head">
        <strong>Run <span id="run-id">${run?.id}</span></strong>
        <span class="muted" id="run-started">${started}</span>
        · <span id="run-status">${run?.message}</span>
      </p>
      <pre id="run-log" class="log">${lines}</pre>
    </div>
  `;
}

/** The sets not delivered, with the filter form. */
function renderSetsTable(v: DashboardView): Html {
  const tz = v.timezone;
  const rows = v.rows.map((r) => {
    const { text, digits } = rowKeys(r);
    const hide = !matchesFilter(r.state, { text, digits }, v.filter);
    const retry = retryable(r)
      ? html`
        <button type="button" class="small" data-action="retry" data-name="${r
          .name}"
          disabled>Retry</button>
      `
      : "";
    const first = r.conversation ?? r.name;
    return html`
      <tr data-state="${r.state}" data-search="${text}" data-digits="${digits}"
        ${hiddenIf(hide)}>
        <td>${badge(r.state)}</td>
        <td class="name">
          <a href="${setHref(r.name)}">${first}</a> ${kindTag(r.kind)}
          <div class="reason">${r.reason}</div>
        </td>
        <td class="name">${r.recording}</td>
        <td class="name">${r.lead}</td>
        <td class="num">${r.attempts || ""}</td>
        <td class="err">${r.lastError}</td>
        <td class="nowrap">${whenIso(r.nextAttemptAt, tz)}</td>
        <td>${retry}</td>
      </tr>
    `;
  });
  const capped = v.rows.length < v.rowsTotal
    ? html`
      <p class="hint">
        Showing ${v.rows.length} of ${v.rowsTotal}: search or pick a state and
        press Enter to narrow the list.
      </p>
    `
    : "";
  const options = STATES.map((s) =>
    html`
      <option value="${s}" ${trusted(
        v.filter.state === s ? "selected" : "",
      )}>${s}</option>
    `
  );
  return html`
    <section class="panel" id="sets">
      <div class="panel-head">
        <h2>Not delivered <span class="count">${v.rowsTotal}</span></h2>
        <form id="filter" class="filter" method="get" action="/" role="search">
          <label>State
            <select name="state">
              <option value="">all</option>
              ${options}
            </select>
          </label>
          <input type="search" name="q" value="${v.filter
            .q}" placeholder="Phone number or file name" aria-label="Search by phone number or file name">
          <button type="submit" class="small">Filter</button>
        </form>
      </div>
      ${capped}
      ${table(SET_COLUMNS, rows, "Everything is delivered.")}
      <p class="hint" id="filter-none" hidden>No row matches the filter.</p>
    </section>
  `;
}

/** The last path segment of a URL, for display. */
function shortUrl(url: string): string {
  try {
    const u = new URL(url);
    const file = u.pathname.split("/").filter(Boolean).at(-1) ?? "";
    return file ? `${u.host}/…/${file}` : u.host;
  } catch {
    return url;
  }
}

/** The latest deliveries. */
function renderRecentTable(v: DashboardView): Html {
  const tz = v.timezone;
  const rows = v.recent.map((r) => {
    const { text, digits } = recentKeys(r);
    const hide = !matchesFilter("delivered", { text, digits }, v.filter);
    const href = safeHttpUrl(r.recordingUrl);
    const link = href
      ? html`
        <a href="${href}" title="${href}" rel="noreferrer noopener"
          target="_blank">${shortUrl(href)}</a>
      `
      : r.recordingUrl;
    const recording = r.recordingFile ?? html`<span class="muted">none</span>`;
    return html`
      <tr data-state="delivered" data-search="${text}" data-digits="${digits}"
        ${hiddenIf(hide)}>
        <td class="nowrap">${whenIso(r.deliveredAt, tz)}</td>
        <td class="name">
          <a href="${setHref(r.set)}">${r.set}</a> ${kindTag(r.kind ?? "")}
        </td>
        <td class="mono nowrap">${r.callId}</td>
        <td class="name">${recording}</td>
        <td class="name">${link}</td>
        <td class="name">${r.leadFile}</td>
      </tr>
    `;
  });
  const n = v.recent.length;
  return html`
    <section class="panel" id="recent">
      <div class="panel-head">
        <h2>Recently delivered <span class="count">${n}</span></h2>
        <span class="hint">the latest ${n} of ${v.counts.delivered}</span>
      </div>
      ${table(RECENT_COLUMNS, rows, "Nothing delivered yet.")}
    </section>
  `;
}
