/**
 * Telling from the files whether the bot writes its naive times in another
 * zone than the one callsync reads them in: its recordings (named in UTC)
 * then fit its transcripts only when shifted by a whole number of quarter
 * hours. Pure.
 *
 * @module
 */
import {
  canonical,
  type ConversationKey,
  lowerBound,
  recordingEndMs,
  type RecordingKey,
} from "./keys.ts";

/** A zone mismatch, as the files show it. */
export interface ZoneMismatch {
  /**
   * Recording time − transcript time as read, seconds (a multiple of 900):
   * the bot's clock reads `−shiftSeconds` ahead of the configured zone.
   */
  shiftSeconds: number;
  /** What showed it: recordings that fit transcripts, or the transcripts' own file times. */
  evidence: "recordings" | "file-times";
  /** Sampled transcripts that fit at the shift, and without it. */
  fitShifted: number;
  fitUnshifted: number;
  sampled: number;
  /** IANA zones that fit the files, best guesses first (at most 5). */
  zones: string[];
}

/** Transcripts sampled (the most recent). */
const SAMPLE = 300;
const QUARTER_HOUR_MS = 900_000;
const MAX_SHIFT_MS = 14 * 3_600_000;
/** Ends agree within this, ms (whole-second epochs, skew). */
const END_TOLERANCE_MS = 3000;
/** Starts of fitting pairs cluster within a band this wide, ms. */
const START_BIN_MS = 10_000;
/** A shift must fit at least this many transcripts… */
const MIN_FIT = 2;
/** …and this many times as many as no shift (plus two). */
const FIT_RATIO = 3;

/**
 * Zones people run bots in, preferred when several zones fit; the rest of
 * the runtime's zone list follows alphabetically.
 */
const WELL_KNOWN = [
  "UTC",
  "Asia/Kolkata",
  "America/New_York",
  "America/Chicago",
  "America/Denver",
  "America/Los_Angeles",
  "America/Sao_Paulo",
  "America/Mexico_City",
  "Europe/London",
  "Europe/Berlin",
  "Europe/Paris",
  "Europe/Moscow",
  "Africa/Lagos",
  "Africa/Johannesburg",
  "Africa/Nairobi",
  "Asia/Dubai",
  "Asia/Karachi",
  "Asia/Kathmandu",
  "Asia/Dhaka",
  "Asia/Jakarta",
  "Asia/Singapore",
  "Asia/Shanghai",
  "Asia/Tokyo",
  "Australia/Sydney",
  "Pacific/Auckland",
];

/**
 * Finds a systematic whole- or quarter-hour shift between transcripts (read
 * in `zone`) and recordings. For each shift from −14 h to +14 h in quarter
 * hours, counts the sampled transcripts that a recording fits: ends within
 * 3 s and starts in the shift's most crowded 10 s band (the recorder's
 * offset is steady, a stranger's start is not). A shift other than zero that
 * fits at least 2 transcripts and three times as many (plus two) as no shift
 * is a mismatch. Without recordings, the transcripts' own file times (UTC)
 * against the save time in their names (naive) tell the same.
 *
 * @returns The mismatch, or `undefined` when the files agree with `zone` or
 * say nothing either way.
 */
export function detectZoneMismatch(
  conversations: readonly ConversationKey[],
  recordings: readonly RecordingKey[],
  zone: string,
): ZoneMismatch | undefined {
  const sample = canonical(
    conversations.filter((c) => c.endMs !== undefined),
    (c) => c.startMs,
  ).slice(-SAMPLE);
  if (sample.length === 0) return undefined;
  const found = byRecordings(sample, recordings) ??
    byFileTimes(sample);
  if (!found) return undefined;
  return {
    ...found,
    sampled: sample.length,
    zones: fittingZones(zone, found.shiftSeconds, sample.map((c) => c.startMs)),
  };
}

type Found = Omit<ZoneMismatch, "sampled" | "zones">;

function byRecordings(
  sample: readonly ConversationKey[],
  recordings: readonly RecordingKey[],
): Found | undefined {
  const ended = recordings
    .map((r) => ({ end: recordingEndMs(r), start: r.startMs }))
    .filter((r): r is { end: number; start: number } => r.end !== undefined)
    .sort((a, b) => a.end - b.end);
  if (ended.length === 0) return undefined;
  const ends = Float64Array.from(ended, (r) => r.end);
  // One array for every shift tried: this runs on every plan of `watch`.
  const diffs: number[] = [];
  const fitAt = (shiftMs: number): number => {
    diffs.length = 0;
    for (const c of sample) {
      const end = c.endMs! + shiftMs;
      for (
        let n = lowerBound(ends, end - END_TOLERANCE_MS);
        n < ends.length && ends[n] <= end + END_TOLERANCE_MS;
        n++
      ) diffs.push(ended[n].start - (c.startMs + shiftMs));
    }
    return crowdedBand(diffs, START_BIN_MS);
  };
  return bestShift(fitAt, "recordings");
}

/** A file written at its name's moment: mtime (UTC) − save time as read. */
function byFileTimes(sample: readonly ConversationKey[]): Found | undefined {
  const lags = sample
    .filter((c) => c.mtimeMs !== undefined && c.savedMs !== undefined)
    .map((c) => c.mtimeMs! - c.savedMs!);
  if (lags.length === 0) return undefined;
  const fitAt = (shiftMs: number) =>
    lags.filter((lag) => Math.abs(lag - shiftMs) <= 120_000).length;
  return bestShift(fitAt, "file-times");
}

function bestShift(
  fitAt: (shiftMs: number) => number,
  evidence: Found["evidence"],
): Found | undefined {
  const unshifted = fitAt(0);
  let best = 0;
  let bestFit = unshifted;
  for (let s = -MAX_SHIFT_MS; s <= MAX_SHIFT_MS; s += QUARTER_HOUR_MS) {
    if (s === 0) continue;
    const fit = fitAt(s);
    if (fit > bestFit) {
      best = s;
      bestFit = fit;
    }
  }
  if (best === 0 || bestFit < MIN_FIT || bestFit < FIT_RATIO * unshifted + 2) {
    return undefined;
  }
  return {
    shiftSeconds: best / 1000,
    evidence,
    fitShifted: bestFit,
    fitUnshifted: unshifted,
  };
}

/** The most values within any band of `width`. */
function crowdedBand(values: number[], width: number): number {
  values.sort((a, b) => a - b);
  let best = 0;
  for (let lo = 0, hi = 0; hi < values.length; hi++) {
    while (values[hi] - values[lo] > width) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/**
 * Zones whose UTC offset, at every one of `times`, is the configured zone's
 * minus the shift: the zone the bot's naive times were written in.
 */
export function fittingZones(
  configured: string,
  shiftSeconds: number,
  times: readonly number[],
): string[] {
  // The latest times: a sample that spans a clock change fits the newest side.
  const probes = [times[times.length >> 1], times[times.length - 1]];
  const offsetAt = (zone: string, ms: number) =>
    Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(zone)
      .offsetNanoseconds / 1e9;
  const fits = (zone: string) => {
    try {
      return probes.every((ms) =>
        offsetAt(zone, ms) === offsetAt(configured, ms) - shiftSeconds
      );
    } catch {
      return false;
    }
  };
  const others = Intl.supportedValuesOf("timeZone")
    .filter((z) => !WELL_KNOWN.includes(z) && !LEGACY_NAMES.has(z));
  return [...WELL_KNOWN, ...others].filter(fits).slice(0, 5);
}

/** Old names some runtimes still list beside the current ones. */
const LEGACY_NAMES = new Set([
  "Asia/Calcutta",
  "Asia/Katmandu",
  "Asia/Saigon",
  "Asia/Rangoon",
  "Europe/Kiev",
]);

/**
 * The line `run`, `plan`, `status` and the dashboard show for a mismatch:
 * what the files show, which TIMEZONE fits, and that nothing is sent.
 *
 * @example
 * ```ts
 * zoneMismatchLine({ shiftSeconds: -19800, evidence: "recordings", fitShifted: 30, fitUnshifted: 0, sampled: 30, zones: ["Asia/Kolkata"] }, "UTC");
 * // "TIMEZONE=UTC does not fit the files: … set TIMEZONE=Asia/Kolkata …"
 * ```
 */
export function zoneMismatchLine(m: ZoneMismatch, zone: string): string {
  const ahead = m.shiftSeconds < 0;
  const span = duration(Math.abs(m.shiftSeconds));
  const shown = m.evidence === "recordings"
    ? `read in ${zone}, the transcripts' times are ${span} ${
      ahead ? "later" : "earlier"
    } than their recordings' (${m.fitShifted} of ${m.sampled} recent calls fit once shifted, ${m.fitUnshifted} as read)`
    : `read in ${zone}, the times in the transcripts' names are ${span} ${
      ahead ? "later" : "earlier"
    } than when the files were written (${m.fitShifted} of ${m.sampled})`;
  const fix = m.zones.length
    ? `set TIMEZONE=${m.zones[0]}${
      m.zones.length > 1 ? ` (or ${m.zones.slice(1).join(", ")})` : ""
    }`
    : "set TIMEZONE to the zone the bot runs in";
  return `TIMEZONE=${zone} does not fit the files: ${shown}. The bot writes its times in another zone: ${fix}. Nothing is sent until it fits (calls would come apart and every time sent would be off).`;
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return [h ? `${h} h` : "", m ? `${m} min` : ""].filter(Boolean).join(" ");
}
