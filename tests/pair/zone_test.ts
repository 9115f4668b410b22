import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { detectZoneMismatch, fittingZones } from "../../lib/pair/zone.ts";
import { generateHost } from "../../testing/busy_host.ts";
import { hostKeys } from "../../testing/host_plan.ts";

function check(
  bot: string,
  read: string,
  opts: {
    calls?: number;
    gap?: number;
    noRecordings?: boolean;
    copied?: boolean;
    seed?: number;
    lost?: number;
  } = {},
) {
  const host = generateHost({
    seed: opts.seed ?? 5,
    calls: opts.calls ?? 40,
    botZone: bot,
    meanGapSeconds: opts.gap ?? 20,
    offsetSeconds: 25,
    lostRecordingRate: opts.lost ?? 0.1,
    lostTranscriptRate: opts.lost ?? 0.1,
    copied: opts.copied,
  });
  const keys = hostKeys(host, read);
  return detectZoneMismatch(
    keys.conversations,
    opts.noRecordings ? [] : keys.recordings,
    read,
  );
}

Deno.test("detectZoneMismatch() sees a bot on Asia/Kolkata read as UTC, and says which TIMEZONE fits", () => {
  const found = check("Asia/Kolkata", "UTC")!;
  equal(found.shiftSeconds, -5.5 * 3600);
  equal(found.evidence, "recordings");
  equal(found.zones[0], "Asia/Kolkata");
  ok(found.fitShifted > 3 * found.fitUnshifted);
});

Deno.test("detectZoneMismatch() sees it from two calls, and from file times when no recording is there", () => {
  equal(
    check("Asia/Kolkata", "UTC", { calls: 2, lost: 0 })?.shiftSeconds,
    -19800,
  );
  const byFiles = check("Asia/Kolkata", "UTC", { noRecordings: true })!;
  equal(byFiles.evidence, "file-times");
  equal(byFiles.shiftSeconds, -19800);
  equal(check("Asia/Kolkata", "UTC", { copied: true })?.evidence, "recordings");
});

Deno.test("detectZoneMismatch() sees a quarter-hour zone and a zone with daylight saving", () => {
  const nepal = check("Asia/Kathmandu", "UTC", { gap: 5 })!;
  deepStrictEqual([nepal.shiftSeconds, nepal.zones], [-20700, [
    "Asia/Kathmandu",
  ]]);
  const ny = check("America/New_York", "UTC", { gap: 60 })!;
  equal(ny.shiftSeconds, 5 * 3600);
  equal(ny.zones[0], "America/New_York");
});

Deno.test("detectZoneMismatch() stays quiet when the zone is right, on busy hosts and with lost halves", () => {
  for (let seed = 1; seed <= 20; seed++) {
    for (const gap of [2, 20, 60]) {
      equal(
        check("UTC", "UTC", { seed, gap, calls: 300 }),
        undefined,
        `seed ${seed} gap ${gap}`,
      );
      equal(
        check("America/New_York", "America/New_York", {
          seed,
          gap,
          calls: 100,
        }),
        undefined,
      );
    }
  }
  equal(
    check("Asia/Kolkata", "Asia/Kolkata", { noRecordings: true }),
    undefined,
  );
  equal(check("UTC", "UTC", { copied: true, noRecordings: true }), undefined);
});

Deno.test("fittingZones() lists zones whose offset makes the files agree, well-known first", () => {
  const jan = [Date.UTC(2026, 0, 6, 9)];
  equal(fittingZones("UTC", -5.5 * 3600, jan)[0], "Asia/Kolkata");
  ok(fittingZones("UTC", 0, jan).includes("UTC"));
  ok(fittingZones("Asia/Kolkata", 5.5 * 3600, jan).includes("Europe/London"));
});
