import assert from "node:assert/strict";
import { newRunStats } from "../../lib/deliver/deliver.ts";
import {
  parseMetrics,
  renderMetrics,
  type RunMetrics,
} from "../../lib/report/metrics.ts";

const RUN: RunMetrics = {
  startedMs: 1_000_000,
  endedMs: 1_002_500,
  exitCode: 0,
  counts: { delivered: 7, pending: 1, waiting: 2, failed: 0 },
  oldestPendingMs: 940_000,
  stats: {
    ...newRunStats(),
    recording: { success: 3, failure: 1 },
    call_data: { success: 3, failure: 0 },
    bytes: 4096,
  },
};

Deno.test("renderMetrics() writes gauges of the run with HELP and TYPE, once per metric", () => {
  const text = renderMetrics(RUN, new Map());
  const m = parseMetrics(text);
  assert.equal(m.get("callsync_last_run_timestamp_seconds"), 1002.5);
  assert.equal(m.get("callsync_last_success_timestamp_seconds"), 1002.5);
  assert.equal(m.get("callsync_run_duration_seconds"), 2.5);
  assert.equal(m.get('callsync_sets{state="waiting"}'), 2);
  assert.equal(m.get("callsync_oldest_pending_age_seconds"), 63);
  assert.equal(
    text.match(/^# TYPE callsync_sets gauge$/gm)?.length,
    1,
    "one TYPE line for the four states",
  );
});

Deno.test("renderMetrics() counters only grow, and a failed run keeps the last success time", () => {
  const first = parseMetrics(renderMetrics(RUN, new Map()));
  const failed = { ...RUN, exitCode: 1, endedMs: 2_000_000 };
  const second = parseMetrics(renderMetrics(failed, first));
  assert.equal(second.get("callsync_uploaded_bytes_total"), 8192);
  assert.equal(
    second.get('callsync_uploads_total{kind="recording",result="failure"}'),
    2,
  );
  assert.equal(second.get("callsync_last_exit_code"), 1);
  assert.equal(second.get("callsync_last_success_timestamp_seconds"), 1002.5);
});

Deno.test("parseMetrics() skips comments and reads labelled samples", () => {
  const m = parseMetrics('# HELP x y\n# TYPE x gauge\nx{a="b"} 3\ny 4.5\n');
  assert.deepEqual([...m], [['x{a="b"}', 3], ["y", 4.5]]);
});
