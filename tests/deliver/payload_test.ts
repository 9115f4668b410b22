import {
  deepStrictEqual,
  equal,
  match,
  notEqual,
  ok,
} from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  buildCallRecord,
  idempotencyKey,
  normaliseTranscript,
  type PayloadConfig,
  type UploadedRecording,
} from "../../lib/deliver/payload.ts";
import { callerDigits, callId, setCallId } from "../../lib/pair/call_id.ts";
import { type CallSet, makePlan } from "../../lib/pair/plan.ts";
import {
  type ConversationFile,
  type LeadFile,
  type RecordingFile,
} from "../../lib/source/files.ts";
import { scanBase } from "../../testing/scan.ts";
import {
  type JsonObject,
  readLead,
  readTranscript,
} from "../../lib/source/transcript.ts";
import { copyTree } from "../../testing/tree.ts";
import { fixtureCall } from "../../testing/fixtures.ts";

const FIXTURES = fileURLToPath(new URL("../../fixtures", import.meta.url));
const CFG: PayloadConfig = {
  campaignId: "campaign-7",
  voiceAgentId: "agent-3",
  clientId: "client-9",
  timezone: "UTC",
};

const CALL1 = fixtureCall(1).set;
const CALL3 = fixtureCall(3).set;
const CALL4 = fixtureCall(4).set;
const CALL5 = fixtureCall(5).set;
const CALL6 = fixtureCall(6).set;

/** A naive UTC fixture timestamp as the CRM must see it: ms precision, Z. */
function utcZ(naive: string): string {
  return new Date(naive.slice(0, 23) + "Z").toISOString();
}

async function readFixture(folder: string, name: string): Promise<JsonObject> {
  return JSON.parse(await Deno.readTextFile(join(FIXTURES, folder, name)));
}

/** The plan of a temp copy of fixtures/ (a day old, TIMEZONE=UTC), by set name. */
async function fixtureSets(): Promise<Map<string, CallSet>> {
  const dir = await Deno.makeTempDir({ prefix: "callsync-payload-" });
  try {
    const now = Date.now();
    await copyTree(FIXTURES, dir, now - 86_400_000);
    const result = await scanBase(dir);
    const plan = makePlan(
      result,
      { delivered: new Map(), progress: new Map() },
      {
        matchWindowSeconds: 300,
        staleSeconds: 600,
        orphanAfterSeconds: 1800,
        leadWaitSeconds: 300,
        timezone: "UTC",
      },
      now,
    );
    return new Map(plan.sets.map((s) => [s.name, s]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const FILE = { path: "/nonexistent", size: 1, mtimeMs: 0, dev: 0, ino: 0 };

function conversation(
  name: string,
  data: JsonObject,
  timezone = "UTC",
): ConversationFile {
  return { ...FILE, name, ...readTranscript(name, data, timezone) };
}

function recording(
  name: string,
  startMs: number,
  digits: string | undefined,
  durationSeconds: number,
): RecordingFile {
  return {
    ...FILE,
    name,
    callerDigits: digits,
    media: {
      format: "ogg",
      contentType: "audio/ogg",
      complete: true,
      durationSeconds,
      salvageable: true,
      size: 1,
    },
    key: { name, startMs, durationSeconds, complete: true, phone: digits },
  };
}

function lead(name: string, data: JsonObject): LeadFile {
  return { ...FILE, name, ...readLead(name, data, "UTC") };
}

function callSet(parts: Partial<CallSet> & { name: string; startMs: number }) {
  return {
    kind: "call",
    state: "pending",
    reason: "",
    truncated: false,
    ...parts,
  } as CallSet;
}

const UPLOADED_1: UploadedRecording = {
  url: "https://crm.example/uploads/recordings/1.ogg",
  size: 43385,
  durationSeconds: 44.4,
};

Deno.test("buildCallRecord() for fixture call 1 follows the CRM schema in UTC", async () => {
  const set = (await fixtureSets()).get(CALL1)!;
  const transcript = await readFixture("conversations", CALL1);
  const leadData = await readFixture("leads", fixtureCall(1).lead!);
  const items = transcript.conversation_items as JsonObject[];

  const record = buildCallRecord(set, UPLOADED_1, CFG);

  deepStrictEqual(record, {
    campaignId: "campaign-7",
    voiceAgentId: "agent-3",
    client: "client-9",
    callDetails: {
      callId: "CALL-20251029-064824-66243",
      direction: "inbound",
      startTime: "2025-10-29T06:48:24.120Z",
      endTime: "2025-10-29T06:49:07.351Z",
      duration: 43, // 43.231121 s
      status: "completed",
      callerNumber: "+918655066243",
      recordingUrl: "https://crm.example/uploads/recordings/1.ogg",
      recordingDuration: 44,
      recordingSize: 43385,
    },
    caller: { phoneNumber: "+918655066243" },
    transcription: {
      ...transcript,
      start_time: "2025-10-29T06:48:24.120Z",
      end_time: "2025-10-29T06:49:07.351Z",
      conversation_items: items.map((item) => ({
        ...item,
        timestamp: utcZ(item.timestamp as string),
      })),
    },
    lead: leadData,
  });
  equal(
    (record.transcription as JsonObject).session_id,
    "session_20251029_064824_2e0aa754",
  );
});

Deno.test("buildCallRecord() takes the caller number from the recording name when the transcript has none", async () => {
  const set = (await fixtureSets()).get(CALL3)!;
  const record = buildCallRecord(set, {
    url: "u3",
    size: 23359,
    durationSeconds: 25.2,
  }, CFG);
  const details = record.callDetails as JsonObject;
  equal(details.callerNumber, "+917045118823");
  equal(details.callId, "CALL-20251029-072239-18823");
  equal(details.startTime, "2025-10-29T07:22:39.204Z");
  equal(details.endTime, "2025-10-29T07:23:03.616Z");
  equal(details.duration, 24);
  equal(details.recordingDuration, 25);
  deepStrictEqual(record.caller, { phoneNumber: "+917045118823" });
  ok(!("lead" in record), "call 3 has no lead");
});

Deno.test("buildCallRecord() without a recording has no recording fields and takes the transcript's number", async () => {
  const set = (await fixtureSets()).get(CALL4)!;
  equal(set.recording, undefined);
  const record = buildCallRecord(set, undefined, CFG);
  const details = record.callDetails as JsonObject;
  deepStrictEqual(details, {
    callId: "CALL-20251029-091021-17788",
    direction: "inbound",
    startTime: "2025-10-29T09:10:21.774Z",
    endTime: "2025-10-29T09:11:02.480Z",
    duration: 41, // 40.706511 s
    status: "completed",
    callerNumber: "+919004417788",
  });
  for (const key of ["recordingUrl", "recordingDuration", "recordingSize"]) {
    ok(!(key in details), key);
  }
  ok("transcription" in record);
  ok(!("lead" in record));
});

Deno.test("buildCallRecord() for a recording-only set has no transcription and times from the recording", async () => {
  const set = (await fixtureSets()).get(CALL5)!;
  equal(set.kind, "recording-only");
  const record = buildCallRecord(set, {
    url: "u5",
    size: 15912,
    durationSeconds: 19.6,
  }, CFG);
  deepStrictEqual(record, {
    campaignId: "campaign-7",
    voiceAgentId: "agent-3",
    client: "client-9",
    callDetails: {
      // 1761732314 is 2025-10-29 10:05:14 UTC.
      callId: "CALL-20251029-100514-12345",
      direction: "inbound",
      startTime: "2025-10-29T10:05:14.000Z",
      endTime: "2025-10-29T10:05:33.600Z",
      duration: 20,
      status: "completed",
      callerNumber: "+919820012345",
      recordingUrl: "u5",
      recordingDuration: 20,
      recordingSize: 15912,
    },
    caller: { phoneNumber: "+919820012345" },
  });
});

Deno.test("buildCallRecord() attaches a legacy lead as it is on disk", async () => {
  const set = (await fixtureSets()).get(CALL6)!;
  const record = buildCallRecord(set, {
    url: "u6",
    size: 73243,
    durationSeconds: 80.3,
  }, CFG);
  deepStrictEqual(
    record.lead,
    await readFixture("leads", fixtureCall(6).lead!),
  );
  equal(
    (record.callDetails as JsonObject).callId,
    "CALL-20251013-135111-01234",
  );
});

Deno.test("buildCallRecord() in Asia/Kolkata reads naive times as IST and builds the call id in IST", () => {
  const ist = { ...CFG, timezone: "Asia/Kolkata" };
  const name = "transcript_session_2025-10-30T01-31-05.750000.json";
  const data = {
    session_id: "session_20251030_013005_aa11bb22",
    start_time: "2025-10-30T01:30:05.250000",
    end_time: "2025-10-30T01:31:05.750000",
    duration_seconds: 60.5,
    conversation_items: [
      { role: "assistant", content: "Hi", timestamp: "2025-10-30T01:30:06" },
      { role: "user", content: "Hello", timestamp: "2025-10-30T01:30:10.5" },
    ],
    metadata: { phone_number: "+91 90000 54321", direction: "outbound" },
  };
  const conv = conversation(name, data, "Asia/Kolkata");
  const set = callSet({ name, startMs: conv.key.startMs, conversation: conv });

  const record = buildCallRecord(set, undefined, ist);

  // 01:30:05 IST on the 30th is 20:00:05 UTC on the 29th.
  deepStrictEqual(record.callDetails, {
    callId: "CALL-20251030-013005-54321",
    direction: "outbound",
    startTime: "2025-10-29T20:00:05.250Z",
    endTime: "2025-10-29T20:01:05.750Z",
    duration: 61, // 60.5 s, rounded half up
    status: "completed",
    callerNumber: "+919000054321",
  });
  const t = record.transcription as JsonObject;
  equal(t.start_time, "2025-10-29T20:00:05.250Z");
  equal(t.end_time, "2025-10-29T20:01:05.750Z");
  deepStrictEqual(
    (t.conversation_items as JsonObject[]).map((i) => i.timestamp),
    ["2025-10-29T20:00:06.000Z", "2025-10-29T20:00:10.500Z"],
  );
  equal(
    data.conversation_items[0].timestamp,
    "2025-10-30T01:30:06",
    "the transcript read from disk is not modified",
  );
});

Deno.test("callId() is the call start in TIMEZONE, so one instant gives different ids per zone", () => {
  const start = Date.UTC(2025, 9, 29, 20, 0, 5, 999);
  equal(
    callId(start, "918655066243", "x.json", "UTC"),
    "CALL-20251029-200005-66243",
  );
  equal(
    callId(start, "918655066243", "x.json", "Asia/Kolkata"),
    "CALL-20251030-013005-66243",
  );
});

Deno.test("callId() without a caller number uses 5 stable digits derived from the set name", () => {
  const start = Date.UTC(2025, 9, 29, 6, 48, 24);
  const a = callId(start, undefined, "transcript_a.json", "UTC");
  match(a, /^CALL-20251029-064824-\d{5}$/);
  equal(callId(start, undefined, "transcript_a.json", "UTC"), a);
  notEqual(callId(start, undefined, "transcript_b.json", "UTC"), a);
  equal(
    callId(start, "1234", "transcript_a.json", "UTC"),
    a,
    "fewer than 5 digits are not used",
  );
});

Deno.test("callerDigits() prefers the recording name, then the transcript, then the lead", () => {
  const start = Date.UTC(2025, 9, 29, 6, 48, 24);
  const conv = conversation("t.json", {
    start_time: "2025-10-29T06:48:24",
    metadata: { phone_number: "+912222222222" },
  });
  const noPhone = conversation("t.json", { start_time: "2025-10-29T06:48:24" });
  const rec = recording("r-1761720502.ogg", start, "911111111111", 40);
  const theLead = lead("leads_x.json", { phone: "+913333333333" });

  const all = callSet({
    name: "t.json",
    startMs: start,
    conversation: conv,
    recording: rec,
    lead: theLead,
  });
  equal(callerDigits(all), "911111111111");
  equal(callerDigits({ ...all, recording: undefined }), "912222222222");
  equal(
    callerDigits({ ...all, recording: undefined, conversation: noPhone }),
    "913333333333",
  );
  const none = callSet({
    name: "t.json",
    startMs: start,
    conversation: noPhone,
  });
  equal(callerDigits(none), undefined);

  const record = buildCallRecord(
    { ...all, recording: undefined, conversation: noPhone },
    undefined,
    CFG,
  );
  equal((record.callDetails as JsonObject).callerNumber, "+913333333333");
  deepStrictEqual(record.caller, { phoneNumber: "+913333333333" });
  equal(setCallId(all, "UTC"), "CALL-20251029-064824-11111");
});

Deno.test("buildCallRecord() leaves callerNumber empty when no number is known", () => {
  const conv = conversation("t.json", { start_time: "2025-10-29T06:48:24" });
  const set = callSet({
    name: "t.json",
    startMs: conv.key.startMs,
    conversation: conv,
  });
  const record = buildCallRecord(set, undefined, CFG);
  equal((record.callDetails as JsonObject).callerNumber, undefined);
  const wire = JSON.parse(JSON.stringify(record));
  ok(!("callerNumber" in wire.callDetails));
  deepStrictEqual(wire.caller, {});
  equal(wire.callDetails.duration, 0);
  equal(wire.callDetails.endTime, "2025-10-29T06:48:24.000Z");
});

Deno.test("buildCallRecord() keeps transcript timestamps it cannot read and odd items as they are", () => {
  const conv = conversation("t.json", {
    start_time: "2025-10-29T12:18:24+05:30",
    duration_seconds: 10,
    conversation_items: [
      { role: "user", content: "x", timestamp: "n/a" },
      { role: "user", content: "y" },
      "free text",
      { role: "user", content: "z", timestamp: 1761720504 },
    ],
  });
  const set = callSet({
    name: "t.json",
    startMs: conv.key.startMs,
    conversation: conv,
  });
  const t = buildCallRecord(set, undefined, CFG).transcription as JsonObject;
  equal(t.start_time, "2025-10-29T06:48:24.000Z");
  ok(!("end_time" in t), "no end_time is invented");
  deepStrictEqual(t.conversation_items, [
    { role: "user", content: "x", timestamp: "n/a" },
    { role: "user", content: "y", timestamp: undefined },
    "free text",
    { role: "user", content: "z", timestamp: 1761720504 },
  ]);
});

Deno.test("buildCallRecord() reports a recording without a known length without recordingDuration", () => {
  const set = callSet({
    name: CALL5,
    kind: "recording-only",
    startMs: Date.UTC(2025, 9, 29, 10, 5, 14),
    recording: recording(
      CALL5,
      Date.UTC(2025, 9, 29, 10, 5, 14),
      "919820012345",
      19.6,
    ),
  });
  const wire = JSON.parse(
    JSON.stringify(buildCallRecord(set, { url: "u", size: 9 }, CFG)),
  );
  equal(wire.callDetails.recordingUrl, "u");
  equal(wire.callDetails.recordingSize, 9);
  ok(!("recordingDuration" in wire.callDetails));
});

Deno.test("idempotencyKey() is stable per set and step and differs between steps and sets", async () => {
  const a1 = await idempotencyKey(CALL1, "recording");
  const a2 = await idempotencyKey(CALL1, "call-data");
  equal(await idempotencyKey(CALL1, "recording"), a1);
  equal(await idempotencyKey(CALL1, "call-data"), a2);
  notEqual(a1, a2);
  notEqual(await idempotencyKey(CALL3, "recording"), a1);
  notEqual(await idempotencyKey(CALL3, "call-data"), a2);
  for (const key of [a1, a2]) {
    // Usable as an HTTP header value: printable ASCII, no spaces.
    match(key, /^[\x21-\x7e]{16,255}$/);
  }
});

Deno.test("normaliseTranscript() reads times a clock change repeats as the instants within the call", () => {
  const data = {
    start_time: "2026-11-01T01:20:00.000000",
    end_time: "2026-11-01T01:22:00.000000",
    conversation_items: [{ timestamp: "2026-11-01T01:21:00.000000" }],
  };
  // The second pass through 01:xx (EST, UTC−5), as pairing read the call.
  const second = normaliseTranscript(data, "America/New_York", {
    startMs: Date.UTC(2026, 10, 1, 6, 20),
    endMs: Date.UTC(2026, 10, 1, 6, 22),
  });
  equal(second.start_time, "2026-11-01T06:20:00.000Z");
  equal(second.end_time, "2026-11-01T06:22:00.000Z");
  deepStrictEqual(second.conversation_items, [{
    timestamp: "2026-11-01T06:21:00.000Z",
  }]);
  // Without the call's times: the first pass (the stated rule).
  equal(
    normaliseTranscript(data, "America/New_York").start_time,
    "2026-11-01T05:20:00.000Z",
  );
});
