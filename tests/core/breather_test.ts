import assert from "node:assert/strict";
import { Breather } from "../../lib/core/breather.ts";

/** Busy work for `ms`, awaiting only settled promises, `breathe` between bits. */
async function stretch(ms: number, breathe: () => Promise<void>) {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await Promise.resolve(); // what a file call made at once resolves to
    await breathe();
  }
}

Deno.test("Breather gives a due timer its turn during work that awaits only settled promises", async () => {
  let firedAt: number | undefined;
  const timer = setTimeout(() => firedAt = performance.now(), 1);
  const breather = new Breather(5);
  await stretch(100, () => breather.breathe());
  clearTimeout(timer);
  // Checked before any other turn: it fired while the work went on.
  assert.ok(firedAt !== undefined, "the timer ran while the work went on");
});

Deno.test("without a Breather the same work holds a due timer until it ends", async () => {
  let fired = false;
  const timer = setTimeout(() => fired = true, 1);
  await stretch(50, () => Promise.resolve());
  assert.equal(fired, false, "the timer waited for the work to end");
  clearTimeout(timer);
});
