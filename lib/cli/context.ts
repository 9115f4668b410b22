/**
 * What every command receives.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import type { Logger } from "../core/log.ts";
import type { Cli, CliOf, Command } from "./args.ts";

/** What command `C` receives. */
export interface CommandContext<C extends Command = Command> {
  cfg: Config;
  log: Logger;
  cli: C extends Command ? CliOf<C> : Cli;
  /** Where reports go (standard output by default). */
  print: (text: string) => void;
  /** Reports go to a terminal a person reads (charts are drawn). */
  interactive: boolean;
}

/** A command: its context in, the process exit code out. */
export type CommandFn<C extends Command> = (
  ctx: CommandContext<C>,
) => Promise<number>;
