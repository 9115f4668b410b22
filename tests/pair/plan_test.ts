import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CallSet,
  makePlan,
  type Plan,
  type PlanConfig,
} from "../../lib/pair/plan.ts";
import type { Folder } from "../../lib/source/files.ts";
import { scanBase } from "../../testing/scan.ts";
import type { DeliveredEntry, Progress } from "../../lib/state/store.ts";
import { makeOpusOgg } from "../../testing/ogg_writer.ts";
import { copyTree } from "../../testing/tree.ts";
import { symlinkFile, SYMLINKS, testOn } from "../../testing/platform.ts";

import { generateHost } from "../../testing/busy_host.ts";
import { hostScan } from "../../testing/host_plan.ts";
const FIXTURES = fileURLToPath(new URL("../../fixtures", import.meta.url));
const CFG: PlanConfig = {
  matchWindowSeconds: 300,
  staleSeconds: 600,
  orphanAfterSeconds: 1800,
  leadWaitSeconds: 300,
  timezone: "UTC",
};
const SECOND = 1000;

/** 2025-11-03 10:00:00 UTC: the start of the synthetic calls below. */
const T = Date.UTC(2025, 10, 3, 10, 0, 0);
/** The naive UTC text of an instant, as a voice bot writes it. */
const naive = (ms: number) => new Date(ms).toISOString().slice(0, 23);
/** `transcript_session_<end>.json` for a call ending at `endMs`. */
const transcriptName = (endMs: number) =>
  `transcript_session_${naive(endMs).replaceAll(":", "-")}000.json`;

/** A real file tree in a temp dir with the three folders. */
class Tree {
  constructor(readonly dir: string) {}

  path(folder: Folder, name: string): string {
    return join(this.dir, folder, name);
  }

  async writeJson(
    folder: Folder,
    name: string,
    data: unknown,
    mtimeMs: number,
  ): Promise<void> {
    await this.writeText(folder, name, JSON.stringify(data, null, 2), mtimeMs);
  }

  async writeText(
    folder: Folder,
    name: string,
    text: string,
    mtimeMs: number,
  ): Promise<void> {
    await Deno.writeTextFile(this.path(folder, name), text);
    await Deno.utime(this.path(folder, name), mtimeMs / 1000, mtimeMs / 1000);
  }

  /** A transcript of a call from `startMs` lasting `seconds`; returns its name. */
  async transcript(
    startMs: number,
    seconds: number,
    mtimeMs = startMs + seconds * SECOND,
    extra: Record<string, unknown> = {},
  ): Promise<string> {
    const endMs = startMs + seconds * SECOND;
    const name = transcriptName(endMs);
    await this.writeJson("conversations", name, {
      start_time: naive(startMs),
      end_time: naive(endMs),
      duration_seconds: seconds,
      conversation_items: [],
      metadata: { direction: "inbound" },
      ...extra,
    }, mtimeMs);
    return name;
  }

  /** An Ogg recording named after `startMs`; `eos: false` = still being written. */
  async recording(
    digits: string,
    startMs: number,
    seconds: number,
    mtimeMs: number,
    eos = true,
  ): Promise<string> {
    const name = `number-_${digits}-${startMs / 1000}.ogg`;
    const path = this.path("recordings", name);
    await Deno.writeFile(path, makeOpusOgg({ durationSeconds: seconds, eos }));
    await Deno.utime(path, mtimeMs / 1000, mtimeMs / 1000);
    return name;
  }

  async plan(
    now: number,
    opts: {
      cfg?: Partial<PlanConfig>;
      progress?: Progress[];
      delivered?: Map<string, DeliveredEntry>;
      skip?: Partial<Record<Folder, string[]>>;
    } = {},
  ): Promise<Plan> {
    const result = await scanBase(this.dir, { skip: opts.skip });
    return makePlan(
      result,
      {
        delivered: opts.delivered ?? new Map(),
        progress: new Map((opts.progress ?? []).map((p) => [p.set, p])),
      },
      { ...CFG, ...opts.cfg },
      now,
    );
  }
}

async function withTree(
  fn: (tree: Tree) => Promise<void>,
  fixtures?: number,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "callsync-plan-" });
  try {
    if (fixtures !== undefined) await copyTree(FIXTURES, dir, fixtures);
    for (const folder of ["conversations", "recordings", "leads"]) {
      await Deno.mkdir(join(dir, folder), { recursive: true });
    }
    await fn(new Tree(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function only(plan: Plan, name: string): CallSet {
  const found = plan.sets.filter((s) => s.name === name);
  equal(found.length, 1, `one set named ${name}`);
  return found[0];
}

function summary(plan: Plan) {
  return plan.sets.map((s) => ({
    name: s.name,
    kind: s.kind,
    recording: s.recording?.name,
    lead: s.lead?.name,
    state: s.state,
  }));
}

Deno.test("makePlan() pairs the fixture calls as documented in fixtures/README.md", async () => {
  const now = Date.now();
  await withTree(async (tree) => {
    const plan = await tree.plan(now);
    // Oldest call first: call 6 (Oct 13), then calls 1, 2, 3, 4, 5.
    deepStrictEqual(summary(plan), [
      {
        name: "transcript_session_2025-10-13T13-52-30.915207.json",
        kind: "call",
        recording: "number-_919876501234-1760363470.ogg",
        lead: "lead_20251013_135233.json",
        state: "pending",
      },
      {
        name: "transcript_session_2025-10-29T06-49-07.351452.json",
        kind: "call",
        recording: "number-_918655066243-1761720502.ogg",
        lead: "leads_session_2025-10-29T06-49-07.351452.json",
        state: "pending",
      },
      {
        name: "transcript_session_2025-10-29T07-23-04.887540.json",
        kind: "call",
        recording: "number-_919167234510-1761722530.ogg",
        lead: "leads_session_2025-10-29T07-23-04.887540.json",
        state: "pending",
      },
      {
        name: "transcript_session_2025-10-29T07-23-03.616272.json",
        kind: "call",
        recording: "number-_917045118823-1761722558.ogg",
        lead: undefined,
        state: "pending",
      },
      {
        name: "transcript_session_2025-10-29T09-11-02.480913.json",
        kind: "call",
        recording: undefined,
        lead: undefined,
        state: "pending",
      },
      {
        name: "number-_919820012345-1761732314.ogg",
        kind: "recording-only",
        recording: "number-_919820012345-1761732314.ogg",
        lead: undefined,
        state: "pending",
      },
    ]);
    deepStrictEqual(plan.strays, []);
    equal(plan.deliveredCount, 0);

    const call1 = plan.sets[1];
    // The recording starts 2.12 s before the transcript (README).
    equal(call1.recordingMatch?.startDiffSeconds, -2.12);
    equal(call1.leadMatch?.reason, "session-timestamp");
    equal(call1.startMs, Date.UTC(2025, 9, 29, 6, 48, 24, 120));
    // A legacy lead goes by the time in its name against the transcript's
    // save time (its name); it was "nearest-end" before issue 12.
    equal(plan.sets[0].leadMatch?.reason, "time");
    for (const s of plan.sets) equal(s.truncated, false, s.name);
  }, now - 86_400_000);
});

Deno.test("makePlan() waits for fresh fixture recordings without transcript but not for old calls", async () => {
  const mtime = Date.now();
  await withTree(async (tree) => {
    const plan = await tree.plan(mtime + SECOND);
    // Call 5 is a recording-only set timed from the file's mtime: just written.
    const call5 = only(plan, "number-_919820012345-1761732314.ogg");
    equal(call5.state, "waiting");
    ok(call5.reason.includes("no transcript yet"), call5.reason);
    // Call 4 ended on 2025-10-29, but its transcript file was only just
    // written: the orphan deadline runs from the later of the two.
    const call4 = "transcript_session_2025-10-29T09-11-02.480913.json";
    equal(only(plan, call4).state, "waiting");
    const later = await tree.plan(mtime + 1800 * SECOND);
    equal(only(later, call4).state, "pending");
  }, mtime);
});

Deno.test("makePlan() waits while the matching recording is still being written", async () => {
  await withTree(async (tree) => {
    const conv = await tree.transcript(T, 40);
    const written = T + 40 * SECOND;
    const rec = await tree.recording(
      "919000000001",
      T - 2 * SECOND,
      30,
      written,
      false,
    );

    const fresh = only(await tree.plan(written + 5 * SECOND), conv);
    equal(fresh.recording?.name, rec);
    equal(fresh.state, "waiting");
    ok(fresh.reason.includes("still being written"), fresh.reason);
    equal(fresh.truncated, false);

    const almost = only(await tree.plan(written + 600 * SECOND - 1), conv);
    equal(almost.state, "waiting");

    const stale = only(await tree.plan(written + 600 * SECOND), conv);
    equal(stale.recording?.name, rec);
    equal(stale.state, "pending");
    equal(stale.truncated, true);
    ok(stale.reason.includes("truncated"), stale.reason);
  });
});

Deno.test("makePlan() sends an unfinished recording without transcript once stale and orphaned", async () => {
  await withTree(async (tree) => {
    const mtime = T + 20 * SECOND;
    const rec = await tree.recording("919000000002", T, 20, mtime, false);

    const fresh = only(await tree.plan(mtime + SECOND), rec);
    equal(fresh.kind, "recording-only");
    equal(fresh.state, "waiting");
    ok(fresh.reason.includes("still being written"), fresh.reason);

    const stale = only(await tree.plan(mtime + 600 * SECOND), rec);
    equal(stale.truncated, true);
    equal(stale.state, "waiting", "stale, but the transcript may still come");
    ok(stale.reason.includes("no transcript yet"), stale.reason);

    const due = only(await tree.plan(mtime + 1800 * SECOND), rec);
    equal(due.state, "pending");
    equal(due.truncated, true);
    ok(due.reason.includes("recording-only"), due.reason);
    ok(due.reason.includes("truncated"), due.reason);
  });
});

Deno.test("makePlan() holds a conversation without recording until ORPHAN_AFTER_SECONDS past its end", async () => {
  await withTree(async (tree) => {
    const conv = await tree.transcript(T, 40);
    const end = T + 40 * SECOND;

    const before = only(await tree.plan(end + 1800 * SECOND - 1), conv);
    equal(before.state, "waiting");
    equal(before.recording, undefined);
    ok(before.reason.includes("1800"), before.reason);

    const due = only(await tree.plan(end + 1800 * SECOND), conv);
    equal(due.state, "pending");
    equal(due.recording, undefined);
    ok(due.reason.includes("without a recording"), due.reason);
  });
});

Deno.test("makePlan() with ORPHAN_AFTER_SECONDS=0 keeps halves of a call waiting forever", async () => {
  await withTree(async (tree) => {
    const conv = await tree.transcript(T, 40);
    const rec = await tree.recording("919000000003", T + 3600 * SECOND, 20, T);
    const plan = await tree.plan(T + 30 * 86_400 * SECOND, {
      cfg: { orphanAfterSeconds: 0 },
    });
    deepStrictEqual(
      plan.sets.map((s) => [s.name, s.kind, s.state]),
      [[conv, "call", "waiting"], [rec, "recording-only", "waiting"]],
    );
    for (const s of plan.sets) {
      ok(s.reason.includes("ORPHAN_AFTER_SECONDS=0"), s.reason);
    }
  });
});

Deno.test("makePlan() makes a recording-only set of a finished recording without transcript", async () => {
  await withTree(async (tree) => {
    const mtime = T + 25 * SECOND;
    const rec = await tree.recording("919000000004", T, 25, mtime);

    const before = only(await tree.plan(mtime + 1800 * SECOND - 1), rec);
    equal(before.kind, "recording-only");
    equal(before.state, "waiting");

    const due = only(await tree.plan(mtime + 1800 * SECOND), rec);
    equal(due.state, "pending");
    equal(due.recording?.name, rec);
    equal(due.conversation, undefined);
    equal(due.startMs, T);
    equal(due.truncated, false);
  });
});

Deno.test("makePlan() keeps the recording named in a progress record (pinned pairing)", async () => {
  await withTree(async (tree) => {
    const conv = await tree.transcript(T, 40);
    // x fits the transcript perfectly; y was uploaded for it by an earlier run.
    const x = await tree.recording("919000000005", T - SECOND, 40, T);
    const y = await tree.recording("919000000006", T - 120 * SECOND, 45, T);
    const now = T + 86_400 * SECOND;

    const unpinned = await tree.plan(now);
    equal(only(unpinned, conv).recording?.name, x);
    equal(only(unpinned, y).kind, "recording-only");

    const progress: Progress = {
      set: conv,
      attempts: 1,
      recording_file: y,
      recording_url: "https://crm.example/uploads/y.ogg",
      recording_size: 1234,
      last_error: "HTTP 502",
      next_attempt_at: now - SECOND,
    };
    const pinned = await tree.plan(now, { progress: [progress] });
    const set = only(pinned, conv);
    equal(set.recording?.name, y);
    equal(set.recordingMatch, undefined);
    equal(set.state, "pending");
    ok(set.reason.includes("already uploaded"), set.reason);
    equal(only(pinned, x).kind, "recording-only");
    equal(pinned.sets.length, 2, "y is not also a recording-only set");

    // The pin holds even once the uploaded recording is gone from disk.
    await Deno.remove(tree.path("recordings", y));
    const gone = only(await tree.plan(now, { progress: [progress] }), conv);
    equal(gone.recording, undefined);
    equal(gone.state, "pending");
    ok(gone.reason.includes("already uploaded"), gone.reason);
  });
});

Deno.test("makePlan() keeps what may have reached the CRM apart: a conversation sent alone, a recording sent alone", async () => {
  await withTree(async (tree) => {
    const conv = await tree.transcript(T, 40);
    const rec = await tree.recording("919000000005", T - SECOND, 40, T);
    const now = T + 86_400 * SECOND;
    equal(only(await tree.plan(now), conv).recording?.name, rec, "they fit");

    const retry = { attempts: 1, last_error: "no answer", next_attempt_at: 0 };
    // The conversation's record went out alone (the recording came later).
    const sentAlone: Progress = {
      set: conv,
      ...retry,
      call_record: { callDetails: { callId: "CALL-X" } },
    };
    const plan = await tree.plan(now, { progress: [sentAlone] });
    equal(only(plan, conv).recording, undefined);
    equal(only(plan, rec).kind, "recording-only");

    // The recording went up alone (its transcript came later), or was about
    // to: the storage may have it even without an answer.
    for (const url of ["https://crm.example/uploads/r.ogg", undefined]) {
      const upAlone: Progress = {
        set: rec,
        ...retry,
        recording_file: rec,
        recording_url: url,
      };
      const plan2 = await tree.plan(now, { progress: [upAlone] });
      equal(only(plan2, conv).recording, undefined);
      equal(only(plan2, rec).kind, "recording-only");
      equal(only(plan2, rec).state, "pending");
    }
  });
});

Deno.test("makePlan() marks a set whose progress says failed as failed", async () => {
  await withTree(async (tree) => {
    const conv = await tree.transcript(T, 40);
    await tree.recording("919000000007", T - SECOND, 40, T);
    const set = only(
      await tree.plan(T + 86_400 * SECOND, {
        progress: [{
          set: conv,
          attempts: 3,
          failed: true,
          last_error: "call-data answered HTTP 422",
          next_attempt_at: T,
        }],
      }),
      conv,
    );
    equal(set.state, "failed");
    ok(set.reason.includes("3 attempts"), set.reason);
    ok(set.reason.includes("HTTP 422"), set.reason);
  });
});

Deno.test("makePlan() waits for next_attempt_at after a failed attempt", async () => {
  await withTree(async (tree) => {
    const conv = await tree.transcript(T, 40);
    await tree.recording("919000000008", T - SECOND, 40, T);
    const now = T + 86_400 * SECOND;
    const progress = (at: number): Progress => ({
      set: conv,
      attempts: 1,
      last_error: "upload answered HTTP 503",
      next_attempt_at: at,
    });

    const later = only(
      await tree.plan(now, { progress: [progress(now + 60 * SECOND)] }),
      conv,
    );
    equal(later.state, "waiting");
    equal(later.nextAttemptAt, now + 60 * SECOND);
    ok(later.reason.includes("retry 2"), later.reason);
    ok(later.reason.includes("HTTP 503"), later.reason);

    const due = only(await tree.plan(now, { progress: [progress(now)] }), conv);
    equal(due.state, "pending");
    equal(due.progress?.attempts, 1);
  });
});

Deno.test("makePlan() keeps a lead that fits no call waiting, then sends it alone after ORPHAN_AFTER_SECONDS", async () => {
  await withTree(async (tree) => {
    const name = "leads_session_2025-11-03T09-00-00.000000.json";
    const mtime = T;
    await tree.writeJson("leads", name, {
      name: "Nobody",
      session_id: "session_20251103_085900_deadbeef",
    }, mtime);

    const fresh = await tree.plan(mtime + SECOND);
    deepStrictEqual(fresh.strays, []);
    deepStrictEqual(summary(fresh), [{
      name,
      kind: "lead-only",
      recording: undefined,
      lead: name,
      state: "waiting",
    }]);
    equal(fresh.sets[0].aloneReason, "no call found for this lead");
    ok(/sent alone \(lead-only\) 1800 s after/.test(fresh.sets[0].reason));

    const due = only(await tree.plan(mtime + 1800 * SECOND), name);
    equal(due.state, "pending");
    equal(due.kind, "lead-only");
    equal(due.conversation, undefined);
    equal(due.recording, undefined);
    equal(due.startMs, Date.UTC(2025, 10, 3, 9), "dated by its name");
    ok(/send the lead alone .*no call found for this lead/.test(due.reason));
  });
});

Deno.test("makePlan() sends a lead that fits two calls about as well alone, naming both", async () => {
  await withTree(async (tree) => {
    const announced = { lead_generated: true };
    const a = await tree.transcript(T, 40, T + 40 * SECOND, announced);
    const b = await tree.transcript(T + SECOND, 40, T + 41 * SECOND, announced);
    const lead = "lead_20251103_100040.json";
    await tree.writeJson("leads", lead, { name: "Either" }, T + 41 * SECOND);

    const plan = await tree.plan(T + 3600 * SECOND);
    const alone = only(plan, lead);
    equal(alone.kind, "lead-only");
    equal(alone.state, "pending");
    equal(
      alone.aloneReason,
      `fits ${a} and ${b} about as well (no clear winner)`,
    );
    for (const call of [a, b]) equal(only(plan, call).lead, undefined);
  });
});

Deno.test("makePlan() with ORPHAN_AFTER_SECONDS=0 keeps a lead without a call waiting", async () => {
  await withTree(async (tree) => {
    const name = "lead_20251103_090000.json";
    await tree.writeJson("leads", name, { name: "Nobody" }, T);
    const plan = await tree.plan(T + 86_400 * SECOND, {
      cfg: { orphanAfterSeconds: 0 },
    });
    const set = only(plan, name);
    equal(set.kind, "lead-only");
    equal(set.state, "waiting");
    ok(/orphan delivery is off \(ORPHAN_AFTER_SECONDS=0\)/.test(set.reason));
  });
});

/** A call that announces a lead, its recording, and its session lead written at `leadMtimeMs`. */
async function callWithSessionLead(
  tree: Tree,
  leadMtimeMs: number,
): Promise<{ conv: string; lead: string }> {
  const conv = await tree.transcript(T, 40, T + 40 * SECOND, {
    lead_generated: true,
  });
  await tree.recording("919000000020", T + 5 * SECOND, 35, T + 40 * SECOND);
  const lead = conv.replace("transcript_session_", "leads_session_");
  await tree.writeJson("leads", lead, { name: "Lead" }, leadMtimeMs);
  return { conv, lead };
}

Deno.test("makePlan() keeps a lead alone once its lead-only record was attempted, even when its call shows up", async () => {
  await withTree(async (tree) => {
    const { conv, lead } = await callWithSessionLead(tree, T + 41 * SECOND);
    const progress: Progress = {
      set: lead,
      attempts: 1,
      last_error: "HTTP 503",
      alone_reason: "no call found for this lead",
      call_record: { callDetails: { callId: "CALL-PINNED" } },
    };

    const plan = await tree.plan(T + 3600 * SECOND, { progress: [progress] });
    const alone = only(plan, lead);
    equal(alone.kind, "lead-only");
    equal(alone.state, "pending", alone.reason);
    equal(alone.aloneReason, "no call found for this lead");
    const call = only(plan, conv);
    equal(call.lead, undefined, "never attached afterwards");
    deepStrictEqual(call.leadSentAlone, { lead, callId: "CALL-PINNED" });
    equal(call.leadMissing, false);
  });
});

Deno.test("makePlan() sends a call whose lead was delivered alone without it, saying so, and does not wait for the lead", async () => {
  await withTree(async (tree) => {
    const { conv, lead } = await callWithSessionLead(tree, T);
    const delivered = new Map<string, DeliveredEntry>([[lead, {
      callId: "CALL-ALONE",
      lead,
      at: T,
      alone: true,
    }]]);

    const plan = await tree.plan(T + 60 * SECOND, {
      delivered,
      skip: { leads: [lead] },
    });
    const call = only(plan, conv);
    equal(call.state, "pending", call.reason);
    equal(call.lead, undefined);
    equal(call.leadMissing, false);
    deepStrictEqual(call.leadSentAlone, { lead, callId: "CALL-ALONE" });
    ok(
      /its lead .* was already sent alone as CALL-ALONE; not sent again/.test(
        call.reason,
      ),
      call.reason,
    );
    equal(plan.sets.filter((s) => s.kind === "lead-only").length, 0);
  });
});

Deno.test("makePlan() treats an unreadable file as waiting while fresh and failed once stale", async () => {
  await withTree(async (tree) => {
    const name = "transcript_session_2025-11-03T10-00-40.000000.json";
    const mtime = T;
    await tree.writeText(
      "conversations",
      name,
      '{\n  "session_id": "session_2025',
      mtime,
    );
    await tree.writeText(
      "recordings",
      "number-_919000000009-1762164000.ogg",
      "",
      mtime,
    );

    const fresh = await tree.plan(mtime + SECOND);
    deepStrictEqual(fresh.sets, []);
    deepStrictEqual(
      fresh.strays.map((s) => [s.folder, s.name, s.state]).sort(),
      [
        ["conversations", name, "waiting"],
        ["recordings", "number-_919000000009-1762164000.ogg", "waiting"],
      ],
    );
    for (const s of fresh.strays) {
      ok(s.reason.includes("may still be being written"), s.reason);
    }
    ok(fresh.strays.some((s) => s.reason.includes("not valid JSON")));

    const stale = await tree.plan(mtime + 600 * SECOND);
    deepStrictEqual(stale.strays.map((s) => s.state), ["failed", "failed"]);
    for (const s of stale.strays) {
      ok(!s.reason.includes("may still be being written"), s.reason);
    }
  });
});

Deno.test(testOn(SYMLINKS, {
  name: "makePlan() fails a symlink out of the configured folders at once",
  async fn() {
    await withTree(async (tree) => {
      const outside = join(tree.dir, "secret.json");
      await Deno.writeTextFile(
        outside,
        '{"start_time": "2025-11-03T10:00:00"}',
      );
      const name = "transcript_session_2025-11-03T10-00-40.000000.json";
      await symlinkFile(outside, tree.path("conversations", name));

      const plan = await tree.plan(Date.now());
      deepStrictEqual(plan.sets, []);
      equal(plan.strays.length, 1);
      equal(plan.strays[0].name, name);
      equal(plan.strays[0].state, "failed", "waiting cannot fix a symlink");
      ok(plan.strays[0].reason.includes("outside"), plan.strays[0].reason);
    });
  },
}));

Deno.test("makePlan() holds a call while its lead file is still being written", async () => {
  await withTree(async (tree) => {
    const conv = await tree.transcript(T, 40);
    await tree.recording("919000000010", T - SECOND, 40, T);
    const lead = conv.replace("transcript_session_", "leads_session_");
    const mtime = T + 50 * SECOND;
    await tree.writeText("leads", lead, '{"name": "Half', mtime);

    const fresh = only(await tree.plan(mtime + SECOND), conv);
    equal(fresh.state, "waiting");
    ok(fresh.reason.includes("lead file is still being written"), fresh.reason);

    const stale = await tree.plan(mtime + 600 * SECOND);
    equal(only(stale, conv).state, "pending");
    equal(only(stale, conv).lead, undefined);
    deepStrictEqual(
      stale.strays.map((s) => [s.folder, s.name, s.state]),
      [["leads", lead, "failed"]],
    );
  });
});

Deno.test("makePlan() leaves delivered calls out and counts them", async () => {
  await withTree(async (tree) => {
    const conv = await tree.transcript(T, 40);
    const rec = await tree.recording("919000000011", T - SECOND, 40, T);
    const delivered = new Map<string, DeliveredEntry>([[conv, {
      callId: "CALL-20251103-100000-00011",
      recording: rec,
      at: T + 3600 * SECOND,
    }]]);
    const plan = await tree.plan(T + 86_400 * SECOND, {
      delivered,
      skip: { conversations: [conv], recordings: [rec] },
    });
    deepStrictEqual(plan.sets, []);
    deepStrictEqual(plan.strays, []);
    equal(plan.deliveredCount, 1);
  });
});

Deno.test("makePlan() keeps a transcript that announces a lead waiting LEAD_WAIT_SECONDS, then sends it without", () => {
  const host = generateHost({
    seed: 3,
    calls: 3,
    leadRate: 1,
    offsetSeconds: 10,
  });
  const scan = hostScan({ ...host, leads: [] }, "UTC");
  const saved = Math.max(...scan.conversations.map((c) => c.mtimeMs));
  const state = { delivered: new Map(), progress: new Map() };
  const soon = makePlan(scan, state, CFG, saved + 60_000);
  for (const s of soon.sets) {
    equal(s.state, "waiting", s.reason);
    ok(/announces a lead/.test(s.reason), s.reason);
  }
  const later = makePlan(scan, state, CFG, saved + 301_000);
  for (const s of later.sets) {
    equal(s.state, "pending", s.reason);
    equal(s.leadMissing, true);
    ok(/announced lead did not come/.test(s.reason), s.reason);
  }
});

Deno.test("makePlan() makes a lead for a call already delivered an update of that call", () => {
  const host = generateHost({
    seed: 4,
    calls: 2,
    leadRate: 1,
    offsetSeconds: 10,
  });
  const scan = hostScan(host, "UTC");
  const [first] = host.calls;
  const delivered = new Map<string, DeliveredEntry>([[first.transcript!, {
    callId: "CALL-X",
    recording: first.recording,
    at: Date.UTC(2026, 0, 7),
  }]]);
  const plan = makePlan(
    {
      ...scan,
      conversations: scan.conversations.filter((c) =>
        c.name !== first.transcript
      ),
      recordings: scan.recordings.filter((r) => r.name !== first.recording),
    },
    { delivered, progress: new Map() },
    CFG,
    Date.UTC(2030, 0, 1),
  );
  const update = plan.sets.find((s) => s.kind === "lead-update");
  deepStrictEqual(update?.updateOf, {
    set: first.transcript,
    callId: "CALL-X",
  });
  equal(update?.lead?.name, first.lead);
  equal(update?.state, "pending");
  ok(/again with this lead \(an update\)/.test(update!.reason));
});

Deno.test("makePlan() finds a late legacy lead's call among sets delivered since an earlier plan over the same state (watch)", () => {
  const host = generateHost({
    seed: 4,
    calls: 3,
    leadRate: 1,
    leadStyle: "legacy",
    offsetSeconds: 10,
  });
  const scan = hostScan(host, "UTC");
  const [first, second] = host.calls;
  const onlyLeadOf = (c: typeof first) => ({
    ...scan,
    conversations: [],
    recordings: [],
    leads: scan.leads.filter((l) => l.name === c.lead),
  });
  const entry = (c: typeof first, at: number): DeliveredEntry => ({
    callId: `CALL-${at}`,
    recording: c.recording,
    at,
  });
  // Watch plans again and again over one growing map of delivered sets.
  const delivered = new Map<string, DeliveredEntry>();
  const state = { delivered, progress: new Map() };
  const now = Date.UTC(2030, 0, 1);
  const before = makePlan(onlyLeadOf(first), state, CFG, now);
  deepStrictEqual(
    before.sets.map((s) => s.kind),
    ["lead-only"],
    "no call for it yet: it would go alone",
  );
  delivered.set(first.transcript!, entry(first, 1));
  const after = makePlan(onlyLeadOf(first), state, CFG, now);
  deepStrictEqual(after.sets.map((s) => s.updateOf), [
    { set: first.transcript, callId: "CALL-1" },
  ]);
  delivered.set(second.transcript!, entry(second, 2));
  const next = makePlan(onlyLeadOf(second), state, CFG, now);
  deepStrictEqual(next.sets.map((s) => s.updateOf), [
    { set: second.transcript, callId: "CALL-2" },
  ]);
  // A delivered call that already has its lead takes no other.
  delivered.set(second.transcript!, { ...entry(second, 2), lead: "x.json" });
  const fresh = new Map(delivered);
  deepStrictEqual(
    makePlan(onlyLeadOf(second), { ...state, delivered: fresh }, CFG, now)
      .sets.map((s) => [s.kind, s.updateOf]),
    [["lead-only", undefined]],
  );
});

Deno.test("makePlan() never makes a session lead an update of another session's delivered call", async () => {
  await withTree(async (tree) => {
    // Delivered without a lead: the call saved at 10:00:40.
    const delivered = new Map<string, DeliveredEntry>([[
      transcriptName(T + 40 * SECOND),
      { callId: "CALL-OTHER", at: T + 60 * SECOND },
    ]]);
    // A second later another session saved its lead; its transcript is lost.
    const lead = transcriptName(T + 41 * SECOND).replace(
      "transcript_session_",
      "leads_session_",
    );
    await tree.writeJson("leads", lead, { name: "Stranger" }, T + 41 * SECOND);

    const plan = await tree.plan(T + 3600 * SECOND, { delivered });
    const set = only(plan, lead);
    equal(set.kind, "lead-only", set.reason);
    equal(set.aloneReason, "no call found for this lead");
  });
});

Deno.test("makePlan() reads a repeated hour by the pairing and sends the call's true start", () => {
  const host = generateHost({
    seed: 5,
    calls: 120,
    botZone: "America/New_York",
    firstCallMs: Date.UTC(2026, 10, 1, 5),
    meanGapSeconds: 60,
    offsetSeconds: 15,
  });
  const plan = makePlan(
    hostScan(host, "America/New_York"),
    { delivered: new Map(), progress: new Map() },
    { ...CFG, timezone: "America/New_York" },
    Date.UTC(2030, 0, 1),
  );
  const truth = new Map(host.calls.map((c) => [c.transcript, c.startMs]));
  const read = plan.sets.filter((s) => s.timeChoice);
  ok(read.length > 50, `${read.length} calls in the repeated hour`);
  for (const s of read) {
    equal(s.startMs, truth.get(s.name), s.name);
    equal(s.conversation!.key.startMs, s.startMs);
    equal(s.timeChoice!.basis, "recording");
  }
});

Deno.test("makePlan() reports a bot writing another zone than TIMEZONE", () => {
  const host = generateHost({ seed: 6, calls: 20, botZone: "Asia/Kolkata" });
  const plan = makePlan(
    hostScan(host, "UTC"),
    { delivered: new Map(), progress: new Map() },
    CFG,
    Date.UTC(2030, 0, 1),
  );
  equal(plan.zoneMismatch?.shiftSeconds, -19800);
  equal(plan.zoneMismatch?.zones[0], "Asia/Kolkata");
});

Deno.test("makePlan() keeps twin calls apart until the orphan deadline, then sends each alone saying why", () => {
  const host = generateHost({ seed: 7, calls: 30, offsetSeconds: 10 });
  // Two calls that start and end together, to the tenth of a second.
  const [a, b] = host.transcripts.slice(-2);
  const twin = {
    ...b,
    data: {
      ...b.data,
      start_time: a.data.start_time,
      end_time: a.data.end_time,
    },
  };
  const scan = hostScan({
    ...host,
    transcripts: [...host.transcripts.slice(0, -1), twin],
  }, "UTC");
  const callA = host.calls.find((c) => c.transcript === a.name)!;
  const recA = scan.recordings.find((r) => r.name === callA.recording)!;
  const clone = {
    ...recA,
    name: recA.name.replace(/^number-_91/, "number-_92"),
    key: {
      ...recA.key,
      name: recA.name.replace(/^number-_91/, "number-_92"),
      phone: undefined,
    },
    callerDigits: undefined,
  };
  scan.recordings = scan.recordings.filter((r) => {
    const call = host.calls.find((c) => c.recording === r.name);
    return call?.transcript !== b.name;
  });
  scan.recordings.push(clone);
  const state = { delivered: new Map(), progress: new Map() };
  const end = Date.parse(String(a.data.end_time) + "Z");
  const soon = makePlan(scan, state, CFG, end + 60_000);
  const apart = soon.sets.filter((s) => s.ambiguity);
  equal(apart.length, 4, apart.map((s) => s.name).join(", "));
  for (const s of apart) {
    equal(s.state, "waiting");
    ok(/kept apart/.test(s.reason), s.reason);
  }
  const later = makePlan(scan, state, CFG, end + 3600_000);
  for (const s of later.sets.filter((s) => s.ambiguity)) {
    equal(s.state, "pending");
    ok(/kept apart/.test(s.reason), s.reason);
  }
});
