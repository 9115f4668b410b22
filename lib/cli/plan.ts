/**
 * `callsync plan [--json]`: the scan and grouping as a table (or JSON, with
 * each pair's evidence and the learned timing); no network, no writes.
 *
 * @module
 */
import { EXIT } from "../core/exit.ts";
import { planRun } from "../pair/plan_run.ts";
import { isSelective, selector } from "../pair/select.ts";
import { planJson, renderPlan } from "../report/status.ts";
import { StateStore } from "../state/store.ts";
import type { CommandContext } from "./context.ts";

/** `plan [--json]`: what a run would do now; exit 2 when TIMEZONE does not fit the files. */
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
  ctx.print(
    cli.json
      ? JSON.stringify(planJson(plan, cfg.timezone), null, 2)
      : renderPlan(plan, cfg.timezone),
  );
  // A run would refuse to send: so does plan's exit code.
  return plan.zoneMismatch ? EXIT.usage : EXIT.ok;
}
