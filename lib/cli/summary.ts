/**
 * `callsync summary`: the daily report (or `--days N` of them) from the
 * journal.
 *
 * @module
 */
import { EXIT } from "../core/exit.ts";
import { localDate } from "../core/time.ts";
import {
  dailySummaries,
  dailySummary,
  renderBarChart,
  renderSummaries,
  renderSummary,
} from "../report/summary.ts";
import { StateStore } from "../state/store.ts";
import type { CommandContext } from "./context.ts";

/** `summary [--date YYYY-MM-DD] [--days N] [--json]`. */
export async function summaryCommand(
  ctx: CommandContext<"summary">,
): Promise<number> {
  const { cfg, cli } = ctx;
  const store = await StateStore.openFor(cfg, ctx.log, {
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
