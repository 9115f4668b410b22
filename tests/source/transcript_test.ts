import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import {
  InputError,
  parseJsonBytes,
  parseJsonObject,
  readLead,
  readTranscript,
} from "../../lib/source/transcript.ts";

const IST_OFFSET_MS = (5 * 60 + 30) * 60_000;
const NAME = "transcript_session_2025-10-29T06-49-07.351452.json";

function inputError(pattern: RegExp) {
  return (e: unknown) => e instanceof InputError && pattern.test(e.message);
}

Deno.test("parseJsonObject() returns the object of valid JSON", () => {
  deepStrictEqual(parseJsonObject('{"a": 1, "b": {"c": [true]}}'), {
    a: 1,
    b: { c: [true] },
  });
});

Deno.test("parseJsonObject() rejects an empty or blank file", () => {
  throws(() => parseJsonObject(""), inputError(/empty/));
  throws(() => parseJsonObject(" \n\t\n"), inputError(/empty/));
});

Deno.test("parseJsonObject() rejects JSON that is not an object, saying what it is", () => {
  throws(() => parseJsonObject("[1, 2]"), inputError(/an array/));
  throws(() => parseJsonObject('"text"'), inputError(/a string/));
  throws(() => parseJsonObject("42"), inputError(/a number/));
  throws(() => parseJsonObject("null"), inputError(/expected a JSON object/));
});

Deno.test("parseJsonObject() names line and column of invalid JSON", () => {
  // A missing comma: the error is at the start of line 3, `"b"` in column 3.
  throws(
    () => parseJsonObject('{\n  "a": 1\n  "b": 2\n}'),
    inputError(/not valid JSON.*line 3 column 3/),
  );
  // A file cut off mid-write: the error is just past the last character.
  const torn = '{\n  "session_id": "session_2025';
  throws(
    () => parseJsonObject(torn),
    inputError(
      new RegExp(`line 2 column ${'  "session_id": "session_2025'.length + 1}`),
    ),
  );
});

Deno.test("parseJsonBytes() reads a file with a UTF-8 or UTF-16 byte-order mark as Windows tools write it", () => {
  const text = '{"session_id": "session_20251029_064824_2e0aa754"}';
  const expected = { session_id: "session_20251029_064824_2e0aa754" };
  const utf8 = new TextEncoder().encode(text);
  deepStrictEqual(parseJsonBytes(utf8), expected);
  deepStrictEqual(
    parseJsonBytes(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8])),
    expected,
  );
  const utf16le = new Uint8Array([
    0xff,
    0xfe,
    ...[...utf8].flatMap((b) => [b, 0]),
  ]);
  deepStrictEqual(parseJsonBytes(utf16le), expected);
  // Without its BOM, UTF-16 is named as such, not as a JSON syntax error.
  throws(
    () => parseJsonBytes(utf16le.subarray(2)),
    inputError(/UTF-16 without a byte-order mark/),
  );
});

Deno.test("readTranscript() takes the start from start_time and the end from end_time", () => {
  const t = readTranscript(NAME, {
    session_id: "session_20251029_064824_2e0aa754",
    start_time: "2025-10-29T06:48:24.120331",
    end_time: "2025-10-29T06:49:07.351452",
    lead_generated: true,
  }, "UTC");
  equal(t.key.name, NAME);
  equal(t.key.startMs, Date.UTC(2025, 9, 29, 6, 48, 24, 120));
  equal(t.key.endMs, Date.UTC(2025, 9, 29, 6, 49, 7, 351));
  // Derived from the two timestamps (already truncated to milliseconds).
  equal(t.key.durationSeconds, 43.231);
  equal(t.key.sessionTs, "2025-10-29T06-49-07.351452");
  equal(t.key.sessionId, "session_20251029_064824_2e0aa754");
  equal(t.key.leadGenerated, true);
});

Deno.test("readTranscript() reads naive times in the configured zone", () => {
  const t = readTranscript(NAME, {
    start_time: "2025-10-29T06:48:24",
    end_time: "2025-10-29T06:49:07",
  }, "Asia/Kolkata");
  equal(t.key.startMs, Date.UTC(2025, 9, 29, 6, 48, 24) - IST_OFFSET_MS);
  equal(t.key.endMs, Date.UTC(2025, 9, 29, 6, 49, 7) - IST_OFFSET_MS);
});

Deno.test("readTranscript() falls back to the time inside session_id", () => {
  const t = readTranscript(NAME, {
    session_id: "session_20251029_064824_2e0aa754",
    duration_seconds: 43.5,
  }, "UTC");
  equal(t.key.startMs, Date.UTC(2025, 9, 29, 6, 48, 24));
  equal(t.key.durationSeconds, 43.5);
  equal(t.key.endMs, Date.UTC(2025, 9, 29, 6, 48, 24) + 43_500);
  equal(t.key.leadGenerated, undefined, "the transcript does not say");
});

Deno.test("readTranscript() without start_time or a timed session_id is an InputError", () => {
  throws(
    () => readTranscript(NAME, { conversation_items: [] }, "UTC"),
    inputError(/start_time/),
  );
  throws(
    () => readTranscript(NAME, { session_id: "abc", start_time: "  " }, "UTC"),
    inputError(/session_id/),
  );
});

Deno.test("readTranscript() names the field of an unreadable timestamp", () => {
  throws(
    () => readTranscript(NAME, { start_time: "soon" }, "UTC"),
    inputError(/^start_time: .*"soon"/),
  );
  throws(
    () =>
      readTranscript(
        NAME,
        { start_time: "2025-10-29T06:48:24", end_time: "later" },
        "UTC",
      ),
    inputError(/^end_time: .*"later"/),
  );
});

Deno.test("readTranscript() computes the end from duration_seconds when end_time is missing", () => {
  const t = readTranscript(NAME, {
    start_time: "2025-10-29T06:48:24Z",
    duration_seconds: 60.25,
  }, "UTC");
  equal(t.key.endMs, Date.UTC(2025, 9, 29, 6, 49, 24, 250));
  equal(t.key.durationSeconds, 60.25);
});

Deno.test("readTranscript() leaves end and duration unknown when neither is given", () => {
  const t = readTranscript(NAME, {
    start_time: "2025-10-29T06:48:24",
    duration_seconds: "43",
  }, "UTC");
  equal(t.key.endMs, undefined);
  equal(t.key.durationSeconds, undefined);
});

Deno.test("readTranscript() finds the caller's phone and direction in metadata", () => {
  const t = readTranscript(NAME, {
    start_time: "2025-10-29T06:48:24",
    metadata: { phone_number: "+91 86550 66243", direction: "outbound" },
  }, "UTC");
  equal(t.key.phone, "918655066243");
  equal(t.direction, "outbound");
});

Deno.test("readTranscript() prefers a phone at the top level and has none when absent", () => {
  const top = readTranscript(NAME, {
    start_time: "2025-10-29T06:48:24",
    caller_number: "919000000001",
    metadata: { phone_number: "919000000002" },
  }, "UTC");
  equal(top.key.phone, "919000000001");
  const none = readTranscript(NAME, {
    start_time: "2025-10-29T06:48:24",
    metadata: { auto_saved: true, direction: "inbound" },
  }, "UTC");
  equal(none.key.phone, undefined);
  equal(none.key.sessionTs, "2025-10-29T06-49-07.351452");
  equal(none.direction, "inbound");
});

Deno.test("readLead() links a leads_session_<ts> file by timestamp and reads its phone", () => {
  const data = {
    name: "Priya Sharma",
    phone: "+918655066243",
    session_id: "session_20251029_064824_2e0aa754",
  };
  const lead = readLead(
    "leads_session_2025-10-29T06-49-07.351452.json",
    data,
    "UTC",
  );
  deepStrictEqual(lead.key, {
    name: "leads_session_2025-10-29T06-49-07.351452.json",
    kind: "session",
    sessionTs: "2025-10-29T06-49-07.351452",
    timesMs: [Date.UTC(2025, 9, 29, 6, 49, 7, 351)],
    sessionId: "session_20251029_064824_2e0aa754",
    phone: "918655066243",
  });
  equal(lead.phone, "918655066243");
  equal(lead.data, data);
});

Deno.test("readLead() reads the time of a legacy lead name in the configured zone", () => {
  const utc = readLead("lead_20251013_135233.json", {}, "UTC");
  equal(utc.key.kind, "legacy");
  deepStrictEqual(utc.key.timesMs, [Date.UTC(2025, 9, 13, 13, 52, 33)]);
  equal(utc.key.phone, undefined);
  const ist = readLead("lead_20251013_135233.json", {}, "Asia/Kolkata");
  deepStrictEqual(ist.key.timesMs, [
    Date.UTC(2025, 9, 13, 13, 52, 33) - IST_OFFSET_MS,
  ]);
  equal(ist.phone, undefined);
  const withPhone = readLead(
    "lead_20251013_135233.json",
    { phone: "+91 98765 01234" },
    "UTC",
  );
  equal(withPhone.key.phone, "919876501234", "legacy leads carry the phone");
});

Deno.test("readLead() links any other name only by the session_id inside", () => {
  const lead = readLead("crm-export-17.json", {
    session_id: "session_20251029_072211_7c41d9e3",
    mobile: "9167234510",
  }, "UTC");
  deepStrictEqual(lead.key, {
    name: "crm-export-17.json",
    kind: "session",
    sessionId: "session_20251029_072211_7c41d9e3",
    phone: "9167234510",
  });
  ok(lead.key.sessionTs === undefined && lead.key.timesMs === undefined);
  equal(lead.phone, "9167234510");
});
