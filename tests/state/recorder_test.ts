import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { Recorder } from "../../lib/state/recorder.ts";
import { withTempDir } from "../../testing/fixtures.ts";

const JOURNAL = "j.jsonl";
const withDir = (fn: (dir: string) => Promise<void>) =>
  withTempDir("callsync-recorder-", fn);

const journal = async (dir: string) =>
  (await Deno.readTextFile(join(dir, JOURNAL))).trimEnd().split("\n");
const names = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("Recorder commits writers that queue together in one batch, in their order", async () => {
  await withDir(async (dir) => {
    const recorder = new Recorder(dir, JOURNAL);
    await recorder.record({ kind: "line", line: "first" });
    equal(recorder.commits, 1);
    await Promise.all(Array.from({ length: 20 }, (_, i) =>
      recorder.record(
        { kind: "file", name: `s${i}.uploaded`, text: `{"n":${i}}` },
        { kind: "line", line: `line ${i}` },
      )));
    // The first writer's batch was under way when the others queued.
    ok(recorder.commits <= 3, `${recorder.commits} batches for 21 writers`);
    deepEqual(await journal(dir), [
      "first",
      ...Array.from({ length: 20 }, (_, i) => `line ${i}`),
    ]);
    equal(await Deno.readTextFile(join(dir, "s7.uploaded")), '{"n":7}');
    equal(names(dir).filter((n) => n.endsWith(".tmp")).length, 0);
  });
});

Deno.test("Recorder writes a record before its journal line and removes last", async () => {
  await withDir(async (dir) => {
    const recorder = new Recorder(dir, JOURNAL);
    await recorder.record({ kind: "file", name: "a.pending", text: "p" });
    await recorder.record(
      { kind: "remove", name: "a.pending" },
      { kind: "line", line: "a delivered" },
      { kind: "file", name: "a.uploaded", text: "u" },
    );
    deepEqual(names(dir), ["a.uploaded", JOURNAL]);
    deepEqual(await journal(dir), ["a delivered"]);
  });
});

Deno.test("Recorder keeps the last text of a file written twice, and writes again a file removed before", async () => {
  await withDir(async (dir) => {
    const recorder = new Recorder(dir, JOURNAL);
    await recorder.record({ kind: "file", name: "b", text: "0" });
    const first = recorder.commits;
    await Promise.all([
      recorder.record({ kind: "line", line: "hold the queue" }),
      recorder.record({ kind: "file", name: "a", text: "1" }),
      recorder.record({ kind: "file", name: "a", text: "2" }),
      recorder.record({ kind: "remove", name: "b" }),
      recorder.record({ kind: "file", name: "b", text: "3" }),
    ]);
    equal(await Deno.readTextFile(join(dir, "a")), "2");
    equal(await Deno.readTextFile(join(dir, "b")), "3");
    ok(recorder.commits - first >= 2, "the write after the removal waited");
  });
});

Deno.test("Recorder rejects every writer of a failed batch, leaves no temp file, and goes on", async () => {
  await withDir(async (dir) => {
    const recorder = new Recorder(dir, JOURNAL);
    await Deno.mkdir(join(dir, "taken"));
    const results = await Promise.allSettled([
      recorder.record({ kind: "line", line: "hold the queue" }),
      recorder.record({ kind: "file", name: "ok", text: "x" }),
      recorder.record({ kind: "file", name: join("missing", "x"), text: "x" }),
      recorder.record({ kind: "line", line: "after the failure" }),
    ]);
    deepEqual(results.map((r) => r.status), [
      "fulfilled",
      "rejected",
      "rejected",
      "rejected",
    ]);
    deepEqual(await journal(dir), ["hold the queue"]);
    equal(names(dir).filter((n) => n.endsWith(".tmp")).length, 0);
    await recorder.record({ kind: "line", line: "later" });
    deepEqual(await journal(dir), ["hold the queue", "later"]);
    await rejects(
      recorder.record({ kind: "file", name: "taken", text: "x" }),
    );
  });
});

Deno.test("Recorder with a full queue makes writers wait, and loses none", async () => {
  await withDir(async (dir) => {
    const recorder = new Recorder(dir, JOURNAL, 2);
    await Promise.all(
      Array.from(
        { length: 12 },
        (_, i) => recorder.record({ kind: "line", line: String(i) }),
      ),
    );
    deepEqual(
      (await journal(dir)).map(Number).sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => i),
    );
    ok(recorder.commits >= 4, `${recorder.commits} batches of at most 2`);
  });
});
