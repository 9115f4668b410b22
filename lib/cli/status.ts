/**
 * `callsync status`: counts by state and every set not delivered.
 *
 * @module
 */
import { EXIT } from "../core/exit.ts";
import { planRun } from "../pair/plan_run.ts";
import { renderStatus, statusReport } from "../report/status.ts";
import { readLastRun } from "../state/last_run.ts";
import { StateStore } from "../state/store.ts";
import type { CommandContext } from "./context.ts";

/** `status [--json]`. */
export async function statusCommand(
  ctx: CommandContext<"status">,
): Promise<number> {
  const { cfg, log } = ctx;
  const store = await StateStore.openFor(cfg, log, {
    readOnly: true,
  });
  const last = await readLastRun(cfg.processedDir);
  const report = statusReport(
    await planRun(cfg, store, log),
    cfg.timezone,
    last?.backlog,
  );
  ctx.print(
    ctx.cli.json ? JSON.stringify(report, null, 2) : renderStatus(report),
  );
  return EXIT.ok;
}
