/**
 * Scenario "bigfile": one call whose recording is about 2 GiB. Peak RSS of
 * callsync while it uploads (the upload must stream), and its throughput
 * against the fake CRM beside `curl -F` of the same file, alternating.
 *
 * @module
 */
import { join } from "node:path";
import { FakeCrm } from "../testing/fake_crm.ts";
import { crmEnv } from "../testing/cli.ts";
import { writeOpusOggFile } from "../testing/ogg_writer.ts";
import {
  cachedTree,
  callsyncArgs,
  childEnv,
  fmt,
  freeBytes,
  logSpanMs,
  measure,
  median,
  table,
} from "./common.ts";
import { benchSet, leadJson, transcriptJson } from "./tree.ts";

/** Options of the big-file scenario. */
export interface BigFileOptions {
  benchDir: string;
  gib: number;
  runs: number;
  rebuild: boolean;
  /** Delete the tree afterwards (it is large). */
  clean: boolean;
}

/** Medians of the big-file scenario. */
export interface BigFileResult {
  bytes: number;
  callsyncWallMs: number;
  callsyncUploadMs: number;
  callsyncRssMb: number;
  curlWallMs: number;
  curlRssMb: number;
  ratio: number;
}

const SECONDS = 3600;

function bigTree(o: BigFileOptions): Promise<string> {
  const dir = join(o.benchDir, `bigfile-${o.gib}`);
  return cachedTree(dir, o.rebuild, async () => {
    const want = o.gib * 2 ** 30;
    const free = await freeBytes(o.benchDir);
    if (free < want * 1.2) {
      throw new Error(
        `only ${fmt(free / 2 ** 30)} GiB free in ${o.benchDir}; need ${
          fmt(want * 1.2 / 2 ** 30)
        }`,
      );
    }
    for (const f of ["conversations", "recordings", "leads"]) {
      await Deno.mkdir(join(dir, f), { recursive: true });
    }
    const s = benchSet(0);
    const t0 = performance.now();
    const bytes = await writeOpusOggFile(join(dir, "recordings", s.recording), {
      durationSeconds: SECONDS,
      bytesPerSecond: want / SECONDS,
    });
    await Deno.writeTextFile(
      join(dir, "conversations", s.conversation),
      transcriptJson(s, SECONDS),
    );
    await Deno.writeTextFile(join(dir, "leads", s.lead), leadJson(s));
    const old = (Date.now() - 2 * 86_400_000) / 1000;
    for (
      const [f, n] of [["recordings", s.recording], [
        "conversations",
        s.conversation,
      ], ["leads", s.lead]]
    ) {
      await Deno.utime(join(dir, f, n), old, old);
    }
    console.log(
      `Wrote a ${fmt(bytes / 2 ** 30, 2)} GiB recording in ${
        fmt((performance.now() - t0) / 1000)
      } s to ${dir}`,
    );
  });
}

/** Run the big-file scenario and print its table. */
export async function bigFile(o: BigFileOptions): Promise<BigFileResult> {
  const dir = await bigTree(o);
  const rec = join(dir, "recordings", benchSet(0).recording);
  const bytes = (await Deno.stat(rec)).size;
  const cs: { wallMs: number; uploadMs: number; rssMb: number }[] = [];
  const curl: { wallMs: number; rssMb: number }[] = [];
  for (let r = 0; r < o.runs; r++) {
    const order = r % 2 === 0 ? ["callsync", "curl"] : ["curl", "callsync"];
    for (const who of order) {
      const crm = FakeCrm.start();
      try {
        if (who === "curl") {
          const m = await measure("curl", [
            "-sS",
            "-f",
            "-o",
            "/dev/null",
            "-H",
            "Expect:",
            "-F",
            `file=@${rec};type=audio/ogg`,
            crm.uploadUrl,
          ], { rss: true });
          const got = crm.requests.find((q) => q.endpoint === "upload");
          if (m.code !== 0 || got?.fileSize !== bytes) {
            throw new Error(`curl exited ${m.code}: ${m.stderr}`);
          }
          curl.push({ wallMs: m.wallMs, rssMb: (m.maxRssKb ?? NaN) / 1024 });
        } else {
          await Deno.remove(join(dir, "processed_uploads"), { recursive: true })
            .catch(() => {});
          const m = await measure(
            Deno.execPath(),
            callsyncArgs(["run", "--base-dir", dir, "--log-format", "json"]),
            { env: childEnv(crmEnv(crm)), rss: true },
          );
          const got = crm.requests.find((q) => q.endpoint === "upload");
          if (m.code !== 0 || got?.fileSize !== bytes) {
            throw new Error(
              `callsync exited ${m.code}:\n${m.stderr.slice(-2000)}`,
            );
          }
          const uploadMs = logSpanMs(
            m.stderr,
            (msg) => msg.startsWith("Matched recording: "),
            (msg) => msg.startsWith("Recording uploaded: "),
          );
          cs.push({
            wallMs: m.wallMs,
            uploadMs: uploadMs ?? NaN,
            rssMb: (m.maxRssKb ?? NaN) / 1024,
          });
        }
      } finally {
        await crm.close();
      }
    }
    console.log(
      `  run ${r + 1}: callsync ${fmt(cs.at(-1)!.wallMs / 1000, 2)} s (upload ${
        fmt(cs.at(-1)!.uploadMs / 1000, 2)
      } s, ${fmt(cs.at(-1)!.rssMb, 0)} MB), curl ${
        fmt(curl.at(-1)!.wallMs / 1000, 2)
      } s`,
    );
  }
  await Deno.remove(join(dir, "processed_uploads"), { recursive: true })
    .catch(() => {});
  const res: BigFileResult = {
    bytes,
    callsyncWallMs: median(cs.map((m) => m.wallMs)),
    callsyncUploadMs: median(cs.map((m) => m.uploadMs)),
    callsyncRssMb: median(cs.map((m) => m.rssMb)),
    curlWallMs: median(curl.map((m) => m.wallMs)),
    curlRssMb: median(curl.map((m) => m.rssMb)),
    ratio: 0,
  };
  res.ratio = res.curlWallMs / res.callsyncWallMs;
  const mbps = (ms: number) => fmt(bytes / 2 ** 20 / (ms / 1000), 0);
  console.log(
    `\n${fmt(bytes / 2 ** 30, 2)} GiB recording, median of ${o.runs} runs\n`,
  );
  console.log(table(
    ["tool", "wall", "MiB/s (whole run)", "MiB/s (upload only)", "peak RSS"],
    [
      [
        "callsync run",
        `${fmt(res.callsyncWallMs / 1000, 2)} s`,
        mbps(res.callsyncWallMs),
        mbps(res.callsyncUploadMs),
        `${fmt(res.callsyncRssMb, 0)} MB`,
      ],
      [
        "curl -F",
        `${fmt(res.curlWallMs / 1000, 2)} s`,
        mbps(res.curlWallMs),
        "–",
        `${fmt(res.curlRssMb, 0)} MB`,
      ],
    ],
  ));
  console.log(
    `\ncallsync / curl throughput (whole run): ${fmt(res.ratio * 100, 0)} %`,
  );
  if (o.clean) {
    await Deno.remove(dir, { recursive: true });
    console.log(`Removed ${dir}`);
  }
  return res;
}
