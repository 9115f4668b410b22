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
import { copyTree } from "../../testing/tree.ts";

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

/** Write one live call (transcript, finished recording, lead) now. */
async function writeCall(dir: string, n: number): Promise<string> {
  const startMs = Date.now() - 60_000;
  const iso = new Date(startMs).toISOString().slice(0, 23);
  const ts = `${iso.replaceAll(":", "-")}${String(n).padStart(3, "0")}`;
  const conversation = `transcript_session_${ts}.json`;
  await Deno.writeFile(
    join(
      dir,
      "recordings",
      `number-_91987650${n}000-${Math.floor(startMs / 1000)}.ogg`,
    ),
    makeOpusOgg({ durationSeconds: 30 }),
  );
  await Deno.writeTextFile(
    join(dir, "conversations", conversation),
    JSON.stringify({
      start_time: iso,
      end_time: new Date(startMs + 30_000).toISOString().slice(0, 23),
      duration_seconds: 30,
      conversation_items: [],
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

Deno.test("a watched folder removed asks for a rescan; made again, it is watched from the next rescan on", async () => {
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
});

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
