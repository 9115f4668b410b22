import assert from "node:assert/strict";
import { newRunStats } from "../../lib/deliver/deliver.ts";
import type { WatchStatus } from "../../lib/deliver/watch.ts";
import { heartbeatCode, startHeartbeat } from "../../lib/report/heartbeat.ts";
import { Transport } from "../../lib/deliver/transport.ts";
import { Logger } from "../../lib/core/log.ts";
import {
  Histogram,
  LATENCY_BUCKETS,
  parseMetrics,
  renderWatchMetrics,
} from "../../lib/report/metrics.ts";
import {
  backlogGrowing,
  backlogWarning,
  nextBacklog,
} from "../../lib/state/last_run.ts";
import { parseExposition } from "../../testing/prometheus.ts";

const NOW = Date.UTC(2026, 0, 1, 12);

function status(extra: Partial<WatchStatus> = {}): WatchStatus {
  return {
    startedMs: NOW - 3_600_000,
    counts: { delivered: 100, pending: 2, waiting: 3, failed: 1 },
    queueDepth: 2,
    oldestPendingMs: NOW - 90_000,
    lastDeliveryMs: NOW - 5_000,
    delivered: 40,
    failed: 1,
    failedAttempts: 1,
    rescans: { start: 1, periodic: 12 },
    indexed: 7,
    stats: newRunStats(),
    ...extra,
  };
}

Deno.test("renderWatchMetrics() is text format an independent parser reads, with a cumulative latency histogram", () => {
  const h = new Histogram(LATENCY_BUCKETS);
  for (const s of [10.4, 10.9, 12.5, 45]) h.observe(s);
  const text = renderWatchMetrics(
    status(),
    { version: "9.9.9", latency: h },
    NOW,
  );
  const families = new Map(
    parseExposition(text).map((f) => [f.name, f]),
  );
  const hist = families.get("callsync_delivery_latency_seconds");
  assert.equal(hist?.type, "HISTOGRAM");
  const m = hist!.metrics[0];
  assert.equal(m.buckets?.["10"], "0");
  assert.equal(m.buckets?.["11"], "2");
  assert.equal(m.buckets?.["13"], "3");
  assert.equal(m.buckets?.["60"], "4");
  assert.equal(m.count, "4");
  assert.equal(Number(m.sum), 78.8);
  const samples = parseMetrics(text);
  assert.equal(samples.get('callsync_build_info{version="9.9.9"}'), 1);
  assert.equal(samples.get("callsync_queue_depth"), 2);
  assert.equal(samples.get("callsync_oldest_pending_age_seconds"), 90);
  assert.equal(samples.get('callsync_sets{state="failed"}'), 1);
  assert.equal(samples.get("callsync_delivery_paused"), 0);
  assert.equal(
    samples.get("callsync_last_success_timestamp_seconds"),
    NOW / 1000,
  );
  assert.equal(
    samples.get('callsync_watch_rescans_total{reason="periodic"}'),
    12,
  );
  for (const f of families.values()) {
    assert.ok(f.help.length > 0, `${f.name} has HELP`);
  }
});

Deno.test("renderWatchMetrics() while paused: last success stays at the last delivery", () => {
  const text = renderWatchMetrics(
    status({ paused: "credentials refused" }),
    { version: "1", latency: new Histogram([1]) },
    NOW,
  );
  const samples = parseMetrics(text);
  assert.equal(samples.get("callsync_delivery_paused"), 1);
  assert.equal(
    samples.get("callsync_last_success_timestamp_seconds"),
    (NOW - 5_000) / 1000,
  );
});

Deno.test("heartbeatCode(): 3 while paused, 1 after a failed attempt since the last beat, else 0", () => {
  assert.equal(heartbeatCode({ failedAttempts: 4 }, 4), 0);
  assert.equal(heartbeatCode({ failedAttempts: 5 }, 4), 1);
  assert.equal(heartbeatCode({ failedAttempts: 5, paused: "x" }, 5), 3);
});

Deno.test("the backlog warns only when it grew at each of the last 3 runs", () => {
  assert.deepEqual(nextBacklog(undefined, 4), [4]);
  const last = {
    started_at: "",
    ended_at: "",
    exit_code: 0,
    delivered: 0,
    failed: 0,
  };
  assert.deepEqual(nextBacklog({ ...last, backlog: [1, 2, 3] }, 9), [2, 3, 9]);
  assert.equal(backlogGrowing([2, 3, 9]), true);
  assert.equal(backlogGrowing([2, 3, 3]), false);
  assert.equal(backlogGrowing([3, 9]), false, "two runs are not a trend");
  assert.equal(backlogGrowing(undefined), false);
  assert.match(backlogWarning([2, 3, 9]), /2 → 3 → 9 sets .* callsync watch/);
});

Deno.test("startHeartbeat() pings at start and then every period with the code since the last beat, until stopped", async () => {
  const pings: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      pings.push(new URL(req.url).pathname);
      return new Response("OK");
    },
  );
  using transport = new Transport({ proxyVariables: {}, caCerts: [] });
  const log = new Logger({
    format: "text",
    level: "error",
    timezone: "UTC",
    sink() {},
  });
  let now = status();
  const periodMs = 1000;
  const beat = startHeartbeat(
    `http://127.0.0.1:${server.addr.port}/hc`,
    periodMs / 60_000,
    () => now,
    log,
    transport,
  );
  const until = async (n: number) => {
    for (let i = 0; i < 200 && pings.length < n; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await until(1);
    assert.deepEqual(pings, ["/hc/0"], "healthy at start");
    now = status({ failedAttempts: now.failedAttempts + 1 });
    await until(2);
    assert.equal(pings[1], "/hc/1", "an attempt failed since the last beat");
    await until(3);
    assert.equal(pings[2], "/hc/0", "none since");
    now = status({ paused: "credentials refused" });
    await until(4);
    assert.equal(pings[3], "/hc/3", "paused");
  } finally {
    beat.stop();
  }
  const count = pings.length;
  await new Promise((r) => setTimeout(r, 2 * periodMs));
  assert.equal(pings.length, count, "no ping once stopped");
  await server.shutdown();
});
