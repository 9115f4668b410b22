import assert from "node:assert/strict";
import type { CallSet, Plan } from "../../lib/pair/plan.ts";
import {
  planRows,
  renderPlan,
  renderStatus,
  statusReport,
} from "../../lib/report/status.ts";

const START = Date.UTC(2025, 9, 29, 6, 48, 24);

function set(name: string, state: CallSet["state"], reason: string): CallSet {
  return {
    name,
    kind: "call",
    startMs: START,
    state,
    reason,
    truncated: false,
  };
}

const PLAN: Plan = {
  sets: [
    set("a.json", "pending", "send call record without a recording"),
    {
      ...set("b.json", "waiting", "retry 2 due later; last error: HTTP 503"),
      nextAttemptAt: START + 60_000,
      progress: { set: "b.json", attempts: 1, last_error: "HTTP 503" },
    },
  ],
  strays: [{
    folder: "leads",
    name: "lead_x.json",
    state: "failed",
    reason: "no call found for this lead",
  }],
  deliveredCount: 5,
  timing: {
    anchors: 0,
    offsetSeconds: 15,
    offsetSpreadSeconds: 35,
    endBiasSeconds: -0.5,
    endSpreadSeconds: 2.5,
    periods: [],
  },
  ambiguous: [],
};

Deno.test("statusReport() counts sets and stray files by state beside the delivered ones", () => {
  const report = statusReport(PLAN, "UTC");
  assert.deepEqual(report.counts, {
    delivered: 5,
    pending: 1,
    waiting: 1,
    failed: 1,
  });
  assert.deepEqual(report.sets.map((r) => [r.name, r.kind, r.attempts]), [
    ["a.json", "call", 0],
    ["b.json", "call", 1],
    ["leads/lead_x.json", "file", 0],
  ]);
  assert.equal(report.sets[1].nextAttemptAt, "2025-10-29T06:49:24.000Z");
  assert.equal(report.sets[1].lastError, "HTTP 503");
});

Deno.test("planRows() gives each set its call id in the zone", () => {
  const [row] = planRows(PLAN, "Asia/Kolkata");
  assert.match(row.callId!, /^CALL-20251029-121824-\d{5}$/);
});

Deno.test("renderStatus() and renderPlan() show counts, every row and what a run would send", () => {
  const status = renderStatus(statusReport(PLAN, "UTC"));
  assert.match(status, /^delivered 5 {2}pending 1 {2}waiting 1 {2}failed 1\n/);
  assert.match(
    status,
    /waiting +b\.json +1 +2025-10-29T06:49:24\.000Z +retry 2/,
  );
  const plan = renderPlan(PLAN, "UTC");
  assert.match(plan, /wait: no call found for this lead/);
  assert.match(plan, /5 already delivered; 1 would be sent now\.$/);
  assert.equal(
    renderStatus({
      counts: { ...statusReport(PLAN, "UTC").counts },
      warnings: [],
      sets: [],
    })
      .endsWith("Everything is delivered."),
    true,
  );
});
