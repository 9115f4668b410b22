/**
 * The HTML of `callsync serve`: the dashboard page and the page of one set.
 * Pure functions from view objects to text.
 *
 * Every piece of markup is built with the {@link html} tagged template, which
 * escapes every interpolated value unless it is already {@link Html} (made by
 * `html` itself or explicitly wrapped with {@link trusted}). File names,
 * transcripts, leads and error messages are untrusted text and are only ever
 * interpolated, never concatenated into markup. The page's script and style
 * are constants of this module, allowed by a per-response CSP nonce.
 *
 * @module
 */
import type { DailySummary, SetRow } from "./report.ts";
import type { LastRun } from "./state.ts";
import { localDate, localDateTime } from "./time.ts";

// ---------------------------------------------------------------------------
// Escaping

/** Markup that is safe to insert as is. */
export class Html {
  /** The markup. */
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  /** The markup. */
  toString(): string {
    return this.value;
  }
}

/** What {@link html} accepts between `${…}`. */
export type HtmlValue =
  | Html
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly HtmlValue[];

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** Escape text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

function fragment(v: HtmlValue): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(fragment).join("");
  if (v === null || v === undefined || v === false) return "";
  return escapeHtml(String(v));
}

/**
 * Build markup; every interpolation is escaped unless it is {@link Html}.
 * Arrays are joined; `null`, `undefined` and `false` render as nothing.
 * Attribute values must be quoted in the template.
 *
 * @example
 * ```ts
 * html`<td title="${name}">${name}</td>`.value;
 * // with name = "<img src=x>": '<td title="&lt;img src=x&gt;">&lt;img src=x&gt;</td>'
 * ```
 */
export function html(
  strings: TemplateStringsArray,
  ...values: HtmlValue[]
): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) {
    out += fragment(values[i]) + strings[i + 1];
  }
  return new Html(out);
}

/** Mark a constant of our own as markup. Never pass it untrusted text. */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/** The URL if it is http(s), else undefined (no `javascript:` links). */
export function safeHttpUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:"
      ? u.href
      : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// View models (also the JSON shapes of the API)

/** A not-delivered set or file, as listed on the dashboard. */
export interface DashboardRow extends SetRow {
  /** Caller digits, when known (for search by phone number). */
  phone?: string;
}

/** One recently delivered set. */
export interface RecentDelivery {
  set: string;
  callId: string;
  /** ISO-8601 UTC. */
  deliveredAt: string;
  kind?: "call" | "recording-only";
  recordingFile?: string;
  recordingUrl?: string;
  leadFile?: string;
}

/** A run started from the dashboard. */
export interface RunView {
  id: string;
  state: "running" | "finished" | "skipped" | "error";
  /** ISO-8601 UTC. */
  startedAt: string;
  endedAt?: string;
  exitCode?: number;
  delivered?: number;
  failed?: number;
  /** One line saying how it went, for people. */
  message: string;
  /** The run's log lines so far. */
  lines: string[];
  /** Lines left out once the run logged more than the dashboard keeps. */
  linesDropped: number;
}

/** The oldest set not delivered. */
export interface OldestPending {
  set: string;
  /** ISO-8601 UTC. */
  startedAt: string;
  ageSeconds: number;
}

/** Everything the dashboard page shows. */
export interface DashboardView {
  nonce: string;
  now: number;
  timezone: string;
  /** A token is configured: runs and retries are possible. */
  writable: boolean;
  /** The CRM endpoints and ids are configured: a run can upload. */
  uploadReady: boolean;
  counts: Record<"delivered" | "pending" | "waiting" | "failed", number>;
  lastRun?: LastRun;
  oldestPending?: OldestPending;
  /** Not-delivered rows to render (maybe a capped subset). */
  rows: DashboardRow[];
  /** How many not-delivered rows exist in all. */
  rowsTotal: number;
  recent: RecentDelivery[];
  summaries: DailySummary[];
  run?: RunView;
  filter: { state: string; q: string };
}

/** A file of a set. */
export interface SetFile {
  folder: "conversations" | "recordings" | "leads";
  name: string;
  size?: number;
  /** ISO-8601 UTC. */
  modifiedAt?: string;
  /** Recordings: length read from the Ogg file. */
  durationSeconds?: number;
  /** Recordings: the last page has the end-of-stream flag. */
  complete?: boolean;
  /** The file is no longer where it was (archived or removed). */
  missing?: boolean;
}

/** Everything known about one set (`/sets/<name>`, `/api/sets/<name>`). */
export interface SetDetail {
  name: string;
  state: "delivered" | "pending" | "waiting" | "failed";
  kind: "call" | "recording-only" | "file";
  reason: string;
  /** When the CRM accepted it, ISO-8601 UTC. */
  deliveredAt?: string;
  callId?: string;
  /** Call start, ISO-8601 UTC. */
  startedAt?: string;
  attempts: number;
  lastError?: string;
  nextAttemptAt?: string;
  files: SetFile[];
  pairing: {
    recording?: {
      name: string;
      /** Recording start minus transcript start, seconds. */
      startDiffSeconds?: number;
      /** Recording length minus transcript length, seconds. */
      durationDiffSeconds?: number;
      cost?: number;
      /** Kept from an earlier upload, not matched again. */
      pinned: boolean;
    };
    lead?: {
      name: string;
      /** Which rule attached it (unknown once delivered). */
      reason?: "session-timestamp" | "session-id" | "nearest-end";
      endDiffSeconds?: number;
    };
  };
  /** `<set>.uploaded`, once delivered. */
  delivery: Record<string, unknown> | null;
  /** `<set>.pending` without its frozen call record (shown as the payload). */
  progress: Record<string, unknown> | null;
  payload: {
    source: "frozen" | "built" | "rebuilt";
    note: string;
    record: Record<string, unknown>;
  } | null;
}

// ---------------------------------------------------------------------------
// Formatting

function when(ms: number | undefined, timezone: string): string {
  return ms === undefined || !Number.isFinite(ms)
    ? ""
    : localDateTime(ms, timezone);
}

function whenIso(iso: string | undefined, timezone: string): string {
  return iso ? when(Date.parse(iso), timezone) : "";
}

/** A duration for people: `42 s`, `5 min`, `3 h 12 min`, `2 d 4 h`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

function formatBytes(n: number | undefined): string {
  if (n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

function seconds(n: number | undefined): string {
  return n === undefined ? "" : `${Math.round(n * 100) / 100} s`;
}

/** Link to a set's page. */
export function setHref(name: string): string {
  return `/sets/${encodeURIComponent(name)}`;
}

/** How a finished run went, in words, from its exit code. */
export function outcomeText(exitCode: number): string {
  switch (exitCode) {
    case 0:
      return "OK";
    case 1:
      return "some sets failed";
    case 3:
      return "fatal error";
    default:
      return `exit code ${exitCode}`;
  }
}

function outcomeClass(exitCode: number): string {
  return exitCode === 0 ? "ok" : exitCode === 1 ? "warn" : "bad";
}

// ---------------------------------------------------------------------------
// Search (the page's script does the same on the rows' data attributes)

/** Lowercased text a row is searched in. */
function searchText(parts: (string | undefined)[]): string {
  return parts.filter(Boolean).join(" ").toLowerCase();
}

/**
 * Does a row match the search `q`? Text is matched as a substring, case
 * insensitive; a query that looks like a phone number (digits, spaces,
 * `+ ( ) . -`, at least 3 digits) also matches the row's digits, so
 * `+91 86550 66243` finds `number-_918655066243-….ogg`.
 */
export function matchesQuery(text: string, digits: string, q: string): boolean {
  const query = q.trim().toLowerCase();
  if (!query) return true;
  if (text.includes(query)) return true;
  const qd = query.replace(/\D/g, "");
  return qd.length >= 3 && /^[\d\s+().-]+$/.test(query) && digits.includes(qd);
}

function rowDigits(r: DashboardRow): string {
  const fromRecording = r.recording?.match(/\d{5,15}(?=-\d{9,11}\.ogg$)/i)?.[0];
  return [r.phone, fromRecording].filter(Boolean).join(" ");
}

function rowText(r: DashboardRow): string {
  return searchText([
    r.name,
    r.conversation,
    r.recording,
    r.lead,
    r.callId,
    r.phone,
  ]);
}

function recentDigits(r: RecentDelivery): string {
  const fromRecording = r.recordingFile?.match(/\d{5,15}(?=-\d{9,11}\.ogg$)/i)
    ?.[0];
  const fromSet = r.set.match(/\d{5,15}(?=-\d{9,11}\.ogg$)/i)?.[0];
  return [fromRecording, fromSet, r.callId.replace(/\D/g, "").slice(-5)]
    .filter(Boolean).join(" ");
}

function recentText(r: RecentDelivery): string {
  return searchText([r.set, r.callId, r.recordingFile, r.leadFile]);
}

/** Rows matching the filter (state and search). */
export function filterRows(
  rows: readonly DashboardRow[],
  filter: { state: string; q: string },
): DashboardRow[] {
  return rows.filter((r) =>
    (!filter.state || r.state === filter.state) &&
    matchesQuery(rowText(r), rowDigits(r), filter.q)
  );
}

// ---------------------------------------------------------------------------
// Chart

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

function niceMax(v: number): number {
  if (v <= 4) return 4;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (v <= m * mag) return m * mag;
  }
  return 10 * mag;
}

function fix(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

// ---------------------------------------------------------------------------
// Pages

const STATES = ["pending", "waiting", "failed", "delivered"] as const;

function badge(state: string): Html {
  return html`<span class="badge ${state}">${state}</span>`;
}

function tag(text: string | undefined): Html | "" {
  return text ? html`<span class="tag">${text}</span>` : "";
}

/** ` hidden` (or nothing), for inside a start tag. */
function hiddenIf(hide: boolean): Html {
  return trusted(hide ? " hidden" : "");
}

function kindTag(kind: string): Html | "" {
  return tag(
    kind === "recording-only"
      ? "recording only"
      : kind === "file"
      ? "file"
      : undefined,
  );
}

function layout(
  title: string,
  nonce: string,
  writable: boolean,
  body: Html,
): string {
  const token = writable
    ? html`
      <form id="token-form" class="token" autocomplete="off">
        <label for="token-input">Dashboard token</label>
        <input id="token-input" name="token" type="password" autocomplete="off"
          spellcheck="false" placeholder="DASHBOARD_TOKEN" required>
        <button type="submit">Use token</button>
      </form>
      <span id="token-state" class="token" hidden>
        Token set for this tab
        <button type="button" id="token-forget" class="link">forget</button>
      </span>
    `
    : html`
      <span class="token readonly" title="${READ_ONLY}">Read-only</span>
    `;
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>${title}</title>
        <style nonce="${nonce}">${trusted(CSS)}</style>
      </head>
      <body data-writable="${String(writable)}">
        <header class="top">
          <a class="brand" href="/">callsync</a>
          <span class="sub">upload dashboard</span>
          <span class="spacer"></span>
          ${token}
        </header>
        <main>${body}</main>
        <script nonce="${nonce}">${trusted(SCRIPT)}</script>
      </body>
    </html>
  `.value;
}

const READ_ONLY =
  "Read-only: start callsync serve with DASHBOARD_TOKEN (or --token) to run and retry from here.";

/** The dashboard page. */
export function renderDashboard(v: DashboardView): string {
  const body = html`
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

function renderSetsTable(v: DashboardView): Html {
  const tz = v.timezone;
  const rows = v.rows.map((r) => {
    const text = rowText(r);
    const digits = rowDigits(r);
    const hide = !(
      (!v.filter.state || r.state === v.filter.state) &&
      matchesQuery(text, digits, v.filter.q)
    );
    const retry = r.kind !== "file" &&
        (r.state === "failed" || (r.state === "waiting" && r.attempts > 0))
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
  const empty = html`
    <tr class="empty">
      <td colspan="8">Everything is delivered.</td>
    </tr>
  `;
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
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>State</th>
              <th>Conversation</th>
              <th>Recording</th>
              <th>Lead</th>
              <th>Attempts</th>
              <th>Last error</th>
              <th>Next attempt</th>
              <th></th>
            </tr>
          </thead>
          <tbody>${rows.length ? rows : empty}</tbody>
        </table>
      </div>
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

function renderRecentTable(v: DashboardView): Html {
  const tz = v.timezone;
  const rows = v.recent.map((r) => {
    const text = recentText(r);
    const digits = recentDigits(r);
    const hide = !(
      (!v.filter.state || v.filter.state === "delivered") &&
      matchesQuery(text, digits, v.filter.q)
    );
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
  const empty = html`
    <tr class="empty">
      <td colspan="6">Nothing delivered yet.</td>
    </tr>
  `;
  const n = v.recent.length;
  return html`
    <section class="panel" id="recent">
      <div class="panel-head">
        <h2>Recently delivered <span class="count">${n}</span></h2>
        <span class="hint">the latest ${n} of ${v.counts.delivered}</span>
      </div>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>Delivered</th>
              <th>Set</th>
              <th>Call ID</th>
              <th>Recording</th>
              <th>Recording URL</th>
              <th>Lead</th>
            </tr>
          </thead>
          <tbody>${rows.length ? rows : empty}</tbody>
        </table>
      </div>
    </section>
  `;
}

/** Options of {@link renderSetPage}. */
export interface SetPageOptions {
  nonce: string;
  timezone: string;
  writable: boolean;
  now: number;
}

const LEAD_REASON: Record<string, string> = {
  "session-timestamp": "same session timestamp in both file names",
  "session-id": "the lead's session_id is the transcript's",
  "nearest-end":
    "legacy lead saved nearest the call's end, within the match window",
};

function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function signed(n: number): string {
  return `${n > 0 ? "+" : ""}${round2(n)}`;
}

function recordingPairing(d: SetDetail): Html {
  const rm = d.pairing.recording;
  if (!rm) {
    const none = d.kind === "call"
      ? "no recording paired"
      : d.kind === "recording-only"
      ? "recording-only call: no transcript matched it"
      : "—";
    return html`<span class="muted">${none}</span>`;
  }
  const facts: string[] = [];
  if (rm.startDiffSeconds !== undefined) {
    const s = rm.startDiffSeconds;
    facts.push(
      `started ${Math.abs(round2(s))} s ${
        s <= 0 ? "before" : "after"
      } the transcript`,
    );
  }
  if (rm.durationDiffSeconds !== undefined) {
    facts.push(`length difference ${signed(rm.durationDiffSeconds)} s`);
  }
  if (rm.cost !== undefined) facts.push(`cost ${round2(rm.cost)}`);
  const how = d.state === "delivered"
    ? "delivered with this call"
    : rm.pinned
    ? "uploaded earlier with this conversation, so the pairing is pinned"
    : "";
  const text = [how, ...facts].filter(Boolean).join("; ");
  return html`<code>${rm.name}</code>: ${text}.`;
}

function leadPairing(d: SetDetail): Html {
  const lm = d.pairing.lead;
  if (!lm) return html`<span class="muted">no lead</span>`;
  const why = lm.reason
    ? LEAD_REASON[lm.reason] ?? lm.reason
    : "delivered with this call";
  const diff = lm.endDiffSeconds !== undefined
    ? ` (${signed(lm.endDiffSeconds)} s from the call's end)`
    : "";
  return html`<code>${lm.name}</code>: ${why}${diff}.`;
}

/** The page of one set. */
export function renderSetPage(d: SetDetail, o: SetPageOptions): string {
  const tz = o.timezone;
  const retry = d.kind !== "file" &&
      (d.state === "failed" || (d.state === "waiting" && d.attempts > 0))
    ? html`
      <button type="button" data-action="retry" data-name="${d.name}"
        disabled>Retry</button>
    `
    : "";
  const fact = (label: string, value: Html | string | undefined, cls = "") =>
    value
      ? html`
        <dt>${label}</dt>
        <dd class="${cls}">${value}</dd>
      `
      : "";
  const files = d.files.map((f) => {
    const recording = f.folder === "recordings" && !f.missing
      ? `${seconds(f.durationSeconds)}${
        f.complete === false ? " · no end-of-stream page" : ""
      }`
      : "";
    return html`
      <tr>
        <td>${f.folder}</td>
        <td class="name">${f.name} ${f.missing ? tag("not on disk") : ""}</td>
        <td class="num">${formatBytes(f.size)}</td>
        <td class="nowrap">${whenIso(f.modifiedAt, tz)}</td>
        <td>${recording}</td>
      </tr>
    `;
  });
  const noFiles = html`
    <tr class="empty">
      <td colspan="5">No files.</td>
    </tr>
  `;
  const progress = d.progress
    ? html`
      <h3>Progress (<code>.pending</code>)</h3>
      <pre class="json">${pretty(d.progress)}</pre>
    `
    : "";
  const delivery = d.delivery
    ? html`<pre class="json">${pretty(d.delivery)}</pre>`
    : html`<p class="muted">Not delivered yet.</p>`;
  const payload = d.payload
    ? html`
      <p class="hint">${d.payload.note}</p>
      <pre class="json">${pretty(d.payload.record)}</pre>
    `
    : html`<p class="muted">No call record: this file belongs to no call.</p>`;
  const body = html`
    <p class="crumbs"><a href="/">← Dashboard</a></p>
    <section class="panel">
      <div class="panel-head">
        <h1 class="name">${d.name}</h1>
        ${badge(d.state)} ${kindTag(d.kind)}
        <span class="spacer"></span>
        ${retry}
      </div>
      <p id="flash" class="flash" hidden></p>
      <dl class="facts">
        ${fact("State", `${d.state}: ${d.reason}`)}
        ${fact("Delivered", whenIso(d.deliveredAt, tz))}
        ${fact("Call ID", d.callId, "mono")}
        ${fact("Call start", whenIso(d.startedAt, tz))}
        ${fact("Attempts", String(d.attempts))}
        ${fact("Last error", d.lastError, "err")}
        ${fact("Next attempt", whenIso(d.nextAttemptAt, tz))}
      </dl>
    </section>
    <section class="panel">
      <h2>Files</h2>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>Folder</th>
              <th>Name</th>
              <th>Size</th>
              <th>Modified</th>
              <th>Recording</th>
            </tr>
          </thead>
          <tbody>${files.length ? files : noFiles}</tbody>
        </table>
      </div>
    </section>
    <section class="panel">
      <h2>Pairing</h2>
      <dl class="facts">
        <dt>Recording</dt>
        <dd>${recordingPairing(d)}</dd>
        <dt>Lead</dt>
        <dd>${leadPairing(d)}</dd>
      </dl>
    </section>
    <section class="panel">
      <h2>Delivery record</h2>
      ${delivery} ${progress}
    </section>
    <section class="panel">
      <h2>Call record</h2>
      ${payload}
    </section>
    <footer>
      Times in ${tz}.
      <a href="/api/sets/${encodeURIComponent(d.name)}">JSON</a>
    </footer>
  `;
  return layout(`${d.name} · callsync`, o.nonce, o.writable, body);
}

/** A small page with a message (404 and the like). */
export function renderMessagePage(
  title: string,
  message: string,
  nonce: string,
  writable: boolean,
): string {
  const body = html`
    <p class="crumbs"><a href="/">← Dashboard</a></p>
    <section class="panel">
      <h1>${title}</h1>
      <p>${message}</p>
    </section>
  `;
  return layout(`${title} · callsync`, nonce, writable, body);
}

/** `YYYY-MM-DD` today in `timezone` (the chart's last day). */
export function today(now: number, timezone: string): string {
  return localDate(now, timezone);
}

// ---------------------------------------------------------------------------
// Style and script (constants; allowed by the response's CSP nonce)

const CSS = `
:root{--bg:#f5f6f8;--card:#fff;--ink:#1c2330;--muted:#667085;--line:#e3e6eb;
--accent:#2459c4;--ok:#18794e;--okbg:#e6f4ea;--warn:#9a5b00;--warnbg:#fff4dc;
--bad:#b42318;--badbg:#fde8e6;--wait:#475467;--waitbg:#eef0f3;--pend:#2459c4;--pendbg:#e7efff}
*{box-sizing:border-box}
[hidden]{display:none !important}
html{background:var(--bg)}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink)}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
code,.mono,pre,.name{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
header.top{display:flex;align-items:center;gap:12px;padding:10px 24px;background:#101828;color:#e4e7ec;flex-wrap:wrap}
header.top .brand{color:#fff;font-weight:700;font-size:17px;letter-spacing:.2px}
header.top .sub{color:#98a2b3}
.spacer{flex:1}
.token{display:flex;align-items:center;gap:8px;font-size:13px}
.token[hidden]{display:none}
.token input{width:200px;padding:5px 8px;border-radius:6px;border:1px solid #475467;background:#1d2939;color:#fff}
.token.readonly{padding:3px 10px;border-radius:999px;background:#344054;color:#fff}
main{max-width:1280px;margin:0 auto;padding:20px 24px 32px}
.cards{display:grid;grid-template-columns:repeat(4,minmax(0,1fr)) repeat(2,minmax(0,1.6fr));gap:12px;margin-bottom:16px}
.card{display:flex;flex-direction:column;gap:2px;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px;color:inherit;min-width:0}
a.card:hover{text-decoration:none;border-color:#b8c0cc}
.card .num{font-size:28px;font-weight:700;line-height:1.1}
.card .label{font-size:12px;text-transform:uppercase;letter-spacing:.6px;color:var(--muted);font-weight:600}
.card .big{font-size:17px;font-weight:600}
.card .hint{font-size:12px;color:var(--muted);overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.card.delivered .num{color:var(--ok)}.card.pending .num{color:var(--pend)}
.card.waiting .num{color:var(--wait)}.card.failed .num{color:var(--bad)}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin-bottom:16px}
.panel-head{display:flex;align-items:center;gap:12px;flex-wrap:wrap;margin-bottom:8px}
h1{font-size:18px;margin:0}h2{font-size:15px;margin:0}h3{font-size:13px;margin:14px 0 6px}
h1.name{font-size:15px;word-break:break-all}
.count{display:inline-block;min-width:22px;padding:0 7px;border-radius:999px;background:var(--waitbg);color:var(--wait);font-size:12px;text-align:center;vertical-align:1px}
.buttons{display:flex;gap:8px;margin-left:auto}
button{font:inherit;font-size:13px;padding:6px 14px;border-radius:6px;border:1px solid #c4cad4;background:#fff;color:var(--ink);cursor:pointer}
button:hover:not(:disabled){background:#f2f4f7}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff;font-weight:600}
button.primary:hover:not(:disabled){background:#1d4aa6}
button:disabled{opacity:.45;cursor:not-allowed}
button.small{padding:3px 10px;font-size:12px}
button.link{border:0;background:none;color:#9ec1ff;padding:0;text-decoration:underline}
.hint{color:var(--muted);font-size:12.5px;margin:4px 0}
.hint:empty{display:none}
.muted{color:var(--muted)}
.flash{margin:8px 0;padding:7px 10px;border-radius:6px;font-size:13px}
.flash.info{background:var(--pendbg);color:var(--pend)}.flash.ok{background:var(--okbg);color:var(--ok)}
.flash.warn{background:var(--warnbg);color:var(--warn)}.flash.bad{background:var(--badbg);color:var(--bad)}
.run{margin-top:10px;border-top:1px solid var(--line);padding-top:8px}
.run-head{margin:0 0 6px}
pre{margin:0;white-space:pre-wrap;word-break:break-word}
pre.log{max-height:260px;overflow:auto;background:#101828;color:#d0d5dd;padding:10px 12px;border-radius:8px;font-size:12px;line-height:1.5}
pre.log:empty{display:none}
pre.json{max-height:520px;overflow:auto;background:#f8f9fb;border:1px solid var(--line);padding:10px 12px;border-radius:8px}
.filter{display:flex;align-items:center;gap:8px;margin-left:auto;font-size:13px}
.filter select,.filter input{font:inherit;font-size:13px;padding:5px 8px;border:1px solid #c4cad4;border-radius:6px;background:#fff}
.filter input{width:240px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-size:12px;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line);padding:6px 8px;white-space:nowrap}
td{border-bottom:1px solid #eef0f3;padding:7px 8px;vertical-align:top}
tbody tr:hover td{background:#fafbfc}
tr.empty td{color:var(--muted);text-align:center;padding:16px}
td.name{word-break:break-all;min-width:120px}
td.num{text-align:right}
td.err{color:var(--bad);font-size:12.5px;max-width:260px;word-break:break-word}
td.nowrap,.nowrap{white-space:nowrap}
.reason{font-family:system-ui,sans-serif;font-size:12px;color:var(--muted);word-break:normal;margin-top:2px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600}
.badge.delivered{background:var(--okbg);color:var(--ok)}.badge.pending{background:var(--pendbg);color:var(--pend)}
.badge.waiting{background:var(--waitbg);color:var(--wait)}.badge.failed{background:var(--badbg);color:var(--bad)}
.tag{display:inline-block;padding:0 6px;border:1px solid var(--line);border-radius:4px;font:11px system-ui,sans-serif;color:var(--muted)}
.pill{display:inline-block;padding:0 7px;border-radius:999px;font-weight:600}
.pill.ok{background:var(--okbg);color:var(--ok)}.pill.warn{background:var(--warnbg);color:var(--warn)}.pill.bad{background:var(--badbg);color:var(--bad)}
svg.chart{width:100%;height:auto;display:block}
svg .bar{fill:var(--accent)}svg .bar.zero{fill:#d0d5dd}
svg .grid{stroke:#eaecf0;stroke-width:1}
svg .axis{fill:#98a2b3;font-size:10px}svg .value{fill:#475467;font-size:9.5px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:8px 0 0}
dl.facts dt{color:var(--muted);font-size:12.5px}dl.facts dd{margin:0;word-break:break-word}
.crumbs{margin:0 0 10px}
footer{color:var(--muted);font-size:12px;margin-top:8px}
@media (max-width:1000px){.cards{grid-template-columns:repeat(2,minmax(0,1fr))}.filter{margin-left:0}}
`;

const SCRIPT = `
(() => {
  "use strict";
  const KEY = "callsync-dashboard-token";
  const writable = document.body.dataset.writable === "true";
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));
  let busy = false;

  const getToken = () => {
    try { return sessionStorage.getItem(KEY) || ""; } catch (_) { return ""; }
  };
  const setToken = (value) => {
    try {
      if (value) sessionStorage.setItem(KEY, value);
      else sessionStorage.removeItem(KEY);
    } catch (_) { /* storage off: the token lives until reload */ }
  };

  const flash = (text, kind) => {
    const el = $("#flash");
    if (!el) return;
    el.textContent = text || "";
    el.className = "flash " + (kind || "info");
    el.hidden = !text;
  };

  function refresh() {
    const has = getToken() !== "";
    for (const b of $$("button[data-action]")) {
      b.disabled = !writable || !has || busy || b.dataset.blocked === "crm";
    }
    const form = $("#token-form");
    const state = $("#token-state");
    if (form) form.hidden = has;
    if (state) state.hidden = !has;
    const hint = $("#action-hint");
    if (hint && writable && !$("[data-blocked]")) {
      hint.textContent = has ? "" : "Enter the dashboard token (top right) to run and retry.";
    }
  }

  async function post(path, payload) {
    let res;
    try {
      res = await fetch(path, {
        method: "POST",
        cache: "no-store",
        headers: {
          "Authorization": "Bearer " + getToken(),
          "Content-Type": "application/json",
        },
        body: JSON.stringify(payload || {}),
      });
    } catch (e) {
      return { ok: false, status: 0, data: { error: "Cannot reach the dashboard: " + e.message } };
    }
    let data = {};
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (data.code === "token-refused" || data.code === "token-missing") {
      setToken("");
      refresh();
    }
    return { ok: res.ok, status: res.status, data: data };
  }

  function showRun(run) {
    const box = $("#run");
    if (!box) return;
    box.hidden = false;
    box.dataset.runId = run.id;
    box.dataset.runState = run.state;
    $("#run-id").textContent = run.id;
    $("#run-started").textContent = "";
    $("#run-status").textContent = run.message;
    const log = $("#run-log");
    log.textContent = run.lines.join("\\n") +
      (run.linesDropped ? "\\n… " + run.linesDropped + " more lines not kept" : "");
    log.scrollTop = log.scrollHeight;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function follow(id) {
    busy = true;
    refresh();
    for (;;) {
      let run;
      try {
        const res = await fetch("/api/runs/" + encodeURIComponent(id), { cache: "no-store" });
        run = await res.json();
        if (!res.ok) throw new Error(run.error || ("HTTP " + res.status));
      } catch (e) {
        flash("Lost track of the run: " + e.message, "bad");
        busy = false;
        refresh();
        return;
      }
      showRun(run);
      if (run.state !== "running") break;
      await sleep(500);
    }
    flash("Run over; refreshing the page…", "info");
    await sleep(1200);
    location.reload();
  }

  document.addEventListener("click", async (ev) => {
    const target = ev.target;
    if (!(target instanceof Element)) return;
    if (target.id === "token-forget") {
      setToken("");
      refresh();
      flash("Token forgotten.", "info");
      return;
    }
    const btn = target.closest("button[data-action]");
    if (!btn || btn.disabled) return;
    const action = btn.dataset.action;
    if (action === "run") {
      busy = true;
      refresh();
      flash("Starting a run…", "info");
      const r = await post("/api/run");
      if (r.status === 202) {
        flash("Running…", "info");
        follow(r.data.id);
        return;
      }
      busy = false;
      refresh();
      if (r.status === 409 && r.data.run) {
        flash(r.data.error, "warn");
        follow(r.data.run);
        return;
      }
      flash(r.data.error || ("HTTP " + r.status), "bad");
    } else if (action === "retry" || action === "retry-all") {
      busy = true;
      refresh();
      const r = await post("/api/retry",
        action === "retry" ? { names: [btn.dataset.name] } : { failed: true });
      busy = false;
      refresh();
      if (r.ok) {
        flash(r.data.message, "ok");
        await sleep(1500);
        location.reload();
      } else {
        flash(r.data.error || ("HTTP " + r.status), r.status === 409 ? "warn" : "bad");
      }
    }
  });

  const tokenForm = $("#token-form");
  if (tokenForm) {
    tokenForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input = $("#token-input");
      const value = input.value.trim();
      input.value = "";
      if (!value) return;
      setToken(value);
      refresh();
      flash("Token set for this tab; it is checked when you run or retry.", "ok");
    });
  }

  // Filter rows as you type; the same rules as the server's (?state=&q=).
  const filter = $("#filter");
  if (filter) {
    const q = filter.elements.namedItem("q");
    const st = filter.elements.namedItem("state");
    const apply = () => {
      const query = q.value.trim().toLowerCase();
      const qd = query.replace(/\\D/g, "");
      const phoneLike = qd.length >= 3 && /^[\\d\\s+().-]+$/.test(query);
      let shown = 0;
      let total = 0;
      for (const tr of $$("tr[data-search]")) {
        total++;
        const ok = (!st.value || tr.dataset.state === st.value) &&
          (!query || tr.dataset.search.includes(query) ||
            (phoneLike && tr.dataset.digits.replace(/\\s/g, " ").split(" ")
              .some((d) => d.includes(qd))));
        tr.hidden = !ok;
        if (ok) shown++;
      }
      const none = $("#filter-none");
      if (none) none.hidden = shown > 0 || total === 0;
      const params = new URLSearchParams();
      if (st.value) params.set("state", st.value);
      if (query) params.set("q", q.value.trim());
      const search = params.toString();
      history.replaceState(null, "", search ? "?" + search : location.pathname);
    };
    q.addEventListener("input", apply);
    st.addEventListener("change", apply);
  }

  refresh();
  const box = $("#run");
  if (box && box.dataset.runState === "running" && box.dataset.runId) {
    follow(box.dataset.runId);
  }
})();
`;
