/**
 * The commands behind the command line. Each takes the validated
 * configuration and returns the process exit code.
 *
 * @module
 */
import type { Cli } from "./cli.ts";
import type { Config } from "./config.ts";
import { isHeld, tryRunLock } from "./lock.ts";
import type { Logger } from "./log.ts";
import {
  dailySummary,
  renderPlan,
  renderStatus,
  renderSummary,
  statusReport,
} from "./report.ts";
import { EXIT, planRun, runOnce } from "./run.ts";
import { ensureStateDir, StateStore } from "./state.ts";
import { localDate } from "./time.ts";

/** What every command receives. */
export interface CommandContext {
  cfg: Config;
  log: Logger;
  cli: Cli;
  /** Where reports go (standard output by default). */
  print: (text: string) => void;
}

/** `run`: one scan-and-upload pass. */
export async function runCommand(ctx: CommandContext): Promise<number> {
  return (await runOnce({ cfg: ctx.cfg, log: ctx.log })).exitCode;
}

/** `plan`: the scan and grouping as a table; no network, no writes. */
export async function planCommand(ctx: CommandContext): Promise<number> {
  const store = await StateStore.open(ctx.cfg.processedDir, ctx.log);
  const plan = await planRun(ctx.cfg, store, ctx.log);
  ctx.print(renderPlan(plan, ctx.cfg.timezone));
  return EXIT.ok;
}

/** `status`: counts by state and every set not delivered. */
export async function statusCommand(ctx: CommandContext): Promise<number> {
  const store = await StateStore.open(ctx.cfg.processedDir, ctx.log);
  const report = statusReport(
    await planRun(ctx.cfg, store, ctx.log),
    ctx.cfg.timezone,
  );
  ctx.print(
    ctx.cli.json ? JSON.stringify(report, null, 2) : renderStatus(report),
  );
  return EXIT.ok;
}

/** `summary`: the daily report from the journal. */
export async function summaryCommand(ctx: CommandContext): Promise<number> {
  const store = await StateStore.open(ctx.cfg.processedDir, ctx.log);
  const date = ctx.cli.date ?? localDate(Date.now(), ctx.cfg.timezone);
  const summary = dailySummary(
    await store.readJournal(),
    date,
    ctx.cfg.timezone,
  );
  ctx.print(
    ctx.cli.json ? JSON.stringify(summary, null, 2) : renderSummary(summary),
  );
  return EXIT.ok;
}

/**
 * `retry`: make failed sets (all with `--failed` or no names, else the named
 * ones, also those waiting out a backoff) due again now. Keeps an uploaded
 * recording's URL, so only what is missing is sent.
 */
export async function retryCommand(ctx: CommandContext): Promise<number> {
  const { cfg, log, cli } = ctx;
  await ensureStateDir(cfg.processedDir);
  const lock = await tryRunLock(cfg.processedDir);
  if (!isHeld(lock)) {
    log.error(
      `a run (pid ${
        lock.pid ?? "unknown"
      }) is in progress; try again when it ends`,
    );
    return EXIT.failed;
  }
  using _lock = lock;
  const store = await StateStore.open(cfg.processedDir, log);
  const all = cli.failed || cli.names.length === 0;
  const targets = all
    ? [...store.progress.values()].filter((p) => p.failed).map((p) => p.set)
    : cli.names;
  let code: number = EXIT.ok;
  for (const name of targets) {
    const p = store.progress.get(name);
    if (!p) {
      const why = store.delivered.has(name)
        ? "it is already delivered"
        : "it has no failed attempt";
      log.warn(`Nothing to retry for ${name}: ${why}`);
      if (!store.delivered.has(name)) code = EXIT.failed;
      continue;
    }
    await store.saveProgress({
      ...p,
      attempts: 0,
      failed: false,
      next_attempt_at: undefined,
    });
    log.info(`Retry scheduled: ${name} is due on the next run`);
  }
  if (all) log.info(`${targets.length} failed sets made due again`);
  return code;
}

/** Command name → implementation. */
export const COMMAND_TABLE: Record<
  Cli["command"],
  (ctx: CommandContext) => Promise<number>
> = {
  run: runCommand,
  plan: planCommand,
  status: statusCommand,
  retry: retryCommand,
  summary: summaryCommand,
};
