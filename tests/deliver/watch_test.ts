/**
 * The watch engine in process, against a real fake CRM on 127.0.0.1 and real
 * files: when it sends, how it continues a run's work, what a folder going
 * away does, and how it stops.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Config, loadConfig } from "../../lib/config/config.ts";
import { Logger } from "../../lib/core/log.ts";
import { WatchEngine } from "../../lib/deliver/watch.ts";
import { runOnce } from "../../lib/deliver/run.ts";
import { crmEnv, ROOT } from "../../testing/cli.ts";
import { FakeCrm, type FakeCrmOptions } from "../../testing/fake_crm.ts";
import { FIXTURE_CALLS, tempDir } from "../../testing/fixtures.ts";
import { makeOpusOgg } from "../../testing/ogg_writer.ts";
import { muxMp4 } from "../../testing/media_files.ts";
import { walkMp4 } from "../../lib/source/mp4.ts";
import { copyTree } from "../../testing/tree.ts";
import { REMOVED_FOLDER_EVENT, testOn } from "../../testing/platform.ts";

const QUIET = new Logger({
  format: "text",
  level: "error",
  timezone: "UTC",
  sink() {},
});

/** A temp bot folder, a fake CRM and the config of both. */
async function setup(
  env: Record<string, string> = {},
  crmOpts: FakeCrmOptions = {},
) {
  const dir = await tempDir("callsync-watch-");
  for (const f of ["conversations", "recordings", "leads"]) {
    await Deno.mkdir(join(dir.path, f));
  }
  const crm = FakeCrm.start(crmOpts);
  const cfg = await loadConfig({
    flags: {},
    env: crmEnv(crm, { SETTLE_SECONDS: "1", ...env }),
    baseDir: dir.path,
    requireUpload: true,
  });
  return {
    dir: dir.path,
    cfg,
    crm,
    async [Symbol.asyncDispose]() {
      await crm.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

async function start(cfg: Config): Promise<WatchEngine> {
  const engine = await WatchEngine.start({ cfg, log: QUIET });
  assert.ok(engine, "the engine took the lock");
  return engine;
}

/** How {@link writeCall} writes a call. */
interface CallOptions {
  /** The transcript's `lead_generated`. */
  leadGenerated?: boolean;
  /** The recording's extension and bytes (default: a finished Ogg). */
  recording?: { ext: string; bytes: Uint8Array };
  /**
   * How far ahead of UTC the bot's clock is: its transcript's name and
   * times are that zone's naive local time (default 0: UTC).
   */
  botZoneMs?: number;
}

/** Write live call `n` (transcript, finished recording) now; it ended `n` minutes ago. */
async function writeCall(
  dir: string,
  n: number,
  opts: CallOptions = {},
): Promise<string> {
  // Calls a minute apart: nothing in the files tells calls that start and
  // end together apart, and pairing rightly keeps such twins apart.
  const startMs = Date.now() - 60_000 * (n + 1);
  const local = (ms: number) =>
    new Date(ms + (opts.botZoneMs ?? 0)).toISOString().slice(0, 23);
  const iso = local(startMs);
  const ts = `${iso.replaceAll(":", "-")}${String(n).padStart(3, "0")}`;
  const conversation = `transcript_session_${ts}.json`;
  await Deno.writeFile(
    join(
      dir,
      "recordings",
      `number-_91987650${n}000-${Math.floor(startMs / 1000)}.${
        opts.recording?.ext ?? "ogg"
      }`,
    ),
    opts.recording?.bytes ?? makeOpusOgg({ durationSeconds: 30 }),
  );
  await Deno.writeTextFile(
    join(dir, "conversations", conversation),
    JSON.stringify({
      start_time: iso,
      end_time: local(startMs + 30_000),
      duration_seconds: 30,
      conversation_items: [],
      ...(opts.leadGenerated === undefined
        ? {}
        : { lead_generated: opts.leadGenerated }),
    }),
  );
  return conversation;
}

const callRecords = (crm: FakeCrm) =>
  crm.requests.filter((r) => r.endpoint === "call-data" && r.answer === 200);

async function until(what: string, ok: () => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!ok()) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("watch delivers a new call SETTLE_SECONDS after its last file changed, not before", async () => {
  await using t = await setup({ SETTLE_SECONDS: "1" });
  const engine = await start(t.cfg);
  try {
    await writeCall(t.dir, 1);
    const written = Date.now();
    await until(
      "its call record is accepted",
      () => callRecords(t.crm).length === 1,
    );
    const waited = Date.now() - written;
    assert.ok(waited >= 1000, `sent ${waited} ms after the last file`);
    assert.ok(waited < 5000, `sent only ${waited} ms after the last file`);
    await until("it is recorded", () => engine.status().delivered === 1);
    const status = engine.status();
    assert.equal(status.delivered, 1);
    assert.equal(status.counts.delivered, 1);
    assert.equal(status.queueDepth, 0);
  } finally {
    await engine.stop(5000);
  }
});

Deno.test("watch sends nothing while the files show TIMEZONE is not the bot's zone, and names the zone that fits", async () => {
  const KOLKATA_MS = 19_800_000;
  await using t = await setup({ SETTLE_SECONDS: "0", TIMEZONE: "UTC" });
  for (let n = 1; n <= 4; n++) {
    await writeCall(t.dir, n, { botZoneMs: KOLKATA_MS });
  }
  const lines: string[] = [];
  const log = new Logger({
    format: "text",
    level: "info",
    timezone: "UTC",
    sink: (line) => lines.push(line),
  });
  const engine = await WatchEngine.start({ cfg: t.cfg, log });
  assert.ok(engine);
  try {
    await until("it pauses", () => engine.status().paused !== undefined);
    assert.match(engine.status().paused!, /Asia\/Kolkata/);
    await writeCall(t.dir, 5, { botZoneMs: KOLKATA_MS });
    // Settled calls, and a new one, wait: none may go with a wrong time.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(t.crm.requests.length, 0, "nothing was sent");
    assert.equal(
      lines.filter((l) => /does not fit the files/.test(l)).length,
      1,
      `said once:\n${lines.join("\n")}`,
    );
  } finally {
    await engine.stop(5000);
  }
  // With the bot's zone, the same files all go.
  const fixed = await start({ ...t.cfg, timezone: "Asia/Kolkata" });
  try {
    await until(
      "all five are delivered",
      () => callRecords(t.crm).length === 5,
    );
    assert.equal(fixed.status().paused, undefined);
  } finally {
    await fixed.stop(5000);
  }
});

Deno.test("watch sends the calls already there at start, each once, like run", async () => {
  await using t = await setup({ SETTLE_SECONDS: "0" });
  await copyTree(join(ROOT, "fixtures"), t.dir, Date.now() - 86_400_000);
  const engine = await start(t.cfg);
  try {
    await until(
      "every fixture call is delivered",
      () => callRecords(t.crm).length >= FIXTURE_CALLS.length,
    );
    await new Promise((r) => setTimeout(r, 300));
    const keys = callRecords(t.crm).map((r) => r.idempotencyKey);
    assert.equal(keys.length, FIXTURE_CALLS.length);
    assert.equal(new Set(keys).size, keys.length, "no call sent twice");
  } finally {
    await engine.stop(5000);
  }
});

Deno.test("watch reads only what events name: no listing per event, and delivered files are never held or planned", async () => {
  await using t = await setup({ SETTLE_SECONDS: "0" });
  await copyTree(join(ROOT, "fixtures"), t.dir, Date.now() - 86_400_000);
  const run = await runOnce({ cfg: t.cfg, log: QUIET });
  assert.equal(run.delivered, FIXTURE_CALLS.length);
  const engine = await start(t.cfg);
  try {
    assert.equal(engine.status().indexed, 0, "delivered files are skipped");
    for (let n = 1; n <= 5; n++) await writeCall(t.dir, n);
    await until(
      "the new calls are delivered",
      () => callRecords(t.crm).length === FIXTURE_CALLS.length + 5,
    );
    await until("they are recorded", () => engine.status().delivered === 5);
    const s = engine.status();
    assert.deepEqual(s.rescans, { start: 1 }, "no full listing per event");
    assert.equal(s.indexed, 0, "delivered files leave the index");
    assert.equal(s.counts.delivered, FIXTURE_CALLS.length + 5);
  } finally {
    await engine.stop(5000);
  }
});

Deno.test("watch continues a run's backoff: a set the run failed waits for its next attempt, then goes", async () => {
  await using t = await setup(
    { SETTLE_SECONDS: "0", UPLOAD_RETRY_BACKOFF: "2" },
    {
      fault: (endpoint, n) =>
        endpoint === "call-data" && n === 1
          ? { kind: "status", status: 400 }
          : undefined,
    },
  );
  await writeCall(t.dir, 2);
  // Mtime a minute back, so nothing waits for the settle time.
  const report = await runOnce({ cfg: t.cfg, log: QUIET });
  assert.equal(report.failed, 1, "the run's attempt failed");
  const failedAt = Date.now();
  const engine = await start(t.cfg);
  try {
    await until("the retry is accepted", () => callRecords(t.crm).length === 1);
    const waited = Date.now() - failedAt;
    assert.ok(waited >= 1500, `retried ${waited} ms after the failure`);
    // The recording uploaded by the run was not uploaded again.
    const uploads = t.crm.requests.filter((r) => r.endpoint === "upload");
    assert.equal(uploads.length, 1);
  } finally {
    await engine.stop(5000);
  }
});

Deno.test(testOn(
  REMOVED_FOLDER_EVENT,
  {
    name:
      "a watched folder removed asks for a rescan; made again, it is watched from the next rescan on",
    async fn() {
      await using t = await setup({ SETTLE_SECONDS: "0" });
      const engine = await start(t.cfg);
      try {
        await Deno.remove(join(t.dir, "conversations"), { recursive: true });
        await until(
          "the removal asked for a rescan",
          () =>
            (engine.status().rescans[
              "folder " + join(t.dir, "conversations") +
              " was removed or renamed"
            ] ?? 0) > 0,
        );
        await Deno.mkdir(join(t.dir, "conversations"));
        // The rescan after the removal reopened the watcher; a later event on
        // the recreated folder is seen once the next rescan watches it.
        await engine.rescanNow();
        await writeCall(t.dir, 3);
        await until(
          "the new call is accepted",
          () => callRecords(t.crm).length === 1,
        );
      } finally {
        await engine.stop(5000);
      }
    },
  },
));

Deno.test("stop() lets a set in flight finish within the timeout, and says when it could not", async () => {
  await using t = await setup({ SETTLE_SECONDS: "0" }, { delayMs: 1500 });
  const engine = await start(t.cfg);
  await writeCall(t.dir, 4);
  await until("a request is in flight", () => t.crm.requests.length > 0);
  assert.equal(await engine.stop(200), 1, "one set still in flight");
  // Its request goes on (the CLI would exit here; the next run repeats it
  // under the same key) and ends on its own.
  await until(
    "the call record is accepted",
    () => callRecords(t.crm).length === 1,
  );
  await new Promise((r) => setTimeout(r, 300));
  const again = await start(t.cfg);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(callRecords(t.crm).length, 1, "nothing sent twice");
  } finally {
    assert.equal(await again.stop(10_000), 0);
  }
});

/** The lead of call `n` (`leads_session_<its timestamp>.json`, its caller). */
async function writeLead(
  dir: string,
  conversation: string,
  n: number,
): Promise<void> {
  const ts = conversation.slice("transcript_session_".length, -".json".length);
  await Deno.writeTextFile(
    join(dir, "leads", `leads_session_${ts}.json`),
    JSON.stringify({ name: "Anjali Rao", phone: `+91987650${n}000` }),
  );
}

Deno.test("watch holds a transcript announcing a lead for its lead, and sends a lead that comes too late as an update", async () => {
  await using t = await setup({
    SETTLE_SECONDS: "0",
    LEAD_WAIT_SECONDS: "3",
  });
  const engine = await start(t.cfg);
  try {
    // The lead comes within LEAD_WAIT_SECONDS: the call goes with it.
    const first = await writeCall(t.dir, 1, { leadGenerated: true });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(callRecords(t.crm).length, 0, "held for its lead");
    await writeLead(t.dir, first, 1);
    await until("it goes with its lead", () => callRecords(t.crm).length === 1);
    const withLead = callRecords(t.crm)[0].json as { lead?: { name: string } };
    assert.equal(withLead.lead?.name, "Anjali Rao");

    // No lead within LEAD_WAIT_SECONDS: no file event comes, a timer sends
    // it without one; the lead that comes later goes as an update.
    const second = await writeCall(t.dir, 2, { leadGenerated: true });
    const written = Date.now();
    await until(
      "it goes without its lead",
      () => callRecords(t.crm).length === 2,
    );
    assert.ok(Date.now() - written >= 2500, "not before LEAD_WAIT_SECONDS");
    const without = callRecords(t.crm)[1].json as {
      lead?: unknown;
      callDetails: { callId: string };
    };
    assert.equal(without.lead, undefined);
    await writeLead(t.dir, second, 2);
    await until("the update is sent", () => callRecords(t.crm).length === 3);
    const update = callRecords(t.crm)[2].json as {
      lead?: unknown;
      callDetails: { callId: string };
    };
    assert.equal(update.callDetails.callId, without.callDetails.callId);
    assert.ok(update.lead, "the update carries the lead");
    await until("all are recorded", () => engine.status().delivered === 3);
  } finally {
    await engine.stop(5000);
  }
});

Deno.test("watch sends an MP4 recording once its moov box is written, not before", async () => {
  await using t = await setup({ SETTLE_SECONDS: "0" });
  const engine = await start(t.cfg);
  try {
    const whole = muxMp4(30, false);
    const { moov } = await walkMp4(
      whole.length,
      (at, n) => Promise.resolve(whole.subarray(at, at + n)),
    );
    const moovAt = whole.length - moov!.length;
    const conversation = await writeCall(t.dir, 3, {
      recording: { ext: "m4a", bytes: whole.subarray(0, moovAt) },
    });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(t.crm.requests.length, 0, "nothing sent without moov");
    const path = join(t.dir, "recordings", (await recordingNames(t.dir))[0]);
    const file = await Deno.open(path, { append: true });
    await file.write(whole.subarray(moovAt));
    file.close();
    await until("it is delivered", () => callRecords(t.crm).length === 1);
    const upload = t.crm.requests.find((r) => r.endpoint === "upload")!;
    assert.equal(upload.fileType, "audio/mp4");
    assert.equal(upload.fileSize, whole.length);
    assert.ok(conversation);
  } finally {
    await engine.stop(5000);
  }
});

async function recordingNames(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(join(dir, "recordings"))))
    .map((e) => e.name);
}
