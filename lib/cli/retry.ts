/**
 * `callsync retry`: make failed sets (all with `--failed` or no names, else
 * the named ones, also those waiting out a backoff) due again now. Keeps an
 * uploaded recording's URL, so only what is missing is sent.
 *
 * @module
 */
import { EXIT } from "../core/exit.ts";
import { retrySets } from "../state/retry.ts";
import type { CommandContext } from "./context.ts";

/** `retry [NAME…] [--failed]`. */
export async function retryCommand(
  ctx: CommandContext<"retry">,
): Promise<number> {
  const { cfg, log, cli } = ctx;
  const all = cli.failed || cli.names.length === 0;
  const result = await retrySets(cfg, log, all ? "failed" : cli.names);
  if (result.busy) {
    log.error(
      `a run (pid ${
        result.busy.pid ?? "unknown"
      }) is in progress; try again when it ends (if it is callsync watch, which holds the lock while it runs: retry from its dashboard, watch --serve, or stop it, retry, start it again)`,
    );
    return EXIT.failed;
  }
  if (all) log.info(`${result.scheduled.length} failed sets made due again`);
  return result.skipped.some((s) => s.reason !== "delivered")
    ? EXIT.failed
    : EXIT.ok;
}
