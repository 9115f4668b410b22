/**
 * The dashboard's request handling: the Host check, the token for reads
 * when listening beyond this machine, then each path to its handler, which
 * reads the view it needs and answers with a page or JSON. POSTs pass the
 * {@link Guard} first.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { renderDashboard } from "./home_page.ts";
import { today } from "./format.ts";
import { renderMessagePage } from "./layout.ts";
import { filterRows } from "./search.ts";
import { renderSetPage } from "./set_page.ts";
import { Logger } from "../core/log.ts";
import { dailySummaries } from "../report/summary.ts";
import { Guard } from "./guard.ts";
import { htmlResponse, json, jsonError, newNonce, safeDecode } from "./http.ts";
import { retryFromDashboard, type RetryOptions } from "./retry.ts";
import { DashboardRuns, missingUploadSettings } from "./runs.ts";
import { readSetDetail } from "./set_detail.ts";
import { readStatus, readSummaries } from "./views.ts";
import { toUtcIso } from "../core/time.ts";
import { errorMessage } from "../core/errors.ts";

/** Not-delivered rows rendered on the page at most (the JSON has them all). */
const ROW_LIMIT = 1000;

/** Options of {@link DashboardApp}. */
export interface DashboardAppOptions {
  /** The dashboard token; without one the dashboard is read-only. */
  token?: string;
  /** Origins people reach the dashboard at (`--public-url`). */
  publicUrls?: readonly URL[];
  /** Recent deliveries listed. */
  recentLimit: number;
  /** Also hand each log line of a dashboard run or retry here. */
  echo?: (line: string) => void;
  /** Who resets attempts for a retry (see `RetryOptions.retry`). */
  retry?: RetryOptions[
    "retry"
  ]; /** `callsync watch` in this process holds the run lock. */
  watching?: boolean;
}

/** One path the dashboard answers, with a handler per method. */
interface Route {
  /** The exact path, or `[prefix]` of paths whose rest goes to the handler. */
  path: string | [string];
  methods: Record<string, (rest: string) => Promise<Response> | Response>;
}

/** A 405 for `req`, naming the methods `allowed`. */
function methodNotAllowed(req: Request, allowed: string[]): Response {
  return jsonError(
    405,
    "method-not-allowed",
    `${req.method} is not allowed here; use ${allowed.join(" or ")}`,
    { allow: allowed.join(", ") },
  );
}

/** Answers the dashboard's requests. */
export class DashboardApp {
  #cfg: Config;
  #log: Logger;
  #opts: DashboardAppOptions;
  #quiet: Logger;
  #guard: Guard;
  #runs: DashboardRuns;

  /** `log` gets the dashboard's own lines (runs started, errors). */
  constructor(cfg: Config, log: Logger, opts: DashboardAppOptions) {
    this.#cfg = cfg;
    this.#log = log;
    this.#opts = opts;
    this.#quiet = new Logger({
      format: "text",
      level: "error",
      timezone: cfg.timezone,
      sink: () => {},
    });
    this.#guard = new Guard(opts);
    this.#runs = new DashboardRuns(cfg, log, opts);
  }

  /** `http://host:port/` as reachable from this machine, once listening. */
  get url(): string {
    return this.#guard.url;
  }

  /** True while a run started from the dashboard is going. */
  get running(): boolean {
    return this.#runs.current !== undefined;
  }

  /** Learn the address listened on. */
  listening(addr: Deno.NetAddr): void {
    this.#guard.listening(addr);
  }

  /** Reads need the token too: the dashboard listens beyond this machine. */
  get readsNeedToken(): boolean {
    return this.#guard.readsNeedToken;
  }

  /** Resolves once no run started from the dashboard is going. */
  idle(): Promise<void> {
    return this.#runs.idle();
  }

  /** Once no run is going, close the CRM connections the runs kept open. */
  async close(): Promise<void> {
    await this.#runs.idle();
    this.#runs.close();
  }

  /** Answer `req`; an unexpected error is logged and answered with a 500. */
  async handle(req: Request): Promise<Response> {
    try {
      return await this.#route(req);
    } catch (e) {
      this.#log.error(
        `Dashboard: ${req.method} ${new URL(req.url).pathname}: ${
          errorMessage(e)
        }`,
      );
      return jsonError(500, "internal", "internal error; see the log");
    }
  }

  async #route(req: Request): Promise<Response> {
    const refused = await this.#guard.refuseHost(req) ??
      await this.#guard.refuseRead(req);
    if (refused) return refused;
    const url = new URL(req.url);
    const path = url.pathname;
    const method = req.method === "HEAD" ? "GET" : req.method;
    const route = this.#routes(req, url).find((r) =>
      typeof r.path === "string" ? r.path === path : path.startsWith(r.path[0])
    );
    if (!route) {
      if (path.startsWith("/api/")) {
        return jsonError(404, "not-found", `no endpoint ${path}`);
      }
      return method === "GET"
        ? this.#page(404, "Not found", `There is no page ${path} here.`)
        : methodNotAllowed(req, ["GET"]);
    }
    const rest = typeof route.path === "string"
      ? ""
      : path.slice(route.path[0].length);
    const handler = route.methods[method];
    return handler
      ? await handler(rest)
      : methodNotAllowed(req, Object.keys(route.methods));
  }

  /**
   * Every path the dashboard answers: an exact path, or `[prefix]` whose
   * rest is passed on; by method.
   */
  #routes(req: Request, url: URL): Route[] {
    const guarded = (fn: () => Promise<Response>) => () =>
      this.#guarded(req, fn);
    return [
      { path: "/", methods: { GET: () => this.#dashboard(url) } },
      {
        path: "/favicon.ico",
        methods: { GET: () => new Response(null, { status: 204 }) },
      },
      { path: ["/sets/"], methods: { GET: (name) => this.#setPage(name) } },
      { path: "/api/status", methods: { GET: () => this.#status() } },
      { path: "/api/summary", methods: { GET: () => this.#summary(url) } },
      { path: ["/api/sets/"], methods: { GET: (name) => this.#setJson(name) } },
      {
        path: "/api/run",
        methods: {
          GET: () => json(200, { run: this.#runs.latest() ?? null }),
          POST: guarded(() => this.#startRun(req)),
        },
      },
      { path: ["/api/runs/"], methods: { GET: (id) => this.#run(id) } },
      {
        path: "/token",
        methods: { POST: () => this.#tokenWithoutScript(req) },
      },
      {
        path: "/api/retry",
        methods: {
          POST: guarded(() =>
            retryFromDashboard(req, this.#cfg, this.#log, this.#opts)
          ),
        },
      },
    ];
  }

  /**
   * The token form, posted without the page's script (which keeps the token
   * in the tab instead): the token is dropped, never echoed or put in a URL.
   */
  async #tokenWithoutScript(req: Request): Promise<Response> {
    await req.body?.cancel();
    return this.#page(
      400,
      "JavaScript needed",
      "The token was not kept: this page keeps it in the tab with its script, which did not run. Allow JavaScript for this page and enter the token again.",
    );
  }

  #run(raw: string): Response {
    const run = this.#runs.get(safeDecode(raw) ?? "");
    return run ? json(200, run) : jsonError(
      404,
      "not-found",
      "no such run (runs are kept in memory while the dashboard runs)",
    );
  }

  /** The guard's refusal, or `fn`'s answer. */
  async #guarded(
    req: Request,
    fn: () => Promise<Response>,
  ): Promise<Response> {
    return await this.#guard.refusePost(req) ?? await fn();
  }

  #readStatus() {
    return readStatus(this.#cfg, this.#quiet, this.#opts.recentLimit);
  }

  async #status(): Promise<Response> {
    const d = await this.#readStatus();
    return json(200, {
      generatedAt: toUtcIso(d.now),
      timezone: this.#cfg.timezone,
      readOnly: !this.#guard.writable,
      counts: d.counts,
      warnings: d.warnings,
      lastRun: d.lastRun ?? null,
      oldestPending: d.oldestPending ?? null,
      sets: d.rows,
      recent: d.recent,
      run: this.#runs.latest() ?? null,
    });
  }

  async #dashboard(url: URL): Promise<Response> {
    const d = await this.#readStatus();
    const tz = this.#cfg.timezone;
    const state = url.searchParams.get("state") ?? "";
    const filter = {
      state: ["pending", "waiting", "failed", "delivered"].includes(state)
        ? state
        : "",
      q: (url.searchParams.get("q") ?? "").slice(0, 200),
    };
    const rows = d.rows.length > ROW_LIMIT
      ? filterRows(d.rows, filter).slice(0, ROW_LIMIT)
      : d.rows;
    const events = await d.store.readJournal();
    const nonce = newNonce();
    return htmlResponse(
      200,
      renderDashboard({
        nonce,
        now: d.now,
        timezone: tz,
        writable: this.#guard.writable,
        uploadReady: missingUploadSettings(this.#cfg).length === 0,
        counts: d.counts,
        warnings: d.warnings,
        lastRun: d.lastRun,
        oldestPending: d.oldestPending,
        rows,
        rowsTotal: d.rows.length,
        recent: d.recent,
        summaries: dailySummaries(events, today(d.now, tz), 30, tz),
        run: this.#runs.latest(),
        filter,
      }),
      nonce,
    );
  }

  async #summary(url: URL): Promise<Response> {
    const text = url.searchParams.get("days") ?? "30";
    const days = Number(text);
    if (!/^\d+$/.test(text) || days < 1 || days > 366) {
      return jsonError(
        400,
        "bad-request",
        `days must be a whole number from 1 to 366, got "${text}"`,
      );
    }
    const tz = this.#cfg.timezone;
    const end = today(Date.now(), tz);
    return json(200, {
      timezone: tz,
      endDate: end,
      days: await readSummaries(this.#cfg, this.#quiet, end, days),
    });
  }

  async #setJson(raw: string): Promise<Response> {
    const name = safeDecode(raw);
    if (name === undefined) {
      return jsonError(400, "bad-request", "malformed set name");
    }
    const detail = await readSetDetail(this.#cfg, this.#quiet, name);
    return detail
      ? json(200, detail)
      : jsonError(404, "not-found", `no set named ${name}`);
  }

  async #setPage(raw: string): Promise<Response> {
    const name = safeDecode(raw);
    if (name === undefined) {
      return this.#page(400, "Bad request", "Malformed set name.");
    }
    const detail = await readSetDetail(this.#cfg, this.#quiet, name);
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
        writable: this.#guard.writable,
        now: Date.now(),
      }),
      nonce,
    );
  }

  async #startRun(req: Request): Promise<Response> {
    await req.body?.cancel();
    const missing = missingUploadSettings(this.#cfg);
    if (missing.length) {
      return jsonError(
        409,
        "crm-not-configured",
        `cannot run: ${missing.join(", ")} not configured`,
      );
    }
    const current = this.#runs.current;
    if (current) {
      return json(409, {
        error: `run ${current.id} started from this dashboard is still going`,
        code: "busy",
        run: current.id,
      });
    }
    const run = this.#runs.start();
    return json(202, {
      id: run.id,
      state: run.state,
      url: `/api/runs/${run.id}`,
    }, { location: `/api/runs/${run.id}` });
  }

  #page(status: number, title: string, message: string): Response {
    const nonce = newNonce();
    return htmlResponse(
      status,
      renderMessagePage(title, message, nonce, this.#guard.writable),
      nonce,
    );
  }
}
