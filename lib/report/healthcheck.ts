/**
 * Dead-man's-switch pings in the healthchecks.io convention: `<url>/start`
 * when a run begins, `<url>/<exit code>` when it ends. A failed ping is
 * logged and never changes the run's outcome.
 *
 * @module
 */
import { httpRequest } from "../deliver/http.ts";
import type { Logger } from "../core/log.ts";

/** Give up on a ping after this long. */
export const PING_TIMEOUT_MS = 5000;

/**
 * Ping `<base>/<suffix>` (suffix `start` or an exit code). Never throws and
 * never takes longer than {@link PING_TIMEOUT_MS}.
 */
export async function ping(
  base: string,
  suffix: string,
  log: Logger,
): Promise<void> {
  const url = `${base}/${suffix}`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(
      () => resolve(`no answer within ${PING_TIMEOUT_MS / 1000} s`),
      PING_TIMEOUT_MS,
    );
  });
  const request = httpRequest({
    url,
    method: "GET",
    headers: { "user-agent": "callsync" },
    idleTimeoutMs: PING_TIMEOUT_MS,
    maxResponseBytes: 1024,
  }).then(
    (res) =>
      res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`,
    (e: Error) => e.message,
  );
  const problem = await Promise.race([request, timeout]);
  clearTimeout(timer);
  if (problem) log.warn(`Health check ping ${url} failed: ${problem}`);
  else log.debug(`Health check ping ${url} sent`);
  // A ping still in flight after the timeout is left behind: the process
  // exits when the run is done, whatever the ping server does.
}
