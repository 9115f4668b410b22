/**
 * One pass under the conditions of a live host: overlapping runs, files still
 * being written, calls missing their other half, files changing mid-send.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeCrm } from "../../testing/fake_crm.ts";
import { cliCommand, crmEnv, runCli, sandbox } from "../../testing/cli.ts";
import { makeOpusOgg } from "../../testing/ogg_writer.ts";
import { tempDir } from "../../testing/fixtures.ts";
import {
  acceptedCallIds,
  deliveryRecord,
  statusAt,
} from "../../testing/status.ts";

const START = 1761720502; // 2025-10-29T06:48:22Z
const REC = `number-_918655066243-${START}.ogg`;
const CONV = "transcript_session_2025-10-29T06-49-07.351452.json";

/** A bot folder with one call: its transcript and (part of) its recording. */
async function oneCall(
  dir: string,
  opts: { recording?: Uint8Array; transcript?: boolean },
) {
  for (const sub of ["conversations", "recordings", "leads"]) {
    await Deno.mkdir(join(dir, sub), { recursive: true });
  }
  if (opts.recording) {
    await Deno.writeFile(join(dir, "recordings", REC), opts.recording);
  }
  if (opts.transcript ?? true) {
    await Deno.writeTextFile(
      join(dir, "conversations", CONV),
      JSON.stringify({
        session_id: "session_20251029_064824_2e0aa754",
        start_time: "2025-10-29T06:48:24.120331",
        end_time: "2025-10-29T06:49:07.351452",
        duration_seconds: 43.2,
        conversation_items: [],
        lead_generated: false,
        metadata: { phone_number: "+918655066243" },
      }),
    );
  }
}

async function withCall(
  opts: { recording?: Uint8Array; transcript?: boolean },
  fn: (dir: string, crm: FakeCrm) => Promise<void>,
  crmOpts = {},
) {
  await using dir = await tempDir("callsync-run-");
  const crm = FakeCrm.start(crmOpts);
  try {
    await oneCall(dir.path, opts);
    await fn(dir.path, crm);
  } finally {
    await crm.close();
  }
}

const age = async (path: string, seconds: number) => {
  const t = Date.now() / 1000 - seconds;
  await Deno.utime(path, t, t);
};

Deno.test("two runs started at the same instant: one skips, nothing is sent twice", async () => {
  await using box = await sandbox({ delayMs: 150 });
  const args = ["run", "--base-dir", box.dir];
  const [a, b] = await Promise.all([
    cliCommand(args, box.env).output(),
    cliCommand(args, box.env).output(),
  ]);
  const logs = [a, b].map((o) => new TextDecoder().decode(o.stderr));
  assert.equal(a.code, 0, logs[0]);
  assert.equal(b.code, 0, logs[1]);
  const skipped = logs.filter((l) =>
    /another run \(pid \d+\) is in progress; skipping/.test(l)
  );
  assert.equal(skipped.length, 1, logs.join("\n---\n"));
  const ids = acceptedCallIds(box.crm);
  assert.equal(ids.length, 6);
  assert.equal(new Set(ids).size, 6);
  assert.equal(
    box.crm.requests.filter((r) => r.endpoint === "upload").length,
    5,
  );
});

Deno.test("a recording that grows across runs is uploaded only once complete", async () => {
  const full = makeOpusOgg({ durationSeconds: 44, bytesPerSecond: 400 });
  const cuts = [Math.floor(full.length * 0.3), Math.floor(full.length * 0.7)];
  await withCall({ recording: full.subarray(0, cuts[0]) }, async (dir, crm) => {
    const env = crmEnv(crm);
    const path = join(dir, "recordings", REC);
    const run = () => runCli(["run", "--base-dir", dir], env);

    assert.equal((await run()).code, 0);
    assert.equal(
      crm.requests.length,
      0,
      "nothing sent while the recording is written",
    );
    const s = await statusAt(dir, env);
    assert.equal(s.counts.waiting, 1);
    assert.match(s.sets[0].reason, /still being written/);

    const file = await Deno.open(path, { append: true });
    await file.write(full.subarray(cuts[0], cuts[1]));
    assert.equal((await run()).code, 0);
    assert.equal(crm.requests.length, 0);

    await file.write(full.subarray(cuts[1]));
    file.close();
    const done = await run();
    assert.equal(done.code, 0, done.stderr);
    const uploads = crm.requests.filter((r) => r.endpoint === "upload");
    assert.equal(uploads.length, 1);
    assert.equal(uploads[0].fileSize, full.length);
    const record = await deliveryRecord(dir, CONV);
    assert.equal(record.recording_file, REC);
    assert.equal(record.truncated, undefined);
  });
});

Deno.test("a recording that stopped changing without end-of-stream is sent as truncated", async () => {
  const full = makeOpusOgg({
    durationSeconds: 44,
    bytesPerSecond: 400,
    eos: false,
  });
  await withCall({ recording: full }, async (dir, crm) => {
    const env = crmEnv(crm, { STALE_SECONDS: "60" });
    await age(join(dir, "recordings", REC), 30);
    assert.equal((await runCli(["run", "--base-dir", dir], env)).code, 0);
    assert.equal(crm.requests.length, 0, "not stale yet");

    await age(join(dir, "recordings", REC), 61);
    const res = await runCli(["run", "--base-dir", dir], env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(
      res.stderr,
      /\[WARNING\] Recording .* has no end-of-stream page/,
    );
    const record = await deliveryRecord(dir, CONV);
    assert.equal(record.truncated, true);
    assert.equal(crm.acceptedCallRecords().length, 1);
  });
});

Deno.test("a transcript without recording is sent without one after ORPHAN_AFTER_SECONDS", async () => {
  await withCall({ transcript: true }, async (dir, crm) => {
    // The call ended in 2025 and the file was written an hour ago: past the
    // deadline, unless orphans are off.
    await age(join(dir, "conversations", CONV), 3600);
    const off = crmEnv(crm, { ORPHAN_AFTER_SECONDS: "0" });
    assert.equal((await runCli(["run", "--base-dir", dir], off)).code, 0);
    assert.equal(crm.requests.length, 0);
    const s = await statusAt(dir, off);
    assert.equal(s.counts.waiting, 1);
    assert.match(s.sets[0].reason, /orphan delivery is off/);

    const on = crmEnv(crm, { ORPHAN_AFTER_SECONDS: "1800" });
    assert.equal((await runCli(["run", "--base-dir", dir], on)).code, 0);
    const [sent] = crm.acceptedCallRecords();
    const details =
      (sent.json as { callDetails: Record<string, unknown> }).callDetails;
    assert.equal(details.recordingUrl, undefined);
    assert.equal(details.recordingSize, undefined);
    assert.equal(details.callerNumber, "+918655066243");
    assert.equal(crm.requests.filter((r) => r.endpoint === "upload").length, 0);
  });
});

Deno.test("a recording without transcript waits ORPHAN_AFTER_SECONDS from its mtime, then goes alone", async () => {
  const ogg = makeOpusOgg({ durationSeconds: 20, bytesPerSecond: 400 });
  await withCall({ recording: ogg, transcript: false }, async (dir, crm) => {
    const env = crmEnv(crm, { ORPHAN_AFTER_SECONDS: "600" });
    await age(join(dir, "recordings", REC), 300);
    assert.equal((await runCli(["run", "--base-dir", dir], env)).code, 0);
    assert.equal(crm.requests.length, 0);
    assert.match(
      (await statusAt(dir, env)).sets[0].reason,
      /no transcript yet/,
    );

    await age(join(dir, "recordings", REC), 601);
    const res = await runCli(["run", "--base-dir", dir], env);
    assert.equal(res.code, 0, res.stderr);
    const [sent] = crm.acceptedCallRecords();
    const body = sent.json as {
      callDetails: Record<string, unknown>;
      transcription?: unknown;
    };
    assert.equal(body.transcription, undefined);
    assert.equal(body.callDetails.callerNumber, "+918655066243");
    assert.equal(
      body.callDetails.startTime,
      new Date(START * 1000).toISOString(),
    );
    assert.equal(body.callDetails.recordingDuration, 20);
    assert.equal(body.callDetails.callId, "CALL-20251029-064822-66243");
    const record = await deliveryRecord(dir, REC);
    assert.equal(record.kind, "recording-only");
  });
});

Deno.test("a lead that belongs to no call is listed waiting, then due alone (lead-only) after the deadline", async () => {
  await withCall({ transcript: false }, async (dir, crm) => {
    const lead = join(dir, "leads", "lead_20240101_120000.json");
    await Deno.writeTextFile(lead, JSON.stringify({ name: "Nobody" }));
    const env = crmEnv(crm, { ORPHAN_AFTER_SECONDS: "600" });
    let s = await statusAt(dir, env);
    assert.equal(s.counts.waiting, 1);
    assert.equal(s.sets[0].name, "lead_20240101_120000.json");
    assert.equal(s.sets[0].kind, "lead-only");
    await age(lead, 601);
    s = await statusAt(dir, env);
    assert.equal(s.counts.pending, 1);
    assert.match(s.sets[0].reason, /send the lead alone.*no call found/);
  });
});

Deno.test("a transcript rewritten during the upload is not sent until the next run", async () => {
  const ogg = makeOpusOgg({ durationSeconds: 44, bytesPerSecond: 400 });
  let dirOf = "";
  const fault = (endpoint: string) => {
    if (endpoint === "upload") {
      const path = join(dirOf, "conversations", CONV);
      const data = JSON.parse(Deno.readTextFileSync(path));
      Deno.writeTextFileSync(path, JSON.stringify({ ...data, edited: true }));
    }
    return undefined;
  };
  await withCall({ recording: ogg }, async (dir, crm) => {
    dirOf = dir;
    const env = crmEnv(crm);
    const first = await runCli(["run", "--base-dir", dir], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stderr,
      /changed since it was scanned; will try again next run/,
    );
    assert.equal(
      crm.requests.filter((r) => r.endpoint === "call-data").length,
      0,
    );
    const s = await statusAt(dir, env);
    assert.equal(s.sets[0].attempts, 0, "not counted as a failure");

    const second = await runCli(["run", "--base-dir", dir], env);
    assert.equal(second.code, 0, second.stderr);
    // The recording went up in the first run and is not sent again.
    assert.equal(crm.requests.filter((r) => r.endpoint === "upload").length, 1);
    const [sent] = crm.acceptedCallRecords();
    assert.equal(
      (sent.json as { transcription: { edited?: boolean } }).transcription
        .edited,
      true,
    );
  }, { fault });
});
