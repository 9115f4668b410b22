/**
 * The readings of a transcript's naive times: usually one, two for a call
 * inside the hour a daylight-saving fall-back repeats. Which one is taken is
 * pairing's to decide (`pair/time_choice.ts`). Pure.
 *
 * @module
 */

/** One consistent way to read a transcript's naive times, as instants. */
export interface TimeReading {
  startMs: number;
  endMs?: number;
  /** When the transcript was saved (the time in its name), if known. */
  savedMs?: number;
}

/** What a transcript says about time, each naive time already read in the zone. */
export interface NaiveTimes {
  /** Readings of `start_time` (or the session id's time). */
  starts: readonly number[];
  /** Readings of `end_time`, when present. */
  ends?: readonly number[];
  /** Readings of the save time in the file name, when present. */
  saves?: readonly number[];
  /** `duration_seconds` from the file, when present. */
  durationSeconds?: number;
}

/** Slack, in ms, for sub-second rounding between a transcript's own times. */
const SLACK_MS = 2000;
/** A transcript is saved within this long of its call's end. */
const MAX_SAVE_DELAY_MS = 30 * 60_000;

/**
 * The consistent readings, the stated rule's first: start ≤ end ≤ saved,
 * saved within 30 min of the end, and end − start equal to
 * `duration_seconds` (± 2 s) when the file gives one. The rule, when nothing
 * else decides, is the earlier reading (the first pass through a repeated
 * hour, as Temporal's "compatible" disambiguation reads it).
 *
 * @example A call across the fall-back: start in daylight time, end after
 * ```ts
 * import { localReadings } from "../core/time.ts";
 * import { transcriptReadings } from "./readings.ts";
 *
 * const zone = "America/New_York";
 * transcriptReadings({
 *   starts: localReadings("2026-11-01T01:59:30", zone),
 *   ends: localReadings("2026-11-01T01:00:30", zone),
 *   durationSeconds: 60,
 * }).length; // 1
 * ```
 */
export function transcriptReadings(t: NaiveTimes): TimeReading[] {
  const out: TimeReading[] = [];
  const ends = t.ends?.length ? t.ends : [undefined];
  const saves = t.saves?.length ? t.saves : [undefined];
  for (const startMs of t.starts) {
    for (const endMs of ends) {
      if (endMs !== undefined && !fitsStart(startMs, endMs, t)) continue;
      for (const savedMs of saves) {
        const last = endMs ?? startMs;
        if (
          savedMs !== undefined &&
          (savedMs < last - SLACK_MS || savedMs - last > MAX_SAVE_DELAY_MS)
        ) continue;
        out.push({ startMs, endMs, savedMs });
      }
    }
  }
  // Nothing consistent (a clock set by hand?): the rule's reading.
  return out.length
    ? out
    : [{ startMs: t.starts[0], endMs: t.ends?.[0], savedMs: t.saves?.[0] }];
}

function fitsStart(startMs: number, endMs: number, t: NaiveTimes): boolean {
  if (endMs < startMs - SLACK_MS) return false;
  return t.durationSeconds === undefined ||
    Math.abs(endMs - startMs - t.durationSeconds * 1000) <= SLACK_MS;
}

/**
 * Of several readings, the ones a file modification time (UTC) agrees with:
 * written within `toleranceMs` after the reading's save time (or end). Empty
 * when the time fits none, as after a copy.
 */
export function readingsFittingFileTime(
  readings: readonly TimeReading[],
  mtimeMs: number,
  toleranceMs = 120_000,
): number[] {
  const fits: number[] = [];
  readings.forEach((r, k) => {
    const written = r.savedMs ?? r.endMs;
    if (written === undefined) return;
    const lag = mtimeMs - written;
    if (lag >= -SLACK_MS && lag <= toleranceMs) fits.push(k);
  });
  return fits;
}
