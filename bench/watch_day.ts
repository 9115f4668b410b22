/**
 * Scenario "watch-day": a simulated day of `callsync watch` on a host that
 * already holds `--sets` delivered sets. `--calls` calls are trickled in over
 * `--trickle-minutes` (a day in accelerated time: recording, transcript,
 * and a lead for half of them), then nothing happens for `--idle-minutes`
 * (rescans and heartbeats go on). The watch process is sampled from /proc
 * every 5 s: CPU, resident memory (and its peak, VmHWM), open files. The
 * floor, sampled over the same idle span: a bare Deno process awaiting a
 * watcher on the same folders. Linux only (/proc).
 *
 * @module
 */
import { join } from "node:path";
import { FakeCrm } from "../testing/fake_crm.ts";
import { makeOpusOgg } from "../testing/ogg_writer.ts";
import { crmEnv } from "../testing/cli.ts";
import { fmt, spawnWatch, table } from "./common.ts";
import {
  leadJson,
  liveBenchSet,
  transcriptJson,
  type TreeOptions,
  writeTree,
} from "./tree.ts";

/** Options of {@link watchDay}. */
export interface WatchDayOptions {
  benchDir: string;
  sets: number;
  calls: number;
  trickleMinutes: number;
  idleMinutes: number;
  settleSeconds: number;
  v8Flags?: string;
}

/** One /proc sample of a process. */
interface Sample {
  atMs: number;
  cpuSeconds: number;
  rssMb: number;
  peakMb: number;
  fds: number;
}

/** Run the scenario; prints a table. */
export async function watchDay(opts: WatchDayOptions): Promise<void> {
  const dir = join(opts.benchDir, `watch-day-${opts.sets}`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const recording = makeOpusOgg({ durationSeconds: 2, bytesPerSecond: 50 });
  const tree: TreeOptions = {
    sets: opts.sets,
    durationSeconds: 2,
    recording,
    delivered: true,
  };
  const t0 = performance.now();
  await writeTree(dir, tree);
  console.log(
    `Wrote ${opts.sets} delivered sets in ${
      fmt((performance.now() - t0) / 1000)
    } s`,
  );
  const crm = FakeCrm.start({ delayMs: 5 });
  const child = spawnWatch(
    dir,
    crmEnv(crm, { SETTLE_SECONDS: String(opts.settleSeconds) }),
    opts.v8Flags,
  );
  let floor: Deno.ChildProcess | undefined;
  try {
    const samples: Sample[] = [];
    const sampler = setInterval(() => {
      const s = sample(child.pid);
      if (s) samples.push(s);
    }, 5000);
    await waitForWatch(child.pid);
    const trickleStart = Date.now();
    await trickle(dir, opts);
    const delivered = await waitForDeliveries(crm, opts.calls);
    const idleStart = Date.now();
    floor = startFloor(dir);
    // The floor's own start-up is not idle time.
    await new Promise((r) => setTimeout(r, 30_000));
    const floorStart = sample(floor.pid);
    console.log(
      `${delivered} of ${opts.calls} delivered ${
        fmt((idleStart - trickleStart) / 60_000)
      } min after the first call; now idle for ${opts.idleMinutes} min`,
    );
    await new Promise((r) => setTimeout(r, opts.idleMinutes * 60_000));
    const floorEnd = sample(floor.pid);
    clearInterval(sampler);
    report(opts, samples, idleStart, floorStart, floorEnd, crm);
  } finally {
    floor?.kill("SIGKILL");
    await floor?.status;
    child.kill("SIGTERM");
    await child.status;
    await crm.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Write `calls` new calls, evenly over the trickle span. */
async function trickle(dir: string, opts: WatchDayOptions): Promise<void> {
  const ogg = makeOpusOgg({ durationSeconds: 2, bytesPerSecond: 50 });
  const spacingMs = opts.trickleMinutes * 60_000 / opts.calls;
  const start = Date.now();
  for (let i = 0; i < opts.calls; i++) {
    // A call of 2 s that just ended: names and file times as the bot writes them.
    const s = liveBenchSet(Date.now() - 2000, i);
    await Deno.writeFile(join(dir, "recordings", s.recording), ogg);
    await Deno.writeTextFile(
      join(dir, "conversations", s.conversation),
      transcriptJson(s, 2, i % 2 === 0),
    );
    if (i % 2 === 0) {
      await Deno.writeTextFile(join(dir, "leads", s.lead), leadJson(s));
    }
    const due = start + (i + 1) * spacingMs;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

/** Resolves once `n` call records were accepted (or 10 min without progress). */
async function waitForDeliveries(crm: FakeCrm, n: number): Promise<number> {
  let last = -1;
  let since = Date.now();
  while (true) {
    const accepted = crm.requests.filter((r) =>
      r.endpoint === "call-data" && r.answer === 200
    ).length;
    if (accepted >= n) return accepted;
    if (accepted !== last) {
      last = accepted;
      since = Date.now();
    } else if (Date.now() - since > 600_000) return accepted;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Waits until the watch process has opened its watcher (inotify fd). */
async function waitForWatch(pid: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
        const target = Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`);
        if (target.includes("inotify")) return;
      }
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("callsync watch did not start watching within 5 minutes");
}

/** A bare Deno awaiting a watcher on the same folders: the floor. */
function startFloor(dir: string): Deno.ChildProcess {
  const dirs = ["conversations", "recordings", "leads"].map((f) =>
    join(dir, f)
  );
  return new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `for await (const _ of Deno.watchFs(${JSON.stringify(dirs)})) {}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

function sample(pid: number): Sample | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(f[11]) + Number(f[12]);
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (k: string) =>
      Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return {
      atMs: Date.now(),
      cpuSeconds: ticks / 100,
      rssMb: kb("VmRSS") / 1024,
      peakMb: kb("VmHWM") / 1024,
      fds: [...Deno.readDirSync(`/proc/${pid}/fd`)].length,
    };
  } catch {
    return undefined;
  }
}

function report(
  opts: WatchDayOptions,
  samples: Sample[],
  idleStart: number,
  floorStart: Sample | undefined,
  floorEnd: Sample | undefined,
  crm: FakeCrm,
): void {
  const idle = samples.filter((s) => s.atMs >= idleStart + 30_000);
  const first = idle[0];
  const last = idle.at(-1);
  if (!first || !last || !floorStart || !floorEnd) {
    console.log("not enough samples");
    return;
  }
  const cpu = (a: Sample, b: Sample) =>
    100 * (b.cpuSeconds - a.cpuSeconds) / ((b.atMs - a.atMs) / 1000);
  const calls = crm.requests.filter((r) =>
    r.endpoint === "call-data" && r.answer === 200
  );
  const keys = new Set(calls.map((r) => r.idempotencyKey));
  console.log(table(
    [
      "",
      "idle CPU (% of a core)",
      "RSS idle start → end",
      "open files idle start → end",
      "peak RSS (VmHWM)",
    ],
    [
      [
        "callsync watch",
        fmt(cpu(first, last), 2),
        `${fmt(first.rssMb)} → ${fmt(last.rssMb)} MB`,
        `${first.fds} → ${last.fds}`,
        `${fmt(last.peakMb)} MB`,
      ],
      [
        "floor: bare watcher",
        fmt(cpu(floorStart, floorEnd), 2),
        `${fmt(floorStart.rssMb)} → ${fmt(floorEnd.rssMb)} MB`,
        `${floorStart.fds} → ${floorEnd.fds}`,
        `${fmt(floorEnd.peakMb)} MB`,
      ],
    ],
  ));
  console.log(
    `${opts.sets} delivered sets before, ${calls.length} call records accepted (${keys.size} distinct keys); V8 flags: ${
      opts.v8Flags ?? "the binary's"
    }; targets: ≤ 1 % CPU, no growth, peak < 120 MB`,
  );
  console.log(
    "RSS over the run (MB, every 5 s): " +
      samples.filter((_, i) => i % 12 === 0).map((s) => fmt(s.rssMb, 0))
        .join(" "),
  );
}
