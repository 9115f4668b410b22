/**
 * `callsync serve`: a small web dashboard to see, trigger and retry uploads.
 *
 * - `GET /`: totals, last run, oldest pending set, sets not delivered, the
 *   most recent deliveries, a chart of calls delivered per day.
 * - `GET /sets/<name>`: one set's files, pairing, delivery record and call
 *   record.
 * - JSON: `GET /api/status`, `GET /api/summary?days=N`, `GET /api/sets/<name>`,
 *   `POST /api/run`, `GET /api/run`, `GET /api/runs/<id>`, `POST /api/retry`.
 *
 * Safety: listens on 127.0.0.1 unless told otherwise; every POST needs the
 * dashboard token as `Authorization: Bearer …` (compared in constant time)
 * and comes from the page's own origin; without a token the dashboard is
 * read-only. On a loopback address the `Host` header must name it (no DNS
 * rebinding). Pages carry a strict CSP with a per-response nonce.
 *
 * @module
 */
import { basename, join } from "node:path";
import type { CommandContext } from "./commands.ts";
import type { Config } from "./config.ts";
import { UsageError } from "./cli.ts";
import {
  type DashboardRow,
  filterRows,
  type RecentDelivery,
  renderDashboard,
  renderMessagePage,
  renderSetPage,
  type RunView,
  type SetDetail,
  type SetFile,
  today,
} from "./dashboard.ts";
import { Logger } from "./log.ts";
import { writeMetrics } from "./metrics.ts";
import { readOggInfo } from "./ogg.ts";
import { parseRecordingName } from "./names.ts";
import { buildCallRecord, callerDigits, setCallId } from "./payload.ts";
import type { CallSet } from "./plan.ts";
import { dailySummaries, statusReport } from "./report.ts";
import { retrySets } from "./retry.ts";
import { EXIT, planRun, runOnce } from "./run.ts";
import type { ConversationFile, LeadFile, RecordingFile } from "./scan.ts";
import { type DeliveryRecord, readLastRun, StateStore } from "./state.ts";
import { toUtcIso } from "./time.ts";
import { parseJsonObject, readLead, readTranscript } from "./transcript.ts";

/** Where the dashboard listens unless told otherwise. */
export const DEFAULT_HOST = "127.0.0.1";
/** The dashboard's default port. */
export const DEFAULT_PORT = 8787;
/** How many recent deliveries the dashboard lists (and reads at most). */
export const RECENT_LIMIT = 50;
/** Not-delivered rows rendered on the page at most (the JSON has them all). */
const ROW_LIMIT = 1000;
/** Log lines kept per dashboard run. */
const MAX_RUN_LINES = 5000;
/** Dashboard runs remembered. */
const MAX_RUNS = 20;
/** Largest POST body read. */
const MAX_BODY = 64 * 1024;

/** Options of {@link serve}. */
export interface ServeOptions {
  /** Address to listen on; default {@link DEFAULT_HOST}. */
  host?: string;
  /** Port; default {@link DEFAULT_PORT}; 0 picks a free one. */
  port?: number;
  /** The dashboard token; without one the dashboard is read-only. */
  token?: string;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  /** Recent deliveries listed; default {@link RECENT_LIMIT}. */
  recentLimit?: number;
  /** Also hand each log line of a dashboard run here (e.g. to stderr). */
  echo?: (line: string) => void;
}

/** A running dashboard. */
export interface Dashboard extends AsyncDisposable {
  /** `http://host:port/` as reachable from this machine. */
  readonly url: string;
  readonly addr: Deno.NetAddr;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** True while a run started from the dashboard is going. */
  readonly running: boolean;
  /** Resolves once no run started from the dashboard is going. */
  idle(): Promise<void>;
  /** Stop the server, then wait for a run in progress to end. */
  close(): Promise<void>;
}

/** The serve command's flags, as parsed. */
export interface ServeFlags {
  host?: string;
  port?: string | number;
  token?: string;
}

/**
 * Resolve `--host`, `--port` and `--token` (else `DASHBOARD_TOKEN`).
 * Throws {@link UsageError} for a bad port.
 */
export function serveOptions(
  flags: ServeFlags,
  env: Record<string, string | undefined>,
): { host: string; port: number; token?: string } {
  const host = flags.host?.trim() || DEFAULT_HOST;
  const portText = String(flags.port ?? DEFAULT_PORT).trim();
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new UsageError(
      `--port must be a port number from 0 to 65535, got "${portText}"`,
    );
  }
  const token = flags.token?.trim() || env.DASHBOARD_TOKEN?.trim() ||
    undefined;
  return { host, port, token };
}

/**
 * `serve`: run the dashboard until SIGINT/SIGTERM (Ctrl-C). A run in
 * progress is let finish; a second signal stops at once (safe: a kill repeats
 * at most the one request in flight).
 */
export async function serveCommand(ctx: CommandContext): Promise<number> {
  const { host, port, token } = ctx.cli;
  const opts = serveOptions({ host, port, token }, Deno.env.toObject());
  const stop = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals === 1) {
      ctx.log.info("Stopping the dashboard");
      stop.abort();
    } else {
      ctx.log.warn("Stopping now");
      Deno.exit(130);
    }
  };
  const names: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  for (const s of names) Deno.addSignalListener(s, onSignal);
  try {
    const dash = serve(ctx.cfg, ctx.log, {
      ...opts,
      signal: stop.signal,
      echo: writeStderrLine,
    });
    await dash.finished;
    if (dash.running) {
      ctx.log.info(
        "Waiting for the run in progress to finish (Ctrl-C again to stop now)",
      );
    }
    await dash.idle();
  } finally {
    for (const s of names) Deno.removeSignalListener(s, onSignal);
  }
  return EXIT.ok;
}

const encoder = new TextEncoder();

function writeStderrLine(line: string): void {
  const bytes = encoder.encode(line + "\n");
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stderr.writeSync(bytes.subarray(written));
  }
}

/**
 * Start the dashboard over `cfg`. Never listens on all interfaces unless
 * `host` says so. Throws {@link UsageError} when the address cannot be used.
 */
export function serve(
  cfg: Config,
  log: Logger,
  opts: ServeOptions = {},
): Dashboard {
  // `[::1]` as typed in a URL is `::1` to the socket.
  const host = (opts.host ?? DEFAULT_HOST).replace(/^\[(.*)\]$/, "$1");
  const app = new App(cfg, log, { ...opts, host });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: host,
      port: opts.port ?? DEFAULT_PORT,
      signal: opts.signal,
      onListen: () => {},
      onError: (e) => {
        log.error(`Dashboard: ${e instanceof Error ? e.message : e}`);
        return app.error(500, "internal", "internal error");
      },
    }, (req) => app.handle(req));
  } catch (e) {
    throw new UsageError(
      `cannot listen on ${host}:${opts.port ?? DEFAULT_PORT}: ${
        e instanceof Error ? e.message : e
      }; choose another --host or --port`,
    );
  }
  const addr = server.addr;
  app.listening(addr);
  log.info(
    `Dashboard on ${app.url}${
      opts.token
        ? ""
        : " (read-only: set DASHBOARD_TOKEN or --token to run and retry)"
    }`,
  );
  if (!isLoopback(host)) {
    log.warn(
      `The dashboard listens on ${host}, not only this machine: anyone who can reach it can read call details; runs and retries still need the token`,
    );
  }
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      try {
        await server.shutdown();
      } catch {
        // already stopped by the signal
      }
      await server.finished;
      await app.idle();
    })();
  return {
    url: app.url,
    addr,
    finished: server.finished,
    get running() {
      return app.running;
    },
    idle: () => app.idle(),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A JSON error's `code`, for the page's script and API clients. */
type ErrorCode =
  | "bad-host"
  | "cross-origin"
  | "read-only"
  | "token-missing"
  | "token-refused"
  | "bad-request"
  | "unsupported-media-type"
  | "too-large"
  | "not-found"
  | "method-not-allowed"
  | "busy"
  | "crm-not-configured"
  | "internal";

interface RunEntry {
  view: RunView;
  done: Promise<void>;
}

class App {
  url = "";
  #cfg: Config;
  #log: Logger;
  #opts: ServeOptions;
  #quiet: Logger;
  #tokenHash?: Promise<Uint8Array>;
  #hosts?: Set<string>;
  #runs = new Map<string, RunEntry>();
  #seq = 0;
  #current?: RunEntry;

  constructor(cfg: Config, log: Logger, opts: ServeOptions) {
    this.#cfg = cfg;
    this.#log = log;
    this.#opts = opts;
    this.#quiet = new Logger({
      format: "text",
      level: "error",
      timezone: cfg.timezone,
      sink: () => {},
    });
    if (opts.token) this.#tokenHash = sha256(opts.token);
  }

  get running(): boolean {
    return this.#current !== undefined;
  }

  get #writable(): boolean {
    return this.#tokenHash !== undefined;
  }

  listening(addr: Deno.NetAddr): void {
    const host = this.#opts.host ?? DEFAULT_HOST;
    const port = addr.port;
    const bracket = (h: string) => h.includes(":") ? `[${h}]` : h;
    const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    this.url = `http://${bracket(shown)}:${port}/`;
    if (host === "0.0.0.0" || host === "::") return; // any Host: see the warning
    const names = [bracket(host).toLowerCase()];
    if (isLoopback(host)) names.push("127.0.0.1", "localhost", "[::1]");
    // Browsers leave the default port out of Host.
    this.#hosts = new Set(
      names.flatMap((h) => port === 80 ? [h, `${h}:80`] : [`${h}:${port}`]),
    );
  }

  idle(): Promise<void> {
    return this.#current?.done ?? Promise.resolve();
  }

  async handle(req: Request): Promise<Response> {
    try {
      return await this.#route(req);
    } catch (e) {
      this.#log.error(
        `Dashboard: ${req.method} ${new URL(req.url).pathname}: ${
          e instanceof Error ? e.message : e
        }`,
      );
      return this.error(500, "internal", "internal error; see the log");
    }
  }

  async #route(req: Request): Promise<Response> {
    const host = (req.headers.get("host") ?? "").toLowerCase();
    if (this.#hosts && !this.#hosts.has(host)) {
      await req.body?.cancel();
      return this.error(
        421,
        "bad-host",
        `this dashboard answers only as ${this.url}`,
      );
    }
    const url = new URL(req.url);
    const path = url.pathname;
    const method = req.method === "HEAD" ? "GET" : req.method;
    const route = (
      allowed: string[],
      fn: () => Promise<Response> | Response,
    ): Promise<Response> | Response => {
      if (allowed.includes(method)) return fn();
      return this.error(
        405,
        "method-not-allowed",
        `${req.method} is not allowed here; use ${allowed.join(" or ")}`,
        { allow: allowed.join(", ") },
      );
    };

    if (path === "/") {
      return route(["GET"], () => this.#dashboard(url));
    }
    if (path === "/favicon.ico") {
      return route(["GET"], () => new Response(null, { status: 204 }));
    }
    if (path.startsWith("/sets/")) {
      return route(["GET"], () => this.#setPage(path.slice(6)));
    }
    if (path === "/api/status") {
      return route(["GET"], () => this.#status());
    }
    if (path === "/api/summary") {
      return route(["GET"], () => this.#summary(url));
    }
    if (path.startsWith("/api/sets/")) {
      return route(["GET"], () => this.#setJson(path.slice(10)));
    }
    if (path === "/api/run") {
      return route(
        ["GET", "POST"],
        () =>
          method === "POST"
            ? this.#guarded(req, () => this.#startRun(req))
            : json(200, { run: this.#latest()?.view ?? null }),
      );
    }
    if (path.startsWith("/api/runs/")) {
      return route(["GET"], () => {
        const run = this.#runs.get(safeDecode(path.slice(10)) ?? "");
        return run ? json(200, run.view) : this.error(
          404,
          "not-found",
          "no such run (runs are kept in memory while the dashboard runs)",
        );
      });
    }
    if (path === "/api/retry") {
      return route(["POST"], () => this.#guarded(req, () => this.#retry(req)));
    }
    if (path.startsWith("/api/")) {
      return this.error(404, "not-found", `no endpoint ${path}`);
    }
    return route(
      ["GET"],
      () => this.#page(404, "Not found", `There is no page ${path} here.`),
    );
  }

  // -------------------------------------------------------------------------
  // Guards

  /** Cross-site checks, then the token, then `fn`. */
  async #guarded(
    req: Request,
    fn: () => Promise<Response>,
  ): Promise<Response> {
    const refuse = async (
      status: number,
      code: ErrorCode,
      message: string,
      headers: Record<string, string> = {},
    ) => {
      await req.body?.cancel();
      return this.error(status, code, message, headers);
    };
    const own = new URL(req.url).origin;
    const origin = req.headers.get("origin");
    if (origin !== null && origin !== own) {
      return refuse(
        403,
        "cross-origin",
        `cross-origin request refused: Origin ${origin} is not ${own}`,
      );
    }
    const site = req.headers.get("sec-fetch-site");
    if (site !== null && site !== "same-origin" && site !== "none") {
      return refuse(
        403,
        "cross-origin",
        `cross-site request refused (Sec-Fetch-Site: ${site})`,
      );
    }
    if (!this.#tokenHash) {
      return refuse(
        403,
        "read-only",
        "this dashboard is read-only: start callsync serve with DASHBOARD_TOKEN (or --token) to run and retry",
      );
    }
    const m = /^Bearer[ \t]+(\S.*)$/i.exec(
      req.headers.get("authorization") ?? "",
    );
    if (!m) {
      return refuse(
        401,
        "token-missing",
        "send the dashboard token as Authorization: Bearer <token>",
        { "www-authenticate": 'Bearer realm="callsync"' },
      );
    }
    if (!(await tokenMatches(m[1].trim(), await this.#tokenHash))) {
      return refuse(403, "token-refused", "wrong dashboard token");
    }
    return fn();
  }

  // -------------------------------------------------------------------------
  // Reading

  async #snapshot() {
    const cfg = this.#cfg;
    const store = await StateStore.open(cfg.processedDir, this.#quiet, {
      readOnly: true,
    });
    const plan = await planRun(cfg, store, this.#quiet);
    return { store, plan };
  }

  async #statusData() {
    const cfg = this.#cfg;
    const now = Date.now();
    const { store, plan } = await this.#snapshot();
    const report = statusReport(plan, cfg.timezone);
    const phones = new Map(plan.sets.map((s) => [s.name, callerDigits(s)]));
    const rows: DashboardRow[] = report.sets.map((r) => ({
      ...r,
      phone: phones.get(r.name),
    }));
    const oldestSet = plan.sets.reduce<CallSet | undefined>(
      (a, s) => (!a || s.startMs < a.startMs ? s : a),
      undefined,
    );
    return {
      now,
      store,
      plan,
      counts: report.counts,
      rows,
      lastRun: await readLastRun(cfg.processedDir),
      oldestPending: oldestSet
        ? {
          set: oldestSet.name,
          startedAt: toUtcIso(oldestSet.startMs),
          ageSeconds: Math.max(0, Math.round((now - oldestSet.startMs) / 1000)),
        }
        : undefined,
      recent: await recentDeliveries(
        store,
        this.#opts.recentLimit ?? RECENT_LIMIT,
      ),
    };
  }

  async #status(): Promise<Response> {
    const d = await this.#statusData();
    return json(200, {
      generatedAt: toUtcIso(d.now),
      timezone: this.#cfg.timezone,
      readOnly: !this.#writable,
      counts: d.counts,
      lastRun: d.lastRun ?? null,
      oldestPending: d.oldestPending ?? null,
      sets: d.rows,
      recent: d.recent,
      run: this.#latest()?.view ?? null,
    });
  }

  async #dashboard(url: URL): Promise<Response> {
    const d = await this.#statusData();
    const store = d.store;
    const filter = {
      state: ["pending", "waiting", "failed", "delivered"].includes(
          url.searchParams.get("state") ?? "",
        )
        ? url.searchParams.get("state")!
        : "",
      q: (url.searchParams.get("q") ?? "").slice(0, 200),
    };
    const rows = d.rows.length > ROW_LIMIT
      ? filterRows(d.rows, filter).slice(0, ROW_LIMIT)
      : d.rows;
    const events = await store.readJournal();
    const nonce = newNonce();
    return htmlResponse(
      200,
      renderDashboard({
        nonce,
        now: d.now,
        timezone: this.#cfg.timezone,
        writable: this.#writable,
        uploadReady: uploadReady(this.#cfg),
        counts: d.counts,
        lastRun: d.lastRun,
        oldestPending: d.oldestPending,
        rows,
        rowsTotal: d.rows.length,
        recent: d.recent,
        summaries: dailySummaries(
          events,
          today(d.now, this.#cfg.timezone),
          30,
          this.#cfg.timezone,
        ),
        run: this.#latest()?.view,
        filter,
      }),
      nonce,
    );
  }

  async #summary(url: URL): Promise<Response> {
    const text = url.searchParams.get("days") ?? "30";
    const days = Number(text);
    if (!/^\d+$/.test(text) || days < 1 || days > 366) {
      return this.error(
        400,
        "bad-request",
        `days must be a whole number from 1 to 366, got "${text}"`,
      );
    }
    const store = await StateStore.open(this.#cfg.processedDir, this.#quiet, {
      readOnly: true,
    });
    const end = today(Date.now(), this.#cfg.timezone);
    return json(200, {
      timezone: this.#cfg.timezone,
      endDate: end,
      days: dailySummaries(
        await store.readJournal(),
        end,
        days,
        this.#cfg.timezone,
      ),
    });
  }

  async #setJson(raw: string): Promise<Response> {
    const name = safeDecode(raw);
    if (name === undefined) {
      return this.error(400, "bad-request", "malformed set name");
    }
    const detail = await this.#setDetail(name);
    return detail
      ? json(200, detail)
      : this.error(404, "not-found", `no set named ${name}`);
  }

  async #setPage(raw: string): Promise<Response> {
    const name = safeDecode(raw);
    if (name === undefined) {
      return this.#page(400, "Bad request", "Malformed set name.");
    }
    const detail = await this.#setDetail(name);
    if (!detail) {
      return this.#page(
        404,
        "Not found",
        `No set named ${name}: it is neither waiting nor delivered.`,
      );
    }
    const nonce = newNonce();
    return htmlResponse(
      200,
      renderSetPage(detail, {
        nonce,
        timezone: this.#cfg.timezone,
        writable: this.#writable,
        now: Date.now(),
      }),
      nonce,
    );
  }

  async #setDetail(name: string): Promise<SetDetail | undefined> {
    if (!name || name.length > 1024 || name.includes("\0")) return undefined;
    const { store, plan } = await this.#snapshot();
    const set = plan.sets.find((s) => s.name === name);
    if (set) return this.#pendingDetail(set);
    const stray = plan.strays.find((f) => `${f.folder}/${f.name}` === name);
    if (stray) {
      return {
        name,
        state: stray.state,
        kind: "file",
        reason: stray.reason,
        attempts: 0,
        files: [{ folder: stray.folder, name: stray.name }],
        pairing: {},
        delivery: null,
        progress: null,
        payload: null,
      };
    }
    // Only names PROCESSED_DIR lists reach the file system.
    if (store.delivered.has(name)) {
      return await this.#deliveredDetail(store, name);
    }
    return undefined;
  }

  #pendingDetail(set: CallSet): SetDetail {
    const cfg = this.#cfg;
    const p = set.progress;
    const files: SetFile[] = [];
    const fileOf = (
      folder: SetFile["folder"],
      f: ConversationFile | RecordingFile | LeadFile | undefined,
    ) => {
      if (!f) return;
      files.push({
        folder,
        name: f.name,
        size: f.size,
        modifiedAt: toUtcIso(f.mtimeMs),
        ...("ogg" in f
          ? { durationSeconds: f.ogg.durationSeconds, complete: f.ogg.complete }
          : {}),
      });
    };
    fileOf("conversations", set.conversation);
    fileOf("recordings", set.recording);
    fileOf("leads", set.lead);
    const recordingName = set.recording?.name ?? p?.recording_file;
    if (!set.recording && p?.recording_file) {
      files.push({
        folder: "recordings",
        name: p.recording_file,
        missing: true,
      });
    }
    const uploaded = p?.recording_url !== undefined
      ? {
        url: p.recording_url,
        size: p.recording_size ?? 0,
        durationSeconds: p.recording_duration,
      }
      : undefined;
    const payload: SetDetail["payload"] = p?.call_record
      ? {
        source: "frozen",
        note:
          "Frozen when the recording was uploaded; every retry sends exactly this.",
        record: p.call_record,
      }
      : {
        source: "built",
        note: uploaded
          ? "What the next run sends, built from the files now on disk."
          : set.recording
          ? "What the next run would send, built from the files now on disk; recordingUrl, recordingDuration and recordingSize are added once the recording is uploaded."
          : "What the next run would send, built from the files now on disk.",
        record: buildCallRecord(set, uploaded, cfg),
      };
    const progress = p ? withoutCallRecord(p) : null;
    return {
      name: set.name,
      state: set.state,
      kind: set.kind,
      reason: set.reason,
      callId: setCallId(set, cfg.timezone),
      startedAt: toUtcIso(set.startMs),
      attempts: p?.attempts ?? 0,
      lastError: p?.last_error,
      nextAttemptAt: set.nextAttemptAt
        ? toUtcIso(set.nextAttemptAt)
        : undefined,
      files,
      pairing: {
        recording: recordingName
          ? {
            name: recordingName,
            startDiffSeconds: set.recordingMatch?.startDiffSeconds,
            durationDiffSeconds: set.recordingMatch?.durationDiffSeconds,
            cost: set.recordingMatch?.cost,
            pinned: !set.recordingMatch && p?.recording_file === recordingName,
          }
          : undefined,
        lead: set.leadMatch
          ? {
            name: set.leadMatch.lead,
            reason: set.leadMatch.reason,
            endDiffSeconds: set.leadMatch.endDiffSeconds,
          }
          : undefined,
      },
      delivery: null,
      progress,
      payload,
    };
  }

  /**
   * A delivered set: its `.uploaded` record, and the call record rebuilt from
   * its files if they are still where they were (the record sent is not kept
   * after delivery).
   */
  async #deliveredDetail(
    store: StateStore,
    name: string,
  ): Promise<SetDetail> {
    const cfg = this.#cfg;
    const entry = store.delivered.get(name)!;
    const record = await readJsonFile(join(store.dir, `${name}.uploaded`)) as
      | Partial<DeliveryRecord>
      | undefined;
    const kind = record?.kind ??
      (name.toLowerCase().endsWith(".ogg") ? "recording-only" : "call");
    const recName = record?.recording_file ?? entry.recording;
    const leadName = record?.lead_file ?? entry.lead;
    const files: SetFile[] = [];
    const set: CallSet = {
      name,
      kind,
      state: "pending",
      reason: "",
      truncated: record?.truncated === true,
      startMs: NaN,
    };
    const problems: string[] = [];
    if (kind === "call") {
      const path = join(cfg.conversationsDir, basename(name));
      const f = await readPlainFile(path);
      files.push(fileEntry("conversations", name, f));
      if (f) {
        try {
          set.conversation = {
            ...f.info,
            ...readTranscript(name, parseJsonObject(f.text()), cfg.timezone),
          };
        } catch (e) {
          problems.push(`${name}: ${e instanceof Error ? e.message : e}`);
        }
      } else problems.push(`${name} is no longer in the conversations folder`);
    }
    if (recName) {
      const path = join(cfg.recordingsDir, basename(recName));
      const f = await readPlainFile(path, false);
      const parsed = parseRecordingName(recName);
      let ogg;
      if (f && parsed) {
        try {
          ogg = await readOggInfo(path);
          set.recording = {
            ...f.info,
            name: recName,
            callerDigits: parsed.callerDigits,
            ogg,
            key: {
              name: recName,
              startMs: parsed.startMs,
              durationSeconds: ogg.durationSeconds,
              complete: ogg.complete,
              phone: parsed.callerDigits,
            },
          };
        } catch (e) {
          problems.push(`${recName}: ${e instanceof Error ? e.message : e}`);
        }
      } else if (!f) {
        problems.push(`${recName} is no longer in the recordings folder`);
      }
      files.push({
        ...fileEntry("recordings", recName, f),
        durationSeconds: ogg?.durationSeconds,
        complete: ogg?.complete,
      });
    }
    if (leadName) {
      const path = join(cfg.leadsDir, basename(leadName));
      const f = await readPlainFile(path);
      files.push(fileEntry("leads", leadName, f));
      if (f) {
        try {
          set.lead = {
            ...f.info,
            ...readLead(leadName, parseJsonObject(f.text()), cfg.timezone),
          };
        } catch (e) {
          problems.push(`${leadName}: ${e instanceof Error ? e.message : e}`);
        }
      } else problems.push(`${leadName} is no longer in the leads folder`);
    }
    set.startMs = set.conversation?.key.startMs ??
      set.recording?.key.startMs ?? NaN;
    const complete = (kind === "recording-only" || set.conversation) &&
      (!recName || set.recording) && (!leadName || set.lead) &&
      Number.isFinite(set.startMs);
    const payload: SetDetail["payload"] = complete
      ? {
        source: "rebuilt",
        note:
          "Rebuilt from the set's files as they are now; the record sent is not kept after delivery.",
        record: buildCallRecord(
          set,
          record?.recording_url
            ? {
              url: record.recording_url,
              size: record.recording_size ?? 0,
              durationSeconds: set.recording?.ogg.durationSeconds,
            }
            : undefined,
          cfg,
        ),
      }
      : null;
    const conv = set.conversation?.key;
    const rec = set.recording?.key;
    const convSeconds = conv?.durationSeconds;
    const startDiff = conv && rec
      ? (rec.startMs - conv.startMs) / 1000
      : undefined;
    const durationDiff = convSeconds !== undefined &&
        rec?.durationSeconds !== undefined
      ? rec.durationSeconds - convSeconds
      : undefined;
    return {
      name,
      state: "delivered",
      kind,
      reason: "accepted by the CRM" +
        (problems.length && !complete
          ? `; call record not shown: ${problems.join("; ")}`
          : ""),
      deliveredAt: record?.uploaded_at ?? toUtcIso(entry.at),
      callId: record?.call_id ?? entry.callId,
      startedAt: Number.isFinite(set.startMs)
        ? toUtcIso(set.startMs)
        : undefined,
      attempts: record?.upload_attempts ?? 0,
      files,
      pairing: {
        recording: recName
          ? {
            name: recName,
            startDiffSeconds: startDiff,
            durationDiffSeconds: durationDiff,
            pinned: true,
          }
          : undefined,
        lead: leadName ? { name: leadName } : undefined,
      },
      delivery: record ? { ...record } : null,
      progress: null,
      payload,
    };
  }

  // -------------------------------------------------------------------------
  // Acting

  #latest(): RunEntry | undefined {
    return [...this.#runs.values()].at(-1);
  }

  async #startRun(req: Request): Promise<Response> {
    await req.body?.cancel();
    if (!uploadReady(this.#cfg)) {
      return this.error(
        409,
        "crm-not-configured",
        `cannot run: ${
          missingUploadSettings(this.#cfg).join(", ")
        } not configured`,
      );
    }
    if (this.#current) {
      return json(409, {
        error:
          `run ${this.#current.view.id} started from this dashboard is still going`,
        code: "busy",
        run: this.#current.view.id,
      });
    }
    const entry = this.#launch();
    return json(202, {
      id: entry.view.id,
      state: entry.view.state,
      url: `/api/runs/${entry.view.id}`,
    }, { location: `/api/runs/${entry.view.id}` });
  }

  #launch(): RunEntry {
    const cfg = this.#cfg;
    const id = String(++this.#seq);
    const view: RunView = {
      id,
      state: "running",
      startedAt: toUtcIso(Date.now()),
      message: "running",
      lines: [],
      linesDropped: 0,
    };
    const runLog = new Logger({
      format: "text",
      level: "info",
      timezone: cfg.timezone,
      secrets: [cfg.apiToken ?? "", this.#opts.token ?? ""].filter(Boolean),
      sink: (line) => {
        if (view.lines.length < MAX_RUN_LINES) view.lines.push(line);
        else view.linesDropped++;
        this.#opts.echo?.(line);
      },
    });
    this.#log.info(`Run ${id} started from the dashboard`);
    const done = (async () => {
      try {
        const report = await runOnce({ cfg, log: runLog });
        view.endedAt = toUtcIso(report.endedMs);
        view.exitCode = report.exitCode;
        view.delivered = report.delivered;
        view.failed = report.failed;
        if (report.skipped) {
          const pid = view.lines.map((l) => /\(pid (\w+)\)/.exec(l)?.[1])
            .find(Boolean);
          view.state = "skipped";
          view.message =
            `another callsync run (pid ${pid}) holds the run lock, probably cron; nothing was done — try again when it ends`;
        } else {
          view.state = "finished";
          view.message = report.exitCode === EXIT.fatal
            ? "stopped by a fatal error (see the log)"
            : `${report.delivered} delivered, ${report.failed} failed${
              report.exitCode === EXIT.ok ? "" : " (they will be retried)"
            }`;
          if (cfg.metricsFile) {
            await writeMetrics(cfg.metricsFile, {
              ...report,
              counts: report.counts ??
                { delivered: 0, pending: 0, waiting: 0, failed: 0 },
            }).catch((e) =>
              runLog.error(
                `Cannot write METRICS_FILE ${cfg.metricsFile}: ${
                  e instanceof Error ? e.message : e
                }`,
              )
            );
          }
        }
      } catch (e) {
        view.state = "error";
        view.endedAt = toUtcIso(Date.now());
        view.message = `the run failed: ${e instanceof Error ? e.message : e}`;
        runLog.error(view.message);
      } finally {
        this.#current = undefined;
        this.#log.info(`Run ${id} from the dashboard: ${view.message}`);
      }
    })();
    const entry: RunEntry = { view, done };
    this.#current = entry;
    this.#runs.set(id, entry);
    while (this.#runs.size > MAX_RUNS) {
      this.#runs.delete(this.#runs.keys().next().value!);
    }
    return entry;
  }

  async #retry(req: Request): Promise<Response> {
    const type = req.headers.get("content-type") ?? "";
    if (!/^application\/json\b/i.test(type)) {
      await req.body?.cancel();
      return this.error(
        415,
        "unsupported-media-type",
        "send a JSON body with Content-Type: application/json",
      );
    }
    const body = await readBody(req);
    if (body === "too-large") {
      return this.error(413, "too-large", `the body is over ${MAX_BODY} bytes`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return this.error(400, "bad-request", "the body is not JSON");
    }
    const b = parsed as { names?: unknown; failed?: unknown } | null;
    let target: string[] | "failed";
    if (
      b && typeof b === "object" && b.failed === true && b.names === undefined
    ) {
      target = "failed";
    } else if (
      b && typeof b === "object" && b.failed === undefined &&
      Array.isArray(b.names) && b.names.length > 0 && b.names.length <= 1000 &&
      b.names.every((n) =>
        typeof n === "string" && n !== "" && n.length <= 1024 &&
        !n.includes("\0")
      )
    ) {
      target = b.names as string[];
    } else {
      return this.error(
        400,
        "bad-request",
        'send {"names": ["<set name>", …]} or {"failed": true}',
      );
    }
    const retryLog = new Logger({
      format: "text",
      level: "info",
      timezone: this.#cfg.timezone,
      secrets: this.#opts.token ? [this.#opts.token] : [],
      sink: (line) => this.#opts.echo?.(line),
    });
    const result = await retrySets(this.#cfg, retryLog, target);
    if (result.busy) {
      return json(409, {
        error: `a run (pid ${
          result.busy.pid ?? "unknown"
        }) is in progress; try again when it ends`,
        code: "busy",
        busy: { pid: result.busy.pid ?? null },
      });
    }
    const n = result.scheduled.length;
    const message = n === 0
      ? target === "failed"
        ? "No failed sets to retry."
        : `Nothing to retry: ${
          result.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")
        }.`
      : `${n} set${n === 1 ? "" : "s"} made due again; the next run sends ${
        n === 1 ? "it" : "them"
      } (Run now to send now).`;
    this.#log.info(`Dashboard retry: ${message}`);
    return json(200, {
      scheduled: result.scheduled,
      skipped: result.skipped,
      message,
    });
  }

  // -------------------------------------------------------------------------
  // Responses

  error(
    status: number,
    code: ErrorCode,
    message: string,
    headers: Record<string, string> = {},
  ): Response {
    return json(status, { error: message, code }, headers);
  }

  #page(status: number, title: string, message: string): Response {
    const nonce = newNonce();
    return htmlResponse(
      status,
      renderMessagePage(title, message, nonce, this.#writable),
      nonce,
    );
  }
}

// ---------------------------------------------------------------------------
// Helpers

/** The headers every response carries. */
function secured(headers: Headers, csp: string): Headers {
  headers.set("content-security-policy", csp);
  headers.set("x-content-type-options", "nosniff");
  headers.set("referrer-policy", "no-referrer");
  headers.set("x-frame-options", "DENY");
  headers.set("cross-origin-opener-policy", "same-origin");
  headers.set("cross-origin-resource-policy", "same-origin");
  headers.set("cache-control", "no-store");
  return headers;
}

const API_CSP =
  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The page's CSP: only our nonce'd script and style, fetches to ourselves. */
export function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  const h = secured(new Headers(headers), API_CSP);
  h.set("content-type", "application/json; charset=utf-8");
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: h,
  });
}

function htmlResponse(status: number, body: string, nonce: string): Response {
  const h = secured(new Headers(), pageCsp(nonce));
  h.set("content-type", "text/html; charset=utf-8");
  return new Response(body, { status, headers: h });
}

function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.digest("SHA-256", encoder.encode(text)),
  );
}

/**
 * Compare a presented token with the configured one's hash in constant time:
 * both sides are SHA-256 digests of the same length, compared byte by byte
 * without an early exit, so neither the length nor the first differing byte
 * of the token shows in the time taken.
 */
export async function tokenMatches(
  given: string,
  expectedHash: Uint8Array,
): Promise<boolean> {
  const got = await sha256(given);
  let diff = got.length ^ expectedHash.length;
  for (let i = 0; i < got.length; i++) {
    diff |= got[i] ^ (expectedHash[i] ?? 0);
  }
  return diff === 0;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
}

function safeDecode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

async function readBody(req: Request): Promise<string | "too-large"> {
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > MAX_BODY) return "too-large";
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}

function uploadReady(cfg: Config): boolean {
  return missingUploadSettings(cfg).length === 0;
}

function missingUploadSettings(cfg: Config): string[] {
  const need: [string, string][] = [
    ["CRM_UPLOAD_URL", cfg.uploadUrl],
    ["CRM_CALL_DATA_URL", cfg.callDataUrl],
    ["DEFAULT_CAMPAIGN_ID", cfg.campaignId],
    ["DEFAULT_VOICE_AGENT_ID", cfg.voiceAgentId],
    ["DEFAULT_CLIENT_ID", cfg.clientId],
  ];
  return need.filter(([, v]) => !v).map(([k]) => k);
}

function withoutCallRecord(
  p: NonNullable<CallSet["progress"]>,
): Record<string, unknown> {
  const { call_record: _, ...rest } = p;
  return rest;
}

/** The most recent deliveries, newest first; reads at most `limit` records. */
async function recentDeliveries(
  store: StateStore,
  limit: number,
): Promise<RecentDelivery[]> {
  const latest = [...store.delivered.entries()]
    .sort((a, b) => b[1].at - a[1].at || (a[0] < b[0] ? -1 : 1))
    .slice(0, limit);
  return await Promise.all(latest.map(async ([set, e]) => {
    const r = await readJsonFile(join(store.dir, `${set}.uploaded`)) as
      | Partial<DeliveryRecord>
      | undefined;
    return {
      set,
      callId: e.callId,
      deliveredAt: toUtcIso(e.at),
      kind: r?.kind,
      recordingFile: e.recording ?? r?.recording_file,
      recordingUrl: typeof r?.recording_url === "string"
        ? r.recording_url
        : undefined,
      leadFile: e.lead ?? r?.lead_file,
    };
  }));
}

async function readJsonFile(path: string): Promise<unknown> {
  try {
    const v = JSON.parse(await Deno.readTextFile(path));
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

interface PlainFile {
  info: { name: string; path: string; size: number; mtimeMs: number };
  text: () => string;
}

/**
 * A regular file (not a symlink: the dashboard does not follow links the
 * scan's rules have not vetted), read as text when `read`.
 */
async function readPlainFile(
  path: string,
  read = true,
): Promise<PlainFile | undefined> {
  try {
    const st = await Deno.lstat(path);
    if (!st.isFile || st.size > 16 * 1024 * 1024) return undefined;
    const text = read ? await Deno.readTextFile(path) : "";
    return {
      info: {
        name: basename(path),
        path,
        size: st.size,
        mtimeMs: st.mtime?.getTime() ?? 0,
      },
      text: () => text,
    };
  } catch {
    return undefined;
  }
}

function fileEntry(
  folder: SetFile["folder"],
  name: string,
  f: PlainFile | undefined,
): SetFile {
  return f
    ? {
      folder,
      name,
      size: f.info.size,
      modifiedAt: toUtcIso(f.info.mtimeMs),
    }
    : { folder, name, missing: true };
}
