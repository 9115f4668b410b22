import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertUnchanged,
  FileChangedError,
  fileInfo,
  readSourceFile,
  unchanged,
} from "../../lib/source/files.ts";
import { InputError } from "../../lib/source/transcript.ts";
import { ROOT } from "../../testing/cli.ts";
import { fixtureCall, withTempDir } from "../../testing/fixtures.ts";

const FIXTURES = join(ROOT, "fixtures");

async function infoOf(path: string) {
  return fileInfo(path, await Deno.stat(path));
}

Deno.test("readSourceFile() reads a transcript, a recording and a lead into their keys", async () => {
  const call = fixtureCall(1);
  const conv = await readSourceFile(
    "conversations",
    await infoOf(join(FIXTURES, "conversations", call.conversation!)),
    "UTC",
  );
  assert.equal(conv.name, call.conversation);
  assert.equal(conv.key.startMs, Date.parse("2025-10-29T06:48:24.120Z"));
  const rec = await readSourceFile(
    "recordings",
    await infoOf(join(FIXTURES, "recordings", call.recording!)),
    "UTC",
  );
  assert.equal(rec.callerDigits, "918655066243");
  assert.equal(rec.key.startMs, 1761720502000);
  assert.equal(rec.ogg.complete, true);
  const lead = await readSourceFile(
    "leads",
    await infoOf(join(FIXTURES, "leads", call.lead!)),
    "UTC",
  );
  assert.equal(lead.key.kind, "session");
});

Deno.test("readSourceFile() names what is wrong with a file", async () => {
  await withTempDir("callsync-files-", async (dir) => {
    const json = join(dir, "transcript_session_x.json");
    await Deno.writeTextFile(json, '{"start_time": ');
    await assert.rejects(
      async () => readSourceFile("conversations", await infoOf(json), "UTC"),
      (e) => e instanceof InputError && /not valid JSON/.test(e.message),
    );
    const ogg = join(dir, "no-start.ogg");
    await Deno.writeFile(ogg, new Uint8Array(10));
    await assert.rejects(
      async () => readSourceFile("recordings", await infoOf(ogg), "UTC"),
      (e) =>
        e instanceof InputError &&
        /does not end in -<unix seconds>/.test(e.message),
    );
  });
});

Deno.test("assertUnchanged() and unchanged() notice a file written or removed since it was read", async () => {
  await withTempDir("callsync-files-", async (dir) => {
    const path = join(dir, "a.json");
    await Deno.writeTextFile(path, "{}");
    const info = await infoOf(path);
    await assertUnchanged(info);
    assert.equal(await unchanged([info, undefined]), true);
    await Deno.writeTextFile(path, "{} ");
    await assert.rejects(() => assertUnchanged(info), FileChangedError);
    assert.equal(await unchanged([info]), false);
    await Deno.remove(path);
    await assert.rejects(() => assertUnchanged(info), FileChangedError);
  });
});
