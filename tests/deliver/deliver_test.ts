/**
 * deliverSet() on its own: one planned set of the fixtures, a fake CRM on
 * 127.0.0.1 and a real state folder; what it sends, records and returns for
 * success, a refused request, a changed transcript and refused credentials.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../lib/config/config.ts";
import { Logger } from "../../lib/core/log.ts";
import { CrmError, type RetryPolicy } from "../../lib/deliver/crm.ts";
import { crmTransport } from "../../lib/deliver/transport.ts";
import {
  deliverSet,
  type DeliveryContext,
  newRunStats,
} from "../../lib/deliver/deliver.ts";
import { type CallSet, makePlan } from "../../lib/pair/plan.ts";
import { StateError, StateStore } from "../../lib/state/store.ts";
import { crmEnv, ROOT } from "../../testing/cli.ts";
import { FakeCrm, type FakeCrmOptions } from "../../testing/fake_crm.ts";
import { fixtureCall, tempDir } from "../../testing/fixtures.ts";
import { scanBase } from "../../testing/scan.ts";
import { copyTree } from "../../testing/tree.ts";

/** No waiting between in-run retries. */
const NO_WAIT: RetryPolicy = {
  tries: 2,
  baseDelayMs: 0,
  maxRetryAfterMs: 30_000,
  sleep: () => Promise.resolve(),
};

const QUIET = new Logger({
  format: "text",
  level: "error",
  timezone: "UTC",
  sink() {},
});

/** The CRM refuses the first call record (422), and takes the rest. */
const REFUSE_FIRST_RECORD: FakeCrmOptions = {
  fault: (endpoint, n) =>
    endpoint === "call-data" && n === 1
      ? { kind: "status", status: 422, body: "bad record" }
      : undefined,
};

/** A fixture tree, a fake CRM, a state store and the plan of the tree. */
async function setup(opts: FakeCrmOptions = {}) {
  const dir = await tempDir("callsync-deliver-");
  await copyTree(join(ROOT, "fixtures"), dir.path, Date.now() - 86_400_000);
  const crm = FakeCrm.start(opts);
  const cfg = await loadConfig({
    flags: {},
    env: crmEnv(crm, { UPLOAD_RETRY_ATTEMPTS: "2" }),
    baseDir: dir.path,
    requireUpload: true,
  });
  await Deno.mkdir(cfg.processedDir);
  const store = await StateStore.open(cfg.processedDir, QUIET);
  const plan = makePlan(await scanBase(dir.path), store, cfg, Date.now());
  const transport = crmTransport(cfg);
  const ctx: DeliveryContext = {
    cfg,
    log: QUIET,
    store,
    stats: newRunStats(),
    transport,
    retry: NO_WAIT,
  };
  const set = (n: 1 | 2 | 3 | 4 | 5) =>
    plan.sets.find((s) => s.name === fixtureCall(n).set)!;
  return {
    ctx,
    crm,
    set,
    async [Symbol.asyncDispose]() {
      transport.close();
      await crm.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("deliverSet() uploads the recording, posts the call record and records the delivery", async () => {
  await using t = await setup();
  const set: CallSet = t.set(1);
  const result = await deliverSet(t.ctx, set);
  assert.deepEqual(result, {
    outcome: "delivered",
    bytes: set.recording!.size,
  });
  assert.deepEqual(
    t.crm.requests.map((r) => [r.endpoint, r.answer]),
    [["upload", 200], ["call-data", 200]],
  );
  assert.equal(t.crm.requests[0].fileName, set.recording!.name);
  const entry = t.ctx.store.delivered.get(set.name);
  assert.equal(entry?.recording, set.recording!.name);
  const record = await t.ctx.store.readRecord(set.name);
  assert.equal(record?.recording_uploaded, true);
  assert.equal(record?.upload_attempts, 1);
  assert.deepEqual(t.ctx.stats, {
    recording: { success: 1, failure: 0 },
    call_data: { success: 1, failure: 0 },
    bytes: set.recording!.size,
  });
});

Deno.test("deliverSet() has written down which recording a set sends before the CRM has it", async () => {
  const pinnedWhenWhole: (string | undefined)[] = [];
  let pending = "";
  await using t = await setup({
    received: (req) => {
      if (req.endpoint !== "upload") return;
      const text = Deno.readTextFileSync(pending);
      pinnedWhenWhole.push(JSON.parse(text).recording_file);
    },
  });
  const set = t.set(1);
  pending = join(t.ctx.cfg.processedDir, `${set.name}.pending`);
  assert.equal((await deliverSet(t.ctx, set)).outcome, "delivered");
  assert.deepEqual(pinnedWhenWhole, [set.recording!.name]);
});

Deno.test("deliverSet() stops the run, sending nothing, when it cannot write down the recording it would send", async () => {
  await using t = await setup();
  await Deno.remove(t.ctx.cfg.processedDir, { recursive: true });
  await assert.rejects(() => deliverSet(t.ctx, t.set(1)), StateError);
  assert.deepEqual(t.crm.requests, []);
});

Deno.test("deliverSet() keeps the uploaded recording's URL when the call record is refused, and sends only the record next time", async () => {
  await using t = await setup(REFUSE_FIRST_RECORD);
  const set = t.set(1);
  const failed = await deliverSet(t.ctx, set);
  assert.equal(failed.outcome, "failed");
  assert.ok(failed.outcome === "failed" && !failed.gaveUp);
  const progress = t.ctx.store.progress.get(set.name)!;
  assert.equal(progress.attempts, 1);
  assert.match(progress.last_error!, /HTTP 422/);
  assert.ok(progress.recording_url, "the URL is kept");
  assert.ok(progress.call_record, "the record is frozen");

  const again = await deliverSet(t.ctx, { ...set, progress });
  assert.equal(again.outcome, "delivered");
  assert.deepEqual(
    t.crm.requests.map((r) => r.endpoint),
    ["upload", "call-data", "call-data"],
    "the recording is not sent twice",
  );
  assert.deepEqual(t.crm.requests[1].json, t.crm.requests[2].json);
});

Deno.test("deliverSet() defers a set whose transcript changed since the scan, sending nothing", async () => {
  await using t = await setup();
  const set = t.set(2);
  await Deno.writeTextFile(set.conversation!.path, "{}", { append: true });
  const result = await deliverSet(t.ctx, { ...set, recording: undefined });
  assert.deepEqual(result, { outcome: "deferred" });
  assert.deepEqual(t.crm.requests, []);
  assert.equal(t.ctx.store.progress.has(set.name), false, "no attempt spent");
});

Deno.test("deliverSet() rethrows refused credentials so the run stops", async () => {
  await using t = await setup({ token: "the-right-token" });
  await assert.rejects(
    () => deliverSet(t.ctx, t.set(3)),
    (e) => e instanceof CrmError && e.kind === "unauthorized",
  );
  assert.equal(t.ctx.store.delivered.size, 0);
});

Deno.test("deliverSet() pins a lead-only record before its first POST: a retry sends the same record under the same key", async () => {
  await using t = await setup(REFUSE_FIRST_RECORD);
  const lead = t.set(1).lead!;
  const set: CallSet = {
    name: lead.name,
    kind: "lead-only",
    startMs: lead.key.timesMs![0],
    lead,
    aloneReason: "no call found for this lead",
    state: "pending",
    reason: "",
    truncated: false,
  };
  const failed = await deliverSet(t.ctx, set);
  assert.equal(failed.outcome, "failed");
  const progress = t.ctx.store.progress.get(lead.name)!;
  assert.equal(progress.alone_reason, "no call found for this lead");
  assert.equal(progress.lead_file, lead.name);
  assert.ok(progress.call_record, "the record is frozen");

  const again = await deliverSet(t.ctx, { ...set, progress });
  assert.equal(again.outcome, "delivered");
  const [first, second] = t.crm.requests;
  assert.deepEqual(
    t.crm.requests.map((r) => r.endpoint),
    ["call-data", "call-data"],
  );
  assert.equal(first.idempotencyKey, second.idempotencyKey);
  assert.deepEqual(first.json, second.json);
  const sent = second.json as Record<string, unknown>;
  assert.equal(sent.transcription, undefined);
  assert.ok(sent.lead);
  const record = await t.ctx.store.readRecord(lead.name);
  assert.equal(record?.kind, "lead-only");
  assert.equal(record?.alone_reason, "no call found for this lead");
  assert.equal(record?.recording_uploaded, false);
  assert.equal(t.ctx.store.delivered.get(lead.name)?.alone, true);
});
