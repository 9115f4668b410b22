/**
 * `callsync run`: one scan-and-upload pass, bracketed by health-check pings,
 * followed by the metrics file.
 *
 * @module
 */
import { runAndReport } from "../report/after_run.ts";
import type { CommandContext } from "./context.ts";

/** `run`: what cron runs. */
export async function runCommand(ctx: CommandContext<"run">): Promise<number> {
  const { cfg, log, cli } = ctx;
  const report = await runAndReport({ cfg, log, select: cli.select });
  return report.exitCode;
}
