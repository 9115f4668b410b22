/**
 * Hostile and odd input, through the real CLI against the fake CRM: every
 * unusable file is reported by name (waiting while it may still be being
 * written, failed once stale or when waiting cannot help), the other calls
 * are delivered, nothing is lost and no source file is ever changed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fingerprintTree } from "../../testing/tree.ts";
import {
  cliArgs,
  type CliResult,
  type Sandbox,
  sandbox,
  type SharedProgram,
  sharedProgram,
} from "../../testing/cli.ts";
import { makeOpusOgg } from "../../testing/ogg_writer.ts";
import {
  IS_WINDOWS,
  posix,
  symlinkFile,
  SYMLINKS,
  testOn,
  when,
} from "../../testing/platform.ts";
import { FIXTURE_SETS, fixtureCall, tempDir } from "../../testing/fixtures.ts";
import {
  acceptedCallIds,
  assertBackedByCrm,
  assertNoDuplicateCalls,
  callRecordOf,
  deliveredSets,
  deliveryRecord,
  parseStatus,
  processedPath,
  row,
  statusOf,
} from "../../testing/status.ts";

/** A day ago, in seconds, for `Deno.utime`: old enough to be stale. */
const DAY_AGO = (Date.now() - 86_400_000) / 1000;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * `sets` are delivered (a delivery record each, whose call record the CRM
 * accepted) and every delivery record is backed by an accepted call record:
 * nothing is marked delivered that was not.
 */
async function assertDelivered(
  box: Sandbox,
  sets: readonly string[],
): Promise<void> {
  const delivered = await deliveredSets(box);
  for (const set of sets) {
    assert.ok(delivered.includes(set), `${set} delivered`);
  }
  await assertBackedByCrm(box);
}

/** Another run exits 0 and every fixture call is delivered, each once. */
async function assertCleanRerun(box: Sandbox): Promise<void> {
  const again = await box.run(["run"]);
  assert.equal(again.code, 0, again.stderr);
  await assertDelivered(box, FIXTURE_SETS);
  assertNoDuplicateCalls(box);
}

/** Every source file present before is still there, byte for byte. */
async function assertSourcesUnchanged(
  dir: string,
  before: Map<string, string>,
): Promise<void> {
  const after = await fingerprintTree(dir);
  for (const [path, hash] of before) {
    assert.equal(after.get(path), hash, `${path} unchanged`);
  }
}

async function writeOld(path: string, data: string | Uint8Array) {
  if (typeof data === "string") await Deno.writeTextFile(path, data);
  else await Deno.writeFile(path, data);
  await Deno.utime(path, DAY_AGO, DAY_AGO);
}

async function command(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** The uid tests run as, from a file it creates (no --allow-sys needed). */
async function currentUid(): Promise<number | null> {
  const probe = await Deno.makeTempFile({ prefix: "callsync-uid-" });
  try {
    return (await Deno.stat(probe)).uid;
  } finally {
    await Deno.remove(probe);
  }
}

const UID = await currentUid();
const IS_ROOT = UID === 0;
const HAS_SETPRIV = IS_ROOT && await command("setpriv", ["--version"]);

/** Whether this process may mount a tmpfs (root, and not in a locked box). */
async function probeMount(): Promise<boolean> {
  if (!IS_ROOT || Deno.build.os !== "linux") return false;
  const dir = await Deno.makeTempDir({ prefix: "callsync-mount-" });
  try {
    if (
      !await command("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir])
    ) {
      return false;
    }
    return await command("umount", [dir]);
  } finally {
    await Deno.remove(dir).catch(() => {});
  }
}
const CAN_MOUNT = await probeMount();

/** Where a tmpfs can stand in for a full or read-only disk. */
const TMPFS = when(CAN_MOUNT, "mounting a tmpfs needs root on Linux");
/** Where chmod 000 makes a file unreadable to the CLI. */
const UNREADABLE = IS_WINDOWS
  ? posix("chmod 000 does not stop reads there (ACLs do; see README)")
  : when(
    !IS_ROOT || HAS_SETPRIV,
    "root ignores chmod 000, and setpriv is missing to run as nobody",
  );

// ---------------------------------------------------------------- empty files

Deno.test("a zero-byte conversation waits while fresh and fails once stale", async () => {
  await using box = await sandbox();
  const name = "transcript_session_2025-10-30T10-00-00.000000.json";
  const path = join(box.dir, "conversations", name);
  await Deno.writeFile(path, new Uint8Array(0));
  const before = await fingerprintTree(box.dir);

  const fresh = await box.run(["run"]);
  assert.equal(fresh.code, 0, fresh.stderr);
  await assertDelivered(box, FIXTURE_SETS);
  let r = row(await statusOf(box), `conversations/${name}`);
  assert.equal(r.state, "waiting");
  assert.match(r.reason, /file is empty.*may still be being written/);

  // STALE_SECONDS=0 makes the same file final at once...
  r = row(await statusOf(box, { STALE_SECONDS: "0" }), `conversations/${name}`);
  assert.equal(r.state, "failed");
  // ...and so does an mtime older than STALE_SECONDS.
  await Deno.utime(path, DAY_AGO, DAY_AGO);
  const stale = await box.run(["run"]);
  assert.match(
    stale.stderr,
    new RegExp(`Cannot use conversations/${name}: file is empty`),
  );
  r = row(await statusOf(box), `conversations/${name}`);
  assert.equal(r.state, "failed");
  assert.equal(r.reason, "file is empty");
  assert.equal((await Deno.stat(path)).size, 0);
  before.delete(`conversations/${name}`);
  await assertSourcesUnchanged(box.dir, before);
  assert.equal(box.crm.acceptedCallRecords().length, 6);
});

Deno.test("a zero-byte lead holds back its call while fresh; once stale the call goes without it", async () => {
  await using box = await sandbox();
  // Call 3 has no lead; an empty leads_session_ file with its timestamp is
  // a lead still being written.
  const call3 = fixtureCall(3).set;
  const name = "leads_session_2025-10-29T07-23-03.616272.json";
  const path = join(box.dir, "leads", name);
  await Deno.writeFile(path, new Uint8Array(0));

  const fresh = await box.run(["run"]);
  assert.equal(fresh.code, 0, fresh.stderr);
  await assertDelivered(box, FIXTURE_SETS.filter((s) => s !== call3));
  assert.ok(!(await deliveredSets(box)).includes(call3));
  let report = await statusOf(box);
  assert.equal(row(report, call3).state, "waiting");
  assert.match(row(report, call3).reason, /lead file is still being written/);
  assert.equal(row(report, `leads/${name}`).state, "waiting");
  assert.match(row(report, `leads/${name}`).reason, /file is empty/);

  await Deno.utime(path, DAY_AGO, DAY_AGO);
  const stale = await box.run(["run"]);
  assert.match(
    stale.stderr,
    new RegExp(`Cannot use leads/${name}: file is empty`),
  );
  await assertDelivered(box, FIXTURE_SETS);
  assert.equal((await deliveryRecord(box, call3)).lead_uploaded, false);
  report = await statusOf(box);
  assert.equal(row(report, `leads/${name}`).state, "failed");
  assert.equal(row(report, `leads/${name}`).reason, "file is empty");
  assert.equal(report.counts.delivered, 6);
  assertNoDuplicateCalls(box);
});

Deno.test("a zero-byte recording waits while fresh and fails once stale", async () => {
  await using box = await sandbox();
  const name = "number-_919000000001-1761740000.ogg";
  const path = join(box.dir, "recordings", name);
  await Deno.writeFile(path, new Uint8Array(0));

  const fresh = await box.run(["run"]);
  assert.equal(fresh.code, 0, fresh.stderr);
  await assertDelivered(box, FIXTURE_SETS);
  let r = row(await statusOf(box), `recordings/${name}`);
  assert.equal(r.state, "waiting");
  assert.match(r.reason, /empty \(0 bytes\).*may still be being written/);

  await Deno.utime(path, DAY_AGO, DAY_AGO);
  const stale = await box.run(["run"]);
  assert.equal(stale.code, 0, stale.stderr);
  assert.match(
    stale.stderr,
    new RegExp(`Cannot use recordings/${name}: .*empty \\(0 bytes\\)`),
  );
  r = row(await statusOf(box), `recordings/${name}`);
  assert.equal(r.state, "failed");
  assert.match(r.reason, /empty \(0 bytes\), not an Ogg Opus recording/);
  assert.ok(!box.crm.requests.some((q) => q.fileName === name));
  assert.equal((await Deno.stat(path)).size, 0);
  assert.equal(box.crm.acceptedCallRecords().length, 6);
});

// ------------------------------------------------------------- odd JSON/Ogg

Deno.test("JSON that is an array or a string fails naming what it holds", async () => {
  await using box = await sandbox();
  const array = "transcript_session_2025-10-30T10-00-00.000000.json";
  const string = "leads_session_2025-10-30T11-00-00.000000.json";
  await writeOld(join(box.dir, "conversations", array), "[1, 2, 3]\n");
  await writeOld(join(box.dir, "leads", string), '"just a string"\n');
  const before = await fingerprintTree(box.dir);

  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(
    res.stderr,
    new RegExp(`conversations/${array}: holds an array`),
  );
  assert.match(res.stderr, new RegExp(`leads/${string}: holds a string`));
  await assertDelivered(box, FIXTURE_SETS);
  const report = await statusOf(box);
  assert.equal(row(report, `conversations/${array}`).state, "failed");
  assert.equal(
    row(report, `conversations/${array}`).reason,
    "holds an array, expected a JSON object",
  );
  assert.equal(row(report, `leads/${string}`).state, "failed");
  assert.equal(
    row(report, `leads/${string}`).reason,
    "holds a string, expected a JSON object",
  );
  assert.equal(report.counts.failed, 2);
  assert.equal(report.counts.delivered, 6);
  await assertSourcesUnchanged(box.dir, before);
});

Deno.test("a transcript without start_time or session_id fails naming the fields", async () => {
  await using box = await sandbox();
  const noTime = "transcript_session_2025-10-30T10-00-00.000000.json";
  const badId = "transcript_session_2025-10-30T10-05-00.000000.json";
  const badTime = "transcript_session_2025-10-30T10-10-00.000000.json";
  const body = { duration_seconds: 30, conversation_items: [] };
  await writeOld(
    join(box.dir, "conversations", noTime),
    JSON.stringify(body),
  );
  await writeOld(
    join(box.dir, "conversations", badId),
    JSON.stringify({ ...body, session_id: "no-time-in-here" }),
  );
  await writeOld(
    join(box.dir, "conversations", badTime),
    JSON.stringify({ ...body, start_time: "yesterday at noon" }),
  );
  const before = await fingerprintTree(box.dir);

  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  await assertDelivered(box, FIXTURE_SETS);
  const report = await statusOf(box);
  for (const name of [noTime, badId]) {
    const r = row(report, `conversations/${name}`);
    assert.equal(r.state, "failed");
    assert.match(r.reason, /neither start_time nor a session_id/);
    assert.match(
      res.stderr,
      new RegExp(`Cannot use conversations/${name}: .*start_time`),
    );
  }
  const r = row(report, `conversations/${badTime}`);
  assert.equal(r.state, "failed");
  assert.match(r.reason, /^start_time: /);
  assert.equal(report.counts.delivered, 6);
  await assertSourcesUnchanged(box.dir, before);
});

Deno.test("a .ogg that is not Ogg fails naming the file, once stale", async () => {
  await using box = await sandbox();
  const name = "number-_919000000002-1761740100.ogg";
  const path = join(box.dir, "recordings", name);
  await Deno.writeTextFile(path, "ID3 this is an mp3, honest\n".repeat(50));
  const before = await fingerprintTree(box.dir);

  assert.equal((await box.run(["run"])).code, 0);
  assert.equal(row(await statusOf(box), `recordings/${name}`).state, "waiting");
  await Deno.utime(path, DAY_AGO, DAY_AGO);
  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(
    res.stderr,
    new RegExp(`Cannot use recordings/${name}: .*${name}`),
  );
  const r = row(await statusOf(box), `recordings/${name}`);
  assert.equal(r.state, "failed");
  assert.match(r.reason, /Ogg/);
  assert.ok(!box.crm.requests.some((q) => q.fileName === name));
  await assertDelivered(box, FIXTURE_SETS);
  assert.equal(box.crm.acceptedCallRecords().length, 6);
  before.delete(`recordings/${name}`); // only its mtime was changed, by us
  await assertSourcesUnchanged(box.dir, before);
});

// ------------------------------------------------------------------- names

Deno.test("names with spaces and non-ASCII characters are delivered normally", async () => {
  await using box = await sandbox();
  // A whole call: 2025-10-30 10:00:00 UTC is unix 1761818400.
  const recording = "número de prueba 919111122222-1761818400.ogg";
  const conversation =
    "transcript_session_2025-10-30T10-00-30.000000 copia ñ (2).json";
  const lead = "leads_session_2025-10-30T10-00-30.000000 copia ñ (2).json";
  // A recording-only call whose name has no caller digits.
  const lonely = "Anruf Jürgen Müller — 日本-1761822000.ogg";
  const sessionId = "session_20251030_100001_c0ffee00";
  await writeOld(
    join(box.dir, "recordings", recording),
    makeOpusOgg({ durationSeconds: 29.5 }),
  );
  await writeOld(
    join(box.dir, "conversations", conversation),
    JSON.stringify({
      session_id: sessionId,
      start_time: "2025-10-30T10:00:01.000000",
      end_time: "2025-10-30T10:00:30.000000",
      duration_seconds: 29,
      conversation_items: [{
        role: "user",
        content: "¿Hola? 你好",
        timestamp: "2025-10-30T10:00:02.000000",
      }],
      lead_generated: true,
      metadata: { phone_number: "+91 91111 22222" },
    }),
  );
  await writeOld(
    join(box.dir, "leads", lead),
    JSON.stringify({ name: "Zoë Ñúñez", session_id: sessionId }),
  );
  await writeOld(
    join(box.dir, "recordings", lonely),
    makeOpusOgg({ durationSeconds: 5 }),
  );
  const before = await fingerprintTree(box.dir);

  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /Directory scan completed: 8 processed, 0 failed/);
  await assertDelivered(box, [...FIXTURE_SETS, conversation, lonely]);

  const names = box.crm.requests.filter((r) => r.endpoint === "upload")
    .map((r) => r.fileName);
  assert.ok(names.includes(recording), `CRM saw ${recording}: ${names}`);
  assert.ok(names.includes(lonely), `CRM saw ${lonely}: ${names}`);
  const record = await deliveryRecord(box, conversation);
  assert.equal(record.recording_file, recording);
  assert.equal(record.lead_file, lead);
  const sent = box.crm.acceptedCallRecords().map(callRecordOf)
    .find((b) => b.callDetails.callId === record.call_id);
  assert.ok(sent);
  assert.equal(sent.transcription?.session_id, sessionId);
  assert.equal(sent.lead?.name, "Zoë Ñúñez");
  assert.equal(sent.callDetails.recordingUrl, record.recording_url);
  assert.equal((await deliveryRecord(box, lonely)).kind, "recording-only");
  const report = await statusOf(box);
  assert.equal(report.counts.delivered, 8);
  assert.equal(report.sets.length, 0);
  await assertSourcesUnchanged(box.dir, before);
});

// ---------------------------------------------------------------- symlinks

Deno.test(testOn(SYMLINKS, {
  name: "a symlink to another file of the same folder is not sent twice",
  async fn() {
    await using box = await sandbox();
    const call1 = fixtureCall(1).set;
    const alias = "transcript_session_2025-10-29T06-49-07.351452 (link).json";
    await symlinkFile(call1, join(box.dir, "conversations", alias));
    const res = await box.run(["run"]);
    assert.equal(res.code, 0, res.stderr);
    const ids = acceptedCallIds(box.crm);
    assert.equal(ids.length, 6);
    assert.equal(new Set(ids).size, 6, "each call once");
    const r = row(await statusOf(box), `conversations/${alias}`);
    assert.equal(r.state, "failed");
    assert.match(
      r.reason,
      /symlink to .* in the same folder, which is sent under its own name; not sent twice/,
    );
  },
}));

Deno.test(testOn(SYMLINKS, {
  name:
    "a symlink into another configured folder is followed; one pointing outside is reported",
  async fn() {
    await using box = await sandbox();
    await using outside = await tempDir("callsync-outside-");
    // Call 1's recording lives in leads/ (a configured folder; .ogg is not a
    // lead) and recordings/ holds a relative link to it.
    const rec1 = fixtureCall(1).recording!;
    const call1 = fixtureCall(1).set;
    await Deno.rename(
      join(box.dir, "recordings", rec1),
      join(box.dir, "leads", rec1),
    );
    await symlinkFile(`../leads/${rec1}`, join(box.dir, "recordings", rec1));
    const size = (await Deno.stat(join(box.dir, "leads", rec1))).size;
    // A valid recording outside every configured folder, linked in.
    const secret = join(outside.path, "secret.ogg");
    await writeOld(secret, makeOpusOgg({ durationSeconds: 3 }));
    const out = "number-_919000000003-1761740300.ogg";
    await symlinkFile(secret, join(box.dir, "recordings", out));
    // A link whose target does not exist.
    const dangling = "transcript_session_2025-10-30T10-00-00.000000.json";
    await symlinkFile(
      join(box.dir, "nowhere.json"),
      join(box.dir, "conversations", dangling),
    );
    const before = await fingerprintTree(box.dir);

    const res = await box.run(["run"]);
    assert.equal(res.code, 0, res.stderr);
    await assertDelivered(box, FIXTURE_SETS);
    const upload = box.crm.requests.find((r) => r.fileName === rec1);
    assert.ok(upload, "the linked recording was uploaded");
    assert.equal(upload.fileSize, size);
    assert.equal((await deliveryRecord(box, call1)).recording_file, rec1);
    assert.ok(
      !box.crm.requests.some((r) => r.fileName === out),
      "a link out of bounds is never followed",
    );
    assert.match(
      res.stderr,
      new RegExp(`Cannot use recordings/${out}: is a symlink to .*outside`),
    );

    const report = await statusOf(box);
    const r = row(report, `recordings/${out}`);
    assert.equal(r.state, "failed");
    assert.match(
      r.reason,
      /symlink to .*secret\.ogg, outside the configured folders; not followed/,
    );
    const d = row(report, `conversations/${dangling}`);
    assert.equal(d.state, "failed");
    assert.match(d.reason, /symlink whose target does not exist/);
    assert.equal(report.counts.delivered, 6);
    assert.equal(report.counts.failed, 2);
    // Links and targets untouched.
    assert.equal(
      await Deno.readLink(join(box.dir, "recordings", rec1)),
      `../leads/${rec1}`,
    );
    assert.equal(await Deno.readLink(join(box.dir, "recordings", out)), secret);
    await assertSourcesUnchanged(box.dir, before);
  },
}));

// ------------------------------------------------------------ permissions

/** Give a tree to uid/gid 65534 (nobody). */
async function chownTree(path: string): Promise<void> {
  await Deno.chown(path, 65534, 65534);
  if ((await Deno.lstat(path)).isDirectory) {
    for await (const e of Deno.readDir(path)) {
      await chownTree(join(path, e.name));
    }
  }
}

/**
 * Run the CLI in `box` as user nobody, with its own Deno cache, from a copy
 * of the program nobody can read (the clone may be in a 0700 folder).
 */
async function runAsNobody(
  box: Sandbox,
  program: SharedProgram,
  denoDir: string,
  args: string[],
): Promise<CliResult> {
  const out = await new Deno.Command("setpriv", {
    args: [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      program.deno,
      ...cliArgs([...args, "--base-dir", box.dir], program.root),
    ],
    env: {
      ...box.env,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: denoDir,
      DENO_DIR: denoDir,
      DENO_NO_UPDATE_CHECK: "1",
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

Deno.test(testOn(UNREADABLE, {
  name:
    "unreadable files are reported as permission denied; the rest is delivered",
  // As root, chmod 000 does not stop reads: the CLI then runs as nobody.
  async fn() {
    await using box = await sandbox();
    await using denoDir = await tempDir("callsync-deno-dir-");
    await using program = IS_ROOT ? await sharedProgram() : undefined;
    const conv = "transcript_session_2025-10-30T10-00-00.000000.json";
    const rec = "number-_919000000004-1761740400.ogg";
    await writeOld(
      join(box.dir, "conversations", conv),
      JSON.stringify({
        start_time: "2025-10-30T10:00:00",
        duration_seconds: 9,
      }),
    );
    await writeOld(
      join(box.dir, "recordings", rec),
      makeOpusOgg({ durationSeconds: 4 }),
    );
    const run = IS_ROOT
      ? (args: string[]) => runAsNobody(box, program!, denoDir.path, args)
      : (args: string[]) => box.run(args);
    if (IS_ROOT) {
      await chownTree(box.dir);
      await chownTree(denoDir.path);
    }
    await Deno.chmod(join(box.dir, "conversations", conv), 0o000);
    await Deno.chmod(join(box.dir, "recordings", rec), 0o000);
    const before = await fingerprintTree(box.dir);

    const res = await run(["run"]);
    assert.equal(res.code, 0, res.stderr);
    if (IS_ROOT) {
      assert.equal(
        (await Deno.stat(processedPath(box))).uid,
        65534,
        "ran as nobody",
      );
    }
    for (const p of [`conversations/${conv}`, `recordings/${rec}`]) {
      assert.match(
        res.stderr,
        new RegExp(`Cannot use ${p}: permission denied`),
      );
    }
    await assertDelivered(box, FIXTURE_SETS);
    const report = parseStatus(await run(["status", "--json"]));
    for (const p of [`conversations/${conv}`, `recordings/${rec}`]) {
      const r = row(report, p);
      assert.equal(r.state, "failed", "waiting cannot fix permissions");
      assert.match(r.reason, /permission denied: make it readable/);
    }
    assert.equal(report.counts.delivered, 6);
    assert.ok(!box.crm.requests.some((r) => r.fileName === rec));
    for (const p of [conv, rec]) {
      const mode = (await Deno.stat(
        join(box.dir, p.endsWith(".ogg") ? "recordings" : "conversations", p),
      )).mode!;
      assert.equal(mode & 0o777, 0, `${p} keeps its mode`);
    }
    await assertSourcesUnchanged(box.dir, before);
  },
}));

// ---------------------------------------------------------------- folders

Deno.test("a missing folder is warned about, never created, and the rest is delivered", async () => {
  await using box = await sandbox();
  await Deno.remove(join(box.dir, "leads"), { recursive: true });
  const before = await fingerprintTree(box.dir);

  const plan = await box.run(["plan"]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stderr, /Folder .*leads \(leads\) does not exist/);
  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(
    res.stderr,
    new RegExp(
      `Folder ${
        RegExp.escape(join(box.dir, "leads"))
      } \\(leads\\) does not exist`,
    ),
  );
  await assertDelivered(box, FIXTURE_SETS);
  for (const set of FIXTURE_SETS) {
    assert.equal((await deliveryRecord(box, set)).lead_uploaded, false);
  }
  assert.equal((await statusOf(box)).counts.delivered, 6);
  assert.ok(!(await exists(join(box.dir, "leads"))), "leads/ not created");
  await assertSourcesUnchanged(box.dir, before);
});

async function mountTmpfs(dir: string, options: string): Promise<void> {
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", options, "tmpfs", dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

/** Create the PROCESSED_DIR of `box` with a tmpfs mounted on it; its path. */
async function mountProcessedDir(
  box: Sandbox,
  options: string,
): Promise<string> {
  const dir = processedPath(box);
  await Deno.mkdir(dir);
  await mountTmpfs(dir, options);
  return dir;
}

async function unmount(dir: string): Promise<void> {
  const out = await new Deno.Command("umount", {
    args: [dir],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test(testOn(TMPFS, {
  name:
    "PROCESSED_DIR on a full disk: exit 3, nothing marked delivered, a later run delivers once",
  async fn() {
    await using box = await sandbox();
    const before = await fingerprintTree(box.dir);
    const dir = await mountProcessedDir(box, "size=64k");
    try {
      // Fill it to the last byte.
      await Deno.writeFile(join(dir, "filler"), new Uint8Array(256 * 1024))
        .then(() => assert.fail("64k tmpfs took 256k"), () => {});
      await assert.rejects(Deno.writeTextFile(join(dir, "probe"), "x"));
      await Deno.remove(join(dir, "probe")).catch(() => {});

      const res = await box.run(["run"]);
      assert.equal(res.code, 3, res.stderr);
      assert.match(
        res.stderr,
        /cannot write to PROCESSED_DIR .*No space left/i,
      );
      assert.match(res.stderr, /Directory scan aborted/);
      assert.deepEqual(await deliveredSets(box), []);
      const left = [];
      for await (const e of Deno.readDir(dir)) left.push(e.name);
      assert.deepEqual(
        left.filter((n) => n.endsWith(".tmp") || n.endsWith(".pending")),
        [],
        "no temp or half-written records left behind",
      );
    } finally {
      await unmount(dir);
    }
    await assertCleanRerun(box);
    await assertSourcesUnchanged(box.dir, before);
  },
}));

Deno.test(testOn(TMPFS, {
  name:
    "PROCESSED_DIR full after the CRM accepted a call record: exit 3, not marked delivered, resent with the same key",
  async fn() {
    let failing = true;
    await using box = await sandbox({
      fault: (endpoint) =>
        failing && endpoint === "call-data"
          ? { kind: "success-false" }
          : undefined,
    }, { UPLOAD_RETRY_BACKOFF: "0", UPLOAD_CONCURRENCY: "1" });
    // Run 1: every recording is uploaded, every call record refused, so each
    // set has a .pending with its recording URL.
    assert.equal((await box.run(["run"])).code, 1);
    failing = false;
    const dir = processedPath(box);
    const saved = new Map<string, Uint8Array>();
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile) saved.set(e.name, await Deno.readFile(join(dir, e.name)));
    }
    assert.ok([...saved.keys()].some((n) => n.endsWith(".pending")));
    await mountTmpfs(dir, "size=64k");
    try {
      for (const [name, bytes] of saved) {
        await Deno.writeFile(join(dir, name), bytes);
      }
      await Deno.writeFile(join(dir, "filler"), new Uint8Array(256 * 1024))
        .catch(() => {});
      const accepted = box.crm.acceptedCallRecords().length;
      assert.equal(accepted, 0);

      // Run 2: the CRM accepts a call record, then the delivery record
      // cannot be written.
      const res = await box.run(["run"]);
      assert.equal(res.code, 3, res.stderr);
      assert.match(res.stderr, /Call data uploaded successfully/);
      assert.match(
        res.stderr,
        /cannot write to PROCESSED_DIR .*No space left/i,
      );
      assert.ok(box.crm.acceptedCallRecords().length >= 1);
      assert.deepEqual(await deliveredSets(box), []);
      for (const [name, bytes] of saved) {
        if (!name.endsWith(".pending")) continue;
        assert.deepEqual(
          await Deno.readFile(join(dir, name)),
          bytes,
          `${name} intact after the failed write`,
        );
      }
    } finally {
      await unmount(dir);
    }
    // Run 3, with room: the accepted call record goes again with the same
    // Idempotency-Key, and no recording is uploaded again.
    const uploads = box.crm.requests.filter((r) => r.endpoint === "upload")
      .length;
    await assertCleanRerun(box);
    assert.equal(
      box.crm.requests.filter((r) => r.endpoint === "upload").length,
      uploads,
    );
  },
}));

Deno.test(testOn(TMPFS, {
  name: "a read-only PROCESSED_DIR: exit 3 before anything is sent",
  async fn() {
    await using box = await sandbox();
    const before = await fingerprintTree(box.dir);
    const dir = await mountProcessedDir(box, "ro");
    try {
      const res = await box.run(["run"]);
      assert.equal(res.code, 3, res.stderr);
      assert.match(res.stderr, /PROCESSED_DIR|run lock/);
      assert.match(res.stderr, /Read-only file system/i);
      assert.equal(box.crm.requests.length, 0, "nothing sent");
      assert.deepEqual(await deliveredSets(box), []);
      // status still reads (it writes nothing).
      assert.equal((await statusOf(box)).counts.pending, 6);
    } finally {
      await unmount(dir);
    }
    await assertCleanRerun(box);
    await assertSourcesUnchanged(box.dir, before);
  },
}));

// ------------------------------------------------------------- state files

Deno.test("a torn or empty .uploaded (power loss) is set aside and the set delivered again", async () => {
  await using box = await sandbox();
  const first = await box.run(["run"]);
  assert.equal(first.code, 0, first.stderr);
  const [empty, torn] = [fixtureCall(1).set, fixtureCall(4).set];
  // Power loss before the journal line: the record is there but broken,
  // and the journal does not know the set.
  await Deno.writeTextFile(processedPath(box, `${empty}.uploaded`), "");
  const full = await Deno.readTextFile(processedPath(box, `${torn}.uploaded`));
  await Deno.writeTextFile(
    processedPath(box, `${torn}.uploaded`),
    full.slice(0, full.length / 2),
  );
  const journal = processedPath(box, "callsync-journal.jsonl");
  const lines = (await Deno.readTextFile(journal)).split("\n");
  await Deno.writeTextFile(
    journal,
    lines.filter((l) => !l.includes(empty) && !l.includes(torn)).join("\n"),
  );
  const sent = box.crm.acceptedCallRecords().length;

  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  for (const set of [empty, torn]) {
    assert.match(
      res.stderr,
      new RegExp(
        `State file ${set}\\.uploaded is empty or torn; treating .* as not delivered`,
      ),
    );
  }
  assert.match(res.stderr, /Directory scan completed: 2 processed, 0 failed/);
  assert.equal(box.crm.acceptedCallRecords().length, sent + 2);
  await assertDelivered(box, FIXTURE_SETS);
  assertNoDuplicateCalls(box);
  const names = [];
  for await (const e of Deno.readDir(processedPath(box))) names.push(e.name);
  for (const set of [empty, torn]) {
    assert.ok(
      names.some((n) => n.startsWith(`${set}.uploaded.corrupt-`)),
      `${set} set aside: ${names}`,
    );
    assert.equal((await deliveryRecord(box, set)).call_data_uploaded, true);
  }
  const report = await statusOf(box);
  assert.equal(report.counts.delivered, 6);
  assert.equal(report.sets.length, 0);
  // And a third run sends nothing.
  const count = box.crm.requests.length;
  assert.equal((await box.run(["run"])).code, 0);
  assert.equal(box.crm.requests.length, count);
});

Deno.test("an empty or torn .pending is set aside and the set started afresh", async () => {
  let failing = true;
  await using box = await sandbox({
    fault: (endpoint) =>
      failing && endpoint === "call-data"
        ? { kind: "success-false" }
        : undefined,
  }, { UPLOAD_RETRY_BACKOFF: "3600" });
  const first = await box.run(["run"]);
  assert.equal(first.code, 1, first.stderr);
  assert.deepEqual(await deliveredSets(box), []);
  failing = false;
  const [empty, torn] = [fixtureCall(1).set, fixtureCall(3).set];
  await Deno.writeTextFile(processedPath(box, `${empty}.pending`), "");
  const full = await Deno.readTextFile(processedPath(box, `${torn}.pending`));
  await Deno.writeTextFile(
    processedPath(box, `${torn}.pending`),
    full.slice(0, 20),
  );

  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  for (const set of [empty, torn]) {
    assert.match(
      res.stderr,
      new RegExp(
        `State file ${set}\\.pending is empty or torn; starting .* afresh`,
      ),
    );
  }
  // Only the two with lost progress were due; the others wait out the backoff.
  assert.deepEqual(await deliveredSets(box), [empty, torn].sort());
  await assertDelivered(box, [empty, torn]);
  assertNoDuplicateCalls(box);
  const report = await statusOf(box);
  assert.equal(report.counts.delivered, 2);
  assert.equal(report.counts.waiting, 4);
  const names = [];
  for await (const e of Deno.readDir(processedPath(box))) names.push(e.name);
  for (const set of [empty, torn]) {
    assert.ok(names.some((n) => n.startsWith(`${set}.pending.corrupt-`)));
    assert.ok(!names.includes(`${set}.pending`));
  }
});
