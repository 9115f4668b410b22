/**
 * Scale guard: an idle run over 5,000 delivered sets (500 on Windows, see
 * {@link SETS}) finishes, exits 0, sends nothing, and reads none of the files
 * it has no reason to read.
 *
 * It asserts the algorithmic shape, never a time (the figures are in
 * BENCHMARKS.md, from `bench/run.ts idle`). How "reads none" is shown:
 *
 * - every `<set>.uploaded` record is replaced by garbage after the journal
 *   indexed it: a run that parsed even one would log it as torn, set it
 *   aside and send the set again;
 * - every `.uploaded` record and every input file gets an access time in
 *   1970: a `read()` moves it to now (Linux `relatime` does whenever the
 *   access time is older than the change time), so after the run each one
 *   must still say 1970. The test first checks with a file of its own that
 *   this file system records access times, and says so when it does not
 *   (then only the garbage check holds);
 * - a control run afterwards drops one set's journal line: the run must
 *   then read that set's garbage record and react, which shows the two
 *   instruments above do see a read.
 *
 * Opening a file without reading it, or a stat per file, would go unseen;
 * permissions cannot catch reads here since tests may run as root.
 *
 * @module
 */
import { deepStrictEqual, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { FakeCrm } from "../../testing/fake_crm.ts";
import { StateStore } from "../../lib/state/store.ts";
import { Logger } from "../../lib/core/log.ts";
import { crmEnv, runCli } from "../../testing/cli.ts";
import { byOs } from "../../testing/platform.ts";
import { makeOpusOgg } from "../../testing/ogg_writer.ts";
import {
  benchSet,
  deliveryRecord,
  journalEvent,
  writeTree,
} from "../../bench/tree.ts";

/**
 * Sets in the idle tree. Under Wine every file operation goes through
 * wineserver, and writing and ageing 5,000 sets' 20,000 files takes about
 * eight minutes, so the Windows build checks the same shape on 500 (the
 * shape, not a time, is what this test asserts).
 */
const SETS = byOs({ posix: 5_000, windows: 500 });
const OLD_ATIME_S = 1_000; // 1970-01-01T00:16:40Z
const JOURNAL = "callsync-journal.jsonl";

/** Whether reading a file moves its access time on this file system. */
async function atimeWorks(dir: string): Promise<boolean> {
  const probe = join(dir, "atime-probe");
  await Deno.writeTextFile(probe, "probe");
  await Deno.utime(probe, OLD_ATIME_S, Date.now() / 1000);
  await Deno.readTextFile(probe);
  const moved = ((await Deno.stat(probe)).atime?.getTime() ?? 0) >
    OLD_ATIME_S * 1000;
  await Deno.remove(probe);
  return moved;
}

/** Names of the files in `dir` whose access time is no longer 1970. */
async function readSince(dir: string, names: string[]): Promise<string[]> {
  const read: string[] = [];
  for (const name of names) {
    const atime = (await Deno.stat(join(dir, name))).atime?.getTime() ?? 0;
    if (atime > OLD_ATIME_S * 1000) read.push(name);
  }
  return read;
}

async function ageAccessTimes(dir: string, names: string[]): Promise<void> {
  for (const name of names) {
    const path = join(dir, name);
    const mtime = (await Deno.stat(path)).mtime ?? new Date();
    await Deno.utime(path, OLD_ATIME_S, mtime);
  }
}

Deno.test("the bench/test tree writes delivered state exactly as markDelivered does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "callsync-scale-format-" });
  try {
    const s = benchSet(7);
    const record = deliveryRecord(s, 494, Date.UTC(2025, 0, 7, 12));
    const log = new Logger({ format: "text", level: "warn", timezone: "UTC" });
    const store = await StateStore.open(dir, log);
    await store.markDelivered(record);
    deepStrictEqual(
      await Deno.readTextFile(join(dir, `${s.conversation}.uploaded`)),
      JSON.stringify(record, null, 2),
    );
    deepStrictEqual(
      await Deno.readTextFile(join(dir, JOURNAL)),
      JSON.stringify(journalEvent(record)) + "\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a journaled set whose record was deleted is not delivered; the others are", async () => {
  const dir = await Deno.makeTempDir({ prefix: "callsync-scale-deleted-" });
  try {
    const log = new Logger({ format: "text", level: "warn", timezone: "UTC" });
    const records = [0, 1, 2].map((i) =>
      deliveryRecord(benchSet(i), 494, Date.UTC(2025, 0, 7, 12, i))
    );
    const store = await StateStore.open(dir, log);
    for (const r of records) await store.markDelivered(r);
    // "Delete it to send the set again" (README): the journal keeps its line.
    await Deno.remove(join(dir, `${records[1].set}.uploaded`));
    for (const readOnly of [true, false]) {
      const again = await StateStore.open(dir, log, { readOnly });
      deepStrictEqual(
        [...again.delivered.keys()],
        [records[0].set, records[2].set],
      );
      const used = again.usedFiles().recordings;
      deepStrictEqual(
        records.map((r) => used.has(r.recording_file!)),
        [true, false, true],
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(`an idle run over ${SETS} delivered sets sends nothing and reads no record or input file`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "callsync-scale-" });
  const crm = FakeCrm.start();
  try {
    await writeTree(dir, {
      sets: SETS,
      durationSeconds: 2,
      recording: makeOpusOgg({ durationSeconds: 2, bytesPerSecond: 50 }),
      delivered: true,
    });
    const state = join(dir, "processed_uploads");
    const records = Array.from(
      { length: SETS },
      (_, i) => `${benchSet(i).conversation}.uploaded`,
    );
    // The journal indexes every set; the records themselves are now garbage.
    for (const name of records) {
      await Deno.writeTextFile(join(state, name), "not a delivery record {");
    }
    const journalBefore = await Deno.readTextFile(join(state, JOURNAL));
    deepStrictEqual(journalBefore.split("\n").length - 1, SETS);

    const inputs: [string, string[]][] = [
      ["conversations", []],
      ["recordings", []],
      ["leads", []],
    ];
    for (const [folder, names] of inputs) {
      for await (const e of Deno.readDir(join(dir, folder))) {
        names.push(e.name);
      }
      deepStrictEqual(names.length, SETS);
    }
    const tracked = await atimeWorks(dir);
    if (tracked) {
      await ageAccessTimes(state, records);
      for (const [folder, names] of inputs) {
        await ageAccessTimes(join(dir, folder), names);
      }
    } else {
      console.log(
        "This file system does not record access times: only the garbage-record check applies.",
      );
    }

    const env = crmEnv(crm);
    const res = await runCli(["run", "--base-dir", dir], env);
    deepStrictEqual(res.code, 0, res.stderr);
    deepStrictEqual(crm.requests.length, 0, "an idle run sends nothing");
    match(res.stderr, /Found 0 unprocessed call sets/);
    ok(!/WARNING|ERROR/.test(res.stderr), res.stderr);
    deepStrictEqual(
      await Deno.readTextFile(join(state, JOURNAL)),
      journalBefore,
      "nothing was re-indexed",
    );
    const aside: string[] = [];
    for await (const e of Deno.readDir(state)) {
      if (e.name.includes(".corrupt-")) aside.push(e.name);
    }
    deepStrictEqual(aside, [], "no record was read and set aside");
    if (tracked) {
      deepStrictEqual(await readSince(state, records), [], "records read");
      for (const [folder, names] of inputs) {
        deepStrictEqual(
          await readSince(join(dir, folder), names),
          [],
          `${folder} read`,
        );
      }
    }

    // Control: without its journal line, one set's record must be read, and
    // its garbage noticed: the instruments above do see a read.
    const lines = journalBefore.split("\n");
    const last = benchSet(SETS - 1).conversation;
    ok(lines.at(-2)?.includes(JSON.stringify(last)));
    await Deno.writeTextFile(
      join(state, JOURNAL),
      lines.slice(0, -2).join("\n") + "\n",
    );
    const control = await runCli(["run", "--base-dir", dir], env);
    deepStrictEqual(control.code, 0, control.stderr);
    match(
      control.stderr,
      /is empty or torn; treating .* as not delivered/,
    );
    deepStrictEqual(
      crm.requests.map((r) => r.endpoint),
      ["upload", "call-data"],
      "the set whose record was read is sent again",
    );
    if (tracked) {
      // Every other record is still unread; this set's is a fresh one now.
      deepStrictEqual(await readSince(state, records), [`${last}.uploaded`]);
    }
  } finally {
    await crm.close();
    await Deno.remove(dir, { recursive: true });
  }
});
