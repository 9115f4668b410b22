import { deepStrictEqual, equal } from "node:assert/strict";
import {
  type DeliveredEntry,
  DeliveredIndex,
} from "../../lib/state/delivered_index.ts";
import { NAMES_IGNORE_CASE } from "../../lib/core/file_names.ts";

const STAMP = "2025-10-29T06-49-07.351452";
const SET = `transcript_session_${STAMP}.json`;
const LEAD = `leads_session_${STAMP}.json`;
const RECORDING = "number-_918655066243-1761720502.ogg";
const ENTRY: DeliveredEntry = {
  callId: "CALL-20251029-064824-66243",
  recording: RECORDING,
  lead: LEAD,
  at: Date.UTC(2025, 9, 29, 6, 55, 1, 234),
};

/** `n` sets shaped like a busy host's, some with legacy leads or none. */
function sets(n: number): [string, DeliveredEntry][] {
  return Array.from({ length: n }, (_, i) => {
    const stamp = `2025-01-06T09-${String(i % 60).padStart(2, "0")}-00.${
      String(i).padStart(6, "0")
    }`;
    const set = `transcript_session_${stamp}.json`;
    const lead = i % 3 === 0
      ? `leads_session_${stamp}.json`
      : i % 3 === 1
      ? `lead_20250106_${String(i).padStart(6, "0")}.json`
      : undefined;
    return [set, {
      callId: `CALL-20250106-0900${i}`,
      ...(i % 5 ? { recording: `number-_9190000${i}-17361540${i}.ogg` } : {}),
      ...(lead ? { lead } : {}),
      at: 1_736_154_000_000 + i,
      ...(i % 7 === 0 ? { alone: true as const } : {}),
    }];
  });
}

Deno.test("DeliveredIndex gives back every entry as it was set, in order", () => {
  const index = new DeliveredIndex();
  const all = sets(5000);
  for (const [set, entry] of all) index.set(set, entry);
  equal(index.size, all.length);
  deepStrictEqual([...index], all);
  deepStrictEqual([...index.keys()], all.map(([set]) => set));
  for (const [set, entry] of all) deepStrictEqual(index.get(set), entry);
});

Deno.test("DeliveredIndex knows the recordings and leads its sets used, and no others", () => {
  const index = new DeliveredIndex();
  const all = sets(3000);
  for (const [set, entry] of all) index.set(set, entry);
  for (const [, entry] of all) {
    if (entry.recording) equal(index.usesRecording(entry.recording), true);
    if (entry.lead) equal(index.usesLead(entry.lead), true, entry.lead);
  }
  equal(index.usesRecording("number-_9190000-1.ogg"), false);
  // The session lead of a set delivered without one was not used.
  const [bare] = all.find(([, e]) => !e.lead)!;
  equal(
    index.usesLead(bare.replace("transcript_session_", "leads_session_")),
    false,
  );
  equal(index.usesLead("leads_session_2030-01-01T00-00-00.000000.json"), false);
  equal(index.usesLead(SET), false, "a set name is not a lead");
});

Deno.test("DeliveredIndex replaces an entry in place and forgets the names it no longer uses", () => {
  const index = new DeliveredIndex();
  index.set(SET, { ...ENTRY, lead: undefined });
  index.set("other.ogg", { callId: "CALL-2", recording: "other.ogg", at: 1 });
  equal(index.usesLead(LEAD), false);
  index.set(SET, { ...ENTRY, recording: "number-_1-2.ogg" });
  equal(index.size, 2);
  deepStrictEqual([...index.keys()], [SET, "other.ogg"]);
  equal(index.usesLead(LEAD), true, "a lead update gave it its lead");
  equal(index.usesRecording(RECORDING), false);
  equal(index.usesRecording("number-_1-2.ogg"), true);
});

Deno.test("DeliveredIndex.delete() drops a set and its names; clear() drops all", () => {
  const index = new DeliveredIndex();
  const all = sets(2000);
  for (const [set, entry] of all) index.set(set, entry);
  const gone = all.filter((_, i) => i % 2 === 0);
  for (const [set] of gone) equal(index.delete(set), true);
  equal(index.delete(gone[0][0]), false, "already gone");
  equal(index.size, all.length - gone.length);
  for (const [set, entry] of gone) {
    equal(index.has(set), false);
    if (entry.recording) equal(index.usesRecording(entry.recording), false);
    if (entry.lead) equal(index.usesLead(entry.lead), false);
  }
  const kept = all.filter((_, i) => i % 2 === 1);
  deepStrictEqual([...index], kept);
  // Deleted slots are reused without losing what is still there.
  for (const [set, entry] of gone) index.set(set, entry);
  for (const [set, entry] of all) deepStrictEqual(index.get(set), entry);
  index.clear();
  equal(index.size, 0);
  equal(index.has(SET), false);
  deepStrictEqual([...index], []);
});

Deno.test("DeliveredIndex finds names as this host's file system compares them", () => {
  const index = new DeliveredIndex();
  index.set(SET, ENTRY);
  const upper = (s: string) => s.toUpperCase();
  equal(index.has(upper(SET)), NAMES_IGNORE_CASE);
  equal(index.usesRecording(upper(RECORDING)), NAMES_IGNORE_CASE);
  equal(index.usesLead(upper(LEAD)), NAMES_IGNORE_CASE);
  index.set(upper(SET), { ...ENTRY, callId: "CALL-X" });
  deepStrictEqual(
    [...index.keys()],
    NAMES_IGNORE_CASE ? [SET] : [SET, upper(SET)],
    "the first spelling is kept",
  );
  equal(index.get(SET)?.callId, NAMES_IGNORE_CASE ? "CALL-X" : ENTRY.callId);
});

Deno.test("DeliveredIndex keeps a lead named unlike its set's transcript spelled out", () => {
  const index = new DeliveredIndex();
  const recordingOnly = RECORDING;
  index.set(recordingOnly, {
    callId: "CALL-1",
    recording: RECORDING,
    lead: LEAD,
    at: 5,
  });
  deepStrictEqual(index.get(recordingOnly)?.lead, LEAD);
  equal(index.usesLead(LEAD), true);
  equal(index.usesRecording(RECORDING), true);
  equal(index.has(SET), false);
});
