/**
 * `callsync-last-run.json` in `PROCESSED_DIR`: when the last run that held
 * the lock ran and how it ended, for `status`, metrics and the dashboard.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic.ts";
import { readTextNoFollow } from "../core/safe_fs.ts";

/** The outcome of the last run that held the lock (`callsync-last-run.json`). */
export interface LastRun {
  started_at: string;
  ended_at: string;
  exit_code: number;
  delivered: number;
  failed: number;
  /**
   * Sets left due but not delivered (or waiting for a retry) at the end of
   * each of the last {@link BACKLOG_RUNS} runs, oldest first.
   */
  backlog?: number[];
}

/** How many runs' backlogs are kept, and must each grow to warn. */
export const BACKLOG_RUNS = 3;

/**
 * The backlog history after a run that left `backlog` sets behind.
 *
 * @example
 * ```ts
 * nextBacklog([5, 9, 12], 20); // [9, 12, 20]
 * ```
 */
export function nextBacklog(
  previous: LastRun | undefined,
  backlog: number,
): number[] {
  return [...(previous?.backlog ?? []), backlog].slice(-BACKLOG_RUNS);
}

/**
 * True when the backlog grew at each of the last {@link BACKLOG_RUNS} runs:
 * callsync delivers fewer calls than arrive, and the gap only widens.
 *
 * @example
 * ```ts
 * backlogGrowing([120, 180, 240]); // true
 * backlogGrowing([120, 100, 240]); // false
 * ```
 */
export function backlogGrowing(
  history: readonly number[] | undefined,
): boolean {
  if (!history || history.length < BACKLOG_RUNS) return false;
  return history.every((n, i) => i === 0 || n > history[i - 1]);
}

const LAST_RUN = "callsync-last-run.json";

/** Record the outcome of a run (atomically). */
export async function writeLastRun(dir: string, run: LastRun): Promise<void> {
  await writeFileAtomic(join(dir, LAST_RUN), JSON.stringify(run, null, 2));
}

/** The last run's outcome, if one was recorded and is readable. */
export async function readLastRun(dir: string): Promise<LastRun | undefined> {
  try {
    return JSON.parse(await readTextNoFollow(join(dir, LAST_RUN)));
  } catch {
    return undefined;
  }
}

/** The warning `run` logs (and `status` shows) while the backlog grows. */
export function backlogWarning(history: readonly number[]): string {
  return `Backlog growing: ${
    history.join(" → ")
  } sets left undelivered over the last ${history.length} runs; callsync delivers fewer calls than arrive. Raise UPLOAD_CONCURRENCY, drop UPLOAD_BATCH_SIZE / --max-duration limits, run it more often, or run callsync watch`;
}
