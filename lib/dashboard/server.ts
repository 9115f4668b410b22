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
 * This module runs the server; requests are answered by `serve_router.ts`,
 * checked by `serve_guard.ts`, read from the state by `serve_views.ts` and
 * `serve_set_detail.ts`, acted on by `serve_runs.ts` and `serve_retry.ts`,
 * and rendered by `dashboard.ts`.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import type { Logger } from "../core/log.ts";
import { isLoopback } from "./guard.ts";
import { jsonError } from "./http.ts";
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
  const app = new DashboardApp(cfg, log, {
    ...opts,
    host,
    recentLimit: opts.recentLimit ?? RECENT_LIMIT,
  });
  const server = listen(app, log, host, opts);
  app.listening(server.addr.port);
  announce(app, log, host, opts);
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      try {
        await server.shutdown();
      } catch {
        // already stopped by the signal
      }
      await server.finished;
      await app.close();
    })();
  return {
    url: app.url,
    addr: server.addr,
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
function listen(
  app: DashboardApp,
  log: Logger,
  host: string,
  opts: ServeOptions,
): Deno.HttpServer<Deno.NetAddr> {
  const port = opts.port ?? DEFAULT_PORT;
  try {
    return Deno.serve({
      hostname: host,
      port,
      signal: opts.signal,
      onListen: () => {},
      onError: (e) => {
        log.error(`Dashboard: ${errorMessage(e)}`);
        return jsonError(500, "internal", "internal error");
      },
    }, (req) => app.handle(req));
  } catch (e) {
    throw new UsageError(
      `cannot listen on ${host}:${port}: ${
        errorMessage(e)
      }; choose another --host or --port`,
    );
  }
}

/** Log where the dashboard is, and warn when more than this machine may reach it. */
function announce(
  app: DashboardApp,
  log: Logger,
  host: string,
  opts: ServeOptions,
): void {
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
}
