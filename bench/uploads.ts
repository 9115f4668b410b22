/**
 * Scenario "uploads": peak RSS of `callsync run` sending several large
 * recordings at once (default 8 sets of 50 MiB at `--concurrency` 4) to the
 * fake CRM over HTTPS: every body is streamed from disk, so memory must not
 * grow with the recordings.
 *
 * @module
 */
import { join } from "node:path";
import { FakeCrm } from "../testing/fake_crm.ts";
import { makeOpusOgg } from "../testing/ogg_writer.ts";
import { makeTestPki } from "../testing/test_ca.ts";
import { crmEnv } from "../testing/cli.ts";
import {
  cachedTree,
  callsyncArgs,
  childEnv,
  fmt,
  measure,
  median,
  table,
} from "./common.ts";
import { writeTree } from "./tree.ts";

/** Options of the uploads scenario. */
export interface UploadsOptions {
  benchDir: string;
  sets: number;
  mib: number;
  concurrency: number;
  runs: number;
  rebuild: boolean;
}

const SECONDS = 3600;

/** Run the uploads scenario and print its table. */
export async function uploads(o: UploadsOptions): Promise<void> {
  const dir = join(o.benchDir, `uploads-${o.sets}x${o.mib}`);
  await cachedTree(dir, o.rebuild, () =>
    writeTree(dir, {
      sets: o.sets,
      durationSeconds: SECONDS,
      recording: makeOpusOgg({
        durationSeconds: SECONDS,
        bytesPerSecond: o.mib * 2 ** 20 / SECONDS,
      }),
    }));
  const pki = await makeTestPki(["localhost"]);
  const caFile = join(dir, "ca.pem");
  await Deno.writeTextFile(caFile, pki.caCert);
  const rss: number[] = [];
  const walls: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    await Deno.remove(join(dir, "processed_uploads"), { recursive: true })
      .catch(() => {});
    const crm = FakeCrm.start({ tls: pki });
    try {
      const m = await measure(
        Deno.execPath(),
        callsyncArgs([
          "run",
          "--base-dir",
          dir,
          "--concurrency",
          String(o.concurrency),
        ]),
        {
          env: childEnv(crmEnv(crm, { CRM_CA_FILE: caFile })),
          rss: true,
        },
      );
      const accepted = crm.acceptedCallRecords().length;
      if (m.code !== 0 || accepted !== o.sets) {
        throw new Error(
          `callsync exited ${m.code}, ${accepted} of ${o.sets} accepted:\n${
            m.stderr.slice(-2000)
          }`,
        );
      }
      rss.push((m.maxRssKb ?? NaN) / 1024);
      walls.push(m.wallMs);
      console.log(
        `  run ${r + 1}: ${fmt(m.wallMs / 1000, 2)} s, ${
          fmt(rss.at(-1)!, 0)
        } MB`,
      );
    } finally {
      await crm.close();
    }
  }
  await Deno.remove(join(dir, "processed_uploads"), { recursive: true })
    .catch(() => {});
  console.log(table(
    ["recordings", "concurrency", "peak RSS (median)", "wall", "MiB/s"],
    [[
      `${o.sets} × ${o.mib} MiB`,
      String(o.concurrency),
      `${fmt(median(rss), 0)} MB (${rss.map((x) => fmt(x, 0)).join(", ")})`,
      `${fmt(median(walls) / 1000, 2)} s`,
      fmt(o.sets * o.mib / (median(walls) / 1000), 0),
    ]],
  ));
}
