import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../lib/core/errors.ts";
import {
  type Config,
  ConfigError,
  loadConfig,
} from "../../lib/config/config.ts";
import { escapeHtml, html, trusted } from "../../lib/core/html.ts";
import { FakeCrm, type FakeCrmOptions } from "../../testing/fake_crm.ts";
import { isHeld, tryRunLock } from "../../lib/state/lock.ts";
import { Logger, type LogLevel } from "../../lib/core/log.ts";
import type {
  DashboardRow,
  DashboardView,
  OldestPending,
  RecentDelivery,
  RunView,
  SetDetail,
} from "../../lib/dashboard/model.ts";
import type { DailySummary } from "../../lib/report/summary.ts";
import type { RetryResult } from "../../lib/state/retry.ts";
import {
  type Dashboard,
  serve,
  serveOptions,
} from "../../lib/dashboard/server.ts";
import type { ErrorCode } from "../../lib/dashboard/http.ts";
import type { LastRun } from "../../lib/state/last_run.ts";
import { ensureStateDir, type Progress } from "../../lib/state/store.ts";
import { crmEnv, ROOT } from "../../testing/cli.ts";
import { copyTree } from "../../testing/tree.ts";
import { testSeam } from "../../lib/source/files.ts";
import { HOSTILE_NAMES, SYMLINKS, testOn } from "../../testing/platform.ts";

const CRM_TOKEN = "crm-secret-4f1c9a77e2";
const DASH_TOKEN = "dash-token-0b6e3d51c8a9";
const CALL1 = "transcript_session_2025-10-29T06-49-07.351452.json";
const LEAD1 = "leads_session_2025-10-29T06-49-07.351452.json";
const CALL3 = "transcript_session_2025-10-29T07-23-03.616272.json";
const CALL5 = "number-_919820012345-1761732314.ogg";
const { call: HOSTILE, broken: HOSTILE_BAD } = HOSTILE_NAMES;

/** A dashboard over a temp copy of fixtures/, with a fake CRM. */
interface Box extends AsyncDisposable {
  dir: string;
  state: string;
  crm: FakeCrm;
  cfg: Config;
  dash: Dashboard;
  base: string;
  /** The server's own log lines. */
  lines: string[];
}

async function box(opts: {
  token?: string;
  crm?: FakeCrmOptions;
  recentLimit?: number;
  hostile?: boolean;
  before?: (dir: string) => Promise<void>;
} = {}): Promise<Box> {
  const dir = await Deno.makeTempDir({ prefix: "callsync-serve-" });
  const dayOld = Date.now() - 86_400_000;
  await copyTree(join(ROOT, "fixtures"), dir, dayOld);
  if (opts.hostile) await addHostileFiles(dir, dayOld);
  await opts.before?.(dir);
  const crm = FakeCrm.start({ token: CRM_TOKEN, ...opts.crm });
  const cfg = await loadConfig({
    flags: {},
    env: crmEnv(crm, { CRM_API_TOKEN: CRM_TOKEN }),
    baseDir: dir,
    requireUpload: true,
  });
  const lines: string[] = [];
  const log = testLogger("debug", (l) => lines.push(l));
  const dash = serve(cfg, log, {
    port: 0,
    token: opts.token,
    recentLimit: opts.recentLimit,
  });
  return {
    dir,
    state: join(dir, "processed_uploads"),
    crm,
    cfg,
    dash,
    base: dash.url.replace(/\/$/, ""),
    lines,
    async [Symbol.asyncDispose]() {
      await dash.close();
      await crm.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A text logger in UTC at `level`; its lines go to `sink`, else nowhere. */
function testLogger(
  level: LogLevel = "info",
  sink: (line: string) => void = () => {},
): Logger {
  return new Logger({ format: "text", level, timezone: "UTC", sink });
}

/** A transcript whose name and content are markup, and an unreadable one. */
async function addHostileFiles(dir: string, mtimeMs: number): Promise<void> {
  const conv = join(dir, "conversations");
  const good = join(conv, HOSTILE);
  await Deno.writeTextFile(
    good,
    JSON.stringify({
      session_id: "session_20251030_080000_deadbeef",
      start_time: "2025-10-30T08:00:00.000000",
      end_time: "2025-10-30T08:00:30.000000",
      duration_seconds: 30,
      lead_generated: false,
      metadata: { phone_number: "+919000011111" },
      conversation_items: [{
        role: "user",
        content: "<script>alert(2)</script> hello",
        timestamp: "2025-10-30T08:00:05.000000",
      }],
    }),
  );
  const bad = join(conv, HOSTILE_BAD);
  await Deno.writeTextFile(bad, "{<b>not json");
  for (const f of [good, bad]) {
    await Deno.utime(f, mtimeMs / 1000, mtimeMs / 1000);
  }
}

/** A JSON error body (`jsonError` in lib/dashboard/http.ts). */
interface ApiError {
  error: string;
  code: ErrorCode;
}

/** `POST /api/retry` refused while a run holds the lock. */
interface RetryBusy extends ApiError {
  busy: { pid: number | null };
}

/** `POST /api/run` refused while a dashboard run is going. */
interface RunBusy extends ApiError {
  run: string;
}

/** `POST /api/run` accepted. */
interface RunStarted {
  id: string;
  state: RunView["state"];
  url: string;
}

/** `GET /api/run`: the latest dashboard run. */
interface LatestRun {
  run: RunView | null;
}

/** `POST /api/retry` done. */
interface RetryAnswer {
  scheduled: RetryResult["scheduled"];
  skipped: RetryResult["skipped"];
  message: string;
}

/** `GET /api/status`. */
interface StatusJson {
  generatedAt: string;
  timezone: string;
  readOnly: boolean;
  counts: DashboardView["counts"];
  lastRun: LastRun | null;
  oldestPending: OldestPending | null;
  sets: DashboardRow[];
  recent: RecentDelivery[];
  run: RunView | null;
}

/** `GET /api/summary`. */
interface SummaryJson {
  timezone: string;
  endDate: string;
  days: DailySummary[];
}

interface Got<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  /** The text with whitespace between tags removed and runs of it collapsed. */
  flat: string;
  /** The body parsed as JSON, as `T`; undefined if it is not JSON. */
  json: T;
}

async function call<T = unknown>(
  b: Box,
  path: string,
  init: RequestInit = {},
): Promise<Got<T>> {
  const res = await fetch(b.base + path, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const flat = text.replace(/>\s+</g, "><").replace(/\s+/g, " ");
  return {
    status: res.status,
    headers: res.headers,
    text,
    flat,
    json: json as T,
  };
}

function post<T = unknown>(
  b: Box,
  path: string,
  body: unknown = {},
  headers: Record<string, string> = {},
): Promise<Got<T>> {
  return call<T>(b, path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function waitForRun(b: Box, id: string): Promise<RunView> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const r = await call<RunView>(b, `/api/runs/${id}`);
    assert.equal(r.status, 200, r.text);
    if (r.json.state !== "running") return r.json;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`run ${id} did not end in 30 s`);
}

/** A raw HTTP/1.1 request, for headers fetch will not let us set. */
async function raw(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(head));
    const chunks: string[] = [];
    const buf = new Uint8Array(16384);
    const dec = new TextDecoder();
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(dec.decode(buf.subarray(0, n)));
    }
    return chunks.join("");
  } finally {
    conn.close();
  }
}

function assertSecurityHeaders(r: Got, what: string) {
  assert.equal(r.headers.get("x-content-type-options"), "nosniff", what);
  assert.equal(r.headers.get("referrer-policy"), "no-referrer", what);
  assert.equal(r.headers.get("x-frame-options"), "DENY", what);
  const csp = r.headers.get("content-security-policy") ?? "";
  assert.match(csp, /default-src 'none'/, what);
  assert.match(csp, /frame-ancestors 'none'/, what);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, what);
}

Deno.test("serveOptions: loopback:8787 by default, flag beats DASHBOARD_TOKEN, bad ports refused", () => {
  assert.deepEqual(serveOptions({}, {}), {
    host: "127.0.0.1",
    port: 8787,
    token: undefined,
    publicUrls: [],
  });
  assert.equal(serveOptions({}, { DASHBOARD_TOKEN: " env-t " }).token, "env-t");
  assert.equal(
    serveOptions({ token: "flag-t" }, { DASHBOARD_TOKEN: "env-t" }).token,
    "flag-t",
  );
  assert.deepEqual(
    serveOptions({ host: "0.0.0.0", port: "9000" }, {}),
    { host: "0.0.0.0", port: 9000, token: undefined, publicUrls: [] },
  );
  assert.throws(() => serveOptions({ port: "http" }, {}), UsageError);
  assert.throws(() => serveOptions({ port: "70000" }, {}), UsageError);
  assert.throws(() => serveOptions({ port: "-1" }, {}), UsageError);
});

Deno.test("serveOptions: --public-url takes http(s) origins, repeated or comma-separated; a token no header can carry is refused", () => {
  assert.deepEqual(
    serveOptions({
      publicUrl: ["https://calls.example.com", "http://10.0.0.5:8787/,"],
    }, {}).publicUrls.map((u) => u.origin),
    ["https://calls.example.com", "http://10.0.0.5:8787"],
  );
  for (
    const bad of [
      "calls.example.com",
      "ftp://x.example",
      "https://x.example/dash",
      "https://u:p@x.example",
    ]
  ) {
    assert.throws(
      () => serveOptions({ publicUrl: [bad] }, {}),
      UsageError,
      bad,
    );
  }
  assert.throws(
    () => serveOptions({}, { DASHBOARD_TOKEN: "tok\u001b[2J" }),
    (e: unknown) =>
      e instanceof ConfigError && /DASHBOARD_TOKEN/.test(e.message),
  );
});

Deno.test("serve refuses an address in use with a usage error naming it", async () => {
  await using b = await box();
  const log = testLogger();
  assert.throws(
    () => serve(b.cfg, log, { port: b.dash.addr.port }),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message.includes(`127.0.0.1:${b.dash.addr.port}`) &&
      /--port/.test(e.message),
  );
});

Deno.test("html template escapes every interpolation unless trusted", () => {
  const name = `<img src=x onerror="alert('1')">&\``;
  assert.equal(
    html`<td title="${name}">${name}</td>`.value,
    `<td title="${escapeHtml(name)}">${escapeHtml(name)}</td>`,
  );
  assert.doesNotMatch(html`${name}`.value, /[<>"'`]/);
  assert.equal(
    html`${[name, html`<b>${name}</b>`]}`.value.includes("<b>"),
    true,
  );
  assert.equal(html`${trusted("<i>ok</i>")}`.value, "<i>ok</i>");
  assert.equal(html`${undefined}${null}${false}${0}`.value, "0");
});

Deno.test("serve listens on 127.0.0.1 by default; GET / shows totals, chart, sets and safe headers", async () => {
  await using b = await box({ token: DASH_TOKEN });
  assert.equal(b.dash.addr.hostname, "127.0.0.1");
  assert.match(b.dash.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const r = await call(b, "/");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type")!, /^text\/html/);
  assertSecurityHeaders(r, "GET /");
  // The inline script and style carry this response's nonce, and only it.
  const csp = r.headers.get("content-security-policy")!;
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
  assert.ok(nonce, csp);
  assert.match(
    csp,
    new RegExp(`style-src 'nonce-${nonce.replace(/[+/=]/g, "\\$&")}'`),
  );
  const scripts = [...r.text.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
  assert.equal(scripts.length, 1);
  assert.equal(scripts[0], ` nonce="${nonce}"`);
  assert.doesNotMatch(r.text, /\son[a-z]+=/i, "no inline event handlers");
  assert.doesNotMatch(r.text, /\sstyle="/i, "no style attributes");
  const again = await call(b, "/");
  assert.notEqual(
    /nonce-([^']+)/.exec(again.headers.get("content-security-policy")!)?.[1],
    nonce,
    "a fresh nonce per response",
  );
  // Totals: all six fixture calls are due (a day old), none delivered yet.
  assert.match(
    r.flat,
    /<span class="num">0<\/span><span class="label">delivered/,
  );
  assert.match(
    r.flat,
    /<span class="num">6<\/span><span class="label">pending/,
  );
  assert.match(r.text, /<svg class="chart"/);
  assert.equal((r.text.match(/<rect class="bar/g) ?? []).length, 30);
  assert.match(r.text, new RegExp(`href="/sets/${encodeURIComponent(CALL1)}"`));
  assert.match(r.text, /Oldest not delivered/);
  assert.match(r.text, /none recorded/, "no run recorded yet");
  assert.match(r.flat, /data-action="run" disabled/, "enabled by the script");
});

Deno.test("GET /api/status and /api/summary", async () => {
  await using b = await box();
  const s = await call<StatusJson>(b, "/api/status");
  assert.equal(s.status, 200);
  assert.match(s.headers.get("content-type")!, /^application\/json/);
  assertSecurityHeaders(s, "/api/status");
  assert.deepEqual(s.json.counts, {
    delivered: 0,
    pending: 6,
    waiting: 0,
    failed: 0,
  });
  assert.equal(s.json.readOnly, true);
  assert.equal(s.json.timezone, "UTC");
  assert.equal(s.json.lastRun, null);
  assert.equal(s.json.run, null);
  assert.deepEqual(s.json.recent, []);
  assert.equal(s.json.sets.length, 6);
  const row = s.json.sets.find((r) => r.name === CALL1)!;
  assert.equal(row.recording, "number-_918655066243-1761720502.ogg");
  assert.equal(row.callId, "CALL-20251029-064824-66243");
  assert.equal(row.phone, "918655066243");
  // The oldest call is the 13 October one.
  assert.equal(
    s.json.oldestPending!.set,
    "transcript_session_2025-10-13T13-52-30.915207.json",
  );
  assert.ok(s.json.oldestPending!.ageSeconds > 86_400);

  const sum = await call<SummaryJson>(b, "/api/summary?days=7");
  assert.equal(sum.status, 200);
  assert.equal(sum.json.days.length, 7);
  assert.equal(sum.json.timezone, "UTC");
  assert.equal(sum.json.days[6].date, sum.json.endDate);
  assert.equal(sum.json.days[0].call_data_uploaded, 0);
  assert.equal(
    (await call<SummaryJson>(b, "/api/summary")).json.days.length,
    30,
  );
  for (const bad of ["0", "abc", "367", "1.5"]) {
    const r = await call<ApiError>(b, `/api/summary?days=${bad}`);
    assert.equal(r.status, 400, bad);
    assert.equal(r.json.code, "bad-request");
  }
});

Deno.test("GET /api/sets/<name> and /sets/<name>: files, pairing, the call record; 404s", async () => {
  await using b = await box();
  const d = await call<SetDetail>(b, `/api/sets/${encodeURIComponent(CALL1)}`);
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.state, "pending");
  assert.equal(d.json.kind, "call");
  assert.deepEqual(d.json.files.map((f) => f.folder), [
    "conversations",
    "recordings",
    "leads",
  ]);
  const rm = d.json.pairing.recording!;
  assert.equal(rm.name, "number-_918655066243-1761720502.ogg");
  assert.equal(rm.pinned, false);
  assert.ok(
    Math.abs(rm.startDiffSeconds! - -2.12) < 0.01,
    String(rm.startDiffSeconds),
  );
  assert.ok(Math.abs(rm.durationDiffSeconds! - 1.17) < 0.05);
  assert.equal(typeof rm.cost, "number");
  assert.equal(d.json.pairing.lead!.reason, "session-timestamp");
  assert.equal(d.json.payload!.source, "built");
  const rec = d.json.payload!.record;
  const details = rec.callDetails as Record<string, unknown>;
  assert.equal(details.callId, "CALL-20251029-064824-66243");
  assert.equal(details.recordingUrl, undefined, "not uploaded yet");
  assert.equal(rec.campaignId, "campaign-1");
  assert.ok(rec.lead);

  const page = await call(b, `/sets/${encodeURIComponent(CALL1)}`);
  assert.equal(page.status, 200);
  assertSecurityHeaders(page, "/sets/…");
  assert.match(page.text, /started 2\.12 s before the transcript/);
  assert.match(page.text, /same session timestamp in both file names/);
  assert.match(page.text, /CALL-20251029-064824-66243/);

  const only = await call<SetDetail>(
    b,
    `/api/sets/${encodeURIComponent(CALL5)}`,
  );
  assert.equal(only.json.kind, "recording-only");
  assert.equal(only.json.payload!.record.transcription, undefined);

  for (
    const name of [
      "nope.json",
      "..%2F..%2Fetc%2Fpasswd",
      "..%2Fprocessed_uploads%2Fcallsync-journal.jsonl",
      "%00",
    ]
  ) {
    const r = await call<ApiError>(b, `/api/sets/${name}`);
    assert.equal(r.status, 404, name);
    assert.equal(r.json.code, "not-found");
    const p = await call(b, `/sets/${name}`);
    assert.equal(p.status, 404, name);
  }
  assert.equal((await call(b, "/api/sets/%E0%A4%A")).status, 400);
});

Deno.test("routing: unknown paths 404, wrong methods 405 with Allow", async () => {
  await using b = await box({ token: DASH_TOKEN });
  const r = await call(b, "/api/retry");
  assert.equal(r.status, 405);
  assert.equal(r.headers.get("allow"), "POST");
  const s = await post(b, "/api/status", {}, bearer(DASH_TOKEN));
  assert.equal(s.status, 405);
  assert.equal((await call(b, "/api/nothing")).status, 404);
  const page = await call(b, "/nothing");
  assert.equal(page.status, 404);
  assert.match(page.headers.get("content-type")!, /^text\/html/);
  assert.equal((await call(b, "/api/runs/42")).status, 404);
  assert.deepEqual((await call<LatestRun>(b, "/api/run")).json, { run: null });
});

Deno.test("without a token the dashboard is read-only: POSTs answer 403", async () => {
  await using b = await box();
  for (const path of ["/api/run", "/api/retry"]) {
    for (const headers of [{}, bearer("anything")]) {
      const r = await post<ApiError>(b, path, { failed: true }, headers);
      assert.equal(r.status, 403, path);
      assert.equal(r.json.code, "read-only");
      assert.match(r.json.error, /DASHBOARD_TOKEN/);
    }
  }
  const page = await call(b, "/");
  assert.match(page.text, /data-writable="false"/);
  assert.match(page.text, />Read-only</);
  assert.match(page.text, /start callsync serve with DASHBOARD_TOKEN/);
  assert.equal(b.crm.requests.length, 0);
  assert.deepEqual((await call<LatestRun>(b, "/api/run")).json, { run: null });
});

Deno.test("without the CRM settings runs are refused with a clear message", async () => {
  await using b = await box({ token: DASH_TOKEN });
  const cfg = await loadConfig({
    flags: {},
    env: { TIMEZONE: "UTC" },
    baseDir: b.dir,
    requireUpload: false,
  });
  const log = testLogger();
  await using dash = serve(cfg, log, { port: 0, token: DASH_TOKEN });
  const res = await fetch(`${dash.url}api/run`, {
    method: "POST",
    headers: bearer(DASH_TOKEN),
  });
  const body: ApiError = await res.json();
  assert.equal(res.status, 409);
  assert.equal(body.code, "crm-not-configured");
  assert.match(body.error, /CRM_UPLOAD_URL, CRM_CALL_DATA_URL/);
  const page = await (await fetch(dash.url)).text();
  assert.match(page, /data-blocked="crm"/);
  assert.match(page, /Runs are off/);
  assert.equal(dash.running, false);
});

Deno.test("POSTs need the right bearer token and the page's own origin", async () => {
  await using b = await box({ token: DASH_TOKEN });
  for (const path of ["/api/run", "/api/retry"]) {
    const missing = await post<ApiError>(b, path, { failed: true });
    assert.equal(missing.status, 401, path);
    assert.equal(missing.json.code, "token-missing");
    assert.match(missing.headers.get("www-authenticate")!, /^Bearer/);
    for (const wrong of ["wrong", DASH_TOKEN + "x", DASH_TOKEN.slice(0, -1)]) {
      const r = await post<ApiError>(b, path, { failed: true }, bearer(wrong));
      assert.equal(r.status, 403, `${path} ${wrong}`);
      assert.equal(r.json.code, "token-refused");
    }
    const basic = await post(b, path, {}, {
      authorization: `Basic ${btoa(`x:${DASH_TOKEN}`)}`,
    });
    assert.equal(basic.status, 401);
    // The right token from another origin, or a cross-site fetch.
    const crossSite: Record<string, string>[] = [
      { origin: "http://evil.example" },
      { origin: "null" },
      { origin: b.base.replace("127.0.0.1", "localhost") },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ];
    for (const headers of crossSite) {
      const r = await post<ApiError>(b, path, { failed: true }, {
        ...bearer(DASH_TOKEN),
        ...headers,
      });
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.equal(r.json.code, "cross-origin");
    }
  }
  assert.equal(b.crm.requests.length, 0, "nothing ran");
  assert.deepEqual((await call<LatestRun>(b, "/api/run")).json, { run: null });
  // The page's own origin with the right token is accepted.
  const ok = await post<RetryAnswer>(b, "/api/retry", { failed: true }, {
    ...bearer(DASH_TOKEN),
    origin: b.base,
    "sec-fetch-site": "same-origin",
  });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.message, "No failed sets to retry.");
});

Deno.test("a Host header other than the listening address is refused (DNS rebinding)", async () => {
  await using b = await box({ token: DASH_TOKEN });
  const port = b.dash.addr.port;
  const evil = await raw(
    port,
    `GET /api/status HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`,
  );
  assert.match(evil, /^HTTP\/1\.1 421/);
  assert.match(evil, /bad-host/);
  const ok = await raw(
    port,
    `GET /api/status HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`,
  );
  assert.match(ok, /^HTTP\/1\.1 200/);
});

Deno.test("POST /api/run delivers every set; status, recent deliveries and set pages follow", async () => {
  await using b = await box({ token: DASH_TOKEN, recentLimit: 4 });
  const start = await post<RunStarted>(b, "/api/run", {}, {
    ...bearer(DASH_TOKEN),
    origin: b.base,
  });
  assert.equal(start.status, 202, start.text);
  assert.equal(start.json.state, "running");
  assert.equal(start.headers.get("location"), `/api/runs/${start.json.id}`);
  const run = await waitForRun(b, start.json.id);
  assert.equal(run.state, "finished");
  assert.equal(run.exitCode, 0);
  assert.equal(run.delivered, 6);
  assert.equal(run.failed, 0);
  assert.match(run.message, /6 delivered, 0 failed/);
  assert.ok(
    run.lines.some((l) =>
      /Directory scan completed: 6 processed, 0 failed/.test(l)
    ),
    run.lines.join("\n"),
  );
  assert.deepEqual(
    (await call<LatestRun>(b, "/api/run")).json.run!.id,
    start.json.id,
  );
  assert.equal(b.crm.acceptedCallRecords().length, 6);

  const s = await call<StatusJson>(b, "/api/status");
  assert.deepEqual(s.json.counts, {
    delivered: 6,
    pending: 0,
    waiting: 0,
    failed: 0,
  });
  assert.equal(s.json.lastRun!.exit_code, 0);
  assert.equal(s.json.lastRun!.delivered, 6);
  assert.equal(s.json.oldestPending, null);
  assert.equal(s.json.recent.length, 4, "only the most recent N");
  const times = s.json.recent.map((r) => r.deliveredAt);
  assert.deepEqual(times, [...times].sort().reverse(), "newest first");
  for (const r of s.json.recent) {
    assert.match(r.callId, /^CALL-\d{8}-\d{6}-\d{5}$/);
    if (r.recordingFile) {
      assert.match(
        r.recordingUrl!,
        /^http:\/\/127\.0\.0\.1:\d+\/apis\/uploads\//,
      );
    }
  }

  const page = await call(b, "/");
  assert.match(
    page.flat,
    /<span class="num">6<\/span><span class="label">delivered/,
  );
  assert.match(page.text, /Everything is delivered\./);
  assert.match(page.text, /Recently delivered/);
  assert.match(page.flat, /class="pill ok">OK</);
  assert.match(page.text, /6 delivered, 0 failed/, "the run's outcome");
  assert.match(page.text, /Directory scan completed/, "the run's log");
  assert.match(page.text, /<text class="value"[^>]*>6<\/text>/, "today's bar");
  const recentSet = s.json.recent.find((r) => r.recordingUrl)!;
  assert.ok(page.text.includes(`href="${recentSet.recordingUrl}"`));

  // A delivered set: its record, and the call record as it was sent.
  const d = await call<SetDetail>(b, `/api/sets/${encodeURIComponent(CALL1)}`);
  assert.equal(d.json.state, "delivered");
  assert.equal(d.json.delivery!.call_id, "CALL-20251029-064824-66243");
  assert.equal(d.json.payload!.source, "rebuilt");
  const sent = b.crm.acceptedCallRecords().find((r) =>
    (r.json as { callDetails: { callId: string } }).callDetails.callId ===
      "CALL-20251029-064824-66243"
  );
  assert.deepEqual(d.json.payload!.record, sent?.json);
  const setPage = await call(b, `/sets/${encodeURIComponent(CALL1)}`);
  assert.match(setPage.text, /Delivery record/);
  assert.ok(
    setPage.text.includes(
      escapeHtml(d.json.delivery!.recording_url as string),
    ),
  );

  const summary = await call<SummaryJson>(b, "/api/summary?days=1");
  assert.equal(summary.json.days[0].call_data_uploaded, 6);
  assert.equal(summary.json.days[0].recordings_uploaded, 5);
});

Deno.test("run now while another process holds the run lock says so and does nothing", async () => {
  await using b = await box({ token: DASH_TOKEN });
  await ensureStateDir(b.state, testLogger());
  const lock = await tryRunLock(b.state);
  assert.ok(isHeld(lock));
  try {
    const start = await post<RunStarted>(b, "/api/run", {}, bearer(DASH_TOKEN));
    assert.equal(start.status, 202);
    const run = await waitForRun(b, start.json.id);
    assert.equal(run.state, "skipped");
    assert.equal(run.exitCode, 0);
    assert.match(
      run.message,
      new RegExp(`pid ${Deno.pid}\\) holds the run lock`),
    );
    assert.ok(run.lines.some((l) => /in progress; skipping/.test(l)));
    const retry = await post<RetryBusy>(
      b,
      "/api/retry",
      { failed: true },
      bearer(DASH_TOKEN),
    );
    assert.equal(retry.status, 409);
    assert.equal(retry.json.code, "busy");
    assert.equal(retry.json.busy.pid, Deno.pid);
    const page = await call(b, "/");
    assert.match(page.text, /holds the run lock, probably cron/);
  } finally {
    lock.release();
  }
  assert.equal(b.crm.requests.length, 0);
});

Deno.test("a second run while one is going answers 409 with the running id", async () => {
  await using b = await box({ token: DASH_TOKEN, crm: { delayMs: 150 } });
  const first = await post<RunStarted>(b, "/api/run", {}, bearer(DASH_TOKEN));
  assert.equal(first.status, 202);
  const second = await post<RunBusy>(b, "/api/run", {}, bearer(DASH_TOKEN));
  assert.equal(second.status, 409);
  assert.equal(second.json.code, "busy");
  assert.equal(second.json.run, first.json.id);
  const during = await call<RunView>(b, `/api/runs/${first.json.id}`);
  assert.equal(during.json.state, "running");
  assert.equal((await waitForRun(b, first.json.id)).state, "finished");
});

Deno.test("retry of a failed set makes it due again; its frozen call record is shown", async () => {
  const frozen = {
    campaignId: "frozen-campaign",
    callDetails: { callId: "CALL-FROZEN" },
  };
  await using b = await box({
    token: DASH_TOKEN,
    before: async (dir) => {
      const state = join(dir, "processed_uploads");
      await Deno.mkdir(state);
      await Deno.writeTextFile(
        join(state, `${CALL3}.pending`),
        JSON.stringify({
          set: CALL3,
          attempts: 3,
          failed: true,
          last_error: "HTTP 500 from the call-data endpoint: <b>boom</b>",
          recording_file: "number-_917045118823-1761722558.ogg",
          recording_url: "https://crm.example/rec/1.ogg",
          recording_size: 23359,
          call_record: frozen,
        }),
      );
    },
  });
  const s = await call<StatusJson>(b, "/api/status");
  assert.equal(s.json.counts.failed, 1);
  const row = s.json.sets.find((r) => r.name === CALL3)!;
  assert.equal(row.state, "failed");
  assert.equal(row.attempts, 3);
  assert.match(row.lastError!, /HTTP 500/);

  const page = await call(b, "/");
  assert.ok(
    page.flat.includes(
      `data-action="retry" data-name="${escapeHtml(CALL3)}" disabled`,
    ),
  );
  assert.match(page.text, /Retry all failed \(1\)/);
  assert.ok(page.text.includes("&lt;b&gt;boom&lt;/b&gt;"));

  const d = await call<SetDetail>(b, `/api/sets/${encodeURIComponent(CALL3)}`);
  assert.equal(d.json.payload!.source, "frozen");
  assert.deepEqual(d.json.payload!.record, frozen);
  assert.equal(d.json.progress!.call_record, undefined);
  assert.equal(d.json.pairing.recording!.pinned, true);

  // Bad requests change nothing.
  for (
    const body of [
      {},
      { names: [] },
      { names: "x" },
      { names: [1] },
      { failed: false },
      { failed: true, names: [CALL3] },
    ]
  ) {
    const r = await post(b, "/api/retry", body, bearer(DASH_TOKEN));
    assert.equal(r.status, 400, JSON.stringify(body));
  }
  const text = await call(b, "/api/retry", {
    method: "POST",
    headers: { ...bearer(DASH_TOKEN), "content-type": "text/plain" },
    body: JSON.stringify({ failed: true }),
  });
  assert.equal(text.status, 415);
  const huge = await post(
    b,
    "/api/retry",
    { names: ["x".repeat(70_000)] },
    bearer(DASH_TOKEN),
  );
  assert.equal(huge.status, 413);
  assert.equal(
    (await call<StatusJson>(b, "/api/status")).json.counts.failed,
    1,
  );

  const r = await post<RetryAnswer>(
    b,
    "/api/retry",
    { names: [CALL3, "nope.json"] },
    bearer(DASH_TOKEN),
  );
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.scheduled, [CALL3]);
  assert.deepEqual(r.json.skipped, [{
    name: "nope.json",
    reason: "no failed attempt",
  }]);
  assert.match(r.json.message, /1 set made due again/);
  const after = await call<StatusJson>(b, "/api/status");
  assert.equal(after.json.counts.failed, 0);
  assert.equal(after.json.counts.pending, 6);
  const p: Progress = JSON.parse(
    await Deno.readTextFile(join(b.state, `${CALL3}.pending`)),
  );
  assert.equal(p.attempts, 0);
  assert.equal(p.failed, false);
  assert.equal(p.recording_url, "https://crm.example/rec/1.ogg", "kept");

  // Retry all failed: nothing left.
  const all = await post<RetryAnswer>(
    b,
    "/api/retry",
    { failed: true },
    bearer(DASH_TOKEN),
  );
  assert.deepEqual(all.json.scheduled, []);
});

Deno.test("file names and transcript content are escaped in every HTML response", async () => {
  await using b = await box({ token: DASH_TOKEN, hostile: true });
  const pages = [
    "/",
    "/?state=pending&q=" + encodeURIComponent("<img src=x onerror=alert(1)>"),
    "/?q=%22%3E%3Cimg%20src%3Dx%3E",
    `/sets/${encodeURIComponent(HOSTILE)}`,
    `/sets/${encodeURIComponent(`conversations/${HOSTILE_BAD}`)}`,
    `/sets/${encodeURIComponent("<img src=x onerror=alert(9)>")}`,
    `/${encodeURIComponent("<img src=x>")}`,
  ];
  const check = async () => {
    for (const path of pages) {
      const r = await call(b, path);
      assert.match(r.headers.get("content-type")!, /^text\/html/, path);
      assert.doesNotMatch(r.text, /<img/i, path);
      assert.doesNotMatch(r.text, /<svg onload/i, path);
      assert.doesNotMatch(r.text, /<script>alert/i, path);
      assert.doesNotMatch(r.text, /<b>not json/i, path);
      assert.doesNotMatch(r.text, /' on(mouseover|focus)='/, path);
    }
  };
  await check();
  const home = await call(b, "/");
  assert.ok(
    home.text.includes(escapeHtml(HOSTILE)),
    "the name is shown, escaped",
  );
  assert.ok(home.text.includes(escapeHtml(HOSTILE_BAD)));
  const d = await call(b, `/sets/${encodeURIComponent(HOSTILE)}`);
  assert.equal(d.status, 200);
  assert.ok(d.text.includes("&lt;script&gt;alert(2)&lt;/script&gt;"));
  // Search by phone number finds the hostile call (server-side filter).
  const found = await call(b, "/?q=" + encodeURIComponent("+91 90000 11111"));
  const visible = [
    ...found.text.matchAll(
      /<tr data-state="[^"]*" data-search="([^"]*)"[^>]*?(hidden)?>/g,
    ),
  ]
    .filter((m) => !m[2]);
  assert.equal(visible.length, 1, visible.map((m) => m[1]).join("\n"));
  assert.ok(visible[0][1].includes(escapeHtml(HOSTILE.toLowerCase())));

  // Delivered (it is an orphan a day old), it is still escaped everywhere.
  const start = await post<RunStarted>(b, "/api/run", {}, bearer(DASH_TOKEN));
  await waitForRun(b, start.json.id);
  assert.equal(
    (await call<StatusJson>(b, "/api/status")).json.counts.delivered,
    7,
  );
  await check();
});

Deno.test("neither the CRM token nor the dashboard token appears in any response", async () => {
  await using b = await box({ token: DASH_TOKEN, hostile: true });
  const seen: string[] = [];
  const grab = async <T = unknown>(path: string, init?: RequestInit) => {
    const r = await call<T>(b, path, init);
    seen.push(`${path}\n${[...r.headers].join("\n")}\n${r.text}`);
    return r;
  };
  const start = await grab<RunStarted>("/api/run", {
    method: "POST",
    headers: bearer(DASH_TOKEN),
  });
  const id = start.json.id;
  await waitForRun(b, id);
  // The CRM required its token, so it was sent (and the run succeeded).
  assert.ok(b.crm.acceptedCallRecords().length > 0);
  assert.ok(
    b.crm.requests.every((r) =>
      r.headers.authorization === `Bearer ${CRM_TOKEN}`
    ),
  );
  for (
    const path of [
      "/",
      "/api/status",
      "/api/summary",
      "/api/run",
      `/api/runs/${id}`,
      `/api/sets/${encodeURIComponent(CALL1)}`,
      `/sets/${encodeURIComponent(CALL1)}`,
      `/api/sets/${encodeURIComponent(CALL5)}`,
      `/sets/${encodeURIComponent(HOSTILE)}`,
      "/nothing",
    ]
  ) {
    await grab(path);
  }
  await grab("/api/retry", {
    method: "POST",
    headers: { ...bearer("wrong"), "content-type": "application/json" },
    body: "{}",
  });
  for (const text of seen) {
    assert.ok(!text.includes(CRM_TOKEN), text.slice(0, 200));
    assert.ok(!text.includes(DASH_TOKEN), text.slice(0, 200));
  }
  assert.ok(!b.lines.join("\n").includes(DASH_TOKEN));
});

Deno.test(testOn(SYMLINKS, {
  name:
    "a delivered set's lead swapped for a link to a key at the moment it is opened is not shown (test seam)",
  async fn() {
    await using b = await box({ token: DASH_TOKEN });
    const start = await post<RunStarted>(b, "/api/run", {}, bearer(DASH_TOKEN));
    assert.equal((await waitForRun(b, start.json.id)).delivered, 6);
    const key = join(b.dir, "service-account.json");
    await Deno.writeTextFile(
      key,
      JSON.stringify({ private_key: "PRIVATE-KEY-0xDEADBEEF" }),
    );
    const lead = join(b.dir, "leads", LEAD1);
    // Checked as a regular file, then swapped before it is opened.
    testSeam.beforeOpen = async (path) => {
      if (path !== lead) return;
      await Deno.symlink(key, `${lead}.swap`);
      await Deno.rename(`${lead}.swap`, lead);
    };
    let d: Got<SetDetail>;
    try {
      d = await call<SetDetail>(b, `/api/sets/${encodeURIComponent(CALL1)}`);
    } finally {
      testSeam.beforeOpen = undefined;
    }
    assert.equal(d.status, 200, d.text);
    assert.ok(!d.text.includes("PRIVATE-KEY"), d.text);
    assert.match(
      d.json.reason,
      /leads_session_.* was replaced \(by another file or a link\) while being read; not read/,
    );
    assert.equal(d.json.payload, null, "no call record from a file not read");
  },
}));

Deno.test("the token form posts to /token: without the page's script the token never lands in a URL and is not echoed", async () => {
  await using b = await box({ token: DASH_TOKEN });
  const page = await call(b, "/");
  const form = /<form id="token-form"[^>]*>/.exec(page.flat)?.[0] ?? "";
  assert.match(form, /method="post"/);
  assert.match(form, /action="\/token"/);
  const res = await call(b, "/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `token=${DASH_TOKEN}`,
  });
  assert.equal(res.status, 400);
  assert.match(res.text, /JavaScript needed/);
  assert.ok(!res.text.includes(DASH_TOKEN));
});

Deno.test("a lead that fits no call: its set page says why it goes alone, and once delivered shows the lead-only record as sent", async () => {
  const lead = "lead_20240101_120000.json";
  await using b = await box({
    token: DASH_TOKEN,
    before: async (dir) => {
      const path = join(dir, "leads", lead);
      await Deno.writeTextFile(path, JSON.stringify({ name: "Nobody" }));
      const old = Date.now() / 1000 - 86_400;
      await Deno.utime(path, old, old);
    },
  });
  const api = `/api/sets/${encodeURIComponent(lead)}`;
  const due = await call<SetDetail>(b, api);
  assert.equal(due.status, 200, due.text);
  assert.deepEqual([due.json.kind, due.json.state], ["lead-only", "pending"]);
  assert.equal(due.json.aloneReason, "no call found for this lead");
  assert.equal(due.json.payload!.record.transcription, undefined);
  const page = await call(b, `/sets/${encodeURIComponent(lead)}`);
  assert.match(page.text, /lead only/);
  assert.match(
    page.text,
    /belongs to no call clearly \(no call found for this lead\); goes alone/,
  );

  const start = await post<RunStarted>(b, "/api/run", {}, {
    ...bearer(DASH_TOKEN),
    origin: b.base,
  });
  assert.equal((await waitForRun(b, start.json.id)).delivered, 7);
  const done = await call<SetDetail>(b, api);
  assert.deepEqual([done.json.kind, done.json.state], [
    "lead-only",
    "delivered",
  ]);
  assert.equal(done.json.aloneReason, "no call found for this lead");
  const sent = b.crm.acceptedCallRecords().find((r) =>
    (r.json as { callDetails: { callId: string } }).callDetails.callId ===
      done.json.callId
  );
  assert.deepEqual(done.json.payload!.record, sent?.json);
  const donePage = await call(b, `/sets/${encodeURIComponent(lead)}`);
  assert.match(donePage.text, /; sent alone as a lead-only call record/);
});
