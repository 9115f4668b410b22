import { deepStrictEqual, equal, ok } from "node:assert/strict";
import type { ConversationKey, RecordingKey } from "../../lib/pair/keys.ts";
import { pairRecordings } from "../../lib/pair/match.ts";
import { generateHost, mulberry32 } from "../../testing/busy_host.ts";
import { hostKeys, scorePairs } from "../../testing/host_plan.ts";
import { localReadings } from "../../lib/core/time.ts";
import { transcriptReadings } from "../../lib/source/readings.ts";

const T0 = Date.UTC(2026, 0, 6, 9);
const OPTS = { windowSeconds: 300 };

/** A call from `start` to `end` (seconds after T0), transcript saved 2 s later. */
function conv(name: string, start: number, end: number): ConversationKey {
  return {
    name,
    startMs: T0 + start * 1000,
    endMs: T0 + end * 1000,
    durationSeconds: end - start,
    savedMs: T0 + (end + 2) * 1000,
    mtimeMs: T0 + (end + 2) * 1000,
    leadGenerated: false,
  };
}

/** A recording that started `offset` s into the call and ended with it. */
function rec(
  name: string,
  start: number,
  end: number,
  offset: number,
  extra: Partial<RecordingKey> = {},
): RecordingKey {
  const startSecond = Math.floor(start + offset);
  return {
    name,
    startMs: T0 + startSecond * 1000,
    durationSeconds: end + 0.2 - (start + offset),
    complete: true,
    mtimeMs: T0 + (end + 0.4) * 1000,
    ...extra,
  };
}

/** A steady stream of calls, one every `gap` s, lasting 60–140 s, recorded `offset` s late. */
function steady(count: number, gap: number, offset: number, from = 0) {
  const random = mulberry32(count + gap + offset);
  const convs: ConversationKey[] = [];
  const recs: RecordingKey[] = [];
  for (let k = 0; k < count; k++) {
    const start = from + k * gap + random() * 5;
    const end = start + 60 + random() * 80;
    convs.push(conv(`t${from + k}`, start, end));
    recs.push(rec(`r${from + k}`, start, end, offset + (random() - 0.5) * 4));
  }
  return { convs, recs };
}

function pairs(convs: ConversationKey[], recs: RecordingKey[]): string[][] {
  return pairRecordings(convs, recs, OPTS).matches.map((
    m,
  ) => [m.conversation, m.recording]);
}

Deno.test("pairRecordings() pairs by both ends when the recorder starts 40 s late", () => {
  const { convs, recs } = steady(30, 25, 40);
  const p = pairRecordings(convs, recs, OPTS);
  deepStrictEqual(
    p.matches.map((m) => m.recording),
    convs.map((c) => `r${c.name.slice(1)}`),
  );
  ok(
    Math.abs(p.timing.offsetSeconds - 40) < 2,
    `learned offset ${p.timing.offsetSeconds}`,
  );
  ok(
    p.timing.offsetSpreadSeconds <= 6,
    `spread ${p.timing.offsetSpreadSeconds}`,
  );
  const m = p.matches[0];
  ok(
    Math.abs(m.endDiffSeconds!) < 1.2 &&
      Math.abs(m.durationDiffSeconds! + 40) < 3,
    JSON.stringify(m),
  );
  ok(m.confidence > 0.95);
});

Deno.test("pairRecordings() learns the offset per period and follows a change", () => {
  const before = steady(40, 30, 0);
  const after = steady(40, 30, 35, 1300);
  const p = pairRecordings([...before.convs, ...after.convs], [
    ...before.recs,
    ...after.recs,
  ], OPTS);
  equal(p.matches.length, 80);
  ok(p.matches.every((m) => m.conversation.slice(1) === m.recording.slice(1)));
  deepStrictEqual(
    p.timing.periods.map((x) => Math.round(x.offsetSeconds / 5) * 5 + 0),
    [0, 35],
  );
});

Deno.test("pairRecordings() keeps lost halves apart when their starts disagree with the offset", () => {
  const { convs, recs } = steady(20, 40, 20);
  // A transcript whose recording was lost and a recording whose transcript
  // was lost: the ends agree within 0.3 s, the starts are 30 s off.
  convs.push(conv("lost-rec", 900, 990));
  recs.push(rec("lost-conv", 930, 990.3, 20));
  const p = pairRecordings(convs, recs, OPTS);
  ok(
    !p.matches.some((m) =>
      m.conversation === "lost-rec" || m.recording === "lost-conv"
    ),
  );
  equal(p.matches.length, 20);
});

Deno.test("pairRecordings() keeps twin calls apart and reports them", () => {
  const { convs, recs } = steady(10, 50, 10);
  convs.push(conv("a", 1000, 1090), conv("b", 1000.4, 1090.2));
  recs.push(rec("x", 1000, 1090, 10.2), rec("y", 1000.4, 1090.2, 10.1));
  const p = pairRecordings(convs, recs, OPTS);
  ok(!p.matches.some((m) => ["a", "b"].includes(m.conversation)));
  deepStrictEqual(p.ambiguous.map((a) => [a.conversations, a.recordings]), [[[
    "a",
    "b",
  ], ["x", "y"]]]);
});

Deno.test("pairRecordings() does not pair by a stale offset right after it changed", () => {
  // Offset 27 s for a long while, then 3 s. The newest two calls end together;
  // by the old offset T fits R (T′'s recording), by the new one each its own.
  const { convs, recs } = steady(40, 30, 27);
  convs.push(conv("T", 1300, 1400), conv("T2", 1324.7, 1400.05));
  recs.push(rec("rT", 1300, 1400, 3.9), rec("R", 1324.7, 1400.05, 2.3));
  const p = pairRecordings(convs, recs, OPTS);
  const got = new Map(p.matches.map((m) => [m.conversation, m.recording]));
  ok(got.get("T") !== "R", "never the stranger's recording");
  ok(
    p.ambiguous.length > 0 || (got.get("T") === "rT" && got.get("T2") === "R"),
  );
});

Deno.test("pairRecordings() pairs a recording still being written provisionally, by its start", () => {
  const { convs, recs } = steady(20, 40, 15);
  convs.push(conv("now", 1000, 1080));
  recs.push({
    ...rec("writing", 1000, 1080, 15),
    complete: false,
    durationSeconds: 40,
    mtimeMs: undefined,
  });
  const m = pairRecordings(convs, recs, OPTS).matches.find((x) =>
    x.conversation === "now"
  );
  equal(m?.recording, "writing");
  equal(m?.provisional, true);
  equal(m?.endDiffSeconds, undefined);
});

Deno.test("pairRecordings() never pairs numbers that differ", () => {
  const { convs, recs } = steady(10, 60, 0);
  convs[3] = { ...convs[3], phone: "918655066243" };
  recs[3] = { ...recs[3], phone: "918655066244" };
  ok(!pairs(convs, recs).some(([c]) => c === convs[3].name));
});

Deno.test("pairRecordings() never accepts a start beyond MATCH_WINDOW_SECONDS", () => {
  const { convs, recs } = steady(10, 60, 20);
  equal(pairRecordings(convs, recs, { windowSeconds: 10 }).matches.length, 0);
  equal(pairRecordings(convs, recs, { windowSeconds: 30 }).matches.length, 10);
});

Deno.test("pairRecordings() result does not depend on input order", () => {
  const host = generateHost({
    seed: 11,
    calls: 400,
    offsetSeconds: 25,
    lostRecordingRate: 0.1,
    lostTranscriptRate: 0.1,
  });
  const keys = hostKeys(host, "UTC");
  const expected = pairRecordings(keys.conversations, keys.recordings, OPTS);
  const random = mulberry32(12);
  const shuffled = <T>(items: T[]) =>
    items.map((item) => ({ item, k: random() })).sort((a, b) => a.k - b.k).map((
      { item },
    ) => item);
  for (let round = 0; round < 3; round++) {
    deepStrictEqual(
      pairRecordings(
        shuffled(keys.conversations),
        shuffled(keys.recordings),
        OPTS,
      ),
      expected,
    );
  }
});

Deno.test("pairRecordings() reads a repeated hour by the recording, else the file time, else the earlier reading", () => {
  const zone = "America/New_York";
  const key = (
    name: string,
    start: string,
    end: string,
    saved: string,
    mtimeMs?: number,
  ): ConversationKey => {
    const readings = transcriptReadings({
      starts: localReadings(start, zone),
      ends: localReadings(end, zone),
      saves: localReadings(saved, zone),
      durationSeconds: 120,
    });
    return {
      name,
      ...readings[0],
      durationSeconds: 120,
      readings,
      mtimeMs,
      leadGenerated: false,
    };
  };
  // Second pass through 01:xx (EST, UTC−5): 01:20 local is 06:20Z.
  const second = Date.UTC(2026, 10, 1, 6, 20) / 1000;
  const convs = [
    key(
      "by-recording",
      "2026-11-01T01:20:00",
      "2026-11-01T01:22:00",
      "2026-11-01T01:22:02",
    ),
    key(
      "by-file-time",
      "2026-11-01T01:40:00",
      "2026-11-01T01:42:00",
      "2026-11-01T01:42:02",
      Date.UTC(2026, 10, 1, 6, 42, 2),
    ),
    key(
      "by-rule",
      "2026-11-01T01:50:00",
      "2026-11-01T01:52:00",
      "2026-11-01T01:52:02",
    ),
    // Before the repeated hour, file times agree with the names: trusted.
    ...[10, 20, 30].map((m) =>
      key(
        `t${m}`,
        `2026-11-01T00:${m}:00`,
        `2026-11-01T00:${m + 2}:00`,
        `2026-11-01T00:${m + 2}:02`,
        Date.UTC(2026, 10, 1, 4, m + 2, 2),
      )
    ),
  ];
  const p = pairRecordings(convs, [{
    name: `number-_91700000000-${second + 10}.ogg`,
    startMs: (second + 10) * 1000,
    durationSeconds: 110.3,
    complete: true,
  }], OPTS);
  deepStrictEqual(
    p.times.map((t) => [t.conversation, t.basis, t.reading.startMs]),
    [
      ["by-recording", "recording", second * 1000],
      ["by-file-time", "file-time", Date.UTC(2026, 10, 1, 6, 40)],
      ["by-rule", "rule", Date.UTC(2026, 10, 1, 5, 50)],
    ],
  );
});

Deno.test("pairRecordings() learns from remembered pairs when only new calls are on disk", () => {
  const old = steady(40, 30, 30);
  const first = pairRecordings(old.convs, old.recs, OPTS);
  const history = first.matches.map((m, k) => ({
    atMs: old.convs[k].startMs,
    startDiff: m.startDiffSeconds,
    endDiff: m.endDiffSeconds!,
    mtimeDiff: m.mtimeEndDiffSeconds!,
  }));
  const next = steady(2, 30, 30, 1300);
  const p = pairRecordings(next.convs, next.recs, { ...OPTS, history });
  ok(Math.abs(p.timing.offsetSeconds - 30) < 2);
  ok(p.timing.offsetSpreadSeconds < 8);
  equal(p.matches.length, 2);
});

for (const offset of [-10, 0, 10, 20, 30, 40]) {
  Deno.test(`pairRecordings() pairs ≥ 99.5 % right, none wrong, at a call every 20 s with a ${offset} s offset`, () => {
    const host = generateHost({
      seed: 40 + offset,
      calls: 1500,
      offsetSeconds: offset,
    });
    const keys = hostKeys(host, "UTC");
    const p = pairRecordings(keys.conversations, keys.recordings, OPTS);
    const s = scorePairs(
      host,
      new Map(p.matches.map((m) => [m.conversation, m.recording])),
    );
    ok(s.right >= 0.995 * s.whole, JSON.stringify(s));
    equal(s.wrong, 0);
  });
}
