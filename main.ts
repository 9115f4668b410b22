/**
 * callsync: gets every phone call a LiveKit voice bot handles into the CRM
 * (recording, transcript and lead) and never loses one.
 *
 * `deno run -A main.ts [command] [flags]`; see `--help` and README.md.
 *
 * @module
 */
import denoJson from "./deno.json" with { type: "json" };
import { helpText, parseCli, runCommandLine } from "./lib/cli/mod.ts";
import { ConfigError, configSecrets, loadConfig } from "./lib/config/config.ts";
import { UsageError } from "./lib/core/errors.ts";
import { EXIT } from "./lib/core/exit.ts";
import { Logger } from "./lib/core/log.ts";
import { StateError } from "./lib/state/store.ts";

/** The version printed by `--version`. */
export const VERSION: string = denoJson.version;

/** Run the command line `args`; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const cli = parseCli(args);
    if (cli.help) return print(helpText(VERSION));
    if (cli.version) return print(`callsync ${VERSION}`);
    const cfg = await loadConfig({
      flags: cli.settings,
      env: Deno.env.toObject(),
      envFile: cli.envFile,
      baseDir: cli.baseDir,
      requireUpload: cli.command === "run" || cli.command === "watch",
    });
    const log = new Logger({
      format: cli.logFormat,
      level: cli.logLevel,
      timezone: cfg.timezone,
      secrets: configSecrets(cfg),
      interactive: Deno.stderr.isTerminal() && cli.logFormat === "text" &&
        cli.logLevel !== "warn",
    });
    return await runCommandLine({
      cfg,
      log,
      cli,
      print: console.log,
      interactive: Deno.stdout.isTerminal(),
    });
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      console.error(`callsync: ${e.message}`);
      return EXIT.usage;
    }
    if (e instanceof StateError) {
      console.error(`callsync: ${e.message}`);
      return EXIT.fatal;
    }
    throw e;
  }
}

function print(text: string): number {
  console.log(text);
  return EXIT.ok;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
