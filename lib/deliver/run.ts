/**
 * One scan-and-upload pass: what cron runs.
 *
 * @module
 */
import { archiveDelivered } from "./archive.ts";
import type { Config } from "../config/config.ts";
import { CrmError, type RetryPolicy } from "./crm.ts";
import { deliverSet, newRunStats, type RunStats } from "./deliver.ts";
import { isHeld, tryRunLock } from "../state/lock.ts";
import type { Logger } from "../core/log.ts";
import type { SetCounts } from "../report/metrics.ts";
import { type CallSet, makePlan, type Plan } from "../pair/plan.ts";
import { ListingCache } from "../source/listing_cache.ts";
import { forEachLimited } from "../core/pool.ts";
import { ProgressLine } from "./progress.ts";
import { scan } from "../source/scan.ts";
import { type Selection, selector } from "../pair/select.ts";
import { writeLastRun } from "../state/last_run.ts";
import { ensureStateDir, StateError, StateStore } from "../state/store.ts";
import { errorMessage } from "../core/errors.ts";

/** Exit codes, as documented in the README. */
export const EXIT = { ok: 0, failed: 1, usage: 2, fatal: 3 } as const;

/** What a pass did. */
export interface RunReport {
  exitCode: number;
  delivered: number;
  failed: number;
  /** Another run held the lock, so this one did nothing. */
  skipped: boolean;
  /** Sets by state once the run is over (undefined when skipped or fatal early). */
  counts?: SetCounts;
  /** Call start (epoch ms) of the oldest set still not delivered. */
  oldestPendingMs?: number;
  stats: RunStats;
  startedMs: number;
  endedMs: number;
}

/** Options of {@link runOnce}. */
export interface RunOptions {
  cfg: Config;
  log: Logger;
  /** Only these sets (`--since`, `--until`, `--only`). */
  select?: Selection;
  retry?: RetryPolicy;
}

/**
 * Scan, plan and deliver every due set (up to the batch size, until
 * `--max-duration`), holding the run lock; then archive if asked to. Never
 * throws for a fatal problem: that becomes exit code 3.
 */
export async function runOnce(opts: RunOptions): Promise<RunReport> {
  const { cfg, log } = opts;
  const report: RunReport = {
    exitCode: EXIT.ok,
    delivered: 0,
    failed: 0,
    skipped: false,
    stats: newRunStats(),
    startedMs: Date.now(),
    endedMs: 0,
  };
  const done = (exitCode: number) => ({
    ...report,
    exitCode,
    endedMs: Date.now(),
  });
  try {
    await ensureStateDir(cfg.processedDir);
    const lock = await tryRunLock(cfg.processedDir);
    if (!isHeld(lock)) {
      log.info(
        `another run (pid ${lock.pid ?? "unknown"}) is in progress; skipping`,
      );
      report.skipped = true;
      return done(EXIT.ok);
    }
    using _lock = lock;
    const store = await StateStore.open(cfg.processedDir, log);
    log.info("Directory scan started");
    const plan = await planRun(cfg, store, log);
    const take = selector(opts.select ?? { only: [] }, cfg.timezone);
    const due = plan.sets.filter((s) => s.state === "pending" && take(s));
    const batch = cfg.batchSize > 0 ? due.slice(0, cfg.batchSize) : due;
    log.info(
      `Found ${due.length} unprocessed call sets` +
        (batch.length < due.length
          ? `; sending ${batch.length} this run (UPLOAD_BATCH_SIZE)`
          : ""),
    );
    const final = new Map<string, CallSet["state"] | "delivered">();
    const progress = new ProgressLine(log, batch);
    const deadline = cfg.maxDurationSeconds > 0
      ? report.startedMs + cfg.maxDurationSeconds * 1000
      : Infinity;
    let fatal: unknown;
    let started = 0;
    await forEachLimited(batch, cfg.concurrency, async (set) => {
      started++;
      try {
        const r = await deliverSet({
          cfg,
          log,
          store,
          stats: report.stats,
          retry: opts.retry,
        }, set);
        if (r.outcome === "delivered") report.delivered++;
        if (r.outcome === "failed") report.failed++;
        final.set(
          set.name,
          r.outcome === "delivered"
            ? "delivered"
            : r.outcome === "failed" && r.gaveUp
            ? "failed"
            : "waiting",
        );
        progress.done(set);
      } catch (e) {
        fatal ??= e;
      }
    }, () => fatal !== undefined || Date.now() >= deadline);
    progress.clear();
    if (fatal) throw fatal;
    if (started < batch.length) {
      log.warn(
        `Stopped starting new sets after ${cfg.maxDurationSeconds} s (--max-duration); ${
          batch.length - started
        } left for the next run`,
      );
    }
    Object.assign(report, finalCounts(plan, final));
    if (cfg.archiveDir) await archiveDelivered(cfg, store, log);
    log.info(
      `Directory scan completed: ${report.delivered} processed, ${report.failed} failed`,
    );
    const result = done(report.failed > 0 ? EXIT.failed : EXIT.ok);
    await writeLastRun(cfg.processedDir, {
      started_at: new Date(result.startedMs).toISOString(),
      ended_at: new Date(result.endedMs).toISOString(),
      exit_code: result.exitCode,
      delivered: result.delivered,
      failed: result.failed,
    }).catch((e) =>
      log.warn(
        `Cannot record the run's outcome: ${errorMessage(e)}`,
      )
    );
    return result;
  } catch (e) {
    if (
      e instanceof StateError ||
      (e instanceof CrmError && e.kind === "unauthorized")
    ) {
      if (e instanceof StateError) log.error(e.message);
      log.error(
        `Directory scan aborted: ${report.delivered} processed, ${report.failed} failed`,
      );
      return done(EXIT.fatal);
    }
    throw e;
  }
}

/** Sets by state after the run, and the oldest call not delivered. */
function finalCounts(
  plan: Plan,
  final: Map<string, CallSet["state"] | "delivered">,
): Pick<RunReport, "counts" | "oldestPendingMs"> {
  const counts: SetCounts = {
    delivered: plan.deliveredCount,
    pending: 0,
    waiting: 0,
    failed: 0,
  };
  let oldestPendingMs: number | undefined;
  for (const s of plan.sets) {
    const state = final.get(s.name) ?? s.state;
    counts[state]++;
    if (state !== "delivered") {
      oldestPendingMs = Math.min(oldestPendingMs ?? Infinity, s.startMs);
    }
  }
  for (const f of plan.strays) counts[f.state]++;
  return { counts, oldestPendingMs };
}

/** Scan the folders and plan, logging what cannot be used. */
export async function planRun(
  cfg: Config,
  store: StateStore,
  log: Logger,
): Promise<Plan> {
  const used = store.usedFiles();
  const cache = await ListingCache.load(cfg.processedDir, store.delivered.size);
  if (store.recordsMissing) cache.reset();
  const result = await scan({
    dirs: {
      conversations: cfg.conversationsDir,
      recordings: cfg.recordingsDir,
      leads: cfg.leadsDir,
    },
    timezone: cfg.timezone,
    skip: {
      conversations: store.delivered,
      recordings: {
        has: (name: string) =>
          used.recordings.has(name) || store.delivered.has(name),
      },
      leads: used.leads,
    },
    cache,
  });
  if (!store.readOnly) {
    await cache.save().catch((e) =>
      log.debug(
        `Cannot save the folder listings: ${errorMessage(e)}`,
      )
    );
  }
  for (const m of result.missing) {
    log.warn(
      `Folder ${m.path} (${m.folder}) does not exist; nothing to read there`,
    );
  }
  const plan = makePlan(result, store, cfg, Date.now());
  for (const s of plan.strays) {
    const line = `${s.folder}/${s.name}: ${s.reason}`;
    if (s.state === "failed") log.error(`Cannot use ${line}`);
    else log.debug(`Waiting for ${line}`);
  }
  for (const s of plan.sets) {
    if (s.state !== "pending") log.debug(`${s.name}: ${s.state}: ${s.reason}`);
  }
  return plan;
}
