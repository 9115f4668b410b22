import { equal, ok } from "node:assert/strict";
import {
  type AnchorSample,
  learnTiming,
  MIN_ANCHORS,
  PRIOR,
} from "../../lib/pair/timing.ts";

const MINUTE = 60_000;

/** `n` anchors a minute apart from `fromMs`, offset `offset` ± `jitter`. */
function anchors(
  n: number,
  offset: number,
  opts: { fromMs?: number; jitter?: number; mtimeJitter?: number } = {},
): AnchorSample[] {
  const { fromMs = 0, jitter = 2, mtimeJitter = 0.3 } = opts;
  // A fixed zig-zag instead of randomness: every value within ±jitter.
  const wave = (i: number, width: number) => ((i * 7) % 5 - 2) / 2 * width;
  return Array.from({ length: n }, (_, i) => ({
    atMs: fromMs + i * MINUTE,
    startDiff: offset + wave(i, jitter),
    endDiff: -0.5 + wave(i + 1, 0.4),
    mtimeDiff: 0.2 + wave(i + 2, mtimeJitter),
  }));
}

Deno.test("learnTiming() with too few pairs keeps the priors, capped by the window", () => {
  const t = learnTiming(anchors(MIN_ANCHORS - 1, 30), 20).timing;
  equal(t.anchors, 0);
  equal(t.offsetSeconds, PRIOR.offsetSeconds);
  equal(t.offsetSpreadSeconds, 20, "never wider than MATCH_WINDOW_SECONDS");
  equal(t.endSpreadSeconds, PRIOR.endSpreadSeconds);
});

Deno.test("learnTiming() learns a late recorder's offset and a tight spread", () => {
  const t = learnTiming(anchors(60, 25), 300).timing;
  equal(t.anchors, 60);
  ok(Math.abs(t.offsetSeconds - 25) <= 1, `offset ${t.offsetSeconds}`);
  ok(
    t.offsetSpreadSeconds >= 2 && t.offsetSpreadSeconds <= 6,
    `spread ${t.offsetSpreadSeconds}`,
  );
  ok(Math.abs(t.endBiasSeconds + 0.5) <= 0.2);
  ok(t.endSpreadSeconds < PRIOR.endSpreadSeconds);
  equal(t.periods.length, 1);
  equal(t.periods[0].pairs, 60);
});

Deno.test("learnTiming() follows a jump of offset and cuts the history into periods", () => {
  const before = anchors(40, 5);
  const after = anchors(40, 35, { fromMs: 40 * MINUTE });
  const timing = learnTiming([...after, ...before], 300);
  const t = timing.timing;
  ok(Math.abs(t.offsetSeconds - 35) <= 1, `latest offset ${t.offsetSeconds}`);
  equal(t.periods.length, 2);
  ok(Math.abs(t.periods[0].offsetSeconds - 5) <= 1);
  ok(Math.abs(t.periods[1].offsetSeconds - 35) <= 1);
  // A call in the first period is measured against that period's offset.
  ok(Math.abs(timing.expectedOffset(10 * MINUTE, 6) - 5) <= 1);
  ok(Math.abs(timing.expectedOffset(70 * MINUTE, 34) - 35) <= 1);
  ok(t.offsetSpreadSeconds < 10, "the jump does not widen the spread");
});

Deno.test("learnTiming() ignores file times that do not agree (copied files)", () => {
  const kept = learnTiming(anchors(30, 10), 300).timing;
  ok(kept.mtimeBiasSeconds !== undefined);
  const copied =
    learnTiming(anchors(30, 10, { mtimeJitter: 4000 }), 300).timing;
  equal(copied.mtimeBiasSeconds, undefined);
  equal(copied.mtimeSpreadSeconds, undefined);
});

Deno.test("learnTiming({ endsOnly }) learns the end bands and keeps the prior offset", () => {
  const t = learnTiming(anchors(30, 40), 300, { endsOnly: true }).timing;
  equal(t.offsetSeconds, PRIOR.offsetSeconds);
  ok(t.endSpreadSeconds < PRIOR.endSpreadSeconds);
});
