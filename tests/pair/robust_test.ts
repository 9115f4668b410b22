import { equal, ok } from "node:assert/strict";
import {
  median,
  quantile,
  runMedians,
  runModes,
  spread,
} from "../../lib/pair/robust.ts";

Deno.test("quantile() interpolates between sorted values and clamps q", () => {
  equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  equal(quantile([4, 1, 3, 2], 0), 1);
  equal(quantile([4, 1, 3, 2], 1), 4);
  equal(quantile([4, 1, 3, 2], 2), 4);
  equal(quantile([10, 20], 0.25), 12.5);
  ok(Number.isNaN(quantile([], 0.5)));
});

Deno.test("median() is not moved by a few wild samples", () => {
  equal(median([20, 21, 19, 20, 5000, -9000, 20]), 20);
});

Deno.test("spread() is twice the 90th percentile distance, kept in its bounds", () => {
  const around = [-3, -2, -1, 0, 1, 2, 3, -3, 3, 0];
  equal(spread(around, 0, 0, 100), 6);
  equal(spread(around, 0, 8, 100), 8, "never below the floor");
  equal(spread(around, 0, 0, 4), 4, "never above the ceiling");
  equal(spread([], 0, 1, 30), 30, "no samples: the widest band");
});

Deno.test("runMedians() gives one median per window of k values", () => {
  const out = runMedians(Float64Array.of(1, 9, 2, 8, 3), 3);
  equal(Array.from(out).join(","), "2,8,3");
  equal(
    Array.from(runMedians(Float64Array.of(1, 2, 3, 4), 2)).join(","),
    "1.5,2.5,3.5",
  );
  equal(Array.from(runMedians(Float64Array.of(5, 1), 4)).join(","), "3");
});

Deno.test("runModes() stays on one level where a window straddles a jump", () => {
  const values = Float64Array.of(-7, -6, -7, 10, 35, 34, 36, 35);
  const { late } = runModes(values, 8, 10);
  equal(Array.from(late).join(","), "35");
  equal(median(values), 22, "the median lands between the levels");
  // Two equal groups: late takes the one nearer the end, early the start.
  const tie = runModes(Float64Array.of(0, 1, 0, 40, 41, 40), 6, 5);
  equal(tie.late[0], 40);
  equal(tie.early[0], 0);
});

Deno.test("runModes() slides: each window's mode follows the level it is in", () => {
  const values = Float64Array.of(0, 0, 1, 0, 30, 31, 30, 30);
  const { late } = runModes(values, 4, 5);
  equal(late.length, 5);
  equal(late[0], 0);
  equal(late[late.length - 1], 30);
  equal(
    runModes(Float64Array.of(3, 4), 5, 2).late.length,
    1,
    "fewer than k: one result",
  );
});

Deno.test("runModes() slid over many values gives each window's own mode", () => {
  // Deterministic noise around two levels, with ties and repeats.
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let trial = 0; trial < 200; trial++) {
    const values = Float64Array.from(
      { length: 1 + Math.floor(next() * 60) },
      () => Math.round((next() < 0.5 ? 0 : 30) + next() * 12),
    );
    const k = 1 + Math.floor(next() * 20);
    const width = Math.floor(next() * 12);
    const slid = runModes(values, k, width);
    for (let i = 0; i < slid.late.length; i++) {
      const alone = runModes(values.slice(i, i + k), k, width);
      equal(slid.late[i], alone.late[0], `late, trial ${trial}, run ${i}`);
      equal(slid.early[i], alone.early[0], `early, trial ${trial}, run ${i}`);
    }
  }
});
