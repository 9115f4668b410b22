/**
 * One scan-and-upload pass, the engine behind `callsync run` and the
 * dashboard's Run now: take the run lock, plan, deliver the due sets, archive,
 * record the outcome. Metrics and health checks are the caller's (see
 * `report/after_run.ts`).
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { errorMessage } from "../core/errors.ts";
import { EXIT } from "../core/exit.ts";
import type { Logger } from "../core/log.ts";
import { forEachLimited } from "../core/pool.ts";
import { Slots } from "../core/slots.ts";
import type { CallSet, Plan } from "../pair/plan.ts";
import { zoneMismatchLine } from "../pair/zone.ts";
import { planRun } from "../pair/plan_run.ts";
import { type Selection, selector } from "../pair/select.ts";
import {
  backlogGrowing,
  backlogWarning,
  nextBacklog,
  readLastRun,
  writeLastRun,
} from "../state/last_run.ts";
import { isHeld, type LockBusy, tryRunLock } from "../state/lock.ts";
import { ensureStateDir, StateError, StateStore } from "../state/store.ts";
import { archiveDelivered } from "./archive.ts";
import { CrmError, type RetryPolicy } from "./crm.ts";
import { deliverSet, newRunStats, type RunStats } from "./deliver.ts";
import { ProgressLine } from "./progress.ts";
import { crmTransport, type Transport } from "./transport.ts";

/** Sets by state after a run. */
export type SetCounts = Record<
  "delivered" | "pending" | "waiting" | "failed",
  number
>;

/** What a pass did. */
export interface RunReport {
  exitCode: number;
  delivered: number;
  failed: number;
  /** Another run held the lock, so this one did nothing. */
  skipped: boolean;
  /** The process holding the lock, when skipped (its pid if it could be read). */
  lockHolder?: LockBusy;
  /** Sets by state once the run is over (undefined when skipped or fatal early). */
  counts?: SetCounts;
  /** Call start (epoch ms) of the oldest set still not delivered. */
  oldestPendingMs?: number;
  /** Sets left due, or waiting for a retry, at the end (see `LastRun.backlog`). */
  backlog?: number;
  /** The backlogs of the last runs, this one last, and whether they grow. */
  backlogHistory?: number[];
  backlogGrowing?: boolean;
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
  /**
   * The CRM connections to use, kept open by a long-lived process across
   * its runs; a run without one opens its own and closes it at the end.
   */
  transport?: Transport;
}

/** Where a set ended up after this run. */
type FinalState = CallSet["state"] | "delivered";

/**
 * Scan, plan and deliver every due set (up to the batch size, until
 * `--max-duration`), holding the run lock; then archive if asked to. Never
 * throws for a fatal problem: that becomes exit code 3.
 */
export async function runOnce(opts: RunOptions): Promise<RunReport> {
  const report: RunReport = {
    exitCode: EXIT.ok,
    delivered: 0,
    failed: 0,
    skipped: false,
    stats: newRunStats(),
    startedMs: Date.now(),
    endedMs: 0,
  };
  try {
    await ensureStateDir(opts.cfg.processedDir, opts.log);
    const lock = await tryRunLock(opts.cfg.processedDir);
    if (!isHeld(lock)) return skipped(opts.log, report, lock);
    using _lock = lock;
    const sent = await pass(opts, report);
    const result = done(
      report,
      !sent ? EXIT.usage : report.failed > 0 ? EXIT.failed : EXIT.ok,
    );
    await recordOutcome(opts, result);
    return result;
  } catch (e) {
    if (!isFatal(e)) throw e;
    if (e instanceof StateError) opts.log.error(e.message);
    opts.log.error(
      `Directory scan aborted: ${report.delivered} processed, ${report.failed} failed`,
    );
    return done(report, EXIT.fatal);
  }
}

/** The report, ended now with `exitCode`. */
function done(report: RunReport, exitCode: number): RunReport {
  return { ...report, exitCode, endedMs: Date.now() };
}

/** Another run holds the lock: this one does nothing and says who. */
function skipped(log: Logger, report: RunReport, holder: LockBusy): RunReport {
  log.info(
    `another run (pid ${holder.pid ?? "unknown"}) is in progress; skipping`,
  );
  return done({ ...report, skipped: true, lockHolder: holder }, EXIT.ok);
}

/** Problems that end the run with exit code 3. */
function isFatal(e: unknown): boolean {
  return e instanceof StateError ||
    (e instanceof CrmError && e.kind === "unauthorized");
}

/**
 * The pass proper, under the lock: plan, deliver the batch, keep the pairs'
 * evidence, archive. False (nothing sent) when the files show TIMEZONE is
 * wrong: every time sent would be off, and calls would come apart.
 */
async function pass(opts: RunOptions, report: RunReport): Promise<boolean> {
  const { cfg, log } = opts;
  const store = await StateStore.openFor(cfg, log);
  log.info("Directory scan started");
  const plan = await planRun(cfg, store, log);
  if (plan.zoneMismatch) {
    log.error(zoneMismatchLine(plan.zoneMismatch, cfg.timezone));
    return false;
  }
  const batch = dueBatch(opts, plan);
  const final = await deliverBatch(opts, store, batch, report);
  Object.assign(report, finalCounts(plan, final));
  if (report.delivered > 0) await store.saveEvidence();
  if (cfg.archiveDir) await archiveDelivered(cfg, store, log);
  log.info(
    `Directory scan completed: ${report.delivered} processed, ${report.failed} failed`,
  );
  return true;
}

/** The due sets this run sends: selected, oldest first, at most the batch size. */
function dueBatch(opts: RunOptions, plan: Plan): CallSet[] {
  const { cfg, log } = opts;
  const take = selector(opts.select ?? { only: [] }, cfg.timezone);
  const due = plan.sets.filter((s) => s.state === "pending" && take(s));
  const batch = cfg.batchSize > 0 ? due.slice(0, cfg.batchSize) : due;
  log.info(
    `Found ${due.length} unprocessed call sets` +
      (batch.length < due.length
        ? `; sending ${batch.length} this run (UPLOAD_BATCH_SIZE)`
        : ""),
  );
  return batch;
}

/**
 * Deliver `batch`, at most `UPLOAD_CONCURRENCY` sets sending at once,
 * starting no set after `--max-duration` or a fatal error (rethrown once the
 * sets in flight end). Returns where each set delivered or tried ended up.
 *
 * A set sends on a turn (a request with its retries within the run holds
 * one), its first only on a turn that no set under way waits for
 * ({@link Slots.takeFirst}); up to {@link setsInFlight} sets are under way,
 * so while one waits for its records to reach the disk, or opens and pins
 * its recording, the others send. When time is up the turns close: a set
 * that has sent nothing yet ends unsent and is left for the next run.
 */
async function deliverBatch(
  opts: RunOptions,
  store: StateStore,
  batch: readonly CallSet[],
  report: RunReport,
): Promise<Map<string, FinalState>> {
  const { cfg, log } = opts;
  using own = opts.transport ? undefined : crmTransport(cfg);
  const transport = opts.transport ?? own!;
  const network = new Slots(cfg.concurrency);
  const ctx = {
    cfg,
    log,
    store,
    stats: report.stats,
    transport,
    network,
    retry: opts.retry,
  };
  const final = new Map<string, FinalState>();
  const progress = new ProgressLine(log, batch);
  const deadline = cfg.maxDurationSeconds > 0
    ? report.startedMs + cfg.maxDurationSeconds * 1000
    : Infinity;
  using _timeUp = closeAt(network, deadline);
  let fatal: unknown;
  let sent = 0;
  const stop = () => fatal !== undefined || Date.now() >= deadline;
  await forEachLimited(batch, setsInFlight(cfg.concurrency), async (set) => {
    try {
      const r = await deliverSet(ctx, set);
      if (r.outcome === "unsent") return;
      sent++;
      if (r.outcome === "delivered") report.delivered++;
      if (r.outcome === "failed") report.failed++;
      final.set(set.name, finalState(r));
      progress.done(set);
    } catch (e) {
      fatal ??= e;
      network.close();
    }
  }, stop);
  progress.clear();
  if (fatal) throw fatal;
  if (sent < batch.length) {
    log.warn(
      `Stopped starting new sets after ${cfg.maxDurationSeconds} s (--max-duration); ${
        batch.length - sent
      } left for the next run`,
    );
  }
  return final;
}

/** Close `network` to new sets at `deadline` (never when Infinity). */
function closeAt(network: Slots, deadline: number): Disposable {
  const timer = deadline === Infinity
    ? undefined
    : setTimeout(() => network.close(), Math.max(0, deadline - Date.now()));
  return { [Symbol.dispose]: () => clearTimeout(timer) };
}

/**
 * Sets under way at most for `concurrency` sets sending: enough that the
 * records of finished requests are written (group-committed) while every
 * turn stays in use.
 */
function setsInFlight(concurrency: number): number {
  return 2 * concurrency + 4;
}

/** Where a set stands after an attempt. */
function finalState(r: Awaited<ReturnType<typeof deliverSet>>): FinalState {
  if (r.outcome === "delivered") return "delivered";
  return r.outcome === "failed" && r.gaveUp ? "failed" : "waiting";
}

/** Sets by state after the run, and the oldest call not delivered. */
function finalCounts(
  plan: Plan,
  final: Map<string, FinalState>,
): Pick<RunReport, "counts" | "oldestPendingMs" | "backlog"> {
  const counts: SetCounts = {
    delivered: plan.deliveredCount,
    pending: 0,
    waiting: 0,
    failed: 0,
  };
  let oldestPendingMs: number | undefined;
  let backlog = 0;
  for (const s of plan.sets) {
    const state = final.get(s.name) ?? s.state;
    counts[state]++;
    const retrying = state === "waiting" &&
      (final.has(s.name) || s.nextAttemptAt !== undefined);
    if (state === "pending" || retrying) backlog++;
    if (state !== "delivered") {
      oldestPendingMs = Math.min(oldestPendingMs ?? Infinity, s.startMs);
    }
  }
  for (const f of plan.strays) counts[f.state]++;
  return { counts, oldestPendingMs, backlog };
}

/**
 * Record how the run ended (`callsync-last-run.json`), with the backlog of
 * the last runs, warning when it grew at each; a failure is logged.
 */
async function recordOutcome(opts: RunOptions, run: RunReport): Promise<void> {
  const previous = await readLastRun(opts.cfg.processedDir);
  run.backlogHistory = nextBacklog(previous, run.backlog ?? 0);
  run.backlogGrowing = backlogGrowing(run.backlogHistory);
  if (run.backlogGrowing) {
    opts.log.warn(backlogWarning(run.backlogHistory));
  }
  await writeLastRun(opts.cfg.processedDir, {
    backlog: run.backlogHistory,
    started_at: new Date(run.startedMs).toISOString(),
    ended_at: new Date(run.endedMs).toISOString(),
    exit_code: run.exitCode,
    delivered: run.delivered,
    failed: run.failed,
  }).catch((e) =>
    opts.log.warn(`Cannot record the run's outcome: ${errorMessage(e)}`)
  );
}
