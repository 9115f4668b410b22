/**
 * Make failed sets due again now (`callsync retry`, the dashboard's Retry
 * buttons). Keeps an uploaded recording's URL, so only what is missing is
 * sent.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { isHeld, tryRunLock } from "./lock.ts";
import type { Logger } from "../core/log.ts";
import { ensureStateDir, StateStore } from "./store.ts";

/** What a retry request did. */
export interface RetryResult {
  /** A run holds the lock: nothing was changed. */
  busy?: { pid?: number };
  /** Sets made due again. */
  scheduled: string[];
  /** Names that had nothing to retry, with why. */
  skipped: { name: string; reason: "delivered" | "no failed attempt" }[];
}

/**
 * Reset the attempts of the named sets (also those waiting out a backoff),
 * or of every failed set when `names` is `"failed"`. Takes the run lock.
 */
export async function retrySets(
  cfg: Config,
  log: Logger,
  names: readonly string[] | "failed",
): Promise<RetryResult> {
  await ensureStateDir(cfg.processedDir, log);
  const lock = await tryRunLock(cfg.processedDir);
  if (!isHeld(lock)) {
    return { busy: { pid: lock.pid }, scheduled: [], skipped: [] };
  }
  using _lock = lock;
  const store = await StateStore.openFor(cfg, log);
  return await resetAttempts(store, log, names);
}

/**
 * Reset the attempts of the named sets (or every failed one) in `store`,
 * whose owner holds the run lock: `retrySets` does so, and so does
 * `callsync watch`, which holds the lock for its lifetime.
 */
export async function resetAttempts(
  store: StateStore,
  log: Logger,
  names: readonly string[] | "failed",
): Promise<RetryResult> {
  const targets = names === "failed"
    ? [...store.progress.values()].filter((p) => p.failed).map((p) => p.set)
    : names;
  const result: RetryResult = { scheduled: [], skipped: [] };
  for (const name of targets) {
    const p = store.progress.get(name);
    if (!p) {
      const reason = store.delivered.has(name)
        ? "delivered"
        : "no failed attempt";
      log.warn(
        `Nothing to retry for ${name}: ${
          reason === "delivered"
            ? "it is already delivered"
            : "it has no failed attempt"
        }`,
      );
      result.skipped.push({ name, reason });
      continue;
    }
    await store.saveProgress({
      ...p,
      attempts: 0,
      failed: false,
      next_attempt_at: undefined,
    });
    log.info(`Retry scheduled: ${name} is due on the next run`);
    result.scheduled.push(name);
  }
  return result;
}
