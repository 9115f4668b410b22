/**
 * The command line's public face: parse it, then hand each command its
 * context. One file per command beside this one.
 *
 * @module
 */
import type { Command } from "./args.ts";
import type { CommandContext, CommandFn } from "./context.ts";
export { type Cli, type Command, COMMANDS, parseCli } from "./args.ts";
export type { CommandContext } from "./context.ts";
export { helpText } from "./help.ts";

/**
 * Command name → its implementation, imported when that command runs: a
 * `run` from cron does not load the dashboard, nor `status` the delivery.
 */
export const COMMAND_TABLE: { [C in Command]: () => Promise<CommandFn<C>> } = {
  run: async () => (await import("./run.ts")).runCommand,
  plan: async () => (await import("./plan.ts")).planCommand,
  status: async () => (await import("./status.ts")).statusCommand,
  retry: async () => (await import("./retry.ts")).retryCommand,
  summary: async () => (await import("./summary.ts")).summaryCommand,
  schedule: async () => (await import("./schedule.ts")).scheduleCommand,
  serve: async () => (await import("./serve.ts")).serveCommand,
  watch: async () => (await import("./watch.ts")).watchCommand,
};

/** Run the command `ctx.cli` names; resolves to the exit code. */
export async function runCommandLine(ctx: CommandContext): Promise<number> {
  const load = COMMAND_TABLE[ctx.cli.command] as () => Promise<
    CommandFn<Command>
  >;
  return (await load())(ctx);
}
