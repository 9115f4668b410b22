/**
 * One scan-and-upload pass: what cron runs.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { CrmError, type RetryPolicy } from "./crm.ts";
import { deliverSet } from "./deliver.ts";
import { isHeld, tryRunLock } from "./lock.ts";
import type { Logger } from "./log.ts";
import { type CallSet, makePlan, type Plan } from "./plan.ts";
import { forEachLimited } from "./pool.ts";
import { scan } from "./scan.ts";
import { ensureStateDir, StateError, StateStore } from "./state.ts";

/** Exit codes of a run, as documented in the README. */
export const EXIT = { ok: 0, failed: 1, usage: 2, fatal: 3 } as const;

/** What a pass did. */
export interface RunOutcome {
  exitCode: number;
  delivered: number;
  failed: number;
  /** Another run held the lock, so this one did nothing. */
  skipped: boolean;
}

/** Options of {@link runOnce}. */
export interface RunOptions {
  cfg: Config;
  log: Logger;
  retry?: RetryPolicy;
}

/**
 * Scan, plan and deliver every due set (up to the batch size), holding the
 * run lock. Never throws: fatal problems become exit code 3.
 */
export async function runOnce(opts: RunOptions): Promise<RunOutcome> {
  const { cfg, log } = opts;
  const outcome: RunOutcome = {
    exitCode: EXIT.ok,
    delivered: 0,
    failed: 0,
    skipped: false,
  };
  try {
    await ensureStateDir(cfg.processedDir);
    const lock = await tryRunLock(cfg.processedDir);
    if (!isHeld(lock)) {
      log.info(
        `another run (pid ${lock.pid ?? "unknown"}) is in progress; skipping`,
      );
      return { ...outcome, skipped: true };
    }
    using _lock = lock;
    const store = await StateStore.open(cfg.processedDir, log);
    log.info("Directory scan started");
    const plan = await planRun(cfg, store, log);
    const due = plan.sets.filter((s) => s.state === "pending");
    const batch = cfg.batchSize > 0 ? due.slice(0, cfg.batchSize) : due;
    log.info(
      `Found ${due.length} unprocessed call sets` +
        (batch.length < due.length
          ? `; sending ${batch.length} this run (UPLOAD_BATCH_SIZE)`
          : ""),
    );
    let fatal: unknown;
    await forEachLimited(batch, cfg.concurrency, async (set: CallSet) => {
      try {
        const r = await deliverSet({
          cfg,
          log,
          store,
          retry: opts.retry,
        }, set);
        if (r.outcome === "delivered") outcome.delivered++;
        if (r.outcome === "failed") outcome.failed++;
      } catch (e) {
        fatal ??= e;
      }
    }, () => fatal !== undefined);
    if (fatal) throw fatal;
    log.info(
      `Directory scan completed: ${outcome.delivered} processed, ${outcome.failed} failed`,
    );
    return { ...outcome, exitCode: outcome.failed > 0 ? EXIT.failed : EXIT.ok };
  } catch (e) {
    if (
      e instanceof StateError ||
      (e instanceof CrmError && e.kind === "unauthorized")
    ) {
      if (e instanceof StateError) log.error(e.message);
      log.error(
        `Directory scan aborted: ${outcome.delivered} processed, ${outcome.failed} failed`,
      );
      return { ...outcome, exitCode: EXIT.fatal };
    }
    throw e;
  }
}

/** Scan the folders and plan, logging what cannot be used. */
export async function planRun(
  cfg: Config,
  store: StateStore,
  log: Logger,
): Promise<Plan> {
  const used = store.usedFiles();
  const result = await scan({
    dirs: {
      conversations: cfg.conversationsDir,
      recordings: cfg.recordingsDir,
      leads: cfg.leadsDir,
    },
    timezone: cfg.timezone,
    skip: {
      conversations: new Set(store.delivered.keys()),
      recordings: new Set([...used.recordings, ...store.delivered.keys()]),
      leads: used.leads,
    },
  });
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
