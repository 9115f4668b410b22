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
