import assert from "node:assert/strict";
import { join } from "node:path";
import type { Folder } from "../../lib/source/files.ts";
import { scanNames } from "../../lib/source/scan.ts";
import {
  FolderWatcher,
  type Touched,
  type WatchFs,
} from "../../lib/source/watcher.ts";
import { withTempDir } from "../../testing/fixtures.ts";
import { makeOpusOgg } from "../../testing/ogg_writer.ts";
import {
  OVERFLOW_FLAG,
  REMOVED_FOLDER_EVENT,
  testOn,
} from "../../testing/platform.ts";

const FOLDERS: Folder[] = ["conversations", "recordings", "leads"];

function dirsIn(base: string): Record<Folder, string> {
  return {
    conversations: join(base, "conversations"),
    recordings: join(base, "recordings"),
    leads: join(base, "leads"),
  };
}

/** A watcher over `base` whose batches and rescan requests are recorded. */
async function watching(base: string, watch?: WatchFs) {
  const batches: Touched[] = [];
  const rescans: string[] = [];
  for (const f of FOLDERS) await Deno.mkdir(join(base, f), { recursive: true });
  const watcher = new FolderWatcher(dirsIn(base), {
    touched: (t) => batches.push(t),
    rescan: (reason) => rescans.push(reason),
  }, watch);
  return { watcher, batches, rescans };
}

async function until(ok: () => boolean, what: string) {
  for (let i = 0; i < 250 && !ok(); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(ok(), `timed out waiting until ${what}`);
}

Deno.test("FolderWatcher batches the names events touch, per folder, ignoring dot-files and other names", async () => {
  await withTempDir("callsync-watcher-", async (base) => {
    const { watcher, batches } = await watching(base);
    await watcher.open();
    try {
      const conv = join(base, "conversations", "transcript_session_a.json");
      await Deno.writeTextFile(conv, "{");
      await Deno.writeTextFile(conv, "{}"); // twice: one name in the batch
      await Deno.writeTextFile(join(base, "conversations", ".tmp.json"), "");
      await Deno.writeTextFile(join(base, "conversations", "notes.txt"), "");
      await Deno.writeFile(
        join(base, "recordings", "number-_91-1.ogg"),
        makeOpusOgg({ durationSeconds: 1 }),
      );
      await until(() => batches.length > 0, "a batch is handed on");
      await new Promise((r) => setTimeout(r, 150));
      const names = (f: Folder) => batches.flatMap((b) => [...b[f]]).sort();
      assert.deepEqual([...new Set(names("conversations"))], [
        "transcript_session_a.json",
      ]);
      assert.deepEqual([...new Set(names("recordings"))], ["number-_91-1.ogg"]);
      assert.deepEqual(names("leads"), []);
    } finally {
      watcher.close();
    }
  });
});

Deno.test(testOn(
  REMOVED_FOLDER_EVENT,
  {
    name:
      "FolderWatcher asks for a rescan when a watched folder is removed, and watches only folders that exist",
    async fn() {
      await withTempDir("callsync-watcher-", async (base) => {
        const { watcher, rescans } = await watching(base);
        await Deno.remove(join(base, "leads"));
        assert.deepEqual(await watcher.open(), [join(base, "leads")]);
        try {
          assert.deepEqual(watcher.watched, [
            join(base, "conversations"),
            join(base, "recordings"),
          ]);
          await Deno.remove(join(base, "recordings"));
          await until(() => rescans.length > 0, "a rescan is asked for");
          assert.match(rescans[0], /recordings was removed or renamed/);
        } finally {
          watcher.close();
        }
      });
    },
  },
));

Deno.test("scanNames() reads only the named files, skips delivered ones and reports gone ones", async () => {
  await withTempDir("callsync-scannames-", async (base) => {
    for (const f of FOLDERS) await Deno.mkdir(join(base, f));
    for (let i = 0; i < 50; i++) {
      await Deno.writeTextFile(
        join(
          base,
          "leads",
          `leads_session_2025-01-01T00-00-${
            String(i).padStart(2, "0")
          }.000000.json`,
        ),
        JSON.stringify({ phone: "+919876543210" }),
      );
    }
    const named = await scanNames({
      dirs: dirsIn(base),
      timezone: "UTC",
      skip: {
        conversations: new Set(),
        recordings: new Set(),
        leads: new Set(["leads_session_2025-01-01T00-00-01.000000.json"]),
      },
    }, {
      conversations: ["transcript_session_gone.json"],
      recordings: [],
      leads: [
        "leads_session_2025-01-01T00-00-00.000000.json",
        "leads_session_2025-01-01T00-00-01.000000.json",
        "not-a-lead.txt",
      ],
    });
    assert.deepEqual(named.result.leads.map((l) => l.name), [
      "leads_session_2025-01-01T00-00-00.000000.json",
    ]);
    assert.deepEqual(named.gone, [
      { folder: "conversations", name: "transcript_session_gone.json" },
    ]);
    assert.equal(named.result.problems.length, 0);
  });
});

Deno.test(testOn(
  OVERFLOW_FLAG,
  {
    name: "FolderWatcher asks for a rescan when Deno's event queue overflows",
    async fn() {
      await withTempDir("callsync-watcher-", async (base) => {
        const { watcher, rescans } = await watching(base);
        await watcher.open();
        try {
          // Written while the event loop is blocked: far more events than
          // Deno's queue of 1,024 holds, so it drops them and flags a rescan.
          const dir = join(base, "conversations");
          for (let i = 0; i < 3000; i++) {
            Deno.writeTextFileSync(
              join(dir, `transcript_session_${i}.json`),
              "{}",
            );
          }
          await until(() => rescans.length > 0, "a rescan is asked for");
          assert.match(
            rescans[0],
            /file events were lost \(event queue overflow\)/,
          );
        } finally {
          watcher.close();
        }
      });
    },
  },
));

Deno.test("FolderWatcher asks for a rescan when the watcher fails", async () => {
  await withTempDir("callsync-watcher-", async (base) => {
    let closed = 0;
    // A watcher whose backend fails, as notify's errors reach Deno's iterator.
    const failing: WatchFs = () => ({
      close: () => void closed++,
      [Symbol.dispose]: () => void closed++,
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.reject(new Error("inotify: too many open files")),
      }),
    } as unknown as Deno.FsWatcher);
    const { watcher, rescans } = await watching(base, failing);
    await watcher.open();
    await until(() => rescans.length > 0, "a rescan is asked for");
    assert.deepEqual(rescans, [
      "the file watcher failed: inotify: too many open files",
    ]);
    watcher.close();
    assert.equal(closed, 1);
  });
});
