import assert from "node:assert/strict";
import type { CallSet } from "../../lib/pair/plan.ts";
import { isSelective, selector } from "../../lib/pair/select.ts";

function set(name: string, startMs: number, recording?: string): CallSet {
  return {
    name,
    kind: "call",
    startMs,
    state: "pending",
    reason: "",
    truncated: false,
    recording: recording
      ? { name: recording } as NonNullable<CallSet["recording"]>
      : undefined,
  };
}

Deno.test("selector() takes call starts within --since and --until, whole days in the zone", () => {
  const take = selector(
    { since: "2025-10-29", until: "2025-10-29", only: [] },
    "Asia/Kolkata",
  );
  // 2025-10-29 in Kolkata is 2025-10-28T18:30Z to 2025-10-29T18:30Z.
  assert.equal(take(set("a", Date.UTC(2025, 9, 28, 18, 29))), false);
  assert.equal(take(set("b", Date.UTC(2025, 9, 28, 18, 30))), true);
  assert.equal(take(set("c", Date.UTC(2025, 9, 29, 18, 29))), true);
  assert.equal(take(set("d", Date.UTC(2025, 9, 29, 18, 30))), false);
});

Deno.test("selector() --only matches a set by its name or any of its files", () => {
  const take = selector({ only: ["r.ogg", "x.json"] }, "UTC");
  assert.equal(take(set("x.json", 0)), true);
  assert.equal(take(set("y.json", 0, "r.ogg")), true);
  assert.equal(take(set("z.json", 0, "other.ogg")), false);
});

Deno.test("isSelective() is false only for the empty selection", () => {
  assert.equal(isSelective({ only: [] }), false);
  assert.equal(isSelective({ only: ["a"] }), true);
  assert.equal(isSelective({ since: "2025-01-01", only: [] }), true);
});
