import assert from "node:assert/strict";
import { concatBytes } from "../../lib/core/bytes.ts";

Deno.test("concatBytes() joins chunks in order into a new array", () => {
  const a = new Uint8Array([1, 2]);
  const joined = concatBytes([a, new Uint8Array(0), new Uint8Array([3])]);
  assert.deepEqual([...joined], [1, 2, 3]);
  const alone = concatBytes([a]);
  assert.deepEqual([...alone], [1, 2]);
  assert.notEqual(alone.buffer, a.buffer, "a copy, never the chunk itself");
  assert.equal(concatBytes([]).length, 0);
});
