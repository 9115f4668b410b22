/**
 * Dead-man's-switch pings in the healthchecks.io convention: `<url>/start`
 * when a run begins, `<url>/<exit code>` when it ends. A failed ping is
 * logged and never changes the run's outcome. Pings honour the proxy
 * variables and `CRM_CA_FILE`, not `CRM_PROXY` (which is the CRM's).
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { errorMessage } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { Transport } from "../deliver/transport.ts";

/** Give up on a ping after this long. */
export const PING_TIMEOUT_MS = 5000;

/** The transport pings go through. */
export function pingTransport(cfg: Config): Transport {
  return new Transport({
    proxyVariables: cfg.proxyVariables,
    caCerts: cfg.caCerts,
  });
}

/**
 * Ping `<base>/<suffix>` (suffix `start` or an exit code). Never throws and
 * never takes longer than {@link PING_TIMEOUT_MS}.
 */
export async function ping(
  base: string,
  suffix: string,
  log: Logger,
  transport: Transport,
): Promise<void> {
  const url = `${base}/${suffix}`;
  const problem = await transport.send({
    url,
    method: "GET",
    headers: { "user-agent": "callsync" },
    idleTimeoutMs: PING_TIMEOUT_MS,
    deadlineMs: PING_TIMEOUT_MS,
    maxAnswerBytes: 1024,
  }).then(
    (res) =>
      res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`,
    (e) => errorMessage(e),
  );
  if (problem) log.warn(`Health check ping ${url} failed: ${problem}`);
  else log.debug(`Health check ping ${url} sent`);
}
