/**
 * Scenario "watch-latency": how soon `callsync watch` gets a call into the
 * CRM. A call starts every `--interval` seconds for `--minutes`: its
 * recording is written in place in 1 s slices over the call (6–20 s, the
 * end-of-stream page last), its transcript is saved half a second after the
 * call ends, and half the calls get a lead 0–3 s later. For each call,
 * latency = when the fake CRM (127.0.0.1, `--delay` ms per answer) had
 * accepted its call record − when its last file was complete. The floor,
 * measured in the same run: `SETTLE_SECONDS` plus a bare `fetch` of the same
 * two requests.
 *
 * @module
 */
import { join } from "node:path";
import { FakeCrm } from "../testing/fake_crm.ts";
import { makeOpusOgg } from "../testing/ogg_writer.ts";
import { crmEnv } from "../testing/cli.ts";
import { fmt, median, spawnWatch, table } from "./common.ts";
import { leadJson, liveBenchSet, transcriptJson } from "./tree.ts";

/** Options of {@link watchLatency}. */
export interface WatchLatencyOptions {
  minutes: number;
  intervalSeconds: number;
  settleSeconds: number;
  delayMs: number;
}

/** p50/p90/p99/max of the latencies, in seconds. */
export interface LatencyResult {
  calls: number;
  delivered: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  floor: number;
}

/** Run the scenario; prints a table and returns the figures. */
export async function watchLatency(
  opts: WatchLatencyOptions,
): Promise<LatencyResult> {
  const dir = await Deno.makeTempDir({ prefix: "callsync-bench-latency-" });
  const crm = FakeCrm.start({ delayMs: opts.delayMs });
  const child = spawnWatch(
    dir,
    crmEnv(crm, { SETTLE_SECONDS: String(opts.settleSeconds) }),
  );
  try {
    for (const f of ["conversations", "recordings", "leads"]) {
      await Deno.mkdir(join(dir, f), { recursive: true });
    }
    const floorMs = await bareFetchMs(crm);
    const done = new Map<string, number>();
    const accepted = watchAccepted(crm, done);
    const calls = Math.floor(opts.minutes * 60 / opts.intervalSeconds);
    const writers: Promise<void>[] = [];
    for (let i = 0; i < calls; i++) {
      writers.push(writeCall(dir, i, done));
      await sleep(opts.intervalSeconds * 1000);
    }
    await Promise.all(writers);
    const deadline = Date.now() + (opts.settleSeconds + 60) * 1000;
    while (accepted.times.size < calls && Date.now() < deadline) {
      await sleep(200);
    }
    accepted.stop();
    const latencies = [...done].flatMap(([digits, lastMs]) => {
      const at = accepted.times.get(digits);
      return at === undefined ? [] : [(at - lastMs) / 1000];
    }).sort((a, b) => a - b);
    const q = (p: number) =>
      latencies[
        Math.min(latencies.length - 1, Math.floor(p * latencies.length))
      ];
    const result: LatencyResult = {
      calls,
      delivered: latencies.length,
      p50: q(0.5),
      p90: q(0.9),
      p99: q(0.99),
      max: latencies.at(-1) ?? NaN,
      floor: opts.settleSeconds + floorMs / 1000,
    };
    console.log(table(
      [
        "calls",
        "delivered",
        "p50 s",
        "p90 s",
        "p99 s",
        "max s",
        "floor s",
        "targets",
      ],
      [[
        String(calls),
        String(result.delivered),
        fmt(result.p50, 2),
        fmt(result.p90, 2),
        fmt(result.p99, 2),
        fmt(result.max, 2),
        fmt(result.floor, 2),
        `p50 ≤ ${opts.settleSeconds + 1}, p99 ≤ ${opts.settleSeconds + 3}`,
      ]],
    ));
    if (result.delivered < calls) {
      console.log(
        `\n**${
          calls - result.delivered
        } of ${calls} calls were not delivered** within ${
          opts.settleSeconds + 60
        } s of the last one: the percentiles above leave them out.`,
      );
    }
    return result;
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await crm.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Write call `i` as the bot would; records when its last file was complete. */
async function writeCall(
  dir: string,
  i: number,
  done: Map<string, number>,
): Promise<void> {
  const startMs = Date.now();
  const seconds = 6 + (i * 7) % 15;
  const s = liveBenchSet(startMs, i);
  const digits = s.callerDigits;
  const ogg = makeOpusOgg({ durationSeconds: seconds, bytesPerSecond: 2000 });
  const recording = join(dir, "recordings", s.recording);
  {
    using file = await Deno.open(recording, { write: true, create: true });
    for (let k = 1; k <= seconds; k++) {
      const from = Math.floor(ogg.length * (k - 1) / seconds);
      const to = Math.floor(ogg.length * k / seconds);
      await file.write(ogg.subarray(from, to));
      if (k < seconds) await sleep(1000);
    }
  }
  await sleep(500);
  await Deno.writeTextFile(
    join(dir, "conversations", s.conversation),
    transcriptJson(s, seconds, i % 2 === 0),
  );
  if (i % 2 === 0) {
    await sleep((i * 13 % 30) * 100);
    await Deno.writeTextFile(join(dir, "leads", s.lead), leadJson(s));
  }
  done.set(digits, Date.now());
}

/** When each call record (by caller digits) was accepted, polled every 20 ms. */
function watchAccepted(crm: FakeCrm, calls: Map<string, number>): {
  times: Map<string, number>;
  stop(): void;
} {
  const times = new Map<string, number>();
  let seen = 0;
  const timer = setInterval(() => {
    for (; seen < crm.requests.length; seen++) {
      const r = crm.requests[seen];
      if (r.endpoint !== "call-data") continue;
      const text = JSON.stringify(r.json);
      for (const digits of calls.keys()) {
        if (!times.has(digits) && text.includes(digits)) {
          times.set(digits, Date.now());
        }
      }
    }
  }, 20);
  return { times, stop: () => clearInterval(timer) };
}

/** Median time of a bare `fetch` of one upload and one call record (ms). */
async function bareFetchMs(crm: FakeCrm): Promise<number> {
  const ogg = makeOpusOgg({ durationSeconds: 10, bytesPerSecond: 2000 });
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const form = new FormData();
    form.append(
      "file",
      new Blob([ogg.slice()], { type: "audio/ogg" }),
      "floor.ogg",
    );
    await (await fetch(crm.uploadUrl, { method: "POST", body: form })).text();
    await (await fetch(crm.callDataUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ floor: true }),
    })).text();
    times.push(performance.now() - t0);
  }
  crm.requests.length = 0;
  return median(times);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
