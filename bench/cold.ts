/**
 * Scenario "cold": wall time of `callsync --version` and of a run over
 * empty folders (nothing to send), beside a Deno program that only prints,
 * the floor of any `deno run`.
 *
 * @module
 */
import { join } from "node:path";
import { FakeCrm } from "../testing/fake_crm.ts";
import { crmEnv } from "../testing/cli.ts";
import {
  callsyncArgs,
  childEnv,
  fmt,
  measure,
  median,
  table,
} from "./common.ts";

/** Median wall times, in ms. */
export interface ColdResult {
  denoFloorMs: number;
  versionMs: number;
  emptyRunMs: number;
  emptyRunRssMb: number;
}

/** Run the cold-start scenario and print its table. */
export async function cold(
  benchDir: string,
  runs: number,
): Promise<ColdResult> {
  const dir = join(benchDir, "empty");
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  for (const f of ["conversations", "recordings", "leads"]) {
    await Deno.mkdir(join(dir, f), { recursive: true });
  }
  const hello = join(benchDir, "hello.ts");
  await Deno.writeTextFile(hello, 'console.log("hello");\n');
  const crm = FakeCrm.start();
  const env = childEnv(crmEnv(crm));
  const floor: number[] = [];
  const version: number[] = [];
  const empty: number[] = [];
  const rss: number[] = [];
  try {
    // One untimed round first: module compilation caches.
    for (let r = -1; r < runs; r++) {
      const f = await measure(Deno.execPath(), ["run", hello], { env });
      const v = await measure(Deno.execPath(), callsyncArgs(["--version"]), {
        env,
      });
      const e = await measure(
        Deno.execPath(),
        callsyncArgs(["run", "--base-dir", dir]),
        { env, rss: true },
      );
      if (v.code !== 0 || e.code !== 0) {
        throw new Error(`callsync failed: ${v.stderr}${e.stderr}`);
      }
      if (r < 0) continue;
      floor.push(f.wallMs);
      version.push(v.wallMs);
      empty.push(e.wallMs);
      rss.push((e.maxRssKb ?? NaN) / 1024);
    }
  } finally {
    await crm.close();
  }
  const res: ColdResult = {
    denoFloorMs: median(floor),
    versionMs: median(version),
    emptyRunMs: median(empty),
    emptyRunRssMb: median(rss),
  };
  console.log(`median of ${runs} runs (\`deno run\` from source)\n`);
  console.log(table(["command", "wall (median)", "min", "max"], [
    ["deno run hello.ts (floor)", ...[floor].flatMap(stats)],
    ["callsync --version", ...stats(version)],
    [
      `callsync run, empty folders (peak RSS ${fmt(res.emptyRunRssMb, 0)} MB)`,
      ...stats(empty),
    ],
  ]));
  return res;
}

function stats(xs: number[]): string[] {
  return [
    `${fmt(median(xs), 0)} ms`,
    `${fmt(Math.min(...xs), 0)} ms`,
    `${fmt(Math.max(...xs), 0)} ms`,
  ];
}
