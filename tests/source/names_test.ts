import { deepStrictEqual, equal } from "node:assert/strict";
import {
  parseLeadName,
  parseRecordingName,
  phoneDigits,
  sessionIdTime,
  sessionTimestamp,
  sessionTimestampIso,
} from "../../lib/source/names.ts";

Deno.test("parseRecordingName() reads caller digits and start second", () => {
  deepStrictEqual(parseRecordingName("number-_918655066243-1761720502.ogg"), {
    callerDigits: "918655066243",
    // 2025-10-29 06:48:22 UTC
    startMs: Date.UTC(2025, 9, 29, 6, 48, 22),
  });
});

Deno.test("parseRecordingName() accepts an upper-case extension and 9 to 11 digit seconds", () => {
  deepStrictEqual(parseRecordingName("number-_919820012345-1761732314.OGG"), {
    callerDigits: "919820012345",
    startMs: Date.UTC(2025, 9, 29, 10, 5, 14),
  });
  // 9 digits: 1999-01-01 00:00:00 UTC is 915148800.
  equal(
    parseRecordingName("call-915148800.ogg")?.startMs,
    Date.UTC(1999, 0, 1),
  );
});

Deno.test("parseRecordingName() leaves callerDigits out when the name has fewer than 5", () => {
  deepStrictEqual(parseRecordingName("room-abc-1761720502.ogg"), {
    callerDigits: undefined,
    startMs: 1761720502 * 1000,
  });
  equal(
    parseRecordingName("number-_1234-1761720502.ogg")?.callerDigits,
    undefined,
    "4 digits are not a phone number",
  );
  equal(
    parseRecordingName("number-_12345-1761720502.ogg")?.callerDigits,
    "12345",
  );
});

Deno.test("parseRecordingName() reads any container's name; which containers are understood is recordingFormat()'s", () => {
  for (const ext of ["ogg", "m4a", "mp4", "webm", "wav"]) {
    equal(
      parseRecordingName(`number-_918655066243-1761720502.${ext}`)?.startMs,
      1761720502000,
      ext,
    );
  }
});

Deno.test("parseRecordingName() rejects names without a unix start second", () => {
  for (
    const name of [
      "notes.ogg",
      "number-_918655066243.ogg",
      "number-_918655066243-1761720502.ogg.tmp",
      "number-_918655066243-17617205.ogg", // 8 digits
      "number-_918655066243-1761720502000.ogg", // milliseconds, 13 digits
      "number-_918655066243_1761720502.ogg", // no dash before the seconds
      "",
    ]
  ) {
    equal(parseRecordingName(name), undefined, name);
  }
});

Deno.test("sessionTimestamp() returns the timestamp in a transcript or lead name, with a capital T", () => {
  equal(
    sessionTimestamp("transcript_session_2025-10-29T06-49-07.351452.json"),
    "2025-10-29T06-49-07.351452",
  );
  equal(
    sessionTimestamp("leads_session_2025-10-29T06-49-07.351452.json"),
    "2025-10-29T06-49-07.351452",
  );
  equal(
    sessionTimestamp("transcript_session_2025-10-29T06-49-07.json"),
    "2025-10-29T06-49-07",
  );
  // One file on Windows, whatever the case: the same timestamp.
  equal(
    sessionTimestamp("TRANSCRIPT_SESSION_2025-10-29t06-49-07.351452.JSON"),
    "2025-10-29T06-49-07.351452",
  );
  equal(sessionTimestamp("transcript_latest.json"), undefined);
  equal(sessionTimestamp("lead_20251013_135233.json"), undefined);
});

Deno.test("sessionTimestampIso() turns the dashes of the time into colons", () => {
  equal(
    sessionTimestampIso("2025-10-29T06-49-07.351452"),
    "2025-10-29T06:49:07.351452",
  );
  equal(sessionTimestampIso("2025-10-29T06-49-07"), "2025-10-29T06:49:07");
  equal(sessionTimestampIso("yesterday"), undefined);
});

Deno.test("sessionIdTime() reads the naive start time in a session id", () => {
  equal(
    sessionIdTime("session_20251029_064824_2e0aa754"),
    "2025-10-29T06:48:24",
  );
  equal(sessionIdTime("session_20251013_135111"), "2025-10-13T13:51:11");
  equal(sessionIdTime("session_2025102_064824_x"), undefined);
  equal(sessionIdTime("room_20251029_064824_2e0aa754"), undefined);
  equal(sessionIdTime(""), undefined);
});

Deno.test("parseLeadName() links leads_session_<ts> by its session timestamp, in any case", () => {
  for (
    const name of [
      "leads_session_2025-10-29T06-49-07.351452.json",
      "Leads_Session_2025-10-29T06-49-07.351452.JSON",
      "leads_session_2025-10-29t06-49-07.351452.json",
    ]
  ) {
    deepStrictEqual(
      parseLeadName(name),
      { kind: "session", sessionTs: "2025-10-29T06-49-07.351452" },
      name,
    );
  }
});

Deno.test("parseLeadName() reads the naive time of a legacy lead_YYYYMMDD_HHMMSS name", () => {
  deepStrictEqual(parseLeadName("lead_20251013_135233.json"), {
    kind: "legacy",
    time: "2025-10-13T13:52:33",
  });
  deepStrictEqual(parseLeadName("LEAD_20251013_135233.JSON"), {
    kind: "legacy",
    time: "2025-10-13T13:52:33",
  });
});

Deno.test("parseLeadName() classifies any other name as other", () => {
  for (
    const name of [
      "lead_20251013.json",
      "lead_20251013_135233_extra.json",
      "leads_session_latest.json",
      "transcript_session_2025-10-29T06-49-07.351452.json", // wrong prefix
      "my-lead.json",
    ]
  ) {
    deepStrictEqual(parseLeadName(name), { kind: "other" }, name);
  }
});

Deno.test("phoneDigits() keeps only the digits of a number written any way", () => {
  equal(phoneDigits("+91 86550-66243"), "918655066243");
  equal(phoneDigits("(+91) 865 506 6243"), "918655066243");
  equal(phoneDigits(918655066243), "918655066243");
  equal(phoneDigits("12345"), "12345");
});

Deno.test("phoneDigits() is undefined for short numbers and non-text values", () => {
  equal(phoneDigits("+1 234"), undefined);
  equal(phoneDigits("unknown"), undefined);
  equal(phoneDigits(""), undefined);
  equal(phoneDigits(undefined), undefined);
  equal(phoneDigits(null), undefined);
  equal(phoneDigits({ number: "918655066243" }), undefined);
  equal(phoneDigits(["918655066243"]), undefined);
});
