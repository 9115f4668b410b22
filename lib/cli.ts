/**
 * The command line: commands, flags and help text. Every setting in
 * {@link SETTINGS} also has a flag of its own.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { LogFormat, LogLevel } from "./log.ts";
import { SETTINGS } from "./settings.ts";

/** Bad command-line usage; `main` exits 2 with the message. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The commands callsync knows. */
export const COMMANDS = ["run", "plan", "status", "retry", "summary"] as const;

/** One of {@link COMMANDS}. */
export type Command = typeof COMMANDS[number];

/** A parsed command line. */
export interface Cli {
  command: Command;
  /** Positional arguments after the command (set names for `retry`). */
  names: string[];
  help: boolean;
  version: boolean;
  baseDir?: string;
  envFile?: string;
  logFormat: LogFormat;
  logLevel: LogLevel;
  json: boolean;
  failed: boolean;
  date?: string;
  /** Setting flags given, by flag name. */
  settings: Record<string, string | undefined>;
}

/**
 * Parse arguments (without the program name).
 *
 * @example
 * ```ts
 * parseCli(["status", "--json", "--base-dir", "/srv/bot"]).command; // "status"
 * ```
 */
export function parseCli(args: string[]): Cli {
  const settingFlags = Object.fromEntries(
    SETTINGS.map((s) => [s.flag, { type: "string" as const }]),
  );
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        ...settingFlags,
        "base-dir": { type: "string" },
        "env-file": { type: "string" },
        "log-format": { type: "string" },
        verbose: { type: "boolean", short: "v" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
        json: { type: "boolean" },
        failed: { type: "boolean" },
        date: { type: "string" },
      },
    });
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message : e}; see --help`);
  }
  const { values: v, positionals } = parsed;
  const [first, ...rest] = positionals;
  const command = (first ?? "run") as Command;
  if (!COMMANDS.includes(command)) {
    throw new UsageError(
      `unknown command "${first}"; commands: ${COMMANDS.join(", ")}`,
    );
  }
  if (rest.length > 0 && command !== "retry") {
    throw new UsageError(
      `"${command}" takes no arguments, got "${rest.join(" ")}"`,
    );
  }
  const logFormat = v["log-format"] ?? "text";
  if (logFormat !== "text" && logFormat !== "json") {
    throw new UsageError(
      `--log-format must be text or json, got "${logFormat}"`,
    );
  }
  if (v.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(v.date)) {
    throw new UsageError(`--date must be YYYY-MM-DD, got "${v.date}"`);
  }
  const settings: Record<string, string | undefined> = {};
  const given = v as Record<string, unknown>;
  for (const s of SETTINGS) {
    const value = given[s.flag];
    if (typeof value === "string") settings[s.flag] = value;
  }
  return {
    command,
    names: rest,
    help: v.help ?? false,
    version: v.version ?? false,
    baseDir: v["base-dir"],
    envFile: v["env-file"],
    logFormat,
    logLevel: v.verbose ? "debug" : v.quiet ? "warn" : "info",
    json: v.json ?? false,
    failed: v.failed ?? false,
    date: v.date,
    settings,
  };
}

/** The `--help` text. */
export function helpText(version: string): string {
  const settings = SETTINGS.map((s) =>
    `  --${s.flag} (${s.env}${
      s.default !== undefined ? `, default ${s.default}` : ""
    })\n      ${s.doc.replaceAll("`", "")}`
  ).join("\n");
  return `callsync ${version}: deliver voice-bot calls (recording, transcript, lead) to a CRM

Usage: callsync [command] [flags]

Commands:
  run                   one scan-and-upload pass (the default; what cron runs)
  plan                  show how files group into calls and what a run would do;
                        no network, no writes
  status [--json]       counts by state and every set not delivered, with why
  retry [NAME…] [--failed]
                        make failed sets (or the named ones) due again now
  summary [--date YYYY-MM-DD] [--json]
                        the daily report (default: today in TIMEZONE)

General flags:
  --base-dir DIR        folder that holds the bot's folders (default: working dir)
  --env-file FILE       read settings from a KEY=value file
  --log-format text|json
  -v, --verbose         also log debug lines
  -q, --quiet           log warnings and errors only
  -h, --help            this text
  --version             print the version

Settings (flag beats environment, environment beats --env-file):
${settings}

Exit codes: 0 nothing due failed, 1 some sets failed (retried later),
2 usage or configuration error, 3 fatal (credentials refused, state folder
not writable).
`;
}
