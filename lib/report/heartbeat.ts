/**
 * The health check of a long-running `callsync watch`: instead of `/start`
 * and `/<exit code>` around a run, `<HEALTHCHECK_URL>/<code>` once at start
 * and then every `HEARTBEAT_MINUTES`, with the code a cron run over the same
 * span would have exited with — so the same check (healthchecks.io
 * convention) goes down when watch dies, hangs, or keeps failing.
 *
 * @module
 */
import type { Logger } from "../core/log.ts";
import { EXIT } from "../core/exit.ts";
import type { WatchStatus } from "../deliver/watch.ts";
import type { Transport } from "../deliver/transport.ts";
import { ping } from "./healthcheck.ts";

/**
 * The code of a heartbeat: 3 while delivery is paused, 1 if an attempt
 * failed since the previous beat, else 0.
 *
 * @example
 * ```ts
 * heartbeatCode({ paused: undefined, failedAttempts: 4 }, 4); // 0
 * heartbeatCode({ paused: undefined, failedAttempts: 5 }, 4); // 1
 * ```
 */
export function heartbeatCode(
  now: Pick<WatchStatus, "paused" | "failedAttempts">,
  failedAttemptsBefore: number,
): number {
  if (now.paused) return EXIT.fatal;
  return now.failedAttempts > failedAttemptsBefore ? EXIT.failed : EXIT.ok;
}

/** A running heartbeat. */
export interface Heartbeat {
  stop(): void;
}

/**
 * Ping `url/<code>` through `transport` now and every `minutes` (0: never),
 * the code from `status()`.
 */
export function startHeartbeat(
  url: string,
  minutes: number,
  status: () => WatchStatus,
  log: Logger,
  transport: Transport,
): Heartbeat {
  if (minutes <= 0) return { stop() {} };
  let before = status().failedAttempts;
  const beat = () => {
    const s = status();
    const code = heartbeatCode(s, before);
    before = s.failedAttempts;
    void ping(url, String(code), log, transport);
  };
  beat();
  const timer = setInterval(beat, minutes * 60_000);
  return { stop: () => clearInterval(timer) };
}
