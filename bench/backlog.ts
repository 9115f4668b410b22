/**
 * Scenario "backlog": N new sets (200 KB recordings) against the fake CRM
 * (20 ms per answer) at several `--concurrency` levels, in sets per second,
 * beside the floor: `curl` sending the same two requests per set (multipart
 * upload with `-F file=@…`, then the JSON POST) under `xargs -P` at the same
 * parallelism. Both run against a fresh fake CRM each time, alternating.
 *
 * @module
 */
import { join } from "node:path";
import { FakeCrm } from "../testing/fake_crm.ts";
import { crmEnv } from "../testing/cli.ts";
import { makeOpusOgg } from "../testing/ogg_writer.ts";
import {
  cachedTree,
  callsyncArgs,
  childEnv,
  fmt,
  logSpanMs,
  measure,
  median,
  table,
} from "./common.ts";
import { type BenchSet, benchSet, writeTree } from "./tree.ts";

/** Options of the backlog scenario. */
export interface BacklogOptions {
  benchDir: string;
  sets: number;
  runs: number;
  levels: number[];
  delayMs: number;
  rebuild: boolean;
  /** V8 flags of callsync (`none`: none; default: the binary's). */
  v8Flags?: string;
}

/** One level's medians. */
export interface BacklogRow {
  concurrency: number;
  callsyncSetsPerSecond: number;
  /** Sets per second counted from the first set started to the last one recorded. */
  callsyncDeliveryPerSecond: number;
  callsyncRssMb: number;
  /** A shell per set, two curl invocations. */
  curlShSetsPerSecond: number;
  /** One curl per set, both requests from a config file (`--next`). */
  curlConfigSetsPerSecond: number;
  /** The faster of the two curl floors. */
  curlSetsPerSecond: number;
  ratio: number;
}

const RECORDING_SECONDS = 60;
const RECORDING_BYTES_PER_SECOND = 3300; // ≈ 200 KB per recording

function backlogTree(o: BacklogOptions): Promise<string> {
  const dir = join(o.benchDir, `backlog-${o.sets}`);
  return cachedTree(dir, o.rebuild, async () => {
    const recording = makeOpusOgg({
      durationSeconds: RECORDING_SECONDS,
      bytesPerSecond: RECORDING_BYTES_PER_SECOND,
    });
    await writeTree(dir, {
      sets: o.sets,
      durationSeconds: RECORDING_SECONDS,
      recording,
    });
    // curl's work list: the recording and the JSON body (the transcript file,
    // about the size of the call record callsync builds around it).
    const lines: string[] = [];
    for (let i = 0; i < o.sets; i++) {
      const s = benchSet(i);
      lines.push(
        `${join(dir, "recordings", s.recording)} ${
          join(dir, "conversations", s.conversation)
        }`,
      );
    }
    await Deno.writeTextFile(
      join(dir, "curl-list.txt"),
      lines.join("\n") + "\n",
    );
    console.log(
      `Wrote ${o.sets} new sets with ${
        Math.round(recording.length / 1024)
      } KB recordings to ${dir}`,
    );
  });
}

/** The two requests of one set, as curl sends them. */
const CURL_SET = `set -e
curl -sS -f -o /dev/null -H 'Expect:' -H 'Idempotency-Key: bench' \\
  -F "file=@$1;type=audio/ogg" "$CRM_UPLOAD_URL"
curl -sS -f -o /dev/null -H 'Content-Type: application/json' \\
  -H 'Idempotency-Key: bench' --data-binary "@$2" "$CRM_CALL_DATA_URL"
`;

async function runCallsync(
  dir: string,
  o: BacklogOptions,
  concurrency: number,
) {
  await Deno.remove(join(dir, "processed_uploads"), { recursive: true })
    .catch(() => {});
  const crm = FakeCrm.start({ delayMs: o.delayMs });
  try {
    const m = await measure(
      Deno.execPath(),
      callsyncArgs([
        "run",
        "--base-dir",
        dir,
        "--concurrency",
        String(concurrency),
        "--log-format",
        "json",
      ], o.v8Flags),
      { env: childEnv(crmEnv(crm)), rss: true },
    );
    const accepted = crm.acceptedCallRecords().length;
    if (m.code !== 0 || accepted !== o.sets) {
      throw new Error(
        `callsync exited ${m.code} with ${accepted} of ${o.sets} call records accepted:\n${
          m.stderr.slice(-2000)
        }`,
      );
    }
    const deliveryMs = logSpanMs(
      m.stderr,
      (msg) => msg.startsWith("Processing: "),
      (msg) => msg.startsWith("File marked as processed: "),
    );
    return { ...m, deliveryMs };
  } finally {
    await crm.close();
  }
}

/** How the floor runs curl. */
type CurlMode = "sh" | "config";

/**
 * The floor: curl sending each set's two requests in order, `concurrency`
 * sets at a time under `xargs -P`. `sh`: a shell per set running two curl
 * invocations (the obvious script); `config`: one curl per set reading both
 * requests from a config file (`--next`), no shell, so less process start-up
 * per set: the stronger floor.
 */
async function runCurl(
  dir: string,
  o: BacklogOptions,
  concurrency: number,
  mode: CurlMode,
) {
  const crm = FakeCrm.start({ delayMs: o.delayMs });
  try {
    let args: string[];
    if (mode === "sh") {
      const script = join(dir, "curl-set.sh");
      await Deno.writeTextFile(script, CURL_SET);
      args = ["-n", "2", "-a", join(dir, "curl-list.txt"), "sh", script];
    } else {
      const cfgDir = join(dir, "curl-config");
      await Deno.remove(cfgDir, { recursive: true }).catch(() => {});
      await Deno.mkdir(cfgDir);
      const list: string[] = [];
      for (let i = 0; i < o.sets; i++) {
        const s = benchSet(i);
        const path = join(cfgDir, `${i}.cfg`);
        list.push(path);
        await Deno.writeTextFile(
          path,
          curlConfig(dir, s, crm.uploadUrl, crm.callDataUrl),
        );
      }
      await Deno.writeTextFile(join(cfgDir, "list.txt"), list.join("\n"));
      args = ["-n", "1", "-a", join(cfgDir, "list.txt"), "curl", "-K"];
    }
    const m = await measure("xargs", ["-P", String(concurrency), ...args], {
      env: childEnv({
        CRM_UPLOAD_URL: crm.uploadUrl,
        CRM_CALL_DATA_URL: crm.callDataUrl,
      }),
    });
    const accepted = crm.acceptedCallRecords().length;
    const uploads = crm.requests.filter((r) =>
      r.endpoint === "upload" && r.answer === 200
    ).length;
    if (m.code !== 0 || accepted !== o.sets || uploads !== o.sets) {
      throw new Error(
        `curl (${mode}) exited ${m.code} with ${uploads} uploads and ${accepted} call records:\n${
          m.stderr.slice(-2000)
        }`,
      );
    }
    return m;
  } finally {
    await crm.close();
  }
}

/**
 * One set's two requests as curl config lines (`next` between them), to
 * `upload` and `callData`; `extra` lines go with each request (a config's
 * options end at `next`).
 */
export function curlConfig(
  dir: string,
  s: BenchSet,
  upload: string,
  callData: string,
  extra: readonly string[] = [],
): string {
  const q = (v: string) => JSON.stringify(v);
  const common = [
    "silent",
    "show-error",
    "fail",
    'output = "/dev/null"',
    'header = "Idempotency-Key: bench"',
    ...extra,
  ];
  return [
    `url = ${q(upload)}`,
    ...common,
    'header = "Expect:"',
    `form = ${
      q(`file=@${join(dir, "recordings", s.recording)};type=audio/ogg`)
    }`,
    "next",
    `url = ${q(callData)}`,
    ...common,
    'header = "Content-Type: application/json"',
    `data-binary = ${q(`@${join(dir, "conversations", s.conversation)}`)}`,
    "",
  ].join("\n");
}

/** Run the backlog scenario and print its table. */
export async function backlog(o: BacklogOptions): Promise<BacklogRow[]> {
  const dir = await backlogTree(o);
  const rows: BacklogRow[] = [];
  for (const c of o.levels) {
    const cs: { wallMs: number; deliveryMs?: number; rssMb: number }[] = [];
    const curl: Record<CurlMode, number[]> = { sh: [], config: [] };
    for (let r = 0; r < o.runs; r++) {
      // Rotate who goes first, so drift on the machine hits all alike.
      const order = ["callsync", "sh", "config"];
      for (let k = 0; k < r % order.length; k++) order.push(order.shift()!);
      for (const who of order) {
        if (who === "sh" || who === "config") {
          curl[who].push((await runCurl(dir, o, c, who)).wallMs);
        } else {
          const m = await runCallsync(dir, o, c);
          cs.push({
            wallMs: m.wallMs,
            deliveryMs: m.deliveryMs,
            rssMb: (m.maxRssKb ?? NaN) / 1024,
          });
        }
      }
      const rate = (ms: number) => fmt(o.sets / (ms / 1000));
      console.log(
        `  concurrency ${c}, run ${r + 1}: callsync ${
          rate(cs.at(-1)!.wallMs)
        } sets/s, curl (sh) ${rate(curl.sh.at(-1)!)}, curl -K ${
          rate(curl.config.at(-1)!)
        }`,
      );
    }
    const callsyncRate = o.sets / (median(cs.map((m) => m.wallMs)) / 1000);
    const shRate = o.sets / (median(curl.sh) / 1000);
    const configRate = o.sets / (median(curl.config) / 1000);
    const floor = Math.max(shRate, configRate);
    rows.push({
      concurrency: c,
      callsyncSetsPerSecond: callsyncRate,
      callsyncDeliveryPerSecond: o.sets /
        (median(cs.map((m) => m.deliveryMs ?? NaN)) / 1000),
      callsyncRssMb: median(cs.map((m) => m.rssMb)),
      curlShSetsPerSecond: shRate,
      curlConfigSetsPerSecond: configRate,
      curlSetsPerSecond: floor,
      ratio: callsyncRate / floor,
    });
  }
  await Deno.remove(join(dir, "processed_uploads"), { recursive: true })
    .catch(() => {});
  console.log(
    `\n${o.sets} sets, ${
      Math.round(RECORDING_SECONDS * RECORDING_BYTES_PER_SECOND / 1000)
    } KB recordings, fake CRM answering after ${o.delayMs} ms; median of ${o.runs} runs\n`,
  );
  console.log(
    table(
      [
        "concurrency",
        "callsync sets/s (whole run)",
        "callsync sets/s (delivery phase)",
        "callsync peak RSS",
        "curl sets/s (sh, 2 curls per set)",
        "curl sets/s (1 curl -K per set)",
        "callsync / best curl",
      ],
      rows.map((r) => [
        String(r.concurrency),
        fmt(r.callsyncSetsPerSecond),
        fmt(r.callsyncDeliveryPerSecond),
        `${fmt(r.callsyncRssMb, 0)} MB`,
        fmt(r.curlShSetsPerSecond),
        fmt(r.curlConfigSetsPerSecond),
        `${fmt(r.ratio * 100, 0)} %`,
      ]),
    ),
  );
  return rows;
}
