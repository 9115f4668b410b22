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
 * Safety: listens on 127.0.0.1 unless told otherwise, and beyond this
 * machine only with a token, which every request then needs (see
 * `guard.ts`); every POST needs the token as `Authorization: Bearer …` and
 * comes from the page's own origin; without a token the dashboard is
 * read-only. The `Host` header must name the dashboard (no DNS rebinding).
 * Pages carry a strict CSP with a per-response nonce. The server itself
 * (`http_server.ts`) has deadlines and connection caps, and survives running
 * out of file descriptors.
 *
 * This module runs the server; requests are answered by `router.ts`,
 * checked by `guard.ts`, read from the state by `views.ts` and
 * `set_detail.ts`, acted on by `runs.ts` and `retry.ts`, and rendered by
 * `home_page.ts` and `set_page.ts`.
 *
 * @module
 */
import { checkToken, type Config } from "../config/config.ts";
import type { Logger } from "../core/log.ts";
import { isLoopbackAddress } from "./guard.ts";
import { type ErrorCode, jsonError } from "./http.ts";
import { type HttpLimits, type HttpServer, serveHttp } from "./http_server.ts";
import type { RetryOptions } from "./retry.ts";
import { DashboardApp } from "./router.ts";
import { errorMessage, UsageError } from "../core/errors.ts";

/** Where the dashboard listens unless told otherwise. */
export const DEFAULT_HOST = "127.0.0.1";
/** The dashboard's default port. */
export const DEFAULT_PORT = 8787;
/** How many recent deliveries the dashboard lists (and reads at most). */
export const RECENT_LIMIT = 50;

/** Options of {@link serve}. */
export interface ServeOptions {
  /** Address to listen on; default {@link DEFAULT_HOST}. */
  host?: string;
  /** Port; default {@link DEFAULT_PORT}; 0 picks a free one. */
  port?: number;
  /**
   * The dashboard token; without one the dashboard is read-only and may
   * listen on loopback only.
   */
  token?: string;
  /** Origins people reach the dashboard at (`--public-url`). */
  publicUrls?: readonly URL[];
  /** The server's deadlines and caps (tests make them small). */
  limits?: Partial<HttpLimits>;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  /** Recent deliveries listed; default {@link RECENT_LIMIT}. */
  recentLimit?: number;
  /** Also hand each log line of a dashboard run here (e.g. to stderr). */
  echo?: (line: string) => void;
  /** Who resets attempts for a retry (see `RetryOptions.retry`). */
  retry?: RetryOptions[
    "retry"
  ]; /** `callsync watch` in this process holds the run lock. */
  watching?: boolean;
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
  publicUrl?: readonly string[];
}

/** What {@link serveOptions} resolves. */
export interface ServeSettings {
  host: string;
  port: number;
  token?: string;
  publicUrls: URL[];
}

/**
 * Resolve `--host`, `--port`, `--token` (else `DASHBOARD_TOKEN`) and
 * `--public-url`. Throws {@link UsageError} for a bad port or URL, and
 * `ConfigError` for a token no header can carry.
 */
export function serveOptions(
  flags: ServeFlags,
  env: Record<string, string | undefined>,
): ServeSettings {
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
  return {
    host,
    port,
    token: token && checkToken("DASHBOARD_TOKEN (--token)", token),
    publicUrls: (flags.publicUrl ?? []).flatMap((v) => v.split(","))
      .map((v) => v.trim()).filter(Boolean).map(publicUrl),
  };
}

/** A `--public-url`: the http(s) origin people reach the dashboard at. */
function publicUrl(text: string): URL {
  let u: URL | undefined;
  try {
    u = new URL(text);
  } catch {
    // refused below
  }
  if (
    !u || !/^https?:$/.test(u.protocol) || u.username || u.password ||
    u.pathname !== "/" || u.search || u.hash
  ) {
    throw new UsageError(
      `--public-url must be the http(s) origin people open the dashboard at, like https://calls.example.com (no path), got "${text}"`,
    );
  }
  return u;
}

/**
 * Start the dashboard over `cfg`. Never listens on all interfaces unless
 * `host` says so, and listens beyond this machine only with a token. Throws
 * {@link UsageError} when the address cannot (or may not) be used.
 */
export function serve(
  cfg: Config,
  log: Logger,
  opts: ServeOptions = {},
): Dashboard {
  // `[::1]` as typed in a URL is `::1` to the socket.
  const host = (opts.host ?? DEFAULT_HOST).replace(/^\[(.*)\]$/, "$1");
  const listener = listen(host, opts);
  const addr = listener.addr as Deno.NetAddr;
  if (!isLoopbackAddress(addr.hostname) && !opts.token) {
    listener.close();
    throw new UsageError(
      `--host ${host} listens on ${addr.hostname}, which other machines can reach, and there is no dashboard token: anyone could read every transcript and phone number. Set DASHBOARD_TOKEN (or --token): every request, reads included, then needs it; or keep the default --host 127.0.0.1`,
    );
  }
  const app = new DashboardApp(cfg, log, {
    ...opts,
    recentLimit: opts.recentLimit ?? RECENT_LIMIT,
  });
  app.listening(addr);
  const server = serveHttp(listener, {
    limits: opts.limits,
    refusal: (status, message) =>
      jsonError(status, refusalCode(status), message),
    warn: (line) => log.warn(line),
  }, (req) => app.handle(req));
  announce(app, log, addr, opts);
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await server.close();
      await app.close();
    })();
  stopOnAbort(server, opts.signal);
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

/** Listen on `host` and the port asked for, or say why it cannot. */
function listen(host: string, opts: ServeOptions): Deno.Listener {
  const port = opts.port ?? DEFAULT_PORT;
  try {
    return Deno.listen({ hostname: host, port });
  } catch (e) {
    throw new UsageError(
      `cannot listen on ${host}:${port}: ${
        errorMessage(e)
      }; choose another --host or --port`,
    );
  }
}

/** Stop accepting once `signal` aborts (Ctrl-C). */
function stopOnAbort(server: HttpServer, signal: AbortSignal | undefined) {
  if (!signal) return;
  if (signal.aborted) void server.close();
  else {signal.addEventListener("abort", () => void server.close(), {
      once: true,
    });}
}

/** The JSON error code of a request the server refused itself. */
function refusalCode(status: number): ErrorCode {
  return status === 413 || status === 431
    ? "too-large"
    : status >= 500
    ? "internal"
    : "bad-request";
}

/** Log where the dashboard is, and what reaching it takes. */
function announce(
  app: DashboardApp,
  log: Logger,
  addr: Deno.NetAddr,
  opts: ServeOptions,
): void {
  const also = opts.publicUrls?.length
    ? ` and ${opts.publicUrls.map((u) => u.origin).join(", ")}`
    : "";
  log.info(
    `Dashboard on ${app.url}${also}${
      opts.token
        ? ""
        : " (read-only: set DASHBOARD_TOKEN or --token to run and retry)"
    }`,
  );
  if (app.readsNeedToken) {
    log.warn(
      `The dashboard listens on ${addr.hostname}, beyond this machine: every request, reads included, needs the token (a browser asks for it: any user name, the token as password). Over the internet, put it behind HTTPS and name that address with --public-url`,
    );
  }
}
