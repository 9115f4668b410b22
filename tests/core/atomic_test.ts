import assert from "node:assert/strict";
import { join } from "node:path";
import { appendLine, writeFileAtomic } from "../../lib/core/atomic.ts";
import { withTempDir } from "../../testing/fixtures.ts";
import { FILE_MODES, SYMLINKS, testOn } from "../../testing/platform.ts";

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

Deno.test(testOn(FILE_MODES, {
  name:
    "writeFileAtomic() writes 0600 whatever the umask, or the mode asked for",
  async fn() {
    await withTempDir("callsync-atomic-", async (dir) => {
      const before = Deno.umask(0o000);
      try {
        await writeFileAtomic(join(dir, "a.json"), "{}");
        await writeFileAtomic(join(dir, "m.prom"), "x 1\n", 0o644);
      } finally {
        Deno.umask(before);
      }
      assert.equal((await Deno.stat(join(dir, "a.json"))).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(join(dir, "m.prom"))).mode! & 0o777, 0o644);
    });
  },
}));

Deno.test(testOn(SYMLINKS, {
  name:
    "writeFileAtomic() replaces a symlink in its place, never writes through it",
  async fn() {
    await withTempDir("callsync-atomic-", async (dir) => {
      const victim = join(dir, "victim.conf");
      await Deno.writeTextFile(victim, "keep");
      await Deno.symlink(victim, join(dir, "x.json"));
      await writeFileAtomic(join(dir, "x.json"), "new");
      assert.equal(await Deno.readTextFile(victim), "keep");
      assert.ok((await Deno.lstat(join(dir, "x.json"))).isFile);
    });
  },
}));

Deno.test(testOn(SYMLINKS, {
  name:
    "appendLine() refuses a symlinked journal and leaves its target untouched",
  async fn() {
    await withTempDir("callsync-atomic-", async (dir) => {
      const victim = join(dir, "victim.conf");
      await Deno.writeTextFile(victim, "keep");
      await Deno.symlink(victim, join(dir, "j.jsonl"));
      await assert.rejects(
        () => appendLine(join(dir, "j.jsonl"), "{}"),
        /symbolic link/,
      );
      assert.equal(await Deno.readTextFile(victim), "keep");
    });
  },
}));
