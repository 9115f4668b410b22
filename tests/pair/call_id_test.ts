import { equal, match, notEqual } from "node:assert/strict";
import { callerDigits, callId } from "../../lib/pair/call_id.ts";

const AT = Date.UTC(2025, 9, 29, 6, 48, 24);

Deno.test("callId() is CALL-<local date>-<local time>-<last 5 digits>", () => {
  equal(
    callId(AT, "918655066243", "x.json", "UTC"),
    "CALL-20251029-064824-66243",
  );
  equal(
    callId(AT, "918655066243", "x.json", "Asia/Kolkata"),
    "CALL-20251029-121824-66243",
  );
});

Deno.test("callId() without a number takes 5 stable digits from the set name", () => {
  const a = callId(AT, undefined, "transcript_session_a.json", "UTC");
  match(a, /^CALL-20251029-064824-\d{5}$/);
  equal(callId(AT, undefined, "transcript_session_a.json", "UTC"), a);
  notEqual(callId(AT, undefined, "transcript_session_b.json", "UTC"), a);
  equal(
    callId(AT, "123", "transcript_session_a.json", "UTC"),
    a,
    "too short a number is not used",
  );
});

Deno.test("callerDigits() prefers the recording's name, then transcript, then lead", () => {
  const recording = { callerDigits: "111" };
  const conversation = { key: { phone: "222" } };
  const lead = { phone: "333" };
  const set = (parts: Record<string, unknown>) =>
    callerDigits(
      { name: "n", startMs: 0, ...parts } as Parameters<typeof callerDigits>[0],
    );
  equal(set({ recording, conversation, lead }), "111");
  equal(set({ conversation, lead }), "222");
  equal(set({ lead }), "333");
  equal(set({ lead, callerDigits: "444" }), "444");
  equal(set({}), undefined);
});
