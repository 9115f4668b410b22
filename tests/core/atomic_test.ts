import assert from "node:assert/strict";
import { join } from "node:path";
import { appendLine, writeFileAtomic } from "../../lib/core/atomic.ts";
import { withTempDir } from "../../testing/fixtures.ts";

Deno.test("writeFileAtomic() replaces a file whole and leaves no temp file behind", async () => {
  await withTempDir("callsync-atomic-", async (dir) => {
    const path = join(dir, "x.json");
    await writeFileAtomic(path, "old");
    await writeFileAtomic(path, "new content");
    assert.equal(await Deno.readTextFile(path), "new content");
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["x.json"]);
  });
});

Deno.test("writeFileAtomic() into a missing folder fails and writes nothing", async () => {
  await withTempDir("callsync-atomic-", async (dir) => {
    await assert.rejects(
      () => writeFileAtomic(join(dir, "no", "x.json"), "x"),
      Deno.errors.NotFound,
    );
  });
});

Deno.test("appendLine() appends whole lines, creating the file", async () => {
  await withTempDir("callsync-atomic-", async (dir) => {
    const path = join(dir, "j.jsonl");
    await appendLine(path, '{"a":1}');
    await appendLine(path, '{"b":2}');
    assert.equal(await Deno.readTextFile(path), '{"a":1}\n{"b":2}\n');
  });
});
