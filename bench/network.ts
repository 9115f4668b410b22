/**
 * Scenario "network": `callsync run` over HTTPS (the fake CRM with a test
 * CA, trusted through CRM_CA_FILE) at 0 and 80 ms round trip (a delay line),
 * `--concurrency` 1, 4 and 16, beside two floors doing the same two requests
 * per call over kept-alive connections: curl (one process per parallel slot,
 * all of its calls in one config file) and a bare Deno fetch loop
 * (`bench/fetch_loop.ts`); and callsync's transport alone, without a run's
 * scan and state writes (`bench/transport_loop.ts`). Each tool runs as its
 * own process against a fresh fake CRM, in rotating order; connections are
 * counted where they arrive.
 *
 * @module
 */
import { join } from "node:path";
import { FakeCrm } from "../testing/fake_crm.ts";
import { makeOpusOgg } from "../testing/ogg_writer.ts";
import { makeTestPki, type TestPki } from "../testing/test_ca.ts";
import { curlConfig } from "./backlog.ts";
import {
  cachedTree,
  callsyncArgs,
  childEnv,
  fmt,
  logSpanMs,
  measure,
  median,
  ROOT,
  table,
} from "./common.ts";
import { startDelayLine } from "../testing/delay_line.ts";
import { benchSet, writeTree } from "./tree.ts";

/** Options of the network scenario. */
export interface NetworkOptions {
  benchDir: string;
  /** Round-trip times to add, ms (0: loopback only). */
  rtts: number[];
  levels: number[];
  /** Calls per level (the last one repeats). */
  calls: number[];
  runs: number;
  rebuild: boolean;
}

type Tool = "callsync" | "transport" | "fetch" | "curl";
const TOOLS: readonly Tool[] = ["callsync", "transport", "fetch", "curl"];

/** One measured run of one tool. */
interface Sample {
  wallMs: number;
  /** callsync only: first set started to last set recorded. */
  deliveryMs?: number;
  connections: number;
}

const RECORDING_SECONDS = 60;
const RECORDING_BYTES_PER_SECOND = 3300; // ≈ 200 KB per recording

function networkTree(o: NetworkOptions): Promise<string> {
  const sets = Math.max(...o.calls);
  const dir = join(o.benchDir, `network-${sets}`);
  return cachedTree(dir, o.rebuild, () =>
    writeTree(dir, {
      sets,
      durationSeconds: RECORDING_SECONDS,
      recording: makeOpusOgg({
        durationSeconds: RECORDING_SECONDS,
        bytesPerSecond: RECORDING_BYTES_PER_SECOND,
      }),
    }));
}

/** Where a run sends its requests, and what it needs to trust the CRM. */
interface Target {
  dir: string;
  origin: string;
  caFile: string;
  calls: number;
  concurrency: number;
}

async function runCallsync(t: Target): Promise<Omit<Sample, "connections">> {
  await Deno.remove(join(t.dir, "processed_uploads"), { recursive: true })
    .catch(() => {});
  const m = await measure(
    Deno.execPath(),
    callsyncArgs([
      "run",
      "--base-dir",
      t.dir,
      "--concurrency",
      String(t.concurrency),
      "--log-format",
      "json",
    ]),
    {
      env: childEnv({
        CRM_UPLOAD_URL: `${t.origin}/apis/api/public/upload`,
        CRM_CALL_DATA_URL: `${t.origin}/apis/api/public/call-data`,
        CRM_CA_FILE: t.caFile,
        DEFAULT_CAMPAIGN_ID: "campaign-1",
        DEFAULT_VOICE_AGENT_ID: "agent-1",
        DEFAULT_CLIENT_ID: "client-1",
        TIMEZONE: "UTC",
        UPLOAD_BATCH_SIZE: String(t.calls),
      }),
    },
  );
  if (m.code !== 0) {
    throw new Error(`callsync exited ${m.code}:\n${m.stderr.slice(-2000)}`);
  }
  const deliveryMs = logSpanMs(
    m.stderr,
    (msg) => msg.startsWith("Processing: "),
    (msg) => msg.startsWith("File marked as processed: "),
  );
  return { wallMs: m.wallMs, deliveryMs };
}

/** The oldest `calls` sets as "recording transcript" lines. */
function callList(t: Target): string[] {
  return Array.from({ length: t.calls }, (_, i) => {
    const s = benchSet(i);
    return `${join(t.dir, "recordings", s.recording)} ${
      join(t.dir, "conversations", s.conversation)
    }`;
  });
}

/** `bench/<script>` over the call list, as its own process. */
async function runLoop(
  script: "fetch_loop.ts" | "transport_loop.ts",
  t: Target,
): Promise<Omit<Sample, "connections">> {
  const list = join(t.dir, "call-list.txt");
  await Deno.writeTextFile(list, callList(t).join("\n") + "\n");
  const m = await measure(Deno.execPath(), [
    "run",
    "-A",
    join(ROOT, "bench", script),
    t.origin,
    t.caFile,
    list,
    String(t.concurrency),
  ], { env: childEnv({}) });
  if (m.code !== 0) throw new Error(`${script}: ${m.stderr.slice(-2000)}`);
  return { wallMs: m.wallMs };
}

/** One curl per parallel slot, its share of the calls in one config file. */
async function runCurl(t: Target): Promise<Omit<Sample, "connections">> {
  const upload = `${t.origin}/apis/api/public/upload`;
  const callData = `${t.origin}/apis/api/public/call-data`;
  const slots: string[][] = Array.from({ length: t.concurrency }, () => []);
  for (let i = 0; i < t.calls; i++) {
    slots[i % t.concurrency].push(
      curlConfig(t.dir, benchSet(i), upload, callData, [
        `cacert = ${JSON.stringify(t.caFile)}`,
      ]),
    );
  }
  const configs = await Promise.all(slots.map(async (calls, k) => {
    const path = join(t.dir, `curl-slot-${k}.cfg`);
    await Deno.writeTextFile(path, calls.join("next\n"));
    return path;
  }));
  // One shell starts the slots at once, so its wall time covers them all.
  const m = await measure("sh", [
    "-c",
    'for c in "$@"; do curl -K "$c" & done; wait',
    "sh",
    ...configs,
  ]);
  if (m.code !== 0) throw new Error(`curl: ${m.stderr.slice(-2000)}`);
  return { wallMs: m.wallMs };
}

const RUNNERS = {
  callsync: runCallsync,
  transport: (t: Target) => runLoop("transport_loop.ts", t),
  fetch: (t: Target) => runLoop("fetch_loop.ts", t),
  curl: runCurl,
};

/** One run of `tool` against a fresh fake CRM behind a fresh delay line. */
async function sample(
  tool: Tool,
  dir: string,
  pki: TestPki,
  caFile: string,
  rtt: number,
  calls: number,
  concurrency: number,
): Promise<Sample> {
  const crm = FakeCrm.start({ tls: pki });
  await using line = rtt > 0 ? startDelayLine(crm.port, rtt / 2) : undefined;
  try {
    const origin = `https://localhost:${line?.port ?? crm.port}`;
    const s = await RUNNERS[tool]({ dir, origin, caFile, calls, concurrency });
    const accepted = crm.acceptedCallRecords().length;
    const uploads = crm.requests.filter((r) =>
      r.endpoint === "upload" && r.answer === 200
    ).length;
    if (accepted !== calls || uploads !== calls) {
      throw new Error(
        `${tool}: ${uploads} uploads and ${accepted} call records of ${calls}`,
      );
    }
    return { ...s, connections: line?.connections ?? crm.connections };
  } finally {
    await crm.close();
  }
}

/** Run the network scenario and print its table. */
export async function network(o: NetworkOptions): Promise<void> {
  const dir = await networkTree(o);
  const pki = await makeTestPki(["localhost"]);
  const caFile = join(dir, "ca.pem");
  await Deno.writeTextFile(caFile, pki.caCert);
  const rows: string[][] = [];
  for (const rtt of o.rtts) {
    for (const [k, c] of o.levels.entries()) {
      const calls = o.calls[Math.min(k, o.calls.length - 1)];
      const got: Record<Tool, Sample[]> = {
        callsync: [],
        transport: [],
        fetch: [],
        curl: [],
      };
      for (let r = 0; r < o.runs; r++) {
        const k = r % TOOLS.length;
        const order = [...TOOLS.slice(k), ...TOOLS.slice(0, k)];
        for (const tool of order) {
          got[tool].push(await sample(tool, dir, pki, caFile, rtt, calls, c));
        }
        const rate = (tool: Tool) =>
          fmt(calls / (got[tool].at(-1)!.wallMs / 1000));
        console.log(
          `  ${rtt} ms, concurrency ${c}, run ${r + 1}: callsync ${
            rate("callsync")
          } calls/s, transport ${rate("transport")}, fetch ${
            rate("fetch")
          }, curl ${rate("curl")}`,
        );
      }
      const rate = (tool: Tool) =>
        calls / (median(got[tool].map((s) => s.wallMs)) / 1000);
      const conns = (tool: Tool) =>
        String(Math.max(...got[tool].map((s) => s.connections)));
      rows.push([
        `${rtt} ms`,
        String(c),
        String(calls),
        fmt(rate("callsync")),
        fmt(
          calls /
            (median(got.callsync.map((s) => s.deliveryMs ?? NaN)) / 1000),
        ),
        fmt(rate("transport")),
        fmt(rate("fetch")),
        fmt(rate("curl")),
        `${fmt(100 * rate("callsync") / rate("curl"), 0)} %`,
        `${fmt(100 * rate("transport") / rate("curl"), 0)} %`,
        `${fmt(100 * rate("transport") / rate("fetch"), 0)} %`,
        TOOLS.map(conns).join(" / "),
      ]);
    }
  }
  await Deno.remove(join(dir, "processed_uploads"), { recursive: true })
    .catch(() => {});
  console.log(
    `\nHTTPS to the fake CRM (${
      Math.round(RECORDING_SECONDS * RECORDING_BYTES_PER_SECOND / 1000)
    } KB recording + transcript per call); median of ${o.runs} runs\n`,
  );
  console.log(table(
    [
      "RTT",
      "concurrency",
      "calls",
      "callsync calls/s (whole run)",
      "callsync (delivery phase)",
      "transport alone calls/s",
      "bare fetch calls/s",
      "curl calls/s",
      "callsync / curl",
      "transport / curl",
      "transport / fetch",
      "connections (callsync / transport / fetch / curl)",
    ],
    rows,
  ));
}
