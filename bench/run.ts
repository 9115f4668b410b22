/**
 * callsync's benchmarks, run on demand (never as tests):
 *
 * ```sh
 * deno run -A bench/run.ts idle [--sets 100000] [--runs 5] [--rebuild] [--v8-flags F|none]
 * deno run -A bench/run.ts grouping [--calls 100000] [--runs 5]
 * deno run -A bench/run.ts backlog [--sets 5000] [--runs 3] [--levels 1,4,16] [--delay 20] [--v8-flags F|none]
 * deno run -A bench/run.ts bigfile [--gib 2] [--runs 3] [--clean]
 * deno run -A bench/run.ts cold [--runs 20]
 * deno run -A bench/run.ts network [--rtt 0,80] [--levels 1,4,16] [--calls 100,400,1000] [--runs 3]
 * deno run -A bench/run.ts uploads [--sets 8] [--mib 50] [--concurrency 4] [--runs 3]
 * deno run -A bench/run.ts watch-latency [--minutes 10] [--interval 2] [--settle 10] [--delay 20]
 * deno run -A bench/run.ts watch-day [--sets 100000] [--calls 20000] [--trickle-minutes 20] [--idle-minutes 15] [--settle 2] [--v8-flags F]
 * deno run -A bench/run.ts all
 * ```
 *
 * `--dir DIR` puts the cached trees elsewhere (default
 * `$TMPDIR/callsync-bench`). Every scenario prints the machine and a
 * Markdown table of medians; see BENCHMARKS.md.
 *
 * @module
 */
import { DEFAULT_BENCH_DIR, options, printMachine } from "./common.ts";
import { backlog } from "./backlog.ts";
import { bigFile } from "./bigfile.ts";
import { cold } from "./cold.ts";
import { grouping } from "./grouping.ts";
import { idle } from "./idle.ts";
import { network } from "./network.ts";
import { uploads } from "./uploads.ts";
import { watchDay } from "./watch_day.ts";
import { watchLatency } from "./watch_latency.ts";

const [scenario = "help", ...rest] = Deno.args;
const opts = options(rest);
const dir = opts.get("dir") ?? DEFAULT_BENCH_DIR;
const num = (name: string, dflt: number) => Number(opts.get(name) ?? dflt);
const list = (name: string, dflt: string) =>
  (opts.get(name) ?? dflt).split(",").map(Number);

const SCENARIOS: Record<string, () => Promise<unknown>> = {
  idle: () =>
    idle(
      dir,
      num("sets", 100_000),
      num("runs", 5),
      opts.has("rebuild"),
      opts.get("v8-flags"),
    ),
  grouping: () =>
    Promise.resolve(grouping(num("calls", 100_000), num("runs", 5))),
  backlog: () =>
    backlog({
      benchDir: dir,
      sets: num("sets", 5000),
      runs: num("runs", 3),
      levels: list("levels", "1,4,16"),
      delayMs: num("delay", 20),
      rebuild: opts.has("rebuild"),
      v8Flags: opts.get("v8-flags"),
    }),
  bigfile: () =>
    bigFile({
      benchDir: dir,
      gib: num("gib", 2),
      runs: num("runs", 3),
      rebuild: opts.has("rebuild"),
      clean: opts.has("clean"),
    }),
  cold: () => cold(dir, num("runs", 20)),
  network: () =>
    network({
      benchDir: dir,
      rtts: list("rtt", "0,80"),
      levels: list("levels", "1,4,16"),
      calls: list("calls", "100,400,1000"),
      runs: num("runs", 3),
      rebuild: opts.has("rebuild"),
    }),
  uploads: () =>
    uploads({
      benchDir: dir,
      sets: num("sets", 8),
      mib: num("mib", 50),
      concurrency: num("concurrency", 4),
      runs: num("runs", 3),
      rebuild: opts.has("rebuild"),
    }),
  "watch-latency": () =>
    watchLatency({
      minutes: num("minutes", 10),
      intervalSeconds: num("interval", 2),
      settleSeconds: num("settle", 10),
      delayMs: num("delay", 20),
    }),
  "watch-day": () =>
    watchDay({
      benchDir: dir,
      sets: num("sets", 100_000),
      calls: num("calls", 20_000),
      trickleMinutes: num("trickle-minutes", 20),
      idleMinutes: num("idle-minutes", 15),
      settleSeconds: num("settle", 2),
      v8Flags: opts.get("v8-flags"),
    }),
};

if (!(scenario in SCENARIOS) && scenario !== "all") {
  console.log(
    `usage: deno run -A bench/run.ts <${
      [...Object.keys(SCENARIOS), "all"].join("|")
    }> [options]`,
  );
  Deno.exit(scenario === "help" ? 0 : 2);
}
await Deno.mkdir(dir, { recursive: true });
await printMachine();
for (const [name, fn] of Object.entries(SCENARIOS)) {
  if (scenario !== "all" && scenario !== name) continue;
  console.log(`\n## ${name}\n`);
  await fn();
}
