import assert from "node:assert/strict";
import { join, posix, win32 } from "node:path";
import { testSeam } from "../../lib/source/files.ts";
import { isInside } from "../../lib/source/scan.ts";
import { ROOT } from "../../testing/cli.ts";
import { fixtureCall, withTempDir } from "../../testing/fixtures.ts";
import { scanBase } from "../../testing/scan.ts";
import { copyTree } from "../../testing/tree.ts";
import { SYMLINKS, testOn } from "../../testing/platform.ts";

Deno.test(testOn(SYMLINKS, {
  name:
    "scan() does not read a file swapped for a link between its check and its open; it is looked at again next time",
  async fn() {
    await withTempDir("callsync-scan-", async (dir) => {
      await copyTree(join(ROOT, "fixtures"), dir);
      const name = fixtureCall(1).conversation!;
      const path = join(dir, "conversations", name);
      // A transcript outside the configured folders, which a scan must never read.
      const outside = join(dir, "elsewhere.json");
      await Deno.copyFile(path, outside);
      testSeam.beforeOpen = async (p) => {
        if (p !== path) return;
        await Deno.symlink(outside, `${path}.swap`);
        await Deno.rename(`${path}.swap`, path);
      };
      let result;
      try {
        result = await scanBase(dir);
      } finally {
        testSeam.beforeOpen = undefined;
      }
      assert.ok(!result.conversations.some((c) => c.name === name));
      const problem = result.problems.find((p) => p.name === name);
      assert.ok(problem, JSON.stringify(result.problems));
      assert.match(
        problem.message,
        /was replaced .* while being read; not read/,
      );
      assert.equal(problem.permanent, false, "looked at again next run");
      assert.equal(problem.replaced, true, "warned about by the plan");
      // The next scan sees the link for what it is.
      const again = await scanBase(dir);
      assert.match(
        again.problems.find((p) => p.name === name)?.message ?? "",
        /is a symlink to .*outside the configured folders; not followed/,
      );
    });
  },
}));

Deno.test("isInside() follows a link only into its own folder tree", () => {
  assert.equal(isInside("/bot/leads", "/bot/leads/a.json", posix), true);
  assert.equal(isInside("/bot/leads", "/bot/leads/x/a.json", posix), true);
  assert.equal(isInside("/bot/leads", "/bot/leads", posix), false);
  assert.equal(isInside("/bot/leads", "/bot/leads2/a.json", posix), false);
  assert.equal(isInside("/bot/leads", "/etc/passwd", posix), false);
});

Deno.test("isInside() on Windows: drive letters, any case, UNC shares, other drives outside", () => {
  assert.equal(
    isInside("C:\\bot\\leads", "C:\\bot\\leads\\a.json", win32),
    true,
  );
  assert.equal(
    isInside("C:\\bot\\leads", "C:\\bot\\recordings\\a.ogg", win32),
    false,
  );
  // `relative` across drives is the target itself: outside, however it ends.
  assert.equal(
    isInside("C:\\bot\\leads", "D:\\bot\\leads\\a.json", win32),
    false,
  );
  assert.equal(isInside("C:\\bot", "D:\\x.json", win32), false);
  const share = "\\\\server\\share\\voicebot\\leads";
  assert.equal(isInside(share, `${share}\\a.json`, win32), true);
  assert.equal(
    isInside(share, "\\\\other\\share\\voicebot\\leads\\a.json", win32),
    false,
  );
  assert.equal(isInside(share, "C:\\voicebot\\leads\\a.json", win32), false);
});
