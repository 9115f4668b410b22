/**
 * What runs callsync every 5 minutes on a host: the crontab line, the systemd
 * service and timer units, or the Windows `schtasks` command. Pure functions
 * of the paths given; `callsync schedule --print cron|systemd|windows` prints
 * {@link scheduleText} and `install.sh` installs the same text.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** What {@link scheduleText} can produce. */
export type ScheduleKind =
  | "cron"
  | "systemd"
  | "windows"
  | "systemd-service"
  | "windows-service";

/** Every kind, in `--print` order. */
export const SCHEDULE_KINDS: readonly ScheduleKind[] = [
  "cron",
  "systemd",
  "windows",
  "systemd-service",
  "windows-service",
];

/**
 * The permission flags a callsync run needs: the ones `deno task compile`
 * bakes into the binary (tests/e2e/compile_test.ts keeps them equal).
 */
export const RUN_PERMISSIONS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
];

/**
 * The V8 flags every run starts with (baked into the binary too): a young
 * generation capped at 4 MB, which keeps an idle run over 100,000 delivered
 * sets under 150 MB, and a heap that grows less eagerly
 * (`--optimize-for-size`), which keeps a long-running `watch` over them near
 * 110 MB; neither costs measurable time (BENCHMARKS.md).
 */
export const RUN_V8_FLAGS: readonly string[] = [
  "--v8-flags=--max-semi-space-size=4,--optimize-for-size",
];

/** The crontab schedule used unless one is given: every 5 minutes. */
export const DEFAULT_CRON = "*/5 * * * *";

/** Where the cron line appends callsync's output unless told otherwise. */
export const DEFAULT_LOG_FILE = "/var/log/callsync.log";

/** The comment that ends callsync's crontab line; install.sh finds it by it. */
export const CRON_MARKER = "# callsync";

/** Task name (schtasks) and unit name (systemd). */
export const TASK_NAME = "callsync";

/** schtasks refuses a `/tr` longer than this. */
export const WINDOWS_TR_LIMIT = 261;

/** A path or option that cannot be put into a schedule. */
export class ScheduleError extends Error {
  override name = "ScheduleError";
}

/** What a schedule runs, and where. */
export interface ScheduleOptions {
  /**
   * The argv that starts callsync, before the command: `[Deno.execPath()]`
   * for the compiled binary, `[deno, "run", ...RUN_PERMISSIONS, ...RUN_V8_FLAGS, "/abs/main.ts"]`
   * from source. See {@link callsyncCommand}. Absolute paths.
   */
  command: readonly string[];
  /** The bot's base folder (cron: `cd`; systemd: `WorkingDirectory=`; Windows: `--base-dir`). Absolute. */
  baseDir: string;
  /** `--env-file` for every run; left out when undefined. Absolute. */
  envFile?: string;
  /** `--crm-ca-file` for every run (`CRM_CA_FILE`); left out when undefined. Absolute. */
  caFile?: string;
  /** cron only: where output is appended (default {@link DEFAULT_LOG_FILE}). Absolute. */
  logFile?: string;
  /** cron only: the five schedule fields (default {@link DEFAULT_CRON}). */
  cron?: string;
}

/** The two systemd units. */
export interface SystemdUnits {
  /** `callsync.service`: one run (`Type=oneshot`). */
  service: string;
  /** `callsync.timer`: starts the service every 5 minutes, `Persistent=true`. */
  timer: string;
}

/**
 * The argv that starts this callsync: the executable itself when compiled,
 * else `deno run` with {@link RUN_PERMISSIONS}, {@link RUN_V8_FLAGS} and the
 * main module's path.
 *
 * @param execPath `Deno.execPath()`
 * @param mainModule `Deno.mainModule` (a `file:` URL when run from source)
 *
 * @example
 * ```ts
 * callsyncCommand("/usr/local/bin/callsync", "file:///x/main.ts");
 * // ["/usr/local/bin/callsync"]
 * callsyncCommand("/usr/bin/deno", "file:///opt/callsync/main.ts");
 * // ["/usr/bin/deno", "run", "--allow-read", …, "/opt/callsync/main.ts"]
 * ```
 */
export function callsyncCommand(
  execPath: string,
  mainModule: string,
): string[] {
  const exe = execPath.split(/[\\/]/).pop() ?? "";
  if (!/^deno(\.exe)?$/i.test(exe)) return [execPath];
  const main = mainModule.startsWith("file:")
    ? fileURLToPath(mainModule)
    : mainModule;
  return [execPath, "run", ...RUN_PERMISSIONS, ...RUN_V8_FLAGS, main];
}

/**
 * The text `callsync schedule --print KIND` prints (no final newline:
 * `console.log` it).
 *
 * - `cron`: one crontab line, `*\/5 * * * * cd BASE && EXE run --env-file
 *   FILE >> LOG 2>&1 # callsync` (POSIX shell quoting, `%` escaped for cron).
 * - `systemd`: `callsync.service` then `callsync.timer`, each after a
 *   `# /etc/systemd/system/NAME` comment line.
 * - `windows`: `schtasks /create /tn callsync /tr "…" /sc minute /mo 5 /ru
 *   SYSTEM /f` for cmd.exe (Windows argument quoting, nested once for `/tr`):
 *   the task runs whether or not anyone is logged on.
 * - `systemd-service`: `callsync-watch.service`, running `callsync watch`
 *   (`Type=simple`, `Restart=always`).
 * - `windows-service`: a Task Scheduler XML (for `schtasks /create /xml`)
 *   that starts `callsync watch` at boot as SYSTEM and starts it again when
 *   it is not running.
 *
 * Throws {@link ScheduleError} for a relative path, a line break in a path,
 * a malformed cron schedule, or a Windows command longer than schtasks takes.
 */
export function scheduleText(
  kind: ScheduleKind,
  opts: ScheduleOptions,
): string {
  switch (kind) {
    case "cron":
      return cronLine(opts);
    case "systemd": {
      const units = systemdUnits(opts);
      return `# /etc/systemd/system/${TASK_NAME}.service\n${units.service}\n` +
        `# /etc/systemd/system/${TASK_NAME}.timer\n${units.timer.trimEnd()}`;
    }
    case "windows":
      return windowsCommand(opts);
    case "systemd-service":
      return `# /etc/systemd/system/${WATCH_UNIT}\n${
        systemdService(opts).trimEnd()
      }`;
    case "windows-service":
      return windowsServiceXml(opts);
    default:
      throw new ScheduleError(
        `unknown schedule kind "${kind}"; kinds: ${SCHEDULE_KINDS.join(", ")}`,
      );
  }
}

/** The crontab line (no trailing newline), ending with {@link CRON_MARKER}. */
export function cronLine(opts: ScheduleOptions): string {
  const when = (opts.cron ?? DEFAULT_CRON).trim();
  const macro =
    /^@(reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)$/;
  if (!macro.test(when) && !/^(\S+\s+){4}\S+$/.test(when)) {
    throw new ScheduleError(
      `cron schedule must be five fields such as "${DEFAULT_CRON}", got "${when}"`,
    );
  }
  if (/[#%\n]/.test(when)) {
    throw new ScheduleError(`cron schedule must not contain #, % or a newline`);
  }
  const base = posixPath("base dir", opts.baseDir);
  const log = posixPath("log file", opts.logFile ?? DEFAULT_LOG_FILE);
  const argv = runArgv(opts, posixPath);
  const command = `cd ${shQuote(base)} && ${argv.map(shQuote).join(" ")} ` +
    `>> ${shQuote(log)} 2>&1`;
  // cron turns an unescaped % into a newline (and stdin) before sh sees it.
  return `${when} ${command.replaceAll("%", "\\%")} ${CRON_MARKER}`;
}

/** The unit `schedule --print systemd-service` and `install.sh --service` write. */
export const WATCH_UNIT = "callsync-watch.service";

/**
 * Hardening of both units: callsync needs only to read the bot's folders,
 * write its state, and reach the CRM. The whole file system stays writable
 * outside /usr, /boot and /etc (the folders may be anywhere), and private
 * files stay private (`UMask=0077`).
 */
const HARDENING = `NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
UMask=0077`;

/** `callsync.service` and `callsync.timer`. */
export function systemdUnits(opts: ScheduleOptions): SystemdUnits {
  const base = posixPath("base dir", opts.baseDir);
  const exec = runArgv(opts, posixPath).map(systemdQuote).join(" ");
  const service = `[Unit]
Description=callsync: deliver voice-bot calls to the CRM (one pass)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
WorkingDirectory=${base.replaceAll("%", "%%")}
ExecStart=${exec}
${HARDENING}
`;
  const timer = `[Unit]
Description=Run callsync every 5 minutes

[Timer]
OnCalendar=*:0/5
Persistent=true
Unit=${TASK_NAME}.service

[Install]
WantedBy=timers.target
`;
  return { service, timer };
}

/**
 * `callsync-watch.service`: `callsync watch` kept running. SIGTERM stops it
 * gracefully; systemd waits `TimeoutStopSec` (more than watch's default
 * `--stop-timeout` of 30 s) before it kills.
 */
export function systemdService(opts: ScheduleOptions): string {
  const base = posixPath("base dir", opts.baseDir);
  const exec = runArgv(opts, posixPath, "watch").map(systemdQuote).join(" ");
  return `[Unit]
Description=callsync watch: deliver voice-bot calls to the CRM as they end
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0

[Service]
Type=simple
WorkingDirectory=${base.replaceAll("%", "%%")}
ExecStart=${exec}
Restart=always
RestartSec=5
KillSignal=SIGTERM
TimeoutStopSec=45
${HARDENING}

[Install]
WantedBy=multi-user.target
`;
}

/** `callsync.exe COMMAND --base-dir BASE [--env-file FILE]`, checked. */
function windowsArgv(opts: ScheduleOptions, command: string): string[] {
  const argv = [
    ...opts.command.map((p, i) => i === 0 ? windowsPath("command", p) : p),
    command,
    "--base-dir",
    windowsPath("base dir", opts.baseDir),
    ...fileFlags(opts, windowsPath),
  ];
  for (const a of argv) noBreaks("argument", a);
  return argv;
}

/**
 * The Task Scheduler XML of `callsync watch` (`schtasks /create /tn
 * callsync-watch /xml FILE`): started at boot as SYSTEM (whether or not
 * anyone is logged on), with no time limit, started again every 5 minutes if
 * it is not running (a second instance is never started), and restarted a
 * minute after a failure.
 */
export function windowsServiceXml(opts: ScheduleOptions): string {
  const [exe, ...args] = windowsArgv(opts, "watch");
  const x = xmlEscape;
  return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>callsync watch: deliver voice-bot calls to the CRM as they end</Description>
  </RegistrationInfo>
  <Triggers>
    <BootTrigger>
      <Enabled>true</Enabled>
    </BootTrigger>
    <TimeTrigger>
      <StartBoundary>2025-01-01T00:00:00</StartBoundary>
      <Enabled>true</Enabled>
      <Repetition>
        <Interval>PT5M</Interval>
        <StopAtDurationEnd>false</StopAtDurationEnd>
      </Repetition>
    </TimeTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>S-1-5-18</UserId>
      <RunLevel>HighestAvailable</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <IdleSettings>
      <StopOnIdleEnd>false</StopOnIdleEnd>
      <RestartOnIdle>false</RestartOnIdle>
    </IdleSettings>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <Enabled>true</Enabled>
    <Hidden>false</Hidden>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <Priority>7</Priority>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>${x(exe)}</Command>
      <Arguments>${x(args.map((a) => winQuote(a)).join(" "))}</Arguments>
      <WorkingDirectory>${
    x(windowsPath("base dir", opts.baseDir))
  }</WorkingDirectory>
    </Exec>
  </Actions>
</Task>`;
}

/** Escape text for an XML element. */
function xmlEscape(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  );
}

/**
 * The `schtasks /create` command line for cmd.exe: every 5 minutes, as
 * SYSTEM, so the task runs whether or not anyone is logged on.
 */
export function windowsCommand(opts: ScheduleOptions): string {
  const argv = windowsArgv(opts, "run");
  for (
    const [what, p] of [
      ["command", opts.command[0]],
      ["base dir", opts.baseDir],
      ["env file", opts.envFile],
      ["CA file", opts.caFile],
    ] as const
  ) {
    if (p !== undefined) cmdSafe(what, p);
  }
  for (const a of argv) cmdSafe("argument", a);
  const tr = argv.map((a) => winQuote(a)).join(" ");
  if (tr.length > WINDOWS_TR_LIMIT) {
    throw new ScheduleError(
      `the task's command is ${tr.length} characters; schtasks takes at most ${WINDOWS_TR_LIMIT} (use shorter paths): ${tr}`,
    );
  }
  return `schtasks /create /tn ${TASK_NAME} /tr ${
    winQuote(tr, true)
  } /sc minute /mo 5 /ru SYSTEM /rl HIGHEST /f`;
}

/** command + `run` (or `command`) + {@link fileFlags} (paths checked by `path`). */
function runArgv(
  opts: ScheduleOptions,
  path: (what: string, p: string) => string,
  command = "run",
): string[] {
  if (opts.command.length === 0) {
    throw new ScheduleError("the command that starts callsync is empty");
  }
  const [exe, ...rest] = opts.command;
  for (const a of rest) noBreaks("argument", a);
  return [
    path("command", exe),
    ...rest,
    command,
    ...fileFlags(opts, path),
  ];
}

/** `--env-file FILE` and `--crm-ca-file FILE`, those given (paths checked by `path`). */
function fileFlags(
  opts: ScheduleOptions,
  path: (what: string, p: string) => string,
): string[] {
  return [
    ...(opts.envFile === undefined
      ? []
      : ["--env-file", path("env file", opts.envFile)]),
    ...(opts.caFile === undefined
      ? []
      : ["--crm-ca-file", path("CA file", opts.caFile)]),
  ];
}

function noBreaks(what: string, s: string): string {
  if (/[\n\r\0]/.test(s)) {
    throw new ScheduleError(`${what} must not contain a line break: "${s}"`);
  }
  return s;
}

function posixPath(what: string, p: string): string {
  noBreaks(what, p);
  if (!p.startsWith("/")) {
    throw new ScheduleError(`${what} must be an absolute path, got "${p}"`);
  }
  return p;
}

function windowsPath(what: string, p: string): string {
  noBreaks(what, p);
  if (!/^([A-Za-z]:[\\/]|\\\\[^\\]+\\)/.test(p)) {
    throw new ScheduleError(
      `${what} must be an absolute Windows path (C:\\… or \\\\server\\…), got "${p}"`,
    );
  }
  if (p.includes('"')) {
    throw new ScheduleError(`${what} must not contain a quote: "${p}"`);
  }
  return p;
}

/**
 * Characters cmd.exe acts on in the printed line even inside its quotes
 * (cmd toggles quoting at every `"`, the `\"` of `/tr` included): `&` `|`
 * `<` `>` end or redirect the command, `^` vanishes, `%NAME%` expands.
 */
const CMD_SPECIAL = /[%^&|<>"]/;

function cmdSafe(what: string, s: string): string {
  noBreaks(what, s);
  const c = CMD_SPECIAL.exec(s)?.[0];
  if (c) {
    throw new ScheduleError(
      `${what} holds ${c}, which cmd.exe would act on in the printed command; use a path without % ^ & | < > or ": "${s}"`,
    );
  }
  return s;
}

/**
 * Quote one word for a POSIX shell (`sh`, what cron runs): as it is when it
 * holds only safe characters, else in single quotes.
 */
export function shQuote(s: string): string {
  if (s !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * Quote one word of a systemd `ExecStart=` line: double quotes with `\` and
 * `"` escaped when needed; `%` (specifiers) and `$` (variables) doubled.
 */
export function systemdQuote(s: string): string {
  const word = s !== "" && /^[A-Za-z0-9_@+=:,./-]+$/.test(s)
    ? s
    : `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  return word.replaceAll("%", "%%").replaceAll("$", "$$$$");
}

/**
 * Quote one argument the way Windows programs split their command line
 * (CommandLineToArgvW / the MSVC runtime): quotes only when needed (or
 * `force`d), `"` as `\"`, backslashes doubled only before a quote.
 */
export function winQuote(s: string, force = false): string {
  if (!force && s !== "" && !/[\s"]/.test(s)) return s;
  let out = '"';
  let slashes = 0;
  for (const c of s) {
    if (c === "\\") {
      slashes++;
      continue;
    }
    if (c === '"') out += "\\".repeat(slashes * 2 + 1) + c;
    else out += "\\".repeat(slashes) + c;
    slashes = 0;
  }
  return out + "\\".repeat(slashes * 2) + '"';
}
