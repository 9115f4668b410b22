/**
 * The command line: the command, the general flags, and each command's own
 * flags, typed per command. Every setting in {@link SETTINGS} also has a flag
 * of its own. Any flag is accepted with any command (a flag a command does
 * not use is ignored).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { errorMessage, UsageError } from "../core/errors.ts";
import type { LogFormat, LogLevel } from "../core/log.ts";
import { SETTINGS } from "../config/settings.ts";
import type { Selection } from "../pair/select.ts";
import { SCHEDULE_KINDS, type ScheduleKind } from "../report/schedule.ts";

/** The commands callsync knows. */
export const COMMANDS = [
  "run",
  "plan",
  "status",
  "retry",
  "summary",
  "schedule",
  "serve",
  "watch",
] as const;

/** One of {@link COMMANDS}. */
export type Command = typeof COMMANDS[number];

/** The flags every command takes. */
export interface GeneralFlags {
  help: boolean;
  version: boolean;
  baseDir?: string;
  envFile?: string;
  logFormat: LogFormat;
  logLevel: LogLevel;
  /** Setting flags given, by flag name. */
  settings: Record<string, string | undefined>;
}

/** Each command with its own flags. */
export type CommandLine =
  /** `run`: `--since`, `--until`, `--only NAME…`. */
  | { command: "run"; select: Selection }
  /** `plan [--json]`: the same selection as `run`. */
  | { command: "plan"; select: Selection; json: boolean }
  | { command: "status"; json: boolean }
  /** `retry [NAME…] [--failed]`. */
  | { command: "retry"; names: string[]; failed: boolean }
  /** `summary [--date D] [--days N] [--json]`. */
  | { command: "summary"; date?: string; days?: number; json: boolean }
  /** `schedule --print KIND`. */
  | { command: "schedule"; print: ScheduleKind }
  /** `serve [--host H] [--port P] [--token T] [--public-url URL…]`. */
  | {
    command: "serve";
    host?: string;
    port?: string;
    token?: string;
    publicUrl: string[];
  }
  /** `watch [--serve [--host H] [--port P] [--token T] [--public-url URL…]]`. */
  | {
    command: "watch";
    serve: boolean;
    host?: string;
    port?: string;
    token?: string;
    publicUrl: string[];
  };

/** A parsed command line. */
export type Cli = GeneralFlags & CommandLine;

/** The parsed line of command `C`. */
export type CliOf<C extends Command> =
  & GeneralFlags
  & Extract<
    CommandLine,
    { command: C }
  >;

const OPTIONS = {
  ...Object.fromEntries(
    SETTINGS.map((s) => [s.flag, { type: "string" as const }]),
  ),
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
  "public-url": { type: "string", multiple: true },
  serve: { type: "boolean" },
} as const;

/** The flags as `parseArgs` gives them. */
type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>[
  "values"
];

/**
 * Parse arguments (without the program name).
 *
 * @example
 * ```ts
 * parseCli(["status", "--json", "--base-dir", "/srv/bot"]).command; // "status"
 * ```
 */
export function parseCli(args: string[]): Cli {
  const { values, positionals } = parse(args);
  const { command, rest, only } = commandOf(values, positionals);
  const general = generalFlags(values);
  checkDates(values);
  return { ...general, ...commandLine(command, values, rest, only) };
}

function parse(args: string[]): { values: Values; positionals: string[] } {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: OPTIONS,
    });
  } catch (e) {
    throw new UsageError(`${errorMessage(e)}; see --help`);
  }
}

/**
 * The command, its positional arguments and the `--only` names. `--only a b
 * c`: the names after the first belong to --only too, and without a command
 * the command is `run`.
 */
function commandOf(
  v: Values,
  positionals: string[],
): { command: Command; rest: string[]; only: string[] } {
  const only = [...(v.only ?? [])];
  const isCommand = (w: string | undefined) => COMMANDS.includes(w as Command);
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
  return { command, rest, only };
}

function generalFlags(v: Values): GeneralFlags {
  const logFormat = v["log-format"] ?? "text";
  if (logFormat !== "text" && logFormat !== "json") {
    throw new UsageError(
      `--log-format must be text or json, got "${logFormat}"`,
    );
  }
  const settings: Record<string, string | undefined> = {};
  const given = v as Record<string, unknown>;
  for (const s of SETTINGS) {
    const value = given[s.flag];
    if (typeof value === "string") settings[s.flag] = value;
  }
  return {
    help: v.help ?? false,
    version: v.version ?? false,
    baseDir: v["base-dir"],
    envFile: v["env-file"],
    logFormat,
    logLevel: v.verbose ? "debug" : v.quiet ? "warn" : "info",
    settings,
  };
}

/** `--date`, `--since`, `--until` and `--days`, checked whatever the command. */
function checkDates(v: Values): void {
  for (const flag of ["date", "since", "until"] as const) {
    const value = v[flag];
    if (value !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
      throw new UsageError(`--${flag} must be YYYY-MM-DD, got "${value}"`);
    }
  }
  if (v.days !== undefined && !/^[1-9]\d*$/.test(v.days)) {
    throw new UsageError(`--days must be a whole number ≥ 1, got "${v.days}"`);
  }
}

/** The command's own flags. */
function commandLine(
  command: Command,
  v: Values,
  names: string[],
  only: string[],
): CommandLine {
  switch (command) {
    case "run":
      return { command, select: { since: v.since, until: v.until, only } };
    case "plan":
      return {
        command,
        select: { since: v.since, until: v.until, only },
        json: v.json ?? false,
      };
    case "status":
      return { command, json: v.json ?? false };
    case "retry":
      return { command, names, failed: v.failed ?? false };
    case "summary":
      return {
        command,
        date: v.date,
        days: v.days === undefined ? undefined : Number(v.days),
        json: v.json ?? false,
      };
    case "schedule":
      return { command, print: scheduleKind(v.print) };
    case "serve":
      return {
        command,
        host: v.host,
        port: v.port,
        token: v.token,
        publicUrl: [...(v["public-url"] ?? [])],
      };
    case "watch":
      return {
        command,
        serve: v.serve ?? false,
        host: v.host,
        port: v.port,
        token: v.token,
        publicUrl: [...(v["public-url"] ?? [])],
      };
  }
}

function scheduleKind(print: string | undefined): ScheduleKind {
  if (!SCHEDULE_KINDS.includes(print as ScheduleKind)) {
    throw new UsageError(
      `schedule needs --print ${SCHEDULE_KINDS.join("|")}`,
    );
  }
  return print as ScheduleKind;
}
