/**
 * The command line: commands, flags and help text. Every setting in
 * {@link SETTINGS} also has a flag of its own.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { LogFormat, LogLevel } from "../core/log.ts";
import { SETTINGS } from "../config/settings.ts";
import { errorMessage, UsageError } from "../core/errors.ts";

/** The commands callsync knows. */
export const COMMANDS = [
  "run",
  "plan",
  "status",
  "retry",
  "summary",
  "schedule",
  "serve",
] as const;

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
  /** `summary --days N`: a table of the last N days. */
  days?: number;
  /** `--since`/`--until`: only sets whose call started in these days (inclusive). */
  since?: string;
  until?: string;
  /** `--only NAME…`: only these sets (set, conversation or recording names). */
  only: string[];
  /** `schedule --print KIND`. */
  print?: string;
  /** `serve --host`, `--port`, `--token`. */
  host?: string;
  port?: string;
  token?: string;
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
        days: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        only: { type: "string", multiple: true },
        print: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        token: { type: "string" },
      },
    });
  } catch (e) {
    throw new UsageError(`${errorMessage(e)}; see --help`);
  }
  const { values: v, positionals } = parsed;
  const only = [...(v.only ?? [])];
  const isCommand = (w: string | undefined) => COMMANDS.includes(w as Command);
  // `--only a b c`: the names after the first belong to --only too.
  const implicitRun = only.length > 0 && !isCommand(positionals[0]);
  const first = implicitRun ? undefined : positionals[0];
  const rest = positionals.slice(implicitRun ? 0 : 1);
  const command = (first ?? "run") as Command;
  if (!isCommand(command)) {
    throw new UsageError(
      `unknown command "${first}"; commands: ${COMMANDS.join(", ")}`,
    );
  }
  if (only.length > 0 && command !== "retry") only.push(...rest.splice(0));
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
  for (const flag of ["date", "since", "until"] as const) {
    const value = v[flag];
    if (value !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
      throw new UsageError(`--${flag} must be YYYY-MM-DD, got "${value}"`);
    }
  }
  if (v.days !== undefined && !/^[1-9]\d*$/.test(v.days)) {
    throw new UsageError(`--days must be a whole number ≥ 1, got "${v.days}"`);
  }
  if (
    command === "schedule" &&
    !["cron", "systemd", "windows"].includes(v.print ?? "")
  ) {
    throw new UsageError("schedule needs --print cron|systemd|windows");
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
    days: v.days === undefined ? undefined : Number(v.days),
    since: v.since,
    until: v.until,
    only,
    print: v.print,
    host: v.host,
    port: v.port,
    token: v.token,
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
  summary [--date YYYY-MM-DD] [--days N] [--json]
                        the daily report (default: today in TIMEZONE); --days:
                        one row per day for the N days up to --date, with a
                        bar chart of calls delivered in a terminal
  schedule --print cron|systemd|windows
                        print the cron line, systemd units or schtasks command
                        that runs callsync every 5 minutes on this host

  serve [--host H] [--port P] [--token T]
                        the web dashboard (default 127.0.0.1:8787); POSTs need
                        the token (--token or DASHBOARD_TOKEN, safer: not in
                        ps); without one it is read-only

Selecting (run and plan):
  --since YYYY-MM-DD    only calls that started on or after this day
  --until YYYY-MM-DD    only calls that started on or before this day
  --only NAME…          only these sets (conversation or recording file names)

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
