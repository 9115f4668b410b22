/**
 * Scenario "idle": N delivered sets (3 files each) and nothing new; wall
 * time and peak RSS of one `callsync run`. The tree is cached under the
 * bench folder (`idle-<N>/`) and rebuilt only with `--rebuild`.
 *
 * @module
 */
import { join } from "node:path";
import { FakeCrm } from "../lib/fake_crm.ts";
import { makeOpusOgg } from "../testing/ogg_writer.ts";
import { crmEnv } from "../testing/cli.ts";
import {
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
export async function idleTree(
  benchDir: string,
  sets: number,
  rebuild: boolean,
): Promise<string> {
  const dir = join(benchDir, `idle-${sets}`);
  const marker = join(dir, ".complete");
  const cached = await Deno.stat(marker).then(() => true, () => false);
  if (cached && !rebuild) {
    console.log(`Using the cached tree ${dir} (--rebuild to write it anew)`);
    return dir;
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const t0 = performance.now();
  await writeTree(dir, {
    sets,
    durationSeconds: 2,
    recording: makeOpusOgg({ durationSeconds: 2, bytesPerSecond: 50 }),
    delivered: true,
  });
  await Deno.writeTextFile(marker, new Date().toISOString());
  console.log(
    `Wrote ${sets.toLocaleString("en-US")} delivered sets (${
      (sets * 4).toLocaleString("en-US")
    } files) to ${dir} in ${fmt((performance.now() - t0) / 1000)} s`,
  );
  return dir;
}

/** Result of the idle scenario. */
export interface IdleResult {
  sets: number;
  runs: Measured[];
  wallMs: number;
  maxRssMb: number;
}

/** Run the idle scenario: one warm-up run, then `runs` measured runs. */
export async function idle(
  benchDir: string,
  sets: number,
  runs: number,
  rebuild: boolean,
  v8Flags?: string,
): Promise<IdleResult> {
  const dir = await idleTree(benchDir, sets, rebuild);
  const journal = join(dir, "processed_uploads", "callsync-journal.jsonl");
  const journalSize = (await Deno.stat(journal)).size;
  const crm = FakeCrm.start();
  const measured: Measured[] = [];
  try {
    const env = childEnv(crmEnv(crm));
    for (let r = 0; r <= runs; r++) {
      const m = await measure(
        Deno.execPath(),
        callsyncArgs(["run", "--base-dir", dir], v8Flags),
        { env, rss: true },
      );
      if (m.code !== 0) {
        throw new Error(`idle run exited ${m.code}:\n${m.stderr.slice(-2000)}`);
      }
      if (r > 0) measured.push(m); // the first run only warms the caches
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
  const result: IdleResult = {
    sets,
    runs: measured,
    wallMs: median(measured.map((m) => m.wallMs)),
    maxRssMb: median(measured.map((m) => (m.maxRssKb ?? NaN) / 1024)),
  };
  console.log(
    table(
      [
        "delivered sets",
        "files",
        "V8 flags",
        "runs",
        "wall (median)",
        "peak RSS (median)",
      ],
      [[
        sets.toLocaleString("en-US"),
        (sets * 4).toLocaleString("en-US"),
        v8Flags ?? "–",
        String(runs),
        `${fmt(result.wallMs, 0)} ms`,
        `${fmt(result.maxRssMb)} MB`,
      ]],
    ),
  );
  console.log(
    `  all runs: ${
      measured.map((m) =>
        `${fmt(m.wallMs, 0)} ms/${fmt((m.maxRssKb ?? NaN) / 1024, 0)} MB`
      ).join(", ")
    }`,
  );
  return result;
}
