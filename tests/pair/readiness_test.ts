import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type CallSet, makePlan } from "../../lib/pair/plan.ts";
import {
  callEndMs,
  lastChange,
  readiness,
  type ReadinessConfig,
} from "../../lib/pair/readiness.ts";
import type { Folder } from "../../lib/source/files.ts";
import { copyTree } from "../../testing/tree.ts";
import { scanBase } from "../../testing/scan.ts";

const FIXTURES = fileURLToPath(new URL("../../fixtures", import.meta.url));
const CFG: ReadinessConfig = {
  settleSeconds: 10,
  staleSeconds: 600,
  orphanAfterSeconds: 1800,
  leadWaitSeconds: 300,
};

/** The fixture calls planned long after they ended (all due). */
async function fixtureSets(): Promise<CallSet[]> {
  const dir = await Deno.makeTempDir({ prefix: "callsync-ready-" });
  try {
    await copyTree(FIXTURES, dir);
    const plan = makePlan(
      await scanBase(dir),
      { delivered: new Map(), progress: new Map() },
      { ...CFG, matchWindowSeconds: 300, timezone: "UTC" },
      Date.UTC(2030, 0, 1),
    );
    return plan.sets;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A due set with a transcript, a recording and a lead. */
function fullSet(sets: CallSet[]): CallSet {
  const set = sets.find((s) =>
    s.state === "pending" && s.conversation && s.recording && s.lead
  );
  ok(set, "the fixtures hold a complete call");
  return set;
}

const at = (times: Partial<Record<Folder, number>>) => (folder: Folder) =>
  times[folder];

Deno.test("readiness() waits SETTLE_SECONDS after the last change of any file of the call", async () => {
  const set = fullSet(await fixtureSets());
  const now = 1_000_000;
  // The lead changed last, 4 s ago: 6 s to go.
  const changed = at({
    conversations: now - 9000,
    recordings: now - 20000,
    leads: now - 4000,
  });
  equal(lastChange(set, changed), now - 4000);
  deepStrictEqual(readiness(set, changed, CFG, now), {
    ready: false,
    wakeAt: now + 6000,
  });
  deepStrictEqual(readiness(set, changed, CFG, now + 6000), { ready: true });
  deepStrictEqual(
    readiness(set, changed, { ...CFG, settleSeconds: 0 }, now),
    { ready: true },
  );
});

Deno.test("readiness() wakes a set waiting for a retry at its next attempt, never a failed one", async () => {
  const set = fullSet(await fixtureSets());
  const quiet = at({});
  const waiting: CallSet = { ...set, state: "waiting", nextAttemptAt: 5000 };
  deepStrictEqual(readiness(waiting, quiet, CFG, 0), {
    ready: false,
    wakeAt: 5000,
  });
  deepStrictEqual(readiness({ ...set, state: "failed" }, quiet, CFG, 0), {
    ready: false,
  });
});

Deno.test("readiness() wakes an unfinished recording when it turns stale, an orphan when it is due", async () => {
  const sets = await fixtureSets();
  const set = fullSet(sets);
  const rec = set.recording!;
  const unfinished: CallSet = {
    ...set,
    state: "waiting",
    recording: { ...rec, media: { ...rec.media, complete: false } },
  };
  deepStrictEqual(readiness(unfinished, at({}), CFG, 0), {
    ready: false,
    wakeAt: rec.mtimeMs + 600_000,
  });
  const conv = set.conversation!;
  const orphan: CallSet = { ...set, recording: undefined, state: "waiting" };
  deepStrictEqual(readiness(orphan, at({}), CFG, 0), {
    ready: false,
    wakeAt: Math.max(conv.key.endMs ?? conv.key.startMs, conv.mtimeMs) +
      1_800_000,
  });
  // Orphan delivery off: only an event can change anything.
  deepStrictEqual(
    readiness(orphan, at({}), { ...CFG, orphanAfterSeconds: 0 }, 0),
    { ready: false, wakeAt: undefined },
  );
});

Deno.test("readiness() wakes a lead that fits no call when it is due to go alone", async () => {
  const set = fullSet(await fixtureSets());
  const lead = set.lead!;
  const alone: CallSet = {
    ...set,
    kind: "lead-only",
    conversation: undefined,
    recording: undefined,
    state: "waiting",
  };
  deepStrictEqual(readiness(alone, at({}), CFG, 0), {
    ready: false,
    wakeAt: lead.mtimeMs + 1_800_000,
  });
  deepStrictEqual(
    readiness(alone, at({}), { ...CFG, orphanAfterSeconds: 0 }, 0),
    { ready: false, wakeAt: undefined },
  );
});

Deno.test("callEndMs() is the transcript's end, else the recording's start plus its length", async () => {
  const set = fullSet(await fixtureSets());
  equal(callEndMs(set), set.conversation!.key.endMs);
  const recordingOnly: CallSet = { ...set, conversation: undefined };
  const seconds = set.recording!.media.durationSeconds!;
  equal(callEndMs(recordingOnly), set.startMs + seconds * 1000);
});

Deno.test("readiness() never wakes an MP4 without its moov for turning stale: it cannot be sent as it is", async () => {
  const set = fullSet(await fixtureSets());
  const rec = set.recording!;
  const noIndex: CallSet = {
    ...set,
    state: "waiting",
    recording: {
      ...rec,
      media: {
        ...rec.media,
        format: "mp4",
        complete: false,
        salvageable: false,
        pending: "no moov box yet",
      },
    },
  };
  deepStrictEqual(readiness(noIndex, at({}), CFG, 0), {
    ready: false,
    wakeAt: undefined,
  });
});

Deno.test("readiness() wakes a transcript announcing a lead when LEAD_WAIT_SECONDS is over", async () => {
  const set = fullSet(await fixtureSets());
  const conv = set.conversation!;
  const announced: CallSet = {
    ...set,
    lead: undefined,
    state: "waiting",
    conversation: { ...conv, key: { ...conv.key, leadGenerated: true } },
  };
  const leadDue = conv.mtimeMs + 300_000;
  deepStrictEqual(readiness(announced, at({}), CFG, leadDue - 1000), {
    ready: false,
    wakeAt: leadDue,
  });
  // Past that deadline the set waits for something else: no wake-up loop.
  deepStrictEqual(readiness(announced, at({}), CFG, leadDue + 1), {
    ready: false,
    wakeAt: undefined,
  });
});

Deno.test("readiness() wakes a pair waiting for unexplained rivals at the orphan deadline", async () => {
  const set = fullSet(await fixtureSets());
  const conv = set.conversation!;
  const withRivals: CallSet = {
    ...set,
    state: "waiting",
    recordingMatch: { ...set.recordingMatch!, rivals: ["other.ogg"] },
  };
  deepStrictEqual(readiness(withRivals, at({}), CFG, 0), {
    ready: false,
    wakeAt: (conv.key.endMs ?? conv.key.startMs) + 1_800_000,
  });
});
