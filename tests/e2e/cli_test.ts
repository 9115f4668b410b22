import assert from "node:assert/strict";
import { fingerprintTree } from "../../testing/tree.ts";
import { sandbox } from "../../testing/cli.ts";
import { FIXTURE_CALLS } from "../../testing/fixtures.ts";
import {
  callRecordOf,
  deliveryRecord,
  statusOf,
} from "../../testing/status.ts";

Deno.test("run delivers every fixture call once, paired as designed", async () => {
  await using box = await sandbox();
  const before = await fingerprintTree(box.dir);
  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /Directory scan completed: 6 processed, 0 failed/);

  const uploads = box.crm.requests.filter((r) => r.endpoint === "upload");
  const records = box.crm.acceptedCallRecords();
  assert.equal(uploads.length, 5);
  assert.equal(records.length, 6);
  for (const call of FIXTURE_CALLS) {
    const record = await deliveryRecord(box, call.set);
    assert.equal(record.recording_file, call.recording, call.set);
    assert.equal(record.lead_file, call.lead, call.set);
    assert.equal(record.call_data_uploaded, true);
    assert.equal(record.recording_uploaded, call.recording !== undefined);
    const sent = records.find((r) =>
      callRecordOf(r).callDetails.callId === record.call_id
    );
    assert.ok(sent, `call record for ${call.set} reached the CRM`);
    const body = callRecordOf(sent);
    assert.equal(body.callDetails.recordingUrl, record.recording_url);
    assert.equal(body.lead !== undefined, call.lead !== undefined, call.set);
  }
  // Each recording went up once, and only the ones that belong to a call.
  assert.deepEqual(
    uploads.map((u) => u.fileName).sort(),
    FIXTURE_CALLS.flatMap((c) => c.recording ? [c.recording] : []).sort(),
  );
  // No source file was changed or removed.
  const after = await fingerprintTree(box.dir);
  for (const [path, hash] of before) assert.equal(after.get(path), hash, path);
});

Deno.test("a second run sends nothing new", async () => {
  await using box = await sandbox();
  assert.equal((await box.run(["run"])).code, 0);
  const count = box.crm.requests.length;
  const again = await box.run(["run"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(box.crm.requests.length, count);
  assert.match(again.stderr, /Directory scan completed: 0 processed, 0 failed/);
});

Deno.test("plan sends nothing and writes nothing", async () => {
  await using box = await sandbox();
  const before = await fingerprintTree(box.dir);
  const res = await box.run(["plan"]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(box.crm.requests.length, 0);
  assert.deepEqual(await fingerprintTree(box.dir), before);
  for (const call of FIXTURE_CALLS) {
    const row = res.stdout.split("\n").find((l) => l.includes(call.set));
    assert.ok(row, `plan lists ${call.set}`);
    if (call.recording) assert.ok(row.includes(call.recording), row);
    if (call.lead) assert.ok(row.includes(call.lead), row);
    assert.match(row, /pending/);
  }
});

Deno.test("a rejected call record is retried without uploading the recording again", async () => {
  await using box = await sandbox({
    fault: (endpoint) =>
      endpoint === "call-data" ? { kind: "success-false" } : undefined,
  }, { UPLOAD_RETRY_BACKOFF: "0" });
  const first = await box.run(["run"]);
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stderr, /success:false/);
  const uploadsBefore =
    box.crm.requests.filter((r) => r.endpoint === "upload").length;
  assert.equal(uploadsBefore, 5);

  await using fixed = await sandbox();
  const second = await box.run(["run"], {
    CRM_UPLOAD_URL: fixed.crm.uploadUrl,
    CRM_CALL_DATA_URL: fixed.crm.callDataUrl,
  });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(
    fixed.crm.requests.filter((r) => r.endpoint === "upload").length,
    0,
  );
  const records = fixed.crm.acceptedCallRecords();
  assert.equal(records.length, 6);
  for (const r of records) {
    const body = callRecordOf(r);
    if (body.callDetails.recordingUrl) {
      // The URL came from the first CRM's upload, recorded in progress.
      assert.ok(body.callDetails.recordingUrl.includes(`:${box.crm.port}/`));
    }
  }
});

Deno.test("a 500 is retried within the run and then succeeds", async () => {
  await using box = await sandbox({
    fault: (endpoint, n) =>
      endpoint === "call-data" && n === 1
        ? { kind: "status", status: 500 }
        : undefined,
  }, { UPLOAD_CONCURRENCY: "1" });
  const res = await box.run(["run"]);
  assert.equal(res.code, 0, res.stderr);
  const calls = box.crm.requests.filter((r) => r.endpoint === "call-data");
  assert.equal(calls.length, 7);
  assert.equal(calls[0].answer, 500);
  assert.equal(calls[0].idempotencyKey, calls[1].idempotencyKey);
  assert.equal(box.crm.acceptedCallRecords().length, 6);
});

Deno.test("success:false from storage fails the set, status explains, retry waits per backoff", async () => {
  await using box = await sandbox({
    fault: (endpoint) =>
      endpoint === "upload" ? { kind: "success-false" } : undefined,
  });
  const res = await box.run(["run"]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /Upload failed for .*success:false/);
  // The conversation without a recording still went through.
  assert.equal(box.crm.acceptedCallRecords().length, 1);

  const report = await statusOf(box);
  assert.equal(report.counts.delivered, 1);
  assert.equal(report.counts.waiting, 5);
  for (const s of report.sets) {
    assert.equal(s.attempts, 1);
    assert.match(s.lastError ?? "", /success:false/);
    assert.ok(Date.parse(s.nextAttemptAt ?? "") > Date.now() + 30_000);
  }
  // Not due yet: a run now sends nothing.
  const count = box.crm.requests.length;
  assert.equal((await box.run(["run"])).code, 0);
  assert.equal(box.crm.requests.length, count);
});

Deno.test("after UPLOAD_RETRY_ATTEMPTS a set is failed until retry", async () => {
  await using box = await sandbox({
    fault: (endpoint) =>
      endpoint === "call-data" ? { kind: "status", status: 422 } : undefined,
  }, { UPLOAD_RETRY_BACKOFF: "0", UPLOAD_RETRY_ATTEMPTS: "2" });
  assert.equal((await box.run(["run"])).code, 1);
  assert.equal((await box.run(["run"])).code, 1);
  const third = await box.run(["run"]);
  assert.equal(third.code, 0, "failed sets are not due");
  const status = await statusOf(box);
  assert.equal(status.counts.failed, 6);

  const retry = await box.run(["retry", "--failed"]);
  assert.equal(retry.code, 0, retry.stderr);
  const after = await statusOf(box);
  assert.equal(after.counts.pending, 6);
});

Deno.test("401 stops the run with exit 3 and marks nothing delivered", async () => {
  await using box = await sandbox({ token: "right" }, {
    CRM_API_TOKEN: "wrong",
  });
  const res = await box.run(["run"]);
  assert.equal(res.code, 3, res.stderr);
  assert.match(res.stderr, /CRM_API_TOKEN/);
  assert.ok(!res.stderr.includes("wrong"), "the token is never logged");
  const status = await statusOf(box);
  assert.equal(status.counts.delivered, 0);
});

Deno.test("the bearer token is sent when configured", async () => {
  await using box = await sandbox({ token: "s3cret" }, {
    CRM_API_TOKEN: "s3cret",
  });
  const res = await box.run(["run", "-v"]);
  assert.equal(res.code, 0, res.stderr);
  assert.ok(!res.stderr.includes("s3cret"));
  assert.equal(box.crm.acceptedCallRecords().length, 6);
});

Deno.test("a missing required setting exits 2 naming the variable", async () => {
  await using box = await sandbox();
  const res = await box.run(["run"], { CRM_CALL_DATA_URL: "" });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /CRM_CALL_DATA_URL/);
  assert.equal(res.stderr.trim().split("\n").length, 1);
  const bad = await box.run(["run"], { UPLOAD_BATCH_SIZE: "ten" });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /UPLOAD_BATCH_SIZE/);
});

Deno.test("a flag beats the environment", async () => {
  await using box = await sandbox();
  const res = await box.run(["run", "--upload-batch-size", "2"], {
    UPLOAD_BATCH_SIZE: "0",
  });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(box.crm.acceptedCallRecords().length, 2);
});

Deno.test("--log-format json writes one JSON object per line", async () => {
  await using box = await sandbox();
  const res = await box.run(["run", "--log-format", "json"]);
  assert.equal(res.code, 0);
  const lines = res.stderr.trim().split("\n");
  assert.ok(lines.length > 6);
  for (const line of lines) {
    const obj = JSON.parse(line);
    assert.equal(typeof obj.msg, "string");
    assert.ok(["debug", "info", "warn", "error"].includes(obj.level));
  }
});

Deno.test("summary reports the day's deliveries", async () => {
  await using box = await sandbox();
  assert.equal((await box.run(["run"])).code, 0);
  const res = await box.run(["summary", "--json"]);
  assert.equal(res.code, 0, res.stderr);
  const s = JSON.parse(res.stdout);
  assert.equal(s.call_data_uploaded, 6);
  assert.equal(s.recordings_uploaded, 5);
  assert.equal(s.leads_uploaded, 3);
  assert.equal(s.failed_uploads, 0);
  assert.equal(s.success_rate, "100.0%");
  assert.ok(s.total_data_mb > 0.1);
});
