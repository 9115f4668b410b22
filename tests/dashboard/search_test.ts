import assert from "node:assert/strict";
import type { DashboardRow } from "../../lib/dashboard/model.ts";
import {
  filterRows,
  matchesQuery,
  recentKeys,
} from "../../lib/dashboard/search.ts";

function row(name: string, state: DashboardRow["state"], phone?: string) {
  return {
    name,
    kind: "call",
    state,
    reason: "",
    attempts: 0,
    phone,
    recording: phone ? `number-_${phone}-1761720502.ogg` : undefined,
  } satisfies DashboardRow;
}

Deno.test("matchesQuery() finds text case-insensitively and a phone number however it is typed", () => {
  assert.ok(matchesQuery("transcript_a.json", "", "TRANSCRIPT_A"));
  assert.ok(matchesQuery("x", "918655066243", "+91 86550 66243"));
  assert.ok(matchesQuery("x", "918655066243", "(865) 506-6243"));
  assert.ok(!matchesQuery("x", "918655066243", "12"), "too few digits");
  assert.ok(!matchesQuery("x", "918655066243", "66243 abc"), "not phone-like");
  assert.ok(matchesQuery("anything", "", "  "), "an empty query matches all");
});

Deno.test("filterRows() applies state and query together", () => {
  const rows = [
    row("a.json", "failed", "918655066243"),
    row("b.json", "waiting", "917045118823"),
    row("c.json", "failed"),
  ];
  assert.deepEqual(
    filterRows(rows, { state: "failed", q: "" }).map((r) => r.name),
    ["a.json", "c.json"],
  );
  assert.deepEqual(
    filterRows(rows, { state: "", q: "+91 70451 18823" }).map((r) => r.name),
    ["b.json"],
  );
  assert.deepEqual(filterRows(rows, { state: "waiting", q: "a.json" }), []);
});

Deno.test("recentKeys() searches a delivery by its recording's digits and its call id", () => {
  const keys = recentKeys({
    set: "t.json",
    callId: "CALL-20251029-064824-66243",
    deliveredAt: "2025-10-29T06:50:00.000Z",
    recordingFile: "number-_918655066243-1761720502.ogg",
  });
  assert.match(keys.text, /call-20251029-064824-66243/);
  assert.deepEqual(keys.digits.split(" "), ["918655066243", "66243"]);
});
