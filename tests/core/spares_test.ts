import assert from "node:assert/strict";
import { Spares } from "../../lib/core/spares.ts";

Deno.test("Spares.use() gives uses at the same time items of their own, and reuses them after", async () => {
  let made = 0;
  const spares = new Spares(() => ({ id: ++made }));
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  const first = spares.use(async (item) => {
    await held;
    return item.id;
  });
  const second = await spares.use((item) => Promise.resolve(item.id));
  release();
  assert.deepEqual([await first, second], [1, 2]);
  const again = await Promise.all([
    spares.use((item) => Promise.resolve(item.id)),
    spares.use((item) => Promise.resolve(item.id)),
  ]);
  assert.deepEqual(again.sort(), [1, 2]);
  assert.equal(made, 2);
});

Deno.test("Spares.use() puts the item back when its use fails", async () => {
  let made = 0;
  const spares = new Spares(() => ++made);
  await assert.rejects(
    () => spares.use(() => Promise.reject(new Error("read failed"))),
    /read failed/,
  );
  assert.equal(await spares.use((n) => Promise.resolve(n)), 1);
  assert.equal(made, 1);
});
