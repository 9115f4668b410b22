/**
 * `POST /api/retry`: make failed sets due again, by name or all of them, as
 * `callsync retry` does; the next run (or Run now) sends them.
 *
 * @module
 */
import { type Config, configSecrets } from "../config/config.ts";
import { Logger } from "../core/log.ts";
import { type RetryResult, retrySets } from "../state/retry.ts";
import { json, jsonError, MAX_BODY, readBody } from "./http.ts";

/** What to retry: named sets, or every failed one. */
export type RetryTarget = string[] | "failed";

/** Options of {@link retryFromDashboard}. */
export interface RetryOptions {
  /** The dashboard token, masked in the log lines. */
  token?: string;
  /** Also hand each log line of the retry here (e.g. to stderr). */
  echo?: (line: string) => void;
  /**
   * Who resets the attempts: by default {@link retrySets}, which takes the
   * run lock; `callsync watch --serve` holds the lock and does it itself.
   */
  retry?: (log: Logger, target: RetryTarget) => Promise<RetryResult>;
}

/**
 * The target of a retry request's JSON body: `{"names": [...]}` (1 to 1000
 * plausible set names) or `{"failed": true}`; undefined for anything else.
 */
export function retryTarget(body: unknown): RetryTarget | undefined {
  const b = body as { names?: unknown; failed?: unknown } | null;
  if (!b || typeof b !== "object") return undefined;
  if (b.failed === true && b.names === undefined) return "failed";
  if (
    b.failed === undefined &&
    Array.isArray(b.names) && b.names.length > 0 && b.names.length <= 1000 &&
    b.names.every((n) =>
      typeof n === "string" && n !== "" && n.length <= 1024 &&
      !n.includes("\0")
    )
  ) {
    return b.names as string[];
  }
  return undefined;
}

/** Answer a retry request (already past the guard). */
export async function retryFromDashboard(
  req: Request,
  cfg: Config,
  log: Logger,
  opts: RetryOptions,
): Promise<Response> {
  const target = await readTarget(req);
  if (target instanceof Response) return target;
  const retryLog = new Logger({
    format: "text",
    level: "info",
    timezone: cfg.timezone,
    secrets: [...configSecrets(cfg), opts.token ?? ""],
    sink: (line) => opts.echo?.(line),
  });
  const result = await (opts.retry ?? ((l, t) => retrySets(cfg, l, t)))(
    retryLog,
    target,
  );
  if (result.busy) {
    return json(409, {
      error: `a run (pid ${
        result.busy.pid ?? "unknown"
      }) is in progress; try again when it ends`,
      code: "busy",
      busy: { pid: result.busy.pid ?? null },
    });
  }
  const message = retryMessage(target, result);
  log.info(`Dashboard retry: ${message}`);
  return json(200, {
    scheduled: result.scheduled,
    skipped: result.skipped,
    message,
  });
}

/** The request's retry target, or the error answer for a bad request. */
async function readTarget(req: Request): Promise<RetryTarget | Response> {
  const type = req.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    await req.body?.cancel();
    return jsonError(
      415,
      "unsupported-media-type",
      "send a JSON body with Content-Type: application/json",
    );
  }
  const body = await readBody(req);
  if (body === "too-large") {
    return jsonError(413, "too-large", `the body is over ${MAX_BODY} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return jsonError(400, "bad-request", "the body is not JSON");
  }
  return retryTarget(parsed) ?? jsonError(
    400,
    "bad-request",
    'send {"names": ["<set name>", …]} or {"failed": true}',
  );
}

/** What a retry did, in one sentence for the page. */
function retryMessage(target: RetryTarget, result: RetryResult): string {
  const n = result.scheduled.length;
  if (n > 0) {
    return `${n} set${n === 1 ? "" : "s"} made due again; the next run sends ${
      n === 1 ? "it" : "them"
    } (Run now to send now).`;
  }
  return target === "failed"
    ? "No failed sets to retry."
    : `Nothing to retry: ${
      result.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")
    }.`;
}
