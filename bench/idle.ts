/**
 * Scenario "idle": N delivered sets (3 files each) and nothing new; wall
 * time and peak RSS of one `callsync run`. The tree is cached under the
 * bench folder (`idle-<N>/`) and rebuilt only with `--rebuild`.
 *
 * @module
 */
import { join } from "node:path";
import { FakeCrm } from "../testing/fake_crm.ts";
import { makeOpusOgg } from "../testing/ogg_writer.ts";
import { crmEnv, RUN_V8_FLAGS } from "../testing/cli.ts";
import {
  cachedTree,
  callsyncArgs,
  childEnv,
  fmt,
  measure,
  type Measured,
  median,
  table,
} from "./common.ts";
import { writeTree } from "./tree.ts";

/** Build (or reuse) the idle tree of `sets` delivered sets; returns its path. */
export function idleTree(
  benchDir: string,
  sets: number,
  rebuild: boolean,
): Promise<string> {
  const dir = join(benchDir, `idle-${sets}`);
  return cachedTree(dir, rebuild, async () => {
    const t0 = performance.now();
    await writeTree(dir, {
      sets,
      durationSeconds: 2,
      recording: makeOpusOgg({ durationSeconds: 2, bytesPerSecond: 50 }),
      delivered: true,
    });
    console.log(
      `Wrote ${sets.toLocaleString("en-US")} delivered sets (${
        (sets * 4).toLocaleString("en-US")
      } files) to ${dir} in ${fmt((performance.now() - t0) / 1000)} s`,
    );
  });
}

/** Wall time and peak memory of one kind of idle run. */
export interface IdleCase {
  runs: Measured[];
  wallMs: number;
  maxRssMb: number;
}

/** Result of the idle scenario. */
export interface IdleResult {
  sets: number;
  /** The folders unchanged since the last run: their listings are reused. */
  unchanged: IdleCase;
  /** Listings forgotten (as after a folder changed): every folder is listed. */
  listed: IdleCase;
}

const CASES = ["unchanged", "listed"] as const;

/**
 * Run the idle scenario: one warm-up run, then `runs` measured runs of each
 * case, alternating. The "listed" case deletes `callsync-listing.json` first,
 * which makes the run list all three folders, as after every folder changed.
 */
export async function idle(
  benchDir: string,
  sets: number,
  runs: number,
  rebuild: boolean,
  v8Flags?: string,
): Promise<IdleResult> {
  const dir = await idleTree(benchDir, sets, rebuild);
  const state = join(dir, "processed_uploads");
  const journal = join(state, "callsync-journal.jsonl");
  const journalSize = (await Deno.stat(journal)).size;
  const crm = FakeCrm.start();
  const measured = { unchanged: [] as Measured[], listed: [] as Measured[] };
  try {
    const env = childEnv(crmEnv(crm));
    const runOnce = async () => {
      const m = await measure(
        Deno.execPath(),
        callsyncArgs(["run", "--base-dir", dir], v8Flags),
        { env, rss: true },
      );
      if (m.code !== 0) {
        throw new Error(`idle run exited ${m.code}:\n${m.stderr.slice(-2000)}`);
      }
      return m;
    };
    await runOnce(); // warms the caches and lists every folder
    for (let r = 0; r < runs; r++) {
      for (const c of CASES) {
        if (c === "listed") {
          await Deno.remove(join(state, "callsync-listing.json"));
        }
        measured[c].push(await runOnce());
      }
    }
    if (crm.requests.length > 0) {
      throw new Error(`an idle run sent ${crm.requests.length} requests`);
    }
  } finally {
    await crm.close();
  }
  const after = (await Deno.stat(journal)).size;
  if (after !== journalSize) {
    throw new Error(
      `the journal grew from ${journalSize} to ${after} bytes: the tree's records were not all indexed`,
    );
  }
  const summarise = (ms: Measured[]): IdleCase => ({
    runs: ms,
    wallMs: median(ms.map((m) => m.wallMs)),
    maxRssMb: median(ms.map((m) => (m.maxRssKb ?? NaN) / 1024)),
  });
  const result: IdleResult = {
    sets,
    unchanged: summarise(measured.unchanged),
    listed: summarise(measured.listed),
  };
  console.log(
    table(
      [
        "delivered sets",
        "files",
        "folders",
        "V8 flags",
        "runs",
        "wall (median)",
        "peak RSS (median)",
      ],
      CASES.map((c) => [
        sets.toLocaleString("en-US"),
        (sets * 4).toLocaleString("en-US"),
        c === "unchanged" ? "unchanged (listings reused)" : "all listed",
        v8Flags === undefined ? RUN_V8_FLAGS.join(" ") : v8Flags,
        String(runs),
        `${fmt(result[c].wallMs, 0)} ms`,
        `${fmt(result[c].maxRssMb)} MB`,
      ]),
    ),
  );
  await listingFloor(benchDir, dir, runs);
  for (const c of CASES) {
    console.log(
      `  ${c}: ${
        measured[c].map((m) =>
          `${fmt(m.wallMs, 0)} ms/${fmt((m.maxRssKb ?? NaN) / 1024, 0)} MB`
        ).join(", ")
      }`,
    );
  }
  return result;
}

/**
 * The floor of any Deno implementation: a program that only lists the four
 * folders and keeps nothing, with the async `Deno.readDir` (the four side
 * by side) and with `Deno.readDirSync` (one after another).
 */
const FLOOR_SCRIPT = `
const [base, mode] = Deno.args;
const dirs = ["processed_uploads", "conversations", "recordings", "leads"];
let n = 0;
if (mode === "async") {
  await Promise.all(dirs.map(async (d) => {
    for await (const e of Deno.readDir(base + "/" + d)) if (e.name) n++;
  }));
} else {
  for (const d of dirs) for (const e of Deno.readDirSync(base + "/" + d)) if (e.name) n++;
}
console.log(n);
`;

async function listingFloor(
  benchDir: string,
  dir: string,
  runs: number,
): Promise<void> {
  const script = join(benchDir, "list-floor.ts");
  await Deno.writeTextFile(script, FLOOR_SCRIPT);
  const rows: string[][] = [];
  for (const mode of ["async", "sync"]) {
    const ms: number[] = [];
    const mb: number[] = [];
    for (let r = 0; r <= runs; r++) {
      const m = await measure(
        Deno.execPath(),
        ["run", "--allow-read", script, dir, mode],
        { rss: true },
      );
      if (m.code !== 0) throw new Error(m.stderr);
      if (r === 0) continue;
      ms.push(m.wallMs);
      mb.push((m.maxRssKb ?? NaN) / 1024);
    }
    rows.push([
      mode === "async"
        ? "Deno.readDir, 4 folders side by side"
        : "Deno.readDirSync, one after another",
      `${fmt(median(ms), 0)} ms`,
      `${fmt(median(mb))} MB`,
    ]);
  }
  console.log("\nFloor: a program that only lists the four folders\n");
  console.log(table(["listing", "wall (median)", "peak RSS (median)"], rows));
}
