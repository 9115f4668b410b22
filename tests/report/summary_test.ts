import { deepStrictEqual, equal } from "node:assert/strict";
import {
  dailySummaries,
  dailySummary,
  renderBarChart,
  renderSummary,
} from "../../lib/report/summary.ts";
import type { JournalEvent } from "../../lib/state/journal.ts";
import { renderTable } from "../../lib/core/table.ts";

/** Events around midnight in India (UTC+05:30): 18:30 UTC is 00:00 IST. */
const EVENTS: JournalEvent[] = [
  // 2025-10-29 00:00:00 IST, the first second of the 29th in India.
  {
    ev: "delivered",
    t: Date.UTC(2025, 9, 28, 18, 30, 0),
    set: "a.json",
    call_id: "CALL-A",
    bytes: 0,
  },
  // 2025-10-29 15:30 IST.
  {
    ev: "delivered",
    t: Date.UTC(2025, 9, 29, 10, 0, 0),
    set: "b.json",
    call_id: "CALL-B",
    recording: "b.ogg",
    bytes: 2_345_678,
  },
  // 2025-10-29 17:30 IST.
  {
    ev: "failed",
    t: Date.UTC(2025, 9, 29, 12, 0, 0),
    set: "c.json",
    error: "x",
  },
  // 2025-10-29 23:59:59 IST, the last second of the 29th in India.
  {
    ev: "delivered",
    t: Date.UTC(2025, 9, 29, 18, 29, 59),
    set: "d.json",
    call_id: "CALL-D",
    recording: "d.ogg",
    lead: "leads_d.json",
    bytes: 1_500_000,
  },
  // 2025-10-30 00:00:00 IST.
  {
    ev: "failed",
    t: Date.UTC(2025, 9, 29, 18, 30, 0),
    set: "e.json",
    error: "y",
  },
];

Deno.test("dailySummary() counts the events of one local date in Asia/Kolkata", () => {
  deepStrictEqual(dailySummary(EVENTS, "2025-10-29", "Asia/Kolkata"), {
    date: "2025-10-29",
    files_processed: 4, // a, b, c, d
    recordings_uploaded: 2, // b, d
    call_data_uploaded: 3, // a, b, d
    leads_uploaded: 1, // d
    failed_uploads: 1, // c
    success_rate: "75.0%",
    total_data_mb: 3.85, // 3.845678 MB
  });
  deepStrictEqual(dailySummary(EVENTS, "2025-10-30", "Asia/Kolkata"), {
    date: "2025-10-30",
    files_processed: 1,
    recordings_uploaded: 0,
    call_data_uploaded: 0,
    leads_uploaded: 0,
    failed_uploads: 1, // e
    success_rate: "0.0%",
    total_data_mb: 0,
  });
});

Deno.test("dailySummary() puts the same events on other dates in UTC", () => {
  const s = dailySummary(EVENTS, "2025-10-29", "UTC");
  // a is on the 28th in UTC; e (18:30 UTC) is still the 29th.
  equal(s.files_processed, 4); // b, c, d, e
  equal(s.call_data_uploaded, 2);
  equal(s.failed_uploads, 2);
  equal(s.success_rate, "50.0%");
  equal(dailySummary(EVENTS, "2025-10-28", "UTC").call_data_uploaded, 1);
});

Deno.test("dailySummary() rounds the success rate to one decimal", () => {
  const day = Date.UTC(2025, 9, 29, 9);
  const events: JournalEvent[] = [
    { ev: "delivered", t: day, set: "a", call_id: "A", bytes: 0 },
    { ev: "delivered", t: day + 1, set: "b", call_id: "B", bytes: 0 },
    { ev: "failed", t: day + 2, set: "c", error: "x" },
  ];
  equal(dailySummary(events, "2025-10-29", "UTC").success_rate, "66.7%");
});

Deno.test("dailySummary() of a day without events says n/a", () => {
  deepStrictEqual(dailySummary(EVENTS, "2025-11-01", "Asia/Kolkata"), {
    date: "2025-11-01",
    files_processed: 0,
    recordings_uploaded: 0,
    call_data_uploaded: 0,
    leads_uploaded: 0,
    failed_uploads: 0,
    success_rate: "n/a",
    total_data_mb: 0,
  });
  equal(dailySummary([], "2025-10-29", "UTC").success_rate, "n/a");
});

Deno.test("renderTable() pads every column to its widest cell, two spaces apart", () => {
  const text = renderTable(["a", "bb", "c"], [
    ["ccc", "d", "x"],
    ["e", "ffff", ""],
  ]);
  equal(
    text,
    [
      "a    bb    c",
      "---  ----  -",
      "ccc  d     x",
      "e    ffff",
    ].join("\n"),
  );
  // Every line starts its second column at the same offset.
  for (const line of text.split("\n")) equal(line[3], " ", line);
});

Deno.test("renderTable() with no rows is the header and its rule", () => {
  equal(renderTable(["state", "set"], []), "state  set\n-----  ---");
});

Deno.test("renderTable() treats a missing cell as empty", () => {
  equal(
    renderTable(["a", "b"], [["1"], ["22", "3"]]),
    "a   b\n--  -\n1\n22  3",
  );
});

Deno.test("renderSummary() shows the day's numbers under their headings", () => {
  const text = renderSummary(
    dailySummary(EVENTS, "2025-10-29", "Asia/Kolkata"),
  );
  const [head, rule, row] = text.split("\n");
  equal(text.split("\n").length, 3);
  equal(rule.replace(/[- ]/g, ""), "");
  const cells = row.split(/\s{2,}/);
  deepStrictEqual(cells, [
    "2025-10-29",
    "4",
    "2",
    "3",
    "1",
    "1",
    "75.0%",
    "3.85",
  ]);
  // Each value starts where its heading starts.
  for (const heading of ["processed", "success", "MB"]) {
    const at = head.indexOf(heading);
    equal(row[at - 1], " ", heading);
    equal(row[at] !== " ", true, heading);
  }
});

Deno.test("dailySummaries() gives one row per day, oldest first, ending on the date", () => {
  const rows = dailySummaries(EVENTS, "2025-10-30", 3, "Asia/Kolkata");
  deepStrictEqual(rows.map((r) => r.date), [
    "2025-10-28",
    "2025-10-29",
    "2025-10-30",
  ]);
  deepStrictEqual(rows[1], dailySummary(EVENTS, "2025-10-29", "Asia/Kolkata"));
});

Deno.test("renderBarChart() scales bars to the busiest day, in eighths", () => {
  const day = (date: string, n: number) => ({
    ...dailySummary([], date, "UTC"),
    call_data_uploaded: n,
  });
  const lines = renderBarChart([
    day("2025-10-28", 8),
    day("2025-10-29", 3),
    day("2025-10-30", 0),
  ], 4)
    .split("\n");
  deepStrictEqual(lines, [
    "2025-10-28 ████ 8",
    "2025-10-29 █▌ 3",
    "2025-10-30  0",
  ]);
});
