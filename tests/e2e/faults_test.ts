/**
 * A misbehaving CRM, through the real CLI against the fake CRM: every fault
 * is logged with the answer's first 200 characters, nothing is marked
 * delivered that the CRM did not accept, and a later clean run delivers each
 * call exactly once (repeats only under the same Idempotency-Key).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_RETRY } from "../../lib/deliver/crm.ts";
import { type Sandbox, sandbox } from "../../testing/cli.ts";
import {
  FIXTURE_CALLS,
  FIXTURE_SETS,
  fixtureCall,
} from "../../testing/fixtures.ts";
import {
  assertBackedByCrm,
  assertNoDuplicateCalls,
  deliveredSets,
  deliveryRecord,
  idempotencyKeysByCall,
  progressRecord,
  row,
  statusOf,
} from "../../testing/status.ts";
import type { Fault, ReceivedRequest } from "../../testing/fake_crm.ts";
import { idempotencyKey } from "../../lib/deliver/payload.ts";

/** The oldest call: first to go when UPLOAD_CONCURRENCY=1. */
const FIRST_CALL = FIXTURE_CALLS[0];
const FIRST = FIRST_CALL.set;
const FIRST_RECORDING = FIRST_CALL.recording!;
/** The call without a recording: needs no upload. */
const NO_RECORDING = fixtureCall(4).set;

type Endpoint = ReceivedRequest["endpoint"];

/** A fault script, per request to an endpoint. */
type Script = (
  endpoint: Endpoint,
  n: number,
  key: string | undefined,
) => Fault | undefined;

/** The Idempotency-Keys of the oldest call's two requests. */
const FIRST_KEYS: Record<Endpoint, string | undefined> = {
  upload: await idempotencyKey(FIRST, "recording"),
  "call-data": await idempotencyKey(FIRST, "call-data"),
  other: undefined,
};

/**
 * A fault script: the first `count` requests of the oldest call (FIRST) to
 * `endpoint` get `fault`. (With UPLOAD_CONCURRENCY=1 the next set may send
 * while FIRST's records are written, so the call is told by its key.)
 */
function faultFirst(endpoint: Endpoint, fault: Fault, count = 1): Script {
  let seen = 0;
  return (e, _n, key) =>
    e === endpoint && key === FIRST_KEYS[endpoint] && ++seen <= count
      ? fault
      : undefined;
}

/** A fault script: every request to `endpoint` gets `fault`. */
function faultAll(endpoint: Endpoint, fault: Fault): Script {
  return (e) => e === endpoint ? fault : undefined;
}

/**
 * A sandbox whose CRM applies `script` until `heal()` is called, then
 * behaves.
 */
async function faultyBox(
  script: Script,
  env: Record<string, string> = {},
): Promise<Sandbox & { heal(): void }> {
  let healthy = false;
  const box = await sandbox({
    fault: (endpoint, n, key) => healthy ? undefined : script(endpoint, n, key),
  }, { UPLOAD_RETRY_BACKOFF: "0", ...env });
  return Object.assign(box, { heal: () => healthy = true });
}

/**
 * Exactly `sets` are delivered, and each delivery record is backed by a call
 * record the CRM accepted: nothing is marked delivered that was not.
 */
async function assertDeliveredExactly(
  box: Sandbox,
  sets: readonly string[],
): Promise<void> {
  assert.deepEqual(await deliveredSets(box), [...sets].sort());
  await assertBackedByCrm(box);
}

/**
 * Every fixture call reached the CRM, and setting aside repeats under the
 * same Idempotency-Key, once: no call id under two keys.
 */
function assertEachCallOnce(box: Sandbox): void {
  const keys = idempotencyKeysByCall(box.crm.acceptedCallRecords());
  assert.equal(keys.size, FIXTURE_SETS.length, [...keys.keys()].join(", "));
  assertNoDuplicateCalls(box);
}

/** The second, clean run: exit 0 and everything delivered once. */
async function healAndRerun(box: Sandbox & { heal(): void }): Promise<void> {
  box.heal();
  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  await assertDeliveredExactly(box, FIXTURE_SETS);
  assertEachCallOnce(box);
  const report = await statusOf(box);
  assert.equal(report.counts.delivered, FIXTURE_SETS.length);
  assert.equal(report.sets.length, 0);
}

function requests(box: Sandbox, endpoint: Endpoint): ReceivedRequest[] {
  return box.crm.requests.filter((r) => r.endpoint === endpoint);
}

/** The oldest call's requests to `endpoint`, by its Idempotency-Key. */
function requestsOfFirst(box: Sandbox, endpoint: Endpoint): ReceivedRequest[] {
  return requests(box, endpoint).filter((r) =>
    r.idempotencyKey === FIRST_KEYS[endpoint]
  );
}

/** `reqs` reached the CRM one right after the other, nothing between. */
function assertBackToBack(box: Sandbox, reqs: ReceivedRequest[]): void {
  const at = reqs.map((r) => box.crm.requests.indexOf(r));
  assert.deepEqual(at, at.map((_, i) => at[0] + i), `arrived as ${at}`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const SERIAL = { UPLOAD_CONCURRENCY: "1" };

// ------------------------------------------------------------ bad bodies

Deno.test("200 with an HTML page from storage fails those sets, logs the page, a clean run delivers once", async () => {
  await using box = await faultyBox(
    faultAll("upload", { kind: "html" }),
  );
  const res = await box.run(["run"]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(
    res.stderr,
    /Upload failed for .*upload answered HTTP 200 with a body that is not JSON: <html><body><h1>502 Bad Gateway<\/h1><\/body><\/html>/,
  );
  // Refused, not transient: one request per recording, no retry this run.
  assert.equal(requests(box, "upload").length, 5);
  await assertDeliveredExactly(box, [NO_RECORDING]);
  const report = await statusOf(box);
  for (const set of FIXTURE_SETS.filter((s) => s !== NO_RECORDING)) {
    const r = row(report, set);
    assert.equal(r.attempts, 1);
    assert.match(r.lastError ?? "", /not JSON: <html>/);
  }
  await healAndRerun(box);
});

Deno.test("502 with a long HTML page is retried in the run; the log carries its first 200 characters", async () => {
  const page = "<html><head><title>502 Bad Gateway</title></head><body>" +
    "<p>upstream-connect-error</p>".repeat(12) +
    "<p>TAIL-MARKER</p></body></html>";
  await using box = await faultyBox(
    faultFirst("call-data", { kind: "status", status: 502, body: page }, 3),
    SERIAL,
  );
  const res = await box.run(["run"]);
  assert.equal(res.code, 1, res.stderr);
  // Three tries, back to back, then the set waits for the next run.
  const calls = requestsOfFirst(box, "call-data");
  assert.deepEqual(calls.map((r) => r.answer), [502, 502, 502]);
  assertBackToBack(box, calls);
  assert.match(
    res.stderr,
    new RegExp(
      `Upload failed for ${escape(FIRST)} .*answered HTTP 502: ${
        escape(page.slice(0, 200))
      }…`,
    ),
  );
  assert.ok(!res.stderr.includes("TAIL-MARKER"), "only 200 characters");
  await assertDeliveredExactly(box, FIXTURE_SETS.slice(1));
  const r = row(await statusOf(box), FIRST);
  assert.match(r.lastError ?? "", /HTTP 502: <html><head>/);
  await healAndRerun(box);
  // The recording was up already: not sent again.
  assert.equal(
    requests(box, "upload").filter((u) => u.fileName === FIRST_RECORDING)
      .length,
    1,
  );
});

Deno.test("200 with success:false from call-data fails the set; the retry sends only the call record", async () => {
  await using box = await faultyBox(
    faultFirst("call-data", { kind: "success-false" }),
    SERIAL,
  );
  const res = await box.run(["run"]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(
    res.stderr,
    /call-data answered success:false: \{"success":false,"message":"rejected"\}/,
  );
  assert.equal(requests(box, "call-data").length, 6, "not retried in the run");
  await assertDeliveredExactly(box, FIXTURE_SETS.slice(1));
  const pending = await progressRecord(box, FIRST);
  assert.equal(pending.attempts, 1);
  assert.equal(pending.recording_file, FIRST_RECORDING);
  assert.ok(pending.recording_url);
  await healAndRerun(box);
  assert.equal(requests(box, "upload").length, 5, "no recording sent twice");
});

Deno.test("a storage answer without data.url fails the set with the body logged", async () => {
  await using box = await faultyBox(
    faultFirst("upload", { kind: "no-url" }),
    SERIAL,
  );
  const res = await box.run(["run"]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(
    res.stderr,
    new RegExp(
      `Upload failed for ${
        escape(FIRST)
      } .*/apis/api/public/upload answered success without data\\.url, url or data\\.relativeUrl: \\{"success":true,"data":\\{\\}\\}`,
    ),
  );
  assert.equal(requests(box, "upload").length, 5);
  await assertDeliveredExactly(box, FIXTURE_SETS.slice(1));
  assert.match(row(await statusOf(box), FIRST).lastError ?? "", /data\.url/);
  await healAndRerun(box);
});

// --------------------------------------------------------- broken transport

Deno.test("a body that never ends times out; the run ends in bounded time and the set is retried later", async () => {
  await using box = await faultyBox(
    faultFirst("call-data", { kind: "hang" }, 3),
    { ...SERIAL, UPLOAD_TIMEOUT_SECONDS: "1" },
  );
  const started = Date.now();
  const res = await box.run(["run"]);
  const took = Date.now() - started;
  assert.equal(res.code, 1, res.stderr);
  // 3 tries × 1 s idle timeout + at most 2.25 s of backoff, plus starting
  // deno and the other five sets (seconds more under Wine on a loaded
  // machine); without the idle timeout each try would last until
  // UPLOAD_DEADLINE_SECONDS, 900 s.
  assert.ok(took >= 3000 && took < 30_000, `took ${took} ms`);
  assert.match(
    res.stderr,
    new RegExp(`Upload failed for ${escape(FIRST)} .*no progress for 1 s`),
  );
  const hung = requests(box, "call-data").filter((r) => r.answer === "hang");
  assert.equal(hung.length, 3);
  assert.equal(new Set(hung.map((r) => r.idempotencyKey)).size, 1);
  await assertDeliveredExactly(box, FIXTURE_SETS.slice(1));
  assert.equal(row(await statusOf(box), FIRST).state, "pending");
  await healAndRerun(box);
});

Deno.test("a connection reset mid-upload is retried in the run, then left for the next run", async () => {
  await using box = await faultyBox(
    faultFirst("upload", { kind: "reset" }, 3),
    SERIAL,
  );
  const res = await box.run(["run"]);
  assert.equal(res.code, 1, res.stderr);
  const uploads = requests(box, "upload");
  assert.deepEqual(
    uploads.slice(0, 3).map((r) => r.answer),
    ["reset", "reset", "reset"],
  );
  assert.equal(
    new Set(uploads.slice(0, 3).map((r) => r.idempotencyKey)).size,
    1,
  );
  assert.match(
    res.stderr,
    new RegExp(
      `Upload failed for ${escape(FIRST)} .*/apis/api/public/upload: `,
    ),
  );
  await assertDeliveredExactly(box, FIXTURE_SETS.slice(1));
  const pending = await progressRecord(box, FIRST);
  assert.equal(pending.attempts, 1);
  assert.equal(pending.recording_url, undefined);
  await healAndRerun(box);
});

// ---------------------------------------------------------- rate limits

Deno.test("429 with a short Retry-After is honoured within the run and then succeeds", async () => {
  await using box = await faultyBox(
    faultFirst("call-data", { kind: "status", status: 429, retryAfter: "1" }),
    SERIAL,
  );
  const started = Date.now();
  const res = await box.run(["run"]);
  const took = Date.now() - started;
  assert.equal(res.code, 0, res.stderr);
  assert.ok(took >= 1000, `waited out Retry-After: ${took} ms`);
  const calls = requestsOfFirst(box, "call-data");
  assert.deepEqual(calls.map((r) => r.answer), [429, 200]);
  assertBackToBack(box, calls);
  await assertDeliveredExactly(box, FIXTURE_SETS);
  assertEachCallOnce(box);
});

Deno.test("429 with a long Retry-After defers the set no earlier than it says", async () => {
  await using box = await faultyBox(
    faultFirst("call-data", {
      kind: "status",
      status: 429,
      retryAfter: "3600",
    }),
    SERIAL,
  );
  const before = Date.now();
  const res = await box.run(["run"]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stderr, /answered HTTP 429/);
  // Sleeping on it would take at least the in-run cap (or the hour).
  const took = Date.now() - before;
  assert.ok(took < DEFAULT_RETRY.maxRetryAfterMs, `slept on it: ${took} ms`);
  const calls = requests(box, "call-data");
  assert.equal(calls.filter((r) => r.answer === 429).length, 1);
  await assertDeliveredExactly(box, FIXTURE_SETS.slice(1));

  const r = row(await statusOf(box), FIRST);
  assert.equal(r.state, "waiting");
  assert.equal(r.attempts, 0, "rate limiting does not spend an attempt");
  assert.match(
    res.stderr,
    /the CRM asked to retry after 3600 s \(not counted as an attempt\)/,
  );
  assert.ok(r.nextAttemptAt, "status shows the next attempt");
  assert.ok(
    Date.parse(r.nextAttemptAt) >= before + 3600_000 - 1000,
    `next attempt ${r.nextAttemptAt} is an hour away`,
  );
  // A run now (CRM healthy or not) leaves it alone.
  box.heal();
  const count = box.crm.requests.length;
  const again = await box.run(["run"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(box.crm.requests.length, count);
  // Made due by hand, it goes, once, and its recording is not sent again.
  assert.equal((await box.run(["retry", FIRST])).code, 0);
  await healAndRerun(box);
  assert.equal(requests(box, "upload").length, 5);
});

// ------------------------------------------------------------- refusals

Deno.test("413 fails the set saying the CRM refuses the size; the others go on", async () => {
  const page =
    "<html><head><title>413 Request Entity Too Large</title></head>" +
    "<body><center><h1>413 Request Entity Too Large</h1></center>" +
    "<hr><center>nginx</center></body></html>";
  await using box = await faultyBox(
    faultFirst("upload", { kind: "status", status: 413, body: page }),
    SERIAL,
  );
  const res = await box.run(["run"]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(
    res.stderr,
    new RegExp(
      `Upload failed for ${
        escape(FIRST)
      } .*HTTP 413 \\(the CRM refuses a file this large; raise its upload limit\\): ${
        escape(page.slice(0, 60))
      }`,
    ),
  );
  const uploads = requests(box, "upload");
  assert.equal(
    uploads.filter((u) => u.fileName === FIRST_RECORDING).length,
    1,
    "a 413 is not retried in the run",
  );
  await assertDeliveredExactly(box, FIXTURE_SETS.slice(1));
  const r = row(await statusOf(box), FIRST);
  assert.match(r.lastError ?? "", /refuses a file this large/);
  await healAndRerun(box);
});

Deno.test("401 stops the run at once with exit 3 and counts no attempt", async () => {
  await using box = await faultyBox(
    faultFirst("upload", {
      kind: "status",
      status: 401,
      body: '{"success":false,"message":"invalid token"}',
    }),
    SERIAL,
  );
  const res = await box.run(["run"]);
  assert.equal(res.code, 3, res.stderr);
  assert.match(
    res.stderr,
    /CRM refused our credentials: .*HTTP 401: check CRM_API_TOKEN \(none is set\): \{"success":false,"message":"invalid token"\}; stopping the run/,
  );
  assert.match(res.stderr, /Directory scan aborted: 0 processed, 0 failed/);
  assert.equal(box.crm.requests.length, 1, "nothing more was sent");
  await assertDeliveredExactly(box, []);
  const report = await statusOf(box);
  assert.equal(report.counts.pending, 6);
  for (const r of report.sets) assert.equal(r.attempts, 0);
  await healAndRerun(box);
});

Deno.test("a call record the CRM took without answering is sent again as it was; a recording that turns up later is kept apart", async () => {
  // Call 3's transcript names no caller: alone, its call id ends in a hash
  // of its name; with its recording, in the caller's digits. Once the CRM
  // may hold the record without the recording, the two stay apart.
  const call3 = fixtureCall(3);
  await using box = await faultyBox(
    faultAll("call-data", { kind: "hang" }),
    { UPLOAD_TIMEOUT_SECONDS: "1", ORPHAN_AFTER_SECONDS: "60" },
  );
  const recording = join(box.dir, "recordings", call3.recording!);
  const aside = join(box.dir, "aside.ogg");
  await Deno.rename(recording, aside);
  // The CRM takes the transcript-only record and never answers: as if the
  // run were killed between the CRM's yes and writing it down.
  const first = await box.run(["run", "--only", call3.set]);
  assert.equal(first.code, 1, first.stderr);
  const taken = requests(box, "call-data");
  assert.ok(taken.length > 0, "the CRM got the record");
  await Deno.rename(aside, recording);

  box.heal();
  const again = await box.run(["run"]);
  assert.equal(again.code, 0, again.stderr);
  const sent = requests(box, "call-data").filter((r) =>
    r.idempotencyKey === taken[0].idempotencyKey
  );
  const bodies = new Set(sent.map((r) => JSON.stringify(r.json)));
  assert.equal(
    bodies.size,
    1,
    `one record under one key:\n${[...bodies].join("\n")}`,
  );
  assert.equal(
    (await deliveryRecord(box, call3.set)).recording_file,
    undefined,
  );
  const alone = await deliveryRecord(box, call3.recording!);
  assert.equal(alone.kind, "recording-only");
  assertNoDuplicateCalls(box);
  await assertBackedByCrm(box);
});

Deno.test("a recording the storage took without answering stays with its set: pinned before it goes, sent again under the same key", async () => {
  const call1 = fixtureCall(1);
  await using box = await faultyBox(
    faultAll("upload", { kind: "hang" }),
    { UPLOAD_TIMEOUT_SECONDS: "1" },
  );
  const first = await box.run(["run", "--only", call1.set]);
  assert.equal(first.code, 1, first.stderr);
  const progress = await progressRecord(box, call1.set);
  assert.equal(progress.recording_file, call1.recording, "pinned");
  assert.equal(progress.recording_url, undefined, "no answer came");

  box.heal();
  const again = await box.run(["run"]);
  assert.equal(again.code, 0, again.stderr);
  const keys = new Set(
    requests(box, "upload")
      .filter((r) => r.fileName === call1.recording)
      .map((r) => r.idempotencyKey),
  );
  assert.equal(keys.size, 1, "one set, one key, however often it went");
  assert.equal(
    (await deliveryRecord(box, call1.set)).recording_file,
    call1.recording,
  );
  assertNoDuplicateCalls(box);
});
