/**
 * `callsync schedule --print KIND`: the cron line, systemd units or schtasks
 * command that runs this callsync (binary or `deno run main.ts`) every 5
 * minutes.
 *
 * @module
 */
import { resolve } from "node:path";
import { EXIT } from "../core/exit.ts";
import {
  callsyncCommand,
  ScheduleError,
  scheduleText,
} from "../report/schedule.ts";
import type { CommandContext } from "./context.ts";

/** `schedule --print cron|systemd|windows`. */
export function scheduleCommand(
  ctx: CommandContext<"schedule">,
): Promise<number> {
  const { cfg, cli } = ctx;
  try {
    ctx.print(scheduleText(cli.print, {
      command: callsyncCommand(Deno.execPath(), Deno.mainModule),
      baseDir: cfg.baseDir,
      envFile: cli.envFile ? resolve(cli.envFile) : undefined,
      caFile: cfg.caFile,
    }));
    return Promise.resolve(EXIT.ok);
  } catch (e) {
    if (!(e instanceof ScheduleError)) throw e;
    ctx.log.error(e.message);
    return Promise.resolve(EXIT.usage);
  }
}
