import { deepStrictEqual, equal } from "node:assert/strict";
import { localReadings } from "../../lib/core/time.ts";
import {
  readingsFittingFileTime,
  transcriptReadings,
} from "../../lib/source/readings.ts";

const NY = "America/New_York";

Deno.test("localReadings() gives both instants of a time the fall-back repeats", () => {
  deepStrictEqual(localReadings("2026-11-01T01:30:00", NY), [
    Date.UTC(2026, 10, 1, 5, 30),
    Date.UTC(2026, 10, 1, 6, 30),
  ]);
  deepStrictEqual(localReadings("2026-11-01T00:59:59", NY), [
    Date.UTC(2026, 10, 1, 4, 59, 59),
  ]);
  deepStrictEqual(localReadings("2026-11-01T02:00:00", NY), [
    Date.UTC(2026, 10, 1, 7),
  ]);
});

Deno.test("localReadings() gives one instant for a skipped time, an absolute time and UTC", () => {
  deepStrictEqual(localReadings("2026-03-08T02:30:00", NY), [
    Date.UTC(2026, 2, 8, 7, 30),
  ]);
  deepStrictEqual(localReadings("2026-11-01T01:30:00-05:00", NY), [
    Date.UTC(2026, 10, 1, 6, 30),
  ]);
  deepStrictEqual(localReadings("2026-11-01 01:30:00.250", "UTC"), [
    Date.UTC(2026, 10, 1, 1, 30, 0, 250),
  ]);
});

Deno.test("transcriptReadings() keeps only readings where start ≤ end ≤ saved and the duration fits", () => {
  // Start in daylight time, end after the clocks went back.
  const spanning = transcriptReadings({
    starts: localReadings("2026-11-01T01:59:30", NY),
    ends: localReadings("2026-11-01T01:00:30", NY),
    saves: localReadings("2026-11-01T01:00:33", NY),
    durationSeconds: 60,
  });
  deepStrictEqual(spanning, [{
    startMs: Date.UTC(2026, 10, 1, 5, 59, 30),
    endMs: Date.UTC(2026, 10, 1, 6, 0, 30),
    savedMs: Date.UTC(2026, 10, 1, 6, 0, 33),
  }]);
  // Inside the repeated hour: two readings, the earlier first (the rule).
  const inside = {
    starts: localReadings("2026-11-01T01:10:00", NY),
    ends: localReadings("2026-11-01T01:12:00", NY),
    saves: localReadings("2026-11-01T01:12:02", NY),
  };
  const two = transcriptReadings({ ...inside, durationSeconds: 120 });
  equal(two.length, 2);
  equal(two[0].startMs, Date.UTC(2026, 10, 1, 5, 10));
  equal(two[1].startMs, Date.UTC(2026, 10, 1, 6, 10));
  // Without duration_seconds, a 62-minute call across the fall-back fits too.
  equal(transcriptReadings(inside).length, 3);
});

Deno.test("readingsFittingFileTime() picks the reading the file time agrees with", () => {
  const readings = transcriptReadings({
    starts: localReadings("2026-11-01T01:10:00", NY),
    ends: localReadings("2026-11-01T01:12:00", NY),
    saves: localReadings("2026-11-01T01:12:02", NY),
    durationSeconds: 120,
  });
  deepStrictEqual(
    readingsFittingFileTime(readings, Date.UTC(2026, 10, 1, 6, 12, 3)),
    [1],
  );
  deepStrictEqual(
    readingsFittingFileTime(readings, Date.UTC(2026, 10, 1, 5, 12, 2)),
    [0],
  );
  deepStrictEqual(
    readingsFittingFileTime(readings, Date.UTC(2027, 0, 1)),
    [],
    "a copied file",
  );
});
