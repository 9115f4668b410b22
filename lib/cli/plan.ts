/**
 * `callsync plan`: the scan and grouping as a table; no network, no writes.
 *
 * @module
 */
import { EXIT } from "../core/exit.ts";
import { planRun } from "../pair/plan_run.ts";
import { isSelective, selector } from "../pair/select.ts";
import { renderPlan } from "../report/status.ts";
import { StateStore } from "../state/store.ts";
import type { CommandContext } from "./context.ts";

/** `plan`: what a run would do now, as a table. */
export async function planCommand(
  ctx: CommandContext<"plan">,
): Promise<number> {
  const { cfg, log, cli } = ctx;
  const store = await StateStore.openFor(cfg, log, {
    readOnly: true,
  });
  const plan = await planRun(cfg, store, log);
  if (isSelective(cli.select)) {
    plan.sets = plan.sets.filter(selector(cli.select, cfg.timezone));
    plan.strays = [];
  }
  ctx.print(renderPlan(plan, cfg.timezone));
  return EXIT.ok;
}
