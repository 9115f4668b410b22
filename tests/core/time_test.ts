import { equal, ok, throws } from "node:assert/strict";
import {
  compactLocal,
  isValidZone,
  localDate,
  TimestampError,
  toEpochMs,
  toUtcIso,
} from "../../lib/core/time.ts";

const HOUR = 3_600_000;
const MINUTE = 60_000;

Deno.test("toEpochMs() reads a naive timestamp as UTC wall-clock time in UTC", () => {
  equal(
    toEpochMs("2025-10-29T06:49:07.351452", "UTC"),
    Date.UTC(2025, 9, 29, 6, 49, 7, 351),
    "microseconds are truncated to milliseconds",
  );
  equal(
    toEpochMs("2025-10-29T06:49:07", "UTC"),
    Date.UTC(2025, 9, 29, 6, 49, 7),
  );
});

Deno.test("toEpochMs() reads a naive timestamp in Asia/Kolkata as UTC+05:30", () => {
  equal(
    toEpochMs("2025-10-29T06:49:07.351452", "Asia/Kolkata"),
    Date.UTC(2025, 9, 29, 6, 49, 7, 351) - (5 * HOUR + 30 * MINUTE),
  );
  // Just after local midnight is the previous day in UTC.
  equal(
    toEpochMs("2025-10-30T00:10:00", "Asia/Kolkata"),
    Date.UTC(2025, 9, 29, 18, 40, 0),
  );
});

Deno.test("toEpochMs() in America/New_York follows daylight saving time", () => {
  const ny = "America/New_York";
  const cases: [local: string, utc: number][] = [
    // Summer: EDT, UTC-4. Winter: EST, UTC-5.
    ["2025-07-01T12:00:00", Date.UTC(2025, 6, 1, 16, 0, 0)],
    ["2025-12-01T12:00:00", Date.UTC(2025, 11, 1, 17, 0, 0)],
    // Spring forward on 2025-03-09: 02:00 EST becomes 03:00 EDT.
    ["2025-03-09T01:59:00", Date.UTC(2025, 2, 9, 6, 59, 0)],
    ["2025-03-09T03:00:00", Date.UTC(2025, 2, 9, 7, 0, 0)],
    // 02:30 does not exist that day; it is read as 03:30 EDT, one hour later.
    ["2025-03-09T02:30:00", Date.UTC(2025, 2, 9, 7, 30, 0)],
    // Fall back on 2025-11-02: 01:30 happens twice; the first (EDT) is taken.
    ["2025-11-02T01:30:00", Date.UTC(2025, 10, 2, 5, 30, 0)],
    ["2025-11-02T02:30:00", Date.UTC(2025, 10, 2, 7, 30, 0)],
  ];
  for (const [local, utc] of cases) equal(toEpochMs(local, ny), utc, local);
});

Deno.test("toEpochMs() takes a timestamp with Z or an offset as absolute, whatever the zone", () => {
  const instant = Date.UTC(2025, 9, 29, 6, 49, 7);
  for (const zone of ["UTC", "Asia/Kolkata", "America/New_York"]) {
    equal(toEpochMs("2025-10-29T06:49:07Z", zone), instant, zone);
    equal(toEpochMs("2025-10-29T06:49:07z", zone), instant, zone);
    equal(toEpochMs("2025-10-29T12:19:07+05:30", zone), instant, zone);
    equal(toEpochMs("2025-10-29T12:19:07+0530", zone), instant, zone);
    equal(toEpochMs("2025-10-29T02:49:07-04:00", zone), instant, zone);
  }
});

Deno.test("toEpochMs() accepts a space instead of T and surrounding blanks", () => {
  equal(
    toEpochMs(" 2025-10-29 06:49:07 ", "UTC"),
    Date.UTC(2025, 9, 29, 6, 49, 7),
  );
});

Deno.test("toEpochMs() throws TimestampError quoting text that is not a timestamp", () => {
  for (
    const text of [
      "",
      "yesterday",
      "2025-13-01T00:00:00",
      "2025-10-29T25:00:00",
      "29/10/2025 06:49",
      "1761720502",
    ]
  ) {
    throws(
      () => toEpochMs(text, "UTC"),
      (e: unknown) =>
        e instanceof TimestampError && e.message.includes(`"${text}"`),
      JSON.stringify(text),
    );
  }
});

Deno.test("compactLocal() formats an instant as YYYYMMDD-HHMMSS in the zone", () => {
  const t = Date.UTC(2025, 9, 29, 20, 0, 5, 999);
  equal(compactLocal(t, "UTC"), "20251029-200005");
  // 20:00:05 UTC is 01:30:05 the next day in India.
  equal(compactLocal(t, "Asia/Kolkata"), "20251030-013005");
  equal(compactLocal(t, "America/New_York"), "20251029-160005");
  equal(
    compactLocal(Date.UTC(2025, 0, 2, 3, 4, 5), "UTC"),
    "20250102-030405",
    "every field is zero-padded",
  );
});

Deno.test("localDate() is the calendar date in the zone", () => {
  const beforeMidnightIst = Date.UTC(2025, 9, 29, 18, 29, 59);
  const midnightIst = Date.UTC(2025, 9, 29, 18, 30, 0);
  equal(localDate(beforeMidnightIst, "Asia/Kolkata"), "2025-10-29");
  equal(localDate(midnightIst, "Asia/Kolkata"), "2025-10-30");
  equal(localDate(midnightIst, "UTC"), "2025-10-29");
  equal(localDate(Date.UTC(2025, 0, 1, 3), "America/New_York"), "2024-12-31");
});

Deno.test("toUtcIso() writes UTC ISO-8601 with milliseconds and Z", () => {
  equal(
    toUtcIso(Date.UTC(2025, 9, 29, 6, 49, 7, 351)),
    "2025-10-29T06:49:07.351Z",
  );
  equal(toUtcIso(0), "1970-01-01T00:00:00.000Z");
});

Deno.test("isValidZone() knows IANA zones and rejects made-up ones", () => {
  ok(isValidZone("UTC"));
  ok(isValidZone("Asia/Kolkata"));
  ok(isValidZone("America/New_York"));
  ok(!isValidZone("Mars/Olympus_Mons"));
  ok(!isValidZone("IST+5:30"));
  ok(!isValidZone(""));
});
