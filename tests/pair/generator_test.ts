import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { generateHost } from "../../testing/busy_host.ts";

Deno.test("generateHost() is deterministic by seed", () => {
  deepStrictEqual(
    generateHost({ seed: 4, calls: 50 }),
    generateHost({ seed: 4, calls: 50 }),
  );
  ok(
    JSON.stringify(generateHost({ seed: 4, calls: 50 })) !==
      JSON.stringify(generateHost({ seed: 5, calls: 50 })),
  );
});

Deno.test("generateHost() follows the model: recordings start late and end with the call", () => {
  const host = generateHost({
    seed: 1,
    calls: 300,
    offsetSeconds: 30,
    jitterSeconds: 3,
  });
  const recs = new Map(host.recordings.map((r) => [r.name, r]));
  for (const call of host.calls) {
    ok(Math.abs(call.offsetSeconds - 30) <= 5, "offset ± drift ± jitter");
    if (!call.recording) {
      ok(
        (call.endMs - call.startMs) / 1000 <= call.offsetSeconds + 1,
        "only calls shorter than the offset go unrecorded",
      );
      continue;
    }
    const r = recs.get(call.recording)!;
    const epoch = Number(/-(\d+)\.ogg$/.exec(r.name)![1]);
    const end = epoch * 1000 + r.durationSeconds * 1000;
    ok(
      end >= call.endMs - 1400 && end <= call.endMs + 900,
      "name epoch + duration is the call's end",
    );
    ok(
      r.mtimeMs >= call.endMs - 400 && r.mtimeMs <= call.endMs + 1100,
      "last write at the end",
    );
  }
});

Deno.test("generateHost() writes naive local times, the save time in the name, and loses halves at the rate asked", () => {
  const host = generateHost({
    seed: 2,
    calls: 2000,
    botZone: "Asia/Kolkata",
    lostRecordingRate: 0.1,
    lostTranscriptRate: 0.1,
  });
  const t = host.transcripts[0];
  ok(
    /^transcript_session_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{6}\.json$/.test(
      t.name,
    ),
    t.name,
  );
  ok(
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/.test(String(t.data.start_time)),
    String(t.data.start_time),
  );
  const call = host.calls.find((c) => c.transcript === t.name)!;
  const naive = Temporal.Instant.fromEpochMilliseconds(call.startMs)
    .toZonedDateTimeISO("Asia/Kolkata").toPlainDateTime();
  equal(String(t.data.start_time).slice(0, 19), naive.toString().slice(0, 19));
  const lostRecordings = host.calls.filter((c) => !c.recording).length /
    host.calls.length;
  const lostTranscripts = host.calls.filter((c) => !c.transcript).length /
    host.calls.length;
  ok(lostRecordings > 0.08 && lostRecordings < 0.13, String(lostRecordings));
  ok(lostTranscripts > 0.08 && lostTranscripts < 0.12, String(lostTranscripts));
});

Deno.test("generateHost() repeats the hour when daylight saving ends", () => {
  const host = generateHost({
    seed: 3,
    calls: 240,
    botZone: "America/New_York",
    firstCallMs: Date.UTC(2026, 10, 1, 4),
    meanGapSeconds: 60,
  });
  const oneAm = host.transcripts.filter((t) =>
    String(t.data.start_time).startsWith("2026-11-01T01:")
  );
  const utcHours = new Set(
    host.calls.filter((c) => oneAm.some((t) => t.name === c.transcript)).map((
      c,
    ) => new Date(c.startMs).getUTCHours()),
  );
  deepStrictEqual(
    [...utcHours].sort(),
    [5, 6],
    "01:xx local happened at 05:xx and 06:xx UTC",
  );
});
