import assert from "node:assert/strict";
import { join } from "node:path";
import { moveFile } from "../../lib/deliver/archive.ts";
import { withTempDir } from "../../testing/fixtures.ts";
import { SYMLINKS, testOn } from "../../testing/platform.ts";

Deno.test(testOn(SYMLINKS, {
  name:
    "moveFile() refuses a symlink: a link is never archived, nor its target",
  async fn() {
    await withTempDir("callsync-archive-", async (dir) => {
      const secret = join(dir, "id_rsa");
      await Deno.writeTextFile(secret, "KEY");
      await Deno.symlink(secret, join(dir, "lead.json"));
      await assert.rejects(
        () =>
          moveFile(join(dir, "lead.json"), join(dir, "archive", "lead.json")),
        /not a regular file/,
      );
      assert.equal(await Deno.readTextFile(secret), "KEY");
      await assert.rejects(() => Deno.lstat(join(dir, "archive", "lead.json")));
    });
  },
}));
