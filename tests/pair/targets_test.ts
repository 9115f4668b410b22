import { equal, ok } from "node:assert/strict";
import { generateHost } from "../../testing/busy_host.ts";
import { evaluate, scorePairs } from "../../testing/host_plan.ts";
import { simulateLive } from "../../testing/live.ts";

Deno.test("a call a minute across the fall-back in America/New_York: every pair right, every time read right", () => {
  for (const copied of [false, true]) {
    const host = generateHost({
      seed: 7,
      calls: 240,
      botZone: "America/New_York",
      firstCallMs: Date.UTC(2026, 10, 1, 4),
      meanGapSeconds: 60,
      offsetSeconds: 15,
      copied,
    });
    const e = evaluate(host, "America/New_York");
    equal(e.pairs.right, e.pairs.whole, JSON.stringify(e.pairs));
    ok(e.repeatedTimes > 100);
    equal(e.repeatedTimesRight, e.repeatedTimes);
    equal(e.plan.zoneMismatch, undefined);
  }
});

Deno.test("five hosts with 10 % lost on each side: no lost half joined to another", () => {
  let halves = 0;
  for (let seed = 1; seed <= 5; seed++) {
    const host = generateHost({
      seed: 100 + seed,
      calls: 500,
      meanGapSeconds: 40,
      offsetSeconds: (seed - 1) * 10,
      lostRecordingRate: 0.1,
      lostTranscriptRate: 0.1,
    });
    const { pairs } = evaluate(host, "UTC");
    equal(pairs.halvesJoined, 0, `seed ${100 + seed}`);
    equal(pairs.wrong, 0);
    halves += pairs.halves;
  }
  ok(halves >= 100, `${halves} lost halves`);
});

Deno.test("run by run, as cron meets the files: no wrong pair while the offset jumps, and every lead file is sent", () => {
  const host = generateHost({
    seed: 1003,
    calls: 1000,
    offsetRange: [-10, 40],
    periodMinutes: [10, 30],
    lostRecordingRate: 0.1,
    lostTranscriptRate: 0.1,
  });
  const live = simulateLive(host, "UTC");
  const s = scorePairs(host, live.pairs);
  equal(s.wrong, 0, JSON.stringify(s));
  ok(s.right >= 0.99 * s.whole, JSON.stringify(s));
  // Every lead file reaches the CRM: with its call, or alone.
  equal(live.leads.unsent, 0, JSON.stringify(live.leads));
  equal(live.leads.twice, 0, JSON.stringify(live.leads));
  ok(live.leads.alone > 0, JSON.stringify(live.leads));
});

Deno.test("a bot on Asia/Kolkata read as UTC: the mismatch is found and nothing is paired wrongly", () => {
  const host = generateHost({
    seed: 9,
    calls: 30,
    botZone: "Asia/Kolkata",
    offsetSeconds: 10,
  });
  const e = evaluate(host, "UTC");
  equal(e.plan.zoneMismatch?.zones[0], "Asia/Kolkata");
  equal(e.pairs.wrong, 0);
});
