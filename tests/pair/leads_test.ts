import { deepStrictEqual, equal, ok } from "node:assert/strict";
import type { LeadKey } from "../../lib/pair/keys.ts";
import { type LeadTarget, matchLeads } from "../../lib/pair/leads.ts";
import { generateHost } from "../../testing/busy_host.ts";
import { evaluate } from "../../testing/host_plan.ts";

const T0 = Date.UTC(2026, 0, 6, 9);
const OPTS = { windowSeconds: 300 };
const s = (seconds: number) => T0 + seconds * 1000;

/** A call with a transcript saved 2 s after its end. */
function call(
  name: string,
  end: number,
  extra: Partial<LeadTarget> = {},
): LeadTarget {
  return {
    name,
    transcript: true,
    endMs: s(end),
    savedMs: s(end + 2),
    leadGenerated: true,
    ...extra,
  };
}
const legacy = (name: string, at: number, phone?: string): LeadKey => ({
  name,
  kind: "legacy",
  timesMs: [s(at)],
  phone,
});

/** Enough steady calls with legacy leads for the bands to be learned. */
function background(): { calls: LeadTarget[]; leads: LeadKey[] } {
  const calls: LeadTarget[] = [];
  const leads: LeadKey[] = [];
  for (let k = 0; k < 20; k++) {
    calls.push(call(`bg${k}`, 1000 + 60 * k));
    leads.push(legacy(`lead_bg${k}`, 1000 + 60 * k + 2 + (k % 3) * 0.4 - 0.4));
  }
  return { calls, leads };
}

Deno.test("matchLeads() attaches session leads by timestamp and id, one per call", () => {
  const { matches, unmatched } = matchLeads([
    call("t1", 10, { sessionTs: "1", sessionId: "s1" }),
    call("t2", 20, { sessionTs: "2", sessionId: "s2" }),
  ], [
    { name: "leads_session_1", kind: "session", sessionTs: "1" },
    { name: "leads_session_1_again", kind: "session", sessionTs: "1" },
    { name: "other", kind: "session", sessionId: "s2" },
  ], OPTS);
  deepStrictEqual(matches.map((m) => [m.lead, m.target, m.reason]), [
    ["leads_session_1", "t1", "session-timestamp"],
    ["other", "t2", "session-id"],
  ]);
  deepStrictEqual(unmatched, ["leads_session_1_again"]);
});

Deno.test("matchLeads() attaches a legacy lead by the transcript's save time, learned from the host", () => {
  const bg = background();
  const r = matchLeads(
    [...bg.calls, call("near-end", 3000), call("saved-then", 3001.5)],
    [...bg.leads, legacy("lead_x", 3003.4)],
    OPTS,
  );
  equal(r.matches.find((m) => m.lead === "lead_x")?.target, "saved-then");
  ok(
    Math.abs(r.bands.saved.bias) < 1 && r.bands.saved.spread <= 2.5,
    JSON.stringify(r.bands),
  );
});

Deno.test("matchLeads() never gives a lead to a transcript that says lead_generated: false", () => {
  const bg = background();
  const r = matchLeads(
    [...bg.calls, call("no-lead", 3000, { leadGenerated: false })],
    [...bg.leads, legacy("lead_x", 3002)],
    OPTS,
  );
  ok(!r.matches.some((m) => m.lead === "lead_x"));
  ok(r.unmatched.includes("lead_x"));
});

Deno.test("matchLeads() gives a recording alone a lead only when their numbers agree", () => {
  const bg = background();
  const recordingOnly = (phone: string): LeadTarget => ({
    name: "rec",
    transcript: false,
    endMs: s(3000),
    phone,
  });
  const withNumber = matchLeads([...bg.calls, recordingOnly("918655066243")], [
    ...bg.leads,
    legacy("lead_x", 3003, "8655066243"),
  ], OPTS);
  equal(withNumber.matches.find((m) => m.lead === "lead_x")?.target, "rec");
  const without = matchLeads([...bg.calls, recordingOnly("918655066243")], [
    ...bg.leads,
    legacy("lead_x", 3003),
  ], OPTS);
  ok(!without.matches.some((m) => m.lead === "lead_x"));
  const otherNumber = matchLeads([...bg.calls, recordingOnly("918655066243")], [
    ...bg.leads,
    legacy("lead_x", 3003, "8655066244"),
  ], OPTS);
  ok(!otherNumber.matches.some((m) => m.lead === "lead_x"));
});

Deno.test("matchLeads() keeps a lead off two calls saved in the same second and reports it", () => {
  const bg = background();
  const r = matchLeads([...bg.calls, call("a", 3000), call("b", 3000.3)], [
    ...bg.leads,
    legacy("lead_x", 3002.3),
  ], OPTS);
  ok(!r.matches.some((m) => m.lead === "lead_x"));
  deepStrictEqual(r.ambiguous.find((a) => a.lead === "lead_x")?.targets, [
    "a",
    "b",
  ]);
});

Deno.test("matchLeads() tries both readings of a legacy lead named in a repeated hour", () => {
  const bg = background();
  const r = matchLeads([...bg.calls, call("late", 3600 + 3000)], [...bg.leads, {
    name: "lead_x",
    kind: "legacy",
    timesMs: [s(3002), s(3600 + 3002)],
  }], OPTS);
  equal(r.matches.find((m) => m.lead === "lead_x")?.target, "late");
});

Deno.test("legacy leads: ≥ 97 % right with nothing lost, none on a stranger's call when a half is lost, and every lead file reaches the CRM", () => {
  for (const lost of [0, 0.1]) {
    const tally = {
      leads: 0,
      right: 0,
      wrong: 0,
      halfLostWrong: 0,
      orphansAttached: 0,
      files: 0,
      attached: 0,
      alone: 0,
      waiting: 0,
    };
    for (let seed = 1; seed <= 3; seed++) {
      const host = generateHost({
        seed,
        calls: 1500,
        leadStyle: "legacy",
        offsetSeconds: 20,
        lostRecordingRate: lost,
        lostTranscriptRate: lost,
      });
      const l = evaluate(host, "UTC").leads;
      for (const k of Object.keys(tally) as (keyof typeof tally)[]) {
        tally[k] += l[k];
      }
    }
    if (lost === 0) {
      ok(tally.right >= 0.97 * tally.leads, JSON.stringify(tally));
    }
    deepStrictEqual([tally.wrong, tally.halfLostWrong, tally.orphansAttached], [
      0,
      0,
      0,
    ], JSON.stringify(tally));
    // Long after the last call every lead is out: with a call, or alone.
    equal(tally.waiting, 0, JSON.stringify(tally));
    equal(tally.attached + tally.alone, tally.files, JSON.stringify(tally));
    ok(tally.alone > 0, "some leads fit no call clearly");
  }
});
