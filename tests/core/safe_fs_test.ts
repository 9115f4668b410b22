import assert from "node:assert/strict";
import { join } from "node:path";
import {
  makePrivateDir,
  MODES_APPLY,
  NotRegularFileError,
  openNoFollow,
  type OpenPurpose,
  readTextNoFollow,
  tightenFolder,
  withHandle,
} from "../../lib/core/safe_fs.ts";
import { writeFileAtomic } from "../../lib/core/atomic.ts";
import { underUmask, withTempDir } from "../../testing/fixtures.ts";
import {
  FILE_MODES,
  IS_WINDOWS,
  posix,
  SYMLINKS,
  testOn,
} from "../../testing/platform.ts";

const modeOf = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

for (const purpose of ["read", "append", "update"] as OpenPurpose[]) {
  Deno.test(testOn(SYMLINKS, {
    name:
      `openNoFollow(${purpose}) refuses a symlink and leaves its target untouched`,
    async fn() {
      await withTempDir("callsync-safefs-", async (dir) => {
        const victim = join(dir, "victim");
        await Deno.writeTextFile(victim, "keep me");
        await Deno.chmod(victim, 0o644);
        await Deno.symlink(victim, join(dir, "link"));
        await assert.rejects(
          () => openNoFollow(join(dir, "link"), purpose),
          NotRegularFileError,
        );
        assert.equal(await Deno.readTextFile(victim), "keep me");
        if (MODES_APPLY) assert.equal(await modeOf(victim), 0o644);
      });
    },
  }));
}

Deno.test(testOn(posix("no FIFOs (mkfifo)"), {
  name: "openNoFollow() refuses a FIFO at once instead of hanging on it",
  async fn() {
    await withTempDir("callsync-safefs-", async (dir) => {
      const fifo = join(dir, "fifo.json");
      const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert.ok(made.success);
      await assert.rejects(
        () => openNoFollow(fifo, "read"),
        NotRegularFileError,
      );
    });
  },
}));

Deno.test("openNoFollow() reports a missing file as Deno's NotFound", async () => {
  await withTempDir("callsync-safefs-", async (dir) => {
    await assert.rejects(
      () => openNoFollow(join(dir, "none"), "read"),
      Deno.errors.NotFound,
    );
  });
});

Deno.test(testOn(FILE_MODES, {
  name:
    "a file opened to write is 0600 whatever the umask, and a looser one is tightened",
  async fn() {
    await withTempDir("callsync-safefs-", async (dir) => {
      const created = join(dir, "new.jsonl");
      await underUmask(
        0o000,
        () => openNoFollow(created, "append").then((h) => h.close()),
      );
      assert.equal(await modeOf(created), 0o600);
      const loose = join(dir, "old.jsonl");
      await Deno.writeTextFile(loose, "x");
      await Deno.chmod(loose, 0o644);
      await withHandle(await openNoFollow(loose, "update"), async () => {});
      assert.equal(await modeOf(loose), 0o600);
      assert.equal(await readTextNoFollow(loose), "x");
    });
  },
}));

Deno.test(testOn(FILE_MODES, {
  name:
    "makePrivateDir() makes every missing level 0700 whatever the umask, and leaves existing ones",
  async fn() {
    await withTempDir("callsync-safefs-", async (dir) => {
      await Deno.chmod(dir, 0o755);
      for (const umask of [0o022, 0o277, 0o000]) {
        const leaf = join(dir, `u${umask}`, "2025", "10");
        await underUmask(umask, () => makePrivateDir(leaf));
        assert.equal(await modeOf(leaf), 0o700, `umask ${umask.toString(8)}`);
        assert.equal(await modeOf(join(dir, `u${umask}`)), 0o700);
      }
      assert.equal(await modeOf(dir), 0o755, "an existing folder is left");
    });
  },
}));

Deno.test(testOn(FILE_MODES, {
  name:
    "tightenFolder() makes a loose folder 0700 and its readable files 0600, links untouched",
  async fn() {
    await withTempDir("callsync-safefs-", async (dir) => {
      const state = join(dir, "state");
      await Deno.mkdir(state);
      await Deno.chmod(state, 0o755);
      for (
        const [name, mode] of [["a.pending", 0o644], [
          "b.uploaded",
          0o600,
        ]] as const
      ) {
        await Deno.writeTextFile(join(state, name), "{}");
        await Deno.chmod(join(state, name), mode);
      }
      const outside = join(dir, "outside.txt");
      await Deno.writeTextFile(outside, "x");
      await Deno.chmod(outside, 0o644);
      await Deno.symlink(outside, join(state, "link"));
      assert.deepEqual(await tightenFolder(state, { files: true }), {
        was: 0o755,
        files: 1,
      });
      assert.equal(await modeOf(state), 0o700);
      assert.equal(await modeOf(join(state, "a.pending")), 0o600);
      assert.equal(
        await modeOf(outside),
        0o644,
        "a link's target is not touched",
      );
      assert.equal(await tightenFolder(state, { files: true }), undefined);
    });
  },
}));

Deno.test("readTextNoFollow() reads a file another writer keeps replacing by rename, whole, never calling it swapped", async () => {
  await withTempDir("callsync-safefs-", async (dir) => {
    const path = join(dir, "record.json");
    await writeFileAtomic(path, JSON.stringify({ n: 0 }));
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await writeFileAtomic(path, JSON.stringify({ n: ++written }));
      }
    })();
    let failed = false;
    writer.catch(() => failed = true); // rethrown by the await below
    let last = 0;
    try {
      for (
        let reads = 0;
        written < 30 && !failed && reads < 100_000;
        reads++
      ) {
        const { n } = JSON.parse(await readTextNoFollow(path));
        assert.ok(n >= last, "never an older record after a newer one");
        last = n;
        // A read is one request of the dashboard's: the event loop turns
        // between them (a read is made at once, without a turn of its own).
        // Windows refuses a rename over a file being read: a reader that
        // never lets go would hold the writer off for good.
        await new Promise((r) => setTimeout(r, IS_WINDOWS ? 5 : 0));
      }
    } finally {
      writing = false;
      await writer;
    }
    assert.ok(
      written >= 30,
      `the writer wrote while the reads went on (${written})`,
    );
  });
});
