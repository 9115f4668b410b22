import assert from "node:assert/strict";
import { forEachLimited } from "../../lib/core/pool.ts";

Deno.test("forEachLimited() runs every item, never more than the limit at once, starting in order", async () => {
  let inFlight = 0;
  let most = 0;
  const started: number[] = [];
  await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    started.push(n);
    most = Math.max(most, ++inFlight);
    await new Promise((r) => setTimeout(r, 5 * (n % 3)));
    inFlight--;
  });
  assert.deepEqual(started, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(most, 3);
});

Deno.test("forEachLimited() starts nothing more once shouldStop says so; items in flight finish", async () => {
  const done: number[] = [];
  await forEachLimited([1, 2, 3, 4, 5], 2, async (n) => {
    await Promise.resolve();
    done.push(n);
  }, () => done.length >= 2);
  assert.deepEqual(done.slice(0, 2), [1, 2]);
  assert.ok(done.length <= 3, `ran ${done.length}`);
});

Deno.test("forEachLimited() with no items does nothing", async () => {
  let calls = 0;
  await forEachLimited([], 4, () => Promise.resolve(void calls++));
  assert.equal(calls, 0);
});
