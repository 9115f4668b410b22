/**
 * Issue 12 through the CLI against the fake CRM: leads that come late, a
 * bot writing another zone than TIMEZONE, recordings in every container
 * egress writes, and the evidence `plan` shows.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeCrm } from "../../testing/fake_crm.ts";
import { crmEnv, runCli } from "../../testing/cli.ts";
import { makeOpusOgg } from "../../testing/ogg_writer.ts";
import { tempDir } from "../../testing/fixtures.ts";
import { muxMp4, muxWebm } from "../../testing/media_files.ts";
import {
  callRecordOf,
  deliveryRecord,
  row,
  statusAt,
} from "../../testing/status.ts";
import { idempotencyKey } from "../../lib/deliver/payload.ts";

/** Naive wall time of `ms` in `zone`, microseconds, as the bot writes it. */
function naive(ms: number, zone = "UTC"): string {
  return Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(zone)
    .toPlainDateTime().toString({ smallestUnit: "microsecond" });
}

/** One call as the bot leaves it: what to write, and when. */
interface BotCall {
  /** Call start, epoch ms; the call lasts 60 s. */
  startMs: number;
  digits: string;
  /** The recorder started this late, seconds. */
  offset?: number;
  zone?: string;
  leadGenerated?: boolean;
  /** The recording's extension and bytes (default: Ogg Opus). */
  recording?: { ext: string; bytes: (seconds: number) => Uint8Array };
}

const CALL_SECONDS = 60;

/** The names a call's files get. */
function namesOf(c: BotCall) {
  const endMs = c.startMs + CALL_SECONDS * 1000;
  const savedMs = endMs + 2000;
  const ts = naive(savedMs, c.zone).replaceAll(":", "-");
  const epoch = Math.floor(c.startMs / 1000) + (c.offset ?? 10);
  return {
    endMs,
    savedMs,
    transcript: `transcript_session_${ts}.json`,
    lead: `leads_session_${ts}.json`,
    legacyLead: `lead_${
      naive(savedMs, c.zone).slice(0, 19).replace(/[-:]/g, "").replace(
        "T",
        "_",
      )
    }.json`,
    recording: `number-_91${c.digits}-${epoch}.${c.recording?.ext ?? "ogg"}`,
    recordingSeconds: (endMs - epoch * 1000) / 1000,
  };
}

/** Write a call's transcript and recording (file times as the bot left them). */
async function writeCall(dir: string, c: BotCall): Promise<void> {
  const n = namesOf(c);
  for (const sub of ["conversations", "recordings", "leads"]) {
    await Deno.mkdir(join(dir, sub), { recursive: true });
  }
  const transcript = join(dir, "conversations", n.transcript);
  await Deno.writeTextFile(
    transcript,
    JSON.stringify({
      session_id: `session_${c.digits}`,
      start_time: naive(c.startMs, c.zone),
      end_time: naive(n.endMs, c.zone),
      duration_seconds: CALL_SECONDS,
      conversation_items: [],
      lead_generated: c.leadGenerated ?? false,
    }),
  );
  await Deno.utime(transcript, n.savedMs / 1000, n.savedMs / 1000);
  const recording = join(dir, "recordings", n.recording);
  const bytes = c.recording?.bytes ??
    ((s) => makeOpusOgg({ durationSeconds: s, bytesPerSecond: 400 }));
  await Deno.writeFile(recording, bytes(n.recordingSeconds));
  await Deno.utime(recording, n.endMs / 1000 + 0.3, n.endMs / 1000 + 0.3);
}

/** Write a call's lead file (session-named, or legacy-named by its save second). */
async function writeLead(
  dir: string,
  c: BotCall,
  style: "session" | "legacy",
): Promise<string> {
  const n = namesOf(c);
  const name = style === "session" ? n.lead : n.legacyLead;
  await Deno.writeTextFile(
    join(dir, "leads", name),
    JSON.stringify({ name: `Caller ${c.digits}`, phone: `+91${c.digits}` }),
  );
  return name;
}

/** Four calls 30 s apart that ended in the last few minutes, leads announced. */
function recentCalls(): BotCall[] {
  const base = Date.now() - 4 * 60_000;
  return [0, 1, 2, 3].map((k) => ({
    startMs: base + k * 30_000,
    digits: `98765${String(k).padStart(5, "0")}`,
    leadGenerated: true,
  }));
}

Deno.test("a transcript that announces a lead waits for it; the lead goes with its call", async () => {
  await using dir = await tempDir("callsync-lead-wait-");
  const crm = FakeCrm.start();
  try {
    const calls = recentCalls();
    for (const c of calls) await writeCall(dir.path, c);
    const env = crmEnv(crm);
    const first = await runCli(["run", "--base-dir", dir.path], env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(crm.acceptedCallRecords().length, 0, "all wait for leads");
    const waiting = await statusAt(dir.path, env);
    assert.equal(waiting.counts.waiting, 4);
    assert.match(waiting.sets[0].reason, /announces a lead/);

    for (const [k, c] of calls.entries()) {
      await writeLead(dir.path, c, k === 3 ? "legacy" : "session");
    }
    const second = await runCli(["run", "--base-dir", dir.path], env);
    assert.equal(second.code, 0, second.stderr);
    const sent = crm.acceptedCallRecords().map(callRecordOf);
    assert.equal(sent.length, 4);
    assert.ok(sent.every((r) => r.lead !== undefined), "every lead went");
  } finally {
    await crm.close();
  }
});

Deno.test("a lead that comes after its call was delivered is sent as an update: same callId, its own key", async () => {
  await using dir = await tempDir("callsync-lead-late-");
  const crm = FakeCrm.start();
  try {
    const calls = recentCalls();
    for (const c of calls) await writeCall(dir.path, c);
    const env = crmEnv(crm, { LEAD_WAIT_SECONDS: "0" });
    const first = await runCli(["run", "--base-dir", dir.path], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /no lead file came within 0 s/);
    assert.equal(crm.acceptedCallRecords().length, 4);

    for (const [k, c] of calls.entries()) {
      await writeLead(dir.path, c, k === 3 ? "legacy" : "session");
    }
    const plan = await statusAt(dir.path, env);
    assert.deepEqual(
      plan.sets.map((s) => s.kind),
      Array(4).fill("lead-update"),
    );
    const second = await runCli(["run", "--base-dir", dir.path], env);
    assert.equal(second.code, 0, second.stderr);
    const requests = crm.acceptedCallRecords();
    assert.equal(requests.length, 8);
    const [before, after] = [requests.slice(0, 4), requests.slice(4)];
    for (const [k, update] of after.entries()) {
      const original = before.find((r) =>
        callRecordOf(r).callDetails.callId ===
          callRecordOf(update).callDetails.callId
      );
      assert.ok(original, `update ${k} names a delivered call`);
      assert.notEqual(update.idempotencyKey, original.idempotencyKey);
      assert.equal(callRecordOf(original).lead, undefined);
      assert.ok(callRecordOf(update).lead, "the update carries the lead");
      assert.deepEqual(
        callRecordOf(update).callDetails.recordingUrl,
        callRecordOf(original).callDetails.recordingUrl,
      );
    }
    const done = await statusAt(dir.path, env);
    assert.deepEqual(done.counts, {
      delivered: 8,
      pending: 0,
      waiting: 0,
      failed: 0,
    });
  } finally {
    await crm.close();
  }
});

Deno.test("a lead that fits no call goes alone once after ORPHAN_AFTER_SECONDS; its call, showing up later, goes without it", async () => {
  await using dir = await tempDir("callsync-lead-alone-");
  // The first POST of the lead-only record fails: the retry must reuse its key.
  const crm = FakeCrm.start({
    fault: (endpoint, n) =>
      endpoint === "call-data" && n === 1
        ? { kind: "status", status: 503 }
        : undefined,
  });
  try {
    const call: BotCall = {
      startMs: Date.now() - 2 * 3600_000,
      digits: "9123456789",
      leadGenerated: true,
    };
    await Deno.mkdir(join(dir.path, "leads"), { recursive: true });
    const lead = await writeLead(dir.path, call, "session");
    const leadPath = join(dir.path, "leads", lead);
    const env = crmEnv(crm, { ORPHAN_AFTER_SECONDS: "600" });

    const fresh = row(await statusAt(dir.path, env), lead);
    assert.deepEqual([fresh.kind, fresh.state], ["lead-only", "waiting"]);
    assert.equal(fresh.aloneReason, "no call found for this lead");
    const old = Date.now() / 1000 - 700;
    await Deno.utime(leadPath, old, old);
    const due = await statusAt(dir.path, env);
    assert.deepEqual([row(due, lead).kind, row(due, lead).state], [
      "lead-only",
      "pending",
    ]);
    assert.match(due.warnings.join("\n"), /go alone \(lead-only/);

    const first = await runCli(["run", "--base-dir", dir.path], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stderr,
      /WARN.*Lead leads_session_.* belongs to no call clearly \(no call found for this lead\); sending it alone as CALL-\d{8}-\d{6}-56789 \(lead-only\)/,
    );
    const key = await idempotencyKey(lead, "call-data");
    const [alone] = crm.acceptedCallRecords();
    assert.equal(alone.idempotencyKey, key);
    const body = callRecordOf(alone);
    assert.deepEqual(body.lead, JSON.parse(await Deno.readTextFile(leadPath)));
    assert.equal(body.callDetails.recordingUrl, undefined);
    assert.equal(body.transcription, undefined);
    assert.equal(body.callDetails.callerNumber, "+919123456789");
    const record = await deliveryRecord(dir.path, lead);
    assert.equal(record.kind, "lead-only");
    assert.equal(record.alone_reason, "no call found for this lead");
    assert.equal(record.idempotency_key, key);
    assert.equal(record.call_id, body.callDetails.callId);

    // The call's transcript and recording come after the lead went alone.
    await writeCall(dir.path, call);
    const later = await statusAt(dir.path, env);
    const transcript = namesOf(call).transcript;
    assert.match(
      row(later, transcript).reason,
      new RegExp(
        `its lead ${lead} was already sent alone as ${body.callDetails.callId}; not sent again`,
      ),
    );
    assert.match(later.warnings.join("\n"), /the call goes without it/);
    const second = await runCli(["run", "--base-dir", dir.path], env);
    assert.equal(second.code, 0, second.stderr);

    const sent = crm.acceptedCallRecords();
    assert.equal(sent.length, 2);
    assert.equal(sent.filter((r) => r.idempotencyKey === key).length, 1);
    assert.deepEqual(
      crm.requests.filter((r) => r.idempotencyKey === key).map((r) => r.answer),
      [503, 200],
      "tried twice under one key, accepted once",
    );
    const withCall = callRecordOf(sent[1]);
    assert.equal(withCall.lead, undefined, "the lead is never sent twice");
    assert.ok(withCall.callDetails.recordingUrl);
    assert.notEqual(withCall.callDetails.callId, body.callDetails.callId);
    const done = await statusAt(dir.path, env);
    assert.equal(done.counts.delivered, 2);
    assert.equal(done.sets.length, 0);
  } finally {
    await crm.close();
  }
});

Deno.test("a bot on Asia/Kolkata read as UTC: run and plan exit 2 naming the zone, nothing is sent", async () => {
  await using dir = await tempDir("callsync-zone-");
  const crm = FakeCrm.start();
  try {
    const base = Date.now() - 3 * 3600_000;
    for (let k = 0; k < 3; k++) {
      await writeCall(dir.path, {
        startMs: base + k * 120_000,
        digits: `91234${String(k).padStart(5, "0")}`,
        zone: "Asia/Kolkata",
      });
    }
    const utc = crmEnv(crm, { TIMEZONE: "UTC" });
    const run = await runCli(["run", "--base-dir", dir.path], utc);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /set TIMEZONE=Asia\/Kolkata/);
    assert.equal(crm.requests.length, 0, "nothing sent");
    const plan = await runCli(["plan", "--base-dir", dir.path], utc);
    assert.equal(plan.code, 2);
    assert.match(plan.stdout, /WARNING: TIMEZONE=UTC does not fit the files/);
    assert.match((await statusAt(dir.path, utc)).warnings[0], /Asia\/Kolkata/);

    const ist = crmEnv(crm, { TIMEZONE: "Asia/Kolkata" });
    const fixed = await runCli(["run", "--base-dir", dir.path], ist);
    assert.equal(fixed.code, 0, fixed.stderr);
    const sent = crm.acceptedCallRecords().map(callRecordOf);
    assert.equal(sent.length, 3);
    assert.ok(sent.every((r) => r.callDetails.recordingUrl !== undefined));
  } finally {
    await crm.close();
  }
});

Deno.test("M4A, MP4 and WebM recordings are paired and uploaded with their Content-Type; other files are listed as not understood", async () => {
  await using dir = await tempDir("callsync-containers-");
  const crm = FakeCrm.start();
  try {
    const base = Date.now() - 3600_000;
    const kinds = [
      { ext: "m4a", bytes: (s: number) => muxMp4(s, false), type: "audio/mp4" },
      { ext: "mp4", bytes: (s: number) => muxMp4(s, false), type: "audio/mp4" },
      { ext: "webm", bytes: (s: number) => muxWebm(s), type: "audio/webm" },
    ];
    for (const [k, kind] of kinds.entries()) {
      await writeCall(dir.path, {
        startMs: base + k * 120_000,
        digits: `90000${String(k).padStart(5, "0")}`,
        recording: kind,
      });
    }
    await Deno.writeTextFile(join(dir.path, "recordings", "notes.txt"), "hi");
    await Deno.writeFile(
      join(dir.path, "recordings", "number-_919999999999-1761720502.wav"),
      new Uint8Array(44),
    );
    const env = crmEnv(crm);
    const res = await runCli(["run", "--base-dir", dir.path], env);
    assert.equal(res.code, 0, res.stderr);
    const uploads = crm.requests.filter((r) => r.endpoint === "upload");
    assert.deepEqual(
      uploads.map((u) => [u.fileName!.split(".").pop(), u.fileType]).sort(),
      kinds.map((k) => [k.ext, k.type]).sort(),
    );
    const records = crm.acceptedCallRecords().map(callRecordOf);
    assert.equal(records.length, 3);
    for (const r of records) {
      assert.ok(Math.abs(Number(r.callDetails.recordingDuration) - 50) <= 1);
    }
    const status = await statusAt(dir.path, env);
    const strays = status.sets.filter((s) => s.kind === "file");
    assert.deepEqual(strays.map((s) => s.name).sort(), [
      "recordings/notes.txt",
      "recordings/number-_919999999999-1761720502.wav",
    ]);
    assert.ok(
      strays.every((s) =>
        /not a recording callsync understands/.test(s.reason)
      ),
    );
  } finally {
    await crm.close();
  }
});

Deno.test("an MP4 whose recorder has not written its moov box waits, then says it cannot be played", async () => {
  await using dir = await tempDir("callsync-mp4-open-");
  const crm = FakeCrm.start();
  try {
    const call: BotCall = {
      startMs: Date.now() - 3600_000,
      digits: "9000000009",
      recording: {
        ext: "m4a",
        bytes: (s) => muxMp4(s, false).subarray(0, 400),
      },
    };
    await writeCall(dir.path, call);
    const env = crmEnv(crm, { STALE_SECONDS: "600" });
    const path = join(dir.path, "recordings", namesOf(call).recording);
    await Deno.utime(path, Date.now() / 1000, Date.now() / 1000);
    let status = await statusAt(dir.path, env);
    assert.match(status.sets[0].reason, /no moov box yet/);
    await Deno.utime(path, Date.now() / 1000 - 900, Date.now() / 1000 - 900);
    status = await statusAt(dir.path, env);
    assert.match(status.sets[0].reason, /cannot be played/);
    await runCli(["run", "--base-dir", dir.path], env);
    assert.equal(crm.requests.filter((r) => r.endpoint === "upload").length, 0);
  } finally {
    await crm.close();
  }
});

Deno.test("plan shows the learned recorder offset and each pair's evidence; --json carries them", async () => {
  await using dir = await tempDir("callsync-plan-evidence-");
  const base = Date.now() - 3600_000;
  for (let k = 0; k < 4; k++) {
    await writeCall(dir.path, {
      startMs: base + k * 90_000,
      digits: `97000${String(k).padStart(5, "0")}`,
      offset: 25,
    });
  }
  const env = { TIMEZONE: "UTC" };
  const text = await runCli(["plan", "--base-dir", dir.path], env);
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /Recorder offset learned from 4 pairs: \+2[45]\.\d s/,
  );
  const json = await runCli(["plan", "--json", "--base-dir", dir.path], env);
  const plan = JSON.parse(json.stdout) as {
    timing: { offsetSeconds: number; anchors: number };
    sets: {
      pairing?: {
        startDiffSeconds: number;
        endDiffSeconds: number;
        confidence: number;
      };
    }[];
  };
  assert.ok(Math.abs(plan.timing.offsetSeconds - 25) <= 1);
  assert.equal(plan.sets.length, 4);
  for (const s of plan.sets) {
    assert.ok(Math.abs(s.pairing!.startDiffSeconds - 25) <= 1);
    assert.ok(Math.abs(s.pairing!.endDiffSeconds) <= 1);
    assert.ok(s.pairing!.confidence > 0.95);
  }
});
