/**
 * Run the callsync CLI as a real child process against a fake CRM, for
 * integration tests.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FakeCrm, type FakeCrmOptions } from "./fake_crm.ts";
import { RUN_PERMISSIONS, RUN_V8_FLAGS } from "../lib/report/schedule.ts";
import { copyTree } from "./tree.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The permission flags `deno task compile` bakes into the binary. */
export { RUN_PERMISSIONS, RUN_V8_FLAGS };

/** What a CLI run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment pointing callsync at a fake CRM, with test-friendly timing. */
export function crmEnv(
  crm: Pick<FakeCrm, "uploadUrl" | "callDataUrl">,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    CRM_UPLOAD_URL: crm.uploadUrl,
    CRM_CALL_DATA_URL: crm.callDataUrl,
    DEFAULT_CAMPAIGN_ID: "campaign-1",
    DEFAULT_VOICE_AGENT_ID: "agent-1",
    DEFAULT_CLIENT_ID: "client-1",
    TIMEZONE: "UTC",
    UPLOAD_BATCH_SIZE: "0",
    ...extra,
  };
}

/**
 * The arguments after the `deno` executable that start the CLI with `args`,
 * with the compile task's permissions and V8 flags.
 */
export function cliArgs(args: string[], root: string = ROOT): string[] {
  return [
    "run",
    ...RUN_PERMISSIONS,
    ...RUN_V8_FLAGS,
    join(root, "main.ts"),
    ...args,
  ];
}

/** A copy of the program that every user may read and run. */
export interface SharedProgram extends AsyncDisposable {
  /** Holds `main.ts`, `deno.json` and `lib/`: pass it to {@link cliArgs}. */
  root: string;
  /** The Deno executable, linked or copied beside them. */
  deno: string;
}

/**
 * Copy `main.ts`, `deno.json`, `lib/` and the Deno executable into a fresh
 * temp folder that any user may enter and read (folders 0755, files 0644,
 * Deno 0755), for a test that drops to another user: the clone itself, and
 * the Deno that npx unpacked into a home folder, may lie in a folder only
 * their owner can enter.
 */
export async function sharedProgram(): Promise<SharedProgram> {
  const root = await Deno.makeTempDir({ prefix: "callsync-program-" });
  await copyTree(join(ROOT, "lib"), join(root, "lib"));
  for (const f of ["main.ts", "deno.json"]) {
    await Deno.copyFile(join(ROOT, f), join(root, f));
  }
  await openUp(root);
  const deno = join(root, "deno");
  await Deno.link(Deno.execPath(), deno)
    .catch(() => Deno.copyFile(Deno.execPath(), deno));
  await Deno.chmod(deno, 0o755);
  return {
    root,
    deno,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

/** Folders 0755 and files 0644, all the way down. */
async function openUp(path: string): Promise<void> {
  const isDir = (await Deno.lstat(path)).isDirectory;
  await Deno.chmod(path, isDir ? 0o755 : 0o644);
  if (!isDir) return;
  for await (const e of Deno.readDir(path)) await openUp(join(path, e.name));
}

/** Command that starts the CLI with the compile task's permissions and V8 flags. */
export function cliCommand(
  args: string[],
  env: Record<string, string>,
  opts: { stdout?: "piped" | "null"; stderr?: "piped" | "null" } = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: cliArgs(args),
    env: { ...passThrough(), ...env },
    clearEnv: true,
    stdin: "null",
    stdout: opts.stdout ?? "piped",
    stderr: opts.stderr ?? "piped",
  });
}

/** The few variables a child Deno needs from the parent (cache, home). */
function passThrough(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["HOME", "PATH", "DENO_DIR", "USERPROFILE", "SystemRoot"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Run the CLI to completion. */
export async function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<CliResult> {
  const out = await cliCommand(args, env).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** A temp copy of `fixtures/` and a fake CRM, removed on dispose. */
export interface Sandbox extends AsyncDisposable {
  dir: string;
  crm: FakeCrm;
  env: Record<string, string>;
  /** Run the CLI in this sandbox (`--base-dir` added). */
  run(args: string[], extraEnv?: Record<string, string>): Promise<CliResult>;
}

/**
 * Set up a sandbox: fixtures copied with mtimes a day old (so orphans are
 * due), and a fake CRM with `opts`.
 */
export async function sandbox(
  opts: FakeCrmOptions = {},
  env: Record<string, string> = {},
  fixtures = join(ROOT, "fixtures"),
): Promise<Sandbox> {
  const dir = await Deno.makeTempDir({ prefix: "callsync-test-" });
  await copyTree(fixtures, dir, Date.now() - 86_400_000);
  const crm = FakeCrm.start(opts);
  const base = crmEnv(crm, env);
  return {
    dir,
    crm,
    env: base,
    run: (args, extraEnv = {}) =>
      runCli([...args, "--base-dir", dir], { ...base, ...extraEnv }),
    async [Symbol.asyncDispose]() {
      await crm.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A TCP port on 127.0.0.1 free right now, for a child process to listen on. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
