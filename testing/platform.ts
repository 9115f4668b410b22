/**
 * What differs between the systems the suite runs on (Linux, and Windows —
 * under Wine in CI), in one place:
 *
 * - {@link testOn}: a test that cannot run here is still listed, and the
 *   runner prints why (`… [skipped: …] ... ignored`); never a silent skip.
 * - {@link byOs}: the expectation for this system, side by side.
 * - {@link killHard}: SIGKILL on POSIX, TerminateProcess on Windows, and
 *   whether it landed while the child still ran; {@link stopChild}: the
 *   graceful stop where a test can send one.
 * - {@link symlinkFile} and {@link CAN_SYMLINK}: links with the type Windows
 *   needs, and whether this process can make any.
 *
 * A new test that meets a difference uses these instead of its own check:
 *
 * @example
 * ```ts
 * Deno.test(testOn(posix("chmod cannot make a file unreadable"), {
 *   name: "unreadable files are reported as permission denied",
 *   async fn() {},
 * }));
 * ```
 *
 * @module
 */
import { join } from "node:path";

/** True under the Windows build of Deno (on Windows, or under Wine). */
export const IS_WINDOWS: boolean = Deno.build.os === "windows";

/** Where a test runs, and why not elsewhere. */
export interface Where {
  /** True when the test can run on this system. */
  runs: boolean;
  /** Why it cannot, printed in the test's name when it is skipped. */
  reason: string;
}

/**
 * The arguments `schedule --print windows` hands `schtasks` before and after
 * the task's command (`/tr …`): a task named callsync every five minutes, run
 * as SYSTEM whether or not anyone is logged on, replacing one of that name.
 */
export const SCHTASKS_ARGS: { before: string[]; after: string[] } = {
  before: ["/create", "/tn", "callsync", "/tr"],
  after: ["/sc", "minute", "/mo", "5", "/ru", "SYSTEM", "/rl", "HIGHEST", "/f"],
};

/** Runs except on Windows, which lacks what `reason` names. */
export function posix(reason: string): Where {
  return { runs: !IS_WINDOWS, reason: `not on Windows: ${reason}` };
}

/** Runs only on Windows (and under Wine), for `reason`. */
export function windowsOnly(reason: string): Where {
  return { runs: IS_WINDOWS, reason: `only on Windows: ${reason}` };
}

/** Runs where `runs` holds; `reason` says what is missing elsewhere. */
export function when(runs: boolean, reason: string): Where {
  return { runs, reason };
}

/**
 * The test definition, or where it cannot run, the same test ignored with
 * `[skipped: reason]` at the end of its name, so the runner's
 * `… ignored` line says why.
 */
export function testOn(
  where: Where,
  def: Deno.TestDefinition,
): Deno.TestDefinition {
  if (where.runs) return def;
  return {
    ...def,
    name: `${def.name} [skipped: ${where.reason}]`,
    ignore: true,
  };
}

/**
 * The value for this system: `windows` under the Windows build of Deno,
 * `posix` elsewhere.
 *
 * @example
 * ```ts
 * const base = byOs({ posix: "/srv/bot", windows: "C:\\voicebot" });
 * ```
 */
export function byOs<T>(values: { posix: T; windows: T }): T {
  return IS_WINDOWS ? values.windows : values.posix;
}

/**
 * File names HTML must escape, as this system allows them: `call` for a
 * transcript that parses, `broken` for one that does not. Windows forbids
 * `<`, `>` and `"` in names, so there they break out with `'` and `&`.
 */
export const HOSTILE_NAMES: { call: string; broken: string } = byOs({
  posix: {
    call: "<img src=x onerror=alert(1)>.json",
    broken: "<svg onload=alert(3)>.json",
  },
  windows: {
    call: "x' onmouseover='alert(1)' & y.json",
    broken: "' onfocus='alert(3)' & z.json",
  },
});

/**
 * Why Windows refuses `name` as a file or folder name, or undefined when it
 * takes it: the characters `<>:"/\\|?*` and control characters, a final
 * dot or space (dropped without a word), device names such as `CON` or
 * `com1.json`.
 */
export function windowsNameProblem(name: string): string | undefined {
  if ([...name].some((c) => c < " " || '<>:"/\\|?*'.includes(c))) {
    return "holds a character Windows forbids in names";
  }
  if (/[. ]$/.test(name)) return "ends in a dot or a space";
  if (/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i.test(name)) {
    return "is a device name";
  }
  return undefined;
}

/** The outcome of {@link killHard}. */
export interface Killed {
  /** True when the kill found the child still running and ended it. */
  landed: boolean;
  status: Deno.CommandStatus;
}

/**
 * End `child` at once — SIGKILL on POSIX, TerminateProcess on Windows (which
 * has no signals: the child exits with code 1) — and wait for it. A child
 * that had already finished is not counted as killed.
 */
export async function killHard(child: Deno.ChildProcess): Promise<Killed> {
  let sent = true;
  try {
    child.kill("SIGKILL");
  } catch {
    // "Child process has already terminated" (Windows), or reaped already.
    sent = false;
  }
  const status = await child.status;
  const landed = sent &&
    (IS_WINDOWS
      ? status.code === 1 && status.signal === null
      : status.signal === "SIGKILL");
  return { landed, status };
}

/**
 * Where a test can ask a child to stop gracefully: Deno sends no Ctrl-C or
 * Ctrl-Break to a child on Windows (its `kill()` is TerminateProcess), so a
 * long-running command's graceful stop is shown on POSIX only there.
 */
export const GRACEFUL_STOP: Where = posix(
  "Deno cannot send Ctrl-C or Ctrl-Break to a child process (kill() is TerminateProcess); README: Windows",
);

/**
 * Where a watched folder that is removed raises an event: Windows watches a
 * folder's contents only (ReadDirectoryChangesW), so watch finds a removed
 * folder at its periodic rescan there.
 */
export const REMOVED_FOLDER_EVENT: Where = posix(
  "no event for a removed watched folder (ReadDirectoryChangesW reports its contents only): found at the periodic rescan, WATCH_RESCAN_SECONDS; README: Windows",
);

/**
 * Where dropped file events are flagged for a rescan: under the Windows
 * build (in Wine) the flag never came, so watch finds those files at its
 * periodic rescan there.
 */
export const OVERFLOW_FLAG: Where = posix(
  "dropped file events raise no rescan flag (not under Wine; unreviewed on Windows): the files are found at the periodic rescan, WATCH_RESCAN_SECONDS; README: Windows",
);

/** The outcome of {@link stopChild}. */
export interface Stopped {
  /** True when the child was asked to stop (SIGTERM), not terminated. */
  graceful: boolean;
  status: Deno.CommandStatus;
}

/**
 * Stop a long-running child (`watch`, `serve`): SIGTERM where
 * {@link GRACEFUL_STOP} runs, else terminated with {@link killHard}.
 */
export async function stopChild(child: Deno.ChildProcess): Promise<Stopped> {
  if (!GRACEFUL_STOP.runs) {
    return { graceful: false, status: (await killHard(child)).status };
  }
  child.kill("SIGTERM");
  return { graceful: true, status: await child.status };
}

/**
 * A symlink at `path` to the file `target` (absolute, or relative to the
 * link's folder). Windows needs to be told it is a file link when the
 * target does not exist (yet); POSIX ignores the type.
 */
export async function symlinkFile(target: string, path: string): Promise<void> {
  await Deno.symlink(target, path, { type: "file" });
}

/**
 * Whether this process can make symlinks: Windows allows it only with
 * Developer Mode or as an administrator, and Wine makes none at all (the
 * call returns and no link appears).
 */
export const CAN_SYMLINK: boolean = await probeSymlink();

/** The reason symlink tests give where {@link CAN_SYMLINK} is false. */
export const NO_SYMLINKS =
  "this system makes no symlinks (Windows without Developer Mode or admin; Wine)";

/** Where a test can make symlinks ({@link CAN_SYMLINK}). */
export const SYMLINKS: Where = when(CAN_SYMLINK, NO_SYMLINKS);

/**
 * Where file modes are permissions: not on Windows, where a folder's ACL
 * decides who reads it (README, "Windows": permissions).
 */
export const FILE_MODES: Where = posix(
  "file modes are not permissions (the folder's ACL decides; README: Windows)",
);

async function probeSymlink(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "callsync-link-probe-" });
  try {
    await Deno.writeTextFile(join(dir, "target"), "");
    await symlinkFile(join(dir, "target"), join(dir, "link"));
    return (await Deno.lstat(join(dir, "link"))).isSymlink;
  } catch {
    return false;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
