/**
 * Which readings of a transcript's naive times pairing may use, and which
 * one was taken, when the zone repeats an hour (daylight saving ends). The
 * evidence, strongest first: the recording it pairs with (its name's epoch
 * is UTC), the transcript's own modification time (UTC) where this host's
 * file times can be trusted, else the stated rule (the earlier reading).
 *
 * @module
 */
import { type ConversationKey, readingsOf } from "./keys.ts";
import {
  readingsFittingFileTime,
  type TimeReading,
} from "../source/readings.ts";

/**
 * How an ambiguous local time was settled: by the recording it pairs with,
 * by the transcript's own file time, or by the stated rule (the earlier).
 */
export type ReadingBasis = "recording" | "file-time" | "rule";

/** How a transcript's ambiguous local times were read. */
export interface TimeChoice {
  conversation: string;
  /** The reading taken. */
  reading: TimeReading;
  /** How many consistent readings there were (2 in a repeated hour). */
  of: number;
  basis: ReadingBasis;
}

/** File times are trusted when this share of unambiguous transcripts fit theirs. */
const TRUSTED_SHARE = 0.9;

/**
 * Whether this host's transcript file times tell when each was saved: most
 * transcripts with one reading were written within two minutes of the time
 * in their name (copied or restored files were not).
 */
export function fileTimesTrusted(convs: readonly ConversationKey[]): boolean {
  let known = 0;
  let fit = 0;
  for (const c of convs) {
    const readings = readingsOf(c);
    if (readings.length > 1 || c.mtimeMs === undefined) continue;
    if (readings[0].savedMs === undefined) continue;
    known++;
    if (readingsFittingFileTime(readings, c.mtimeMs).length === 1) fit++;
  }
  return known > 0 && fit >= TRUSTED_SHARE * known;
}

/**
 * The readings pairing may try for `c`: all of them, or only the one its
 * file time fits when file times are trusted.
 */
export function offeredReadings(
  c: ConversationKey,
  trusted: boolean,
): { readings: readonly TimeReading[]; byFileTime: boolean } {
  const all = readingsOf(c);
  if (all.length < 2 || !trusted || c.mtimeMs === undefined) {
    return { readings: all, byFileTime: false };
  }
  const fits = readingsFittingFileTime(all, c.mtimeMs);
  return fits.length === 1
    ? { readings: [all[fits[0]]], byFileTime: true }
    : { readings: all, byFileTime: false };
}

/**
 * The choice for a transcript with several readings: the paired reading
 * (basis "recording"), else the file time's, else the first (the rule).
 */
export function timeChoice(
  c: ConversationKey,
  offered: { readings: readonly TimeReading[]; byFileTime: boolean },
  paired: TimeReading | undefined,
): TimeChoice | undefined {
  const of = readingsOf(c).length;
  if (of < 2) return undefined;
  const basis: ReadingBasis = paired
    ? "recording"
    : offered.byFileTime
    ? "file-time"
    : "rule";
  return {
    conversation: c.name,
    reading: paired ?? offered.readings[0],
    of,
    basis,
  };
}
