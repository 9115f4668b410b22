import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertUnchanged,
  FileChangedError,
  type Folder,
  openSource,
  readSourceFile,
  testSeam,
  unchanged,
} from "../../lib/source/files.ts";
import { NotRegularFileError } from "../../lib/core/safe_fs.ts";
import { InputError } from "../../lib/source/transcript.ts";
import { ROOT } from "../../testing/cli.ts";
import { fixtureCall, withTempDir } from "../../testing/fixtures.ts";
import { SYMLINKS, testOn } from "../../testing/platform.ts";

const FIXTURES = join(ROOT, "fixtures");

/** The file at `path` of `folder`, read through one handle. */
async function readAt<F extends Folder>(folder: F, path: string) {
  await using file = await openSource(path);
  return await readSourceFile(folder, file, "UTC");
}

/** The file's identity and fingerprint, as a scan records it. */
async function infoOf(path: string) {
  await using file = await openSource(path);
  return file.info;
}

Deno.test("readSourceFile() reads a transcript, a recording and a lead into their keys", async () => {
  const call = fixtureCall(1);
  const conv = await readAt(
    "conversations",
    join(FIXTURES, "conversations", call.conversation!),
  );
  assert.equal(conv.name, call.conversation);
  assert.equal(conv.key.startMs, Date.parse("2025-10-29T06:48:24.120Z"));
  const rec = await readAt(
    "recordings",
    join(FIXTURES, "recordings", call.recording!),
  );
  assert.equal(rec.callerDigits, "918655066243");
  assert.equal(rec.key.startMs, 1761720502000);
  assert.equal(rec.media.complete, true);
  assert.equal(rec.media.contentType, "audio/ogg");
  const lead = await readAt("leads", join(FIXTURES, "leads", call.lead!));
  assert.equal(lead.key.kind, "session");
});

Deno.test("readSourceFile() names what is wrong with a file", async () => {
  await withTempDir("callsync-files-", async (dir) => {
    const json = join(dir, "transcript_session_x.json");
    await Deno.writeTextFile(json, '{"start_time": ');
    await assert.rejects(
      () => readAt("conversations", json),
      (e) => e instanceof InputError && /not valid JSON/.test(e.message),
    );
    const ogg = join(dir, "no-start.ogg");
    await Deno.writeFile(ogg, new Uint8Array(10));
    await assert.rejects(
      () => readAt("recordings", ogg),
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

/** Replace `path` with a link to `target`, atomically. */
async function swapForLink(path: string, target: string): Promise<void> {
  await Deno.symlink(target, `${path}.swap`);
  await Deno.rename(`${path}.swap`, path);
}

Deno.test(testOn(SYMLINKS, {
  name: "openSource() refuses a symlink: a link is never opened unvetted",
  async fn() {
    await withTempDir("callsync-files-", async (dir) => {
      const secret = join(dir, "id_rsa");
      await Deno.writeTextFile(secret, "KEY");
      const path = join(dir, "lead.json");
      await Deno.symlink(secret, path);
      await assert.rejects(() => openSource(path), NotRegularFileError);
    });
  },
}));

Deno.test(testOn(SYMLINKS, {
  name:
    "openSource() refuses a file swapped between its check and its open (test seam)",
  async fn() {
    await withTempDir("callsync-files-", async (dir) => {
      const path = join(dir, "lead.json");
      await Deno.writeTextFile(path, "{}");
      const checked = await Deno.lstat(path);
      const other = join(dir, "other.json");
      await Deno.writeTextFile(other, '{"private_key": "KEY"}');
      // Another regular file renamed into place: no link for O_NOFOLLOW to
      // catch, only the identity tells.
      testSeam.beforeOpen = () => Deno.rename(other, path);
      try {
        await assert.rejects(
          () => openSource(path, checked),
          (e) => e instanceof FileChangedError && e.replaced,
        );
      } finally {
        testSeam.beforeOpen = undefined;
      }
    });
  },
}));

Deno.test(testOn(SYMLINKS, {
  name:
    "a SourceFile keeps reading the file it opened after its path is swapped for a link",
  async fn() {
    await withTempDir("callsync-files-", async (dir) => {
      const path = join(dir, "rec.ogg");
      await Deno.writeTextFile(path, "RECORDING BYTES");
      const secret = join(dir, "id_rsa");
      await Deno.writeTextFile(secret, "SECRET KEY BYTES");
      await using file = await openSource(path);
      await swapForLink(path, secret);
      assert.equal(
        new TextDecoder().decode(await file.bytes()),
        "RECORDING BYTES",
      );
      assert.equal(new TextDecoder().decode(await file.read(10, 5)), "BYTES");
      await assert.rejects(
        () => assertUnchanged(file.info),
        (e) => e instanceof FileChangedError && e.replaced,
      );
    });
  },
}));

Deno.test("readSourceFile() keeps JSON files read at the same time apart", async () => {
  const paths = ["conversations", "leads"].flatMap((folder) =>
    [...Deno.readDirSync(join(FIXTURES, folder))]
      .filter((e) => e.name.endsWith(".json"))
      .map((e) => ({
        folder: folder as Folder,
        path: join(FIXTURES, folder, e.name),
      }))
  );
  assert.ok(paths.length >= 6, `${paths.length} fixture files`);
  const one = [];
  for (const { folder, path } of paths) one.push(await readAt(folder, path));
  const together = await Promise.all(
    paths.map(({ folder, path }) => readAt(folder, path)),
  );
  assert.deepEqual(together, one);
});

Deno.test("SourceFile.bytes() reads into the buffer it is given when the file fits", async () => {
  await withTempDir("callsync-files-", async (dir) => {
    const path = join(dir, "a.json");
    await Deno.writeTextFile(path, '{"a": 1}');
    await using file = await openSource(path);
    const buf = new Uint8Array(64);
    const bytes = await file.bytes(buf);
    assert.equal(bytes.buffer, buf.buffer);
    assert.equal(new TextDecoder().decode(bytes), '{"a": 1}');
    const small = await file.bytes(new Uint8Array(4));
    assert.equal(new TextDecoder().decode(small), '{"a": 1}');
  });
});
