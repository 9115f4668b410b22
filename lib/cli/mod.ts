/**
 * The command line's public face: parse it, then hand each command its
 * context. One file per command beside this one.
 *
 * @module
 */
import type { Command } from "./args.ts";
import type { CommandContext, CommandFn } from "./context.ts";
import { planCommand } from "./plan.ts";
import { retryCommand } from "./retry.ts";
import { runCommand } from "./run.ts";
import { scheduleCommand } from "./schedule.ts";
import { serveCommand } from "./serve.ts";
import { statusCommand } from "./status.ts";
import { summaryCommand } from "./summary.ts";
import { watchCommand } from "./watch.ts";

export { type Cli, type Command, COMMANDS, parseCli } from "./args.ts";
export type { CommandContext } from "./context.ts";
export { helpText } from "./help.ts";

/** Command name → implementation. */
export const COMMAND_TABLE: { [C in Command]: CommandFn<C> } = {
  run: runCommand,
  plan: planCommand,
  status: statusCommand,
  retry: retryCommand,
  summary: summaryCommand,
  schedule: scheduleCommand,
  serve: serveCommand,
  watch: watchCommand,
};

/** Run the command `ctx.cli` names; resolves to the exit code. */
export function runCommandLine(ctx: CommandContext): Promise<number> {
  const fn = COMMAND_TABLE[ctx.cli.command] as CommandFn<Command>;
  return fn(ctx);
}
