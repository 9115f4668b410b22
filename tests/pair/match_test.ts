import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  type ConversationKey,
  DURATION_TOLERANCE_SECONDS,
  type LeadKey,
  matchLeads,
  matchRecordings,
  phonesConflict,
  type RecordingKey,
} from "../../lib/pair/match.ts";
import { generateBusyHost, mulberry32 } from "../../testing/busy_host.ts";

const T0 = Date.UTC(2025, 0, 6, 9);
const OPTS = { windowSeconds: 300 };

function conv(
  name: string,
  startSeconds: number,
  durationSeconds: number,
  extra: Partial<ConversationKey> = {},
): ConversationKey {
  return {
    name,
    startMs: T0 + startSeconds * 1000,
    endMs: T0 + (startSeconds + durationSeconds) * 1000,
    leadGenerated: false,
    ...extra,
  };
}

function rec(
  name: string,
  startSeconds: number,
  durationSeconds: number | undefined,
  extra: Partial<RecordingKey> = {},
): RecordingKey {
  return {
    name,
    startMs: T0 + startSeconds * 1000,
    durationSeconds,
    complete: true,
    ...extra,
  };
}

function pairs(
  conversations: ConversationKey[],
  recordings: RecordingKey[],
): string[][] {
  return matchRecordings(conversations, recordings, OPTS)
    .map((m) => [m.conversation, m.recording]);
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  return items.map((item) => ({ item, k: random() }))
    .sort((a, b) => a.k - b.k).map(({ item }) => item);
}

Deno.test("phonesConflict() only when both numbers are known and differ", () => {
  ok(!phonesConflict(undefined, "8655066243"));
  ok(!phonesConflict("8655066243", ""));
  ok(!phonesConflict("8655066243", "8655066243"));
  ok(!phonesConflict("+91 86550 66243", "8655066243"));
  ok(!phonesConflict("918655066243", "5066243"));
  ok(phonesConflict("8655066243", "8655066244"));
  ok(phonesConflict("918655066243", "066243"), "suffix under 7 digits");
  ok(phonesConflict("8655066243", "9655066243"));
});

Deno.test("matchRecordings() pairs overlapping calls by start time and duration", () => {
  // By start alone a would take y and b x; durations say otherwise.
  const matches = matchRecordings([
    conv("a", 0, 100),
    conv("b", 4, 110),
    conv("c", 10, 400),
  ], [
    rec("x", 3, 101),
    rec("y", 1, 109),
    rec("z", 2, 399),
  ], OPTS);
  deepStrictEqual(matches, [
    {
      conversation: "a",
      recording: "x",
      startDiffSeconds: 3,
      durationDiffSeconds: 1,
      cost: 4,
    },
    {
      conversation: "b",
      recording: "y",
      startDiffSeconds: -3,
      durationDiffSeconds: -1,
      cost: 4,
    },
    {
      conversation: "c",
      recording: "z",
      startDiffSeconds: -8,
      durationDiffSeconds: -1,
      cost: 9,
    },
  ]);
});

Deno.test("matchRecordings() never pairs numbers that differ", () => {
  const phone = { phone: "8655066243" };
  deepStrictEqual(
    pairs([conv("a", 0, 60, phone)], [
      rec("x", 0, 60, { phone: "8655066244" }),
    ]),
    [],
  );
  deepStrictEqual(
    pairs([conv("a", 0, 60, phone)], [
      rec("x", 0, 60, { phone: "8655066244" }),
      rec("y", 40, 80, { phone: "918655066243" }),
    ]),
    [["a", "y"]],
  );
});

Deno.test("matchRecordings() never uses one recording twice", () => {
  const matches = pairs(
    [conv("a", 0, 60), conv("b", 1, 60), conv("c", 2, 60)],
    [
      rec("x", 1, 60),
    ],
  );
  deepStrictEqual(matches, [["b", "x"]]);
});

Deno.test("matchRecordings() never pairs durations far apart", () => {
  const limit = DURATION_TOLERANCE_SECONDS;
  deepStrictEqual(pairs([conv("a", 0, 60)], [rec("x", 0, 60 + limit)]), [[
    "a",
    "x",
  ]]);
  deepStrictEqual(
    pairs([conv("a", 0, 60)], [rec("x", 0, 60 + limit + 0.5)]),
    [],
  );
  deepStrictEqual(pairs([conv("a", 0, 600)], [rec("x", 0, 120)]), []);
});

Deno.test("matchRecordings() takes an incomplete recording's duration as a lower bound", () => {
  const writing = { complete: false };
  deepStrictEqual(pairs([conv("a", 0, 600)], [rec("x", 0, 45, writing)]), [[
    "a",
    "x",
  ]]);
  deepStrictEqual(pairs([conv("a", 0, 60)], [rec("x", 0, 100, writing)]), []);
  deepStrictEqual(pairs([conv("a", 0, 600)], [rec("x", 0, 45)]), []);
});

Deno.test("matchRecordings() pairs a recording of unknown duration", () => {
  const [match] = matchRecordings([conv("a", 0, 60)], [
    rec("x", 3, undefined),
  ], OPTS);
  equal(match.recording, "x");
  equal(match.durationDiffSeconds, undefined);
  ok(match.cost > 3, "an unknown duration costs more than a matching one");
});

Deno.test("matchRecordings() pairs within the window, boundary included", () => {
  deepStrictEqual(pairs([conv("a", 0, 60)], [rec("x", 300, 60)]), [["a", "x"]]);
  deepStrictEqual(pairs([conv("a", 0, 60)], [rec("x", -300, 60)]), [[
    "a",
    "x",
  ]]);
  deepStrictEqual(pairs([conv("a", 0, 60)], [rec("x", 300.001, 60)]), []);
  deepStrictEqual(
    matchRecordings([conv("a", 0, 60)], [rec("x", 30, 60)], {
      windowSeconds: 10,
    }),
    [],
  );
});

Deno.test("matchRecordings() result does not depend on input order", () => {
  const host = generateBusyHost({ seed: 11, calls: 400 });
  const expected = matchRecordings(host.conversations, host.recordings, OPTS);
  const random = mulberry32(12);
  for (let round = 0; round < 5; round++) {
    deepStrictEqual(
      matchRecordings(
        shuffled(host.conversations, random),
        shuffled(host.recordings, random),
        OPTS,
      ),
      expected,
      `shuffle round ${round}`,
    );
  }
});

Deno.test("matchLeads() attaches leads by session timestamp and session id", () => {
  const { matches, unmatched } = matchLeads([
    conv("transcript_session_1", 0, 60, { sessionTs: "1", sessionId: "s1" }),
    conv("transcript_session_2", 5, 60, { sessionTs: "2", sessionId: "s2" }),
  ], [
    { name: "leads_session_1", kind: "session", sessionTs: "1" },
    {
      name: "lead_20250106_090105",
      kind: "legacy",
      sessionId: "s2",
      timeMs: T0,
    },
    { name: "leads_session_9", kind: "session", sessionTs: "9" },
  ], OPTS);
  deepStrictEqual(matches, [
    {
      conversation: "transcript_session_2",
      lead: "lead_20250106_090105",
      reason: "session-id",
    },
    {
      conversation: "transcript_session_1",
      lead: "leads_session_1",
      reason: "session-timestamp",
    },
  ]);
  deepStrictEqual(unmatched, ["leads_session_9"]);
});

Deno.test("matchLeads() prefers lead_generated transcripts for a legacy lead", () => {
  const { matches } = matchLeads(
    [
      conv("near", 0, 60),
      conv("generated", 0, 200, { leadGenerated: true }),
    ],
    [{ name: "lead_x", kind: "legacy", timeMs: T0 + 61_000 }],
    OPTS,
  );
  deepStrictEqual(matches, [{
    conversation: "generated",
    lead: "lead_x",
    reason: "nearest-end",
    endDiffSeconds: -139,
  }]);
});

Deno.test("matchLeads() gives each call at most one lead", () => {
  const { matches, unmatched } = matchLeads([
    conv("a", 0, 60, { sessionTs: "1" }),
    conv("b", 0, 100),
  ], [
    { name: "leads_session_1", kind: "session", sessionTs: "1" },
    { name: "leads_session_1_again", kind: "session", sessionTs: "1" },
    { name: "lead_1", kind: "legacy", timeMs: T0 + 60_000 },
    { name: "lead_2", kind: "legacy", timeMs: T0 + 101_000 },
  ], OPTS);
  deepStrictEqual(matches.map((m) => [m.conversation, m.lead]), [
    ["b", "lead_2"],
    ["a", "leads_session_1"],
  ]);
  deepStrictEqual(unmatched, ["lead_1", "leads_session_1_again"]);
});

Deno.test("matchLeads() leaves a legacy lead outside the window unmatched", () => {
  const leads: LeadKey[] = [
    { name: "lead_late", kind: "legacy", timeMs: T0 + 361_000 },
    { name: "lead_edge", kind: "legacy", timeMs: T0 + 360_000 },
  ];
  const { matches, unmatched } = matchLeads([conv("a", 0, 60)], leads, OPTS);
  deepStrictEqual(matches.map((m) => m.lead), ["lead_edge"]);
  deepStrictEqual(unmatched, ["lead_late"]);
});
