/**
 * The commands behind the command line. Each takes the validated
 * configuration and returns the process exit code.
 *
 * @module
 */
import { resolve } from "node:path";
import type { Cli } from "./args.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../core/log.ts";
import { runAndReport } from "../report/after_run.ts";
import { isSelective, type Selection, selector } from "../pair/select.ts";
import {
  dailySummaries,
  dailySummary,
  renderBarChart,
  renderPlan,
  renderStatus,
  renderSummaries,
  renderSummary,
  statusReport,
} from "../report/report.ts";
import { EXIT } from "../core/exit.ts";
import { planRun } from "../pair/plan_run.ts";
import { retrySets } from "../state/retry.ts";
import {
  callsyncCommand,
  ScheduleError,
  type ScheduleKind,
  scheduleText,
} from "../report/schedule.ts";
import { serveCommand } from "../dashboard/server.ts";
import { StateStore } from "../state/store.ts";
import { localDate } from "../core/time.ts";

/** What every command receives. */
export interface CommandContext {
  cfg: Config;
  log: Logger;
  cli: Cli;
  /** Where reports go (standard output by default). */
  print: (text: string) => void;
  /** Reports go to a terminal a person reads (charts are drawn). */
  interactive: boolean;
}

/**
 * `run`: one scan-and-upload pass, bracketed by health-check pings, followed
 * by the metrics file.
 */
export async function runCommand(ctx: CommandContext): Promise<number> {
  const { cfg, log } = ctx;
  const report = await runAndReport({ cfg, log, select: selection(ctx.cli) });
  return report.exitCode;
}

/** `plan`: the scan and grouping as a table; no network, no writes. */
export async function planCommand(ctx: CommandContext): Promise<number> {
  const store = await StateStore.open(ctx.cfg.processedDir, ctx.log, {
    readOnly: true,
  });
  const plan = await planRun(ctx.cfg, store, ctx.log);
  const sel = selection(ctx.cli);
  if (isSelective(sel)) {
    const take = selector(sel, ctx.cfg.timezone);
    plan.sets = plan.sets.filter(take);
    plan.strays = [];
  }
  ctx.print(renderPlan(plan, ctx.cfg.timezone));
  return EXIT.ok;
}

function selection(cli: Cli): Selection {
  return { since: cli.since, until: cli.until, only: cli.only };
}

/** `status`: counts by state and every set not delivered. */
export async function statusCommand(ctx: CommandContext): Promise<number> {
  const store = await StateStore.open(ctx.cfg.processedDir, ctx.log, {
    readOnly: true,
  });
  const report = statusReport(
    await planRun(ctx.cfg, store, ctx.log),
    ctx.cfg.timezone,
  );
  ctx.print(
    ctx.cli.json ? JSON.stringify(report, null, 2) : renderStatus(report),
  );
  return EXIT.ok;
}

/** `summary`: the daily report (or `--days N` of them) from the journal. */
export async function summaryCommand(ctx: CommandContext): Promise<number> {
  const { cfg, cli } = ctx;
  const store = await StateStore.open(cfg.processedDir, ctx.log, {
    readOnly: true,
  });
  const date = cli.date ?? localDate(Date.now(), cfg.timezone);
  const events = await store.readJournal();
  if (cli.days === undefined) {
    const summary = dailySummary(events, date, cfg.timezone);
    ctx.print(
      cli.json ? JSON.stringify(summary, null, 2) : renderSummary(summary),
    );
    return EXIT.ok;
  }
  const rows = dailySummaries(events, date, cli.days, cfg.timezone);
  if (cli.json) {
    ctx.print(JSON.stringify(rows, null, 2));
  } else {
    ctx.print(renderSummaries(rows));
    if (ctx.interactive) {
      ctx.print(`\nCalls delivered per day:\n${renderBarChart(rows)}`);
    }
  }
  return EXIT.ok;
}

/**
 * `retry`: make failed sets (all with `--failed` or no names, else the named
 * ones, also those waiting out a backoff) due again now. Keeps an uploaded
 * recording's URL, so only what is missing is sent.
 */
export async function retryCommand(ctx: CommandContext): Promise<number> {
  const { cfg, log, cli } = ctx;
  const all = cli.failed || cli.names.length === 0;
  const result = await retrySets(cfg, log, all ? "failed" : cli.names);
  if (result.busy) {
    log.error(
      `a run (pid ${
        result.busy.pid ?? "unknown"
      }) is in progress; try again when it ends`,
    );
    return EXIT.failed;
  }
  if (all) log.info(`${result.scheduled.length} failed sets made due again`);
  return result.skipped.some((s) => s.reason !== "delivered")
    ? EXIT.failed
    : EXIT.ok;
}

/**
 * `schedule --print KIND`: the cron line, systemd units or schtasks command
 * that runs this callsync (binary or `deno run main.ts`) every 5 minutes.
 */
export function scheduleCommand(ctx: CommandContext): Promise<number> {
  const { cfg, cli } = ctx;
  try {
    ctx.print(scheduleText(cli.print as ScheduleKind, {
      command: callsyncCommand(Deno.execPath(), Deno.mainModule),
      baseDir: cfg.baseDir,
      envFile: cli.envFile ? resolve(cli.envFile) : undefined,
    }));
    return Promise.resolve(EXIT.ok);
  } catch (e) {
    if (!(e instanceof ScheduleError)) throw e;
    ctx.log.error(e.message);
    return Promise.resolve(EXIT.usage);
  }
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
  schedule: scheduleCommand,
  serve: serveCommand,
};
