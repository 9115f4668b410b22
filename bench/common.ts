/**
 * Helpers shared by the benchmark scenarios in `bench/run.ts`: timing child
 * processes (wall time, and peak RSS through `/usr/bin/time -v`), medians,
 * the machine's description, and a table printer.
 *
 * Benchmarks are run on demand, never as tests.
 *
 * @module
 */
import { join } from "node:path";
import { ROOT, RUN_PERMISSIONS, RUN_V8_FLAGS } from "../testing/cli.ts";

/** The repository root. */
export { ROOT };

/** Where cached trees live unless `--dir` says otherwise. */
export const DEFAULT_BENCH_DIR: string = join(
  Deno.env.get("TMPDIR") ?? "/tmp",
  "callsync-bench",
);

/** One finished child process, measured. */
export interface Measured {
  code: number;
  wallMs: number;
  /** Peak resident set size in KiB (from `/usr/bin/time -v`), if measured. */
  maxRssKb?: number;
  stdout: string;
  stderr: string;
}

const TIME = "/usr/bin/time";

/** True when GNU time is installed (for peak RSS). */
export function haveGnuTime(): boolean {
  try {
    return Deno.statSync(TIME).isFile;
  } catch {
    return false;
  }
}

/**
 * Run a command to completion; wall time from just before spawn to exit,
 * peak RSS from GNU time when `rss` is true (its own overhead, ~1 ms, is in
 * the wall time of every run alike).
 */
export async function measure(
  cmd: string,
  args: string[],
  opts: {
    env?: Record<string, string>;
    cwd?: string;
    rss?: boolean;
    stdin?: string;
  } = {},
): Promise<Measured> {
  const rss = opts.rss && haveGnuTime();
  const command = new Deno.Command(rss ? TIME : cmd, {
    args: rss ? ["-v", cmd, ...args] : args,
    env: opts.env,
    cwd: opts.cwd,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const t0 = performance.now();
  const child = command.spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const wallMs = performance.now() - t0;
  const dec = new TextDecoder();
  let stderr = dec.decode(out.stderr);
  let maxRssKb: number | undefined;
  if (rss) {
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
    maxRssKb = m ? Number(m[1]) : undefined;
    const at = stderr.lastIndexOf("\tCommand being timed:");
    if (at >= 0) stderr = stderr.slice(0, at);
  }
  return {
    code: out.code,
    wallMs,
    maxRssKb,
    stdout: dec.decode(out.stdout),
    stderr,
  };
}

/**
 * The arguments that start callsync from source, as `deno task run` does
 * (with the V8 flags the binary bakes in); `v8Flags` replaces those flags
 * (`"none"`: no V8 flags).
 */
export function callsyncArgs(args: string[], v8Flags?: string): string[] {
  return [
    "run",
    ...RUN_PERMISSIONS,
    ...(v8Flags === undefined
      ? RUN_V8_FLAGS
      : v8Flags === "none"
      ? []
      : [`--v8-flags=${v8Flags}`]),
    join(ROOT, "main.ts"),
    ...args,
  ];
}

/**
 * Start `callsync watch --base-dir DIR -q` as a child (stderr shown), with
 * `env` on top of HOME/PATH/DENO_DIR; `v8Flags` as in {@link callsyncArgs}.
 */
export function spawnWatch(
  dir: string,
  env: Record<string, string>,
  v8Flags?: string,
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: callsyncArgs(["watch", "--base-dir", dir, "-q"], v8Flags),
    env: childEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

/** Environment for a child callsync: the CRM settings plus HOME/PATH/DENO_DIR. */
export function childEnv(
  extra: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["HOME", "PATH", "DENO_DIR"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) out[k] = v;
  }
  return { ...out, ...extra };
}

/** Median of numbers (mean of the middle two for an even count). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Round for display. */
export function fmt(x: number | undefined, digits = 1): string {
  if (x === undefined || Number.isNaN(x)) return "–";
  return x.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** A Markdown table. */
export function table(head: string[], rows: string[][]): string {
  const lines = [head, head.map(() => "---"), ...rows];
  return lines.map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/** nproc, memory, CPU model, Deno and curl versions. */
export async function machine(): Promise<Record<string, string>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown";
  const memKb = Number(/MemTotal:\s*(\d+)/.exec(meminfo)?.[1] ?? 0);
  const curl = await new Deno.Command("curl", { args: ["--version"] })
    .output()
    .then((o) => new TextDecoder().decode(o.stdout).split("\n")[0])
    .catch(() => "not installed");
  return {
    nproc: String(navigator.hardwareConcurrency),
    memory: `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    cpu: model,
    deno: `${Deno.version.deno} (V8 ${Deno.version.v8})`,
    curl,
    kernel: Deno.osRelease(),
  };
}

/** Print the machine's description as a Markdown list. */
export async function printMachine(): Promise<void> {
  const m = await machine();
  console.log(
    Object.entries(m).map(([k, v]) => `- ${k}: ${v}`).join("\n") + "\n",
  );
}

/**
 * The bench tree at `dir`: reused when a complete one is there (its
 * `.complete` marker is written last), else written anew by `build`, as
 * always with `rebuild`.
 */
export async function cachedTree(
  dir: string,
  rebuild: boolean,
  build: () => Promise<void>,
): Promise<string> {
  const marker = join(dir, ".complete");
  if (!rebuild && await Deno.stat(marker).then(() => true, () => false)) {
    console.log(`Using the cached tree ${dir} (--rebuild to write it anew)`);
    return dir;
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await build();
  await Deno.writeTextFile(marker, new Date().toISOString());
  return dir;
}

/** Free bytes in the file system holding `dir`, via `df`. */
export async function freeBytes(dir: string): Promise<number> {
  const out = await new Deno.Command("df", { args: ["-Pk", dir] }).output();
  const line = new TextDecoder().decode(out.stdout).trim().split("\n")[1];
  return Number(line?.split(/\s+/)[3] ?? 0) * 1024;
}

/** Parse `--name value` / `--flag` options after the scenario name. */
export function options(args: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
      out.set(a.slice(2), args[++i]);
    } else out.set(a.slice(2), "true");
  }
  return out;
}

/** Run `fn` over `items`, `limit` at a time. */
export async function parallel<T>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const it = items[Symbol.iterator]();
  const worker = async () => {
    for (let r = it.next(); !r.done; r = it.next()) await fn(r.value);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** Milliseconds between two ISO times of JSON log lines matching. */
export function logSpanMs(
  stderr: string,
  from: (msg: string) => boolean,
  to: (msg: string) => boolean,
): number | undefined {
  let first: number | undefined;
  let last: number | undefined;
  for (const line of stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    let ev: { time?: string; msg?: string };
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    const t = Date.parse(ev.time ?? "");
    if (first === undefined && from(ev.msg ?? "")) first = t;
    if (to(ev.msg ?? "")) last = t;
  }
  return first !== undefined && last !== undefined ? last - first : undefined;
}
