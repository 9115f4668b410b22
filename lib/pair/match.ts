/**
 * Pure grouping layer: pairs each call's transcript ("conversation") with its
 * recording, from keys already read out of the files (see `match_keys.ts`);
 * leads are attached by `match_leads.ts`. Both are re-exported here.
 *
 * @module
 */

import { assign, type Edge } from "./assign.ts";
import {
  canonical,
  type ConversationKey,
  conversationSeconds,
  digitsConflict,
  digitsOf,
  type MatchOptions,
  type RecordingKey,
  type RecordingMatch,
} from "./keys.ts";

export type {
  ConversationKey,
  LeadKey,
  LeadMatch,
  MatchOptions,
  RecordingKey,
  RecordingMatch,
} from "./keys.ts";
export { phonesConflict } from "./keys.ts";
export { matchLeads } from "./leads.ts";

/**
 * Largest duration difference, in seconds, between one call's recording and
 * its transcript; a pair further apart than this is never made.
 */
export const DURATION_TOLERANCE_SECONDS = 30;

/**
 * Stands in for the duration term of a pairing's cost when either duration is
 * unknown, so that a pair with matching durations beats an unverifiable one.
 */
const UNKNOWN_DURATION_PENALTY_SECONDS = 5;

/**
 * Pairs costing less than this (start difference plus duration difference,
 * seconds) are settled first, among themselves; what remains is paired
 * afterwards within the whole window. One call's recording and transcript
 * differ by a few seconds, so a true pair lands in the first round, and a
 * leftover transcript can never pull a recording away from its own call.
 */
export const CONFIDENT_COST_SECONDS = 30;

/**
 * Pairs each conversation with at most one recording and each recording with
 * at most one conversation, choosing the pairing with the lowest total cost.
 *
 * A pair is a candidate only when the starts are at most `windowSeconds` apart,
 * the caller numbers do not conflict ({@linkcode phonesConflict}) and the
 * durations differ by at most {@linkcode DURATION_TOLERANCE_SECONDS}. For a
 * recording still being written only a recording already longer than the
 * conversation counts as a difference. The cost is the start difference plus
 * the duration difference (or a fixed 5 s when a duration is unknown), both in
 * seconds. Pairs below {@linkcode CONFIDENT_COST_SECONDS} are chosen first,
 * minimising their total cost ({@linkcode assign}); the files left over are
 * then paired the same way among themselves, where any candidate is worth
 * taking when it has no competitor.
 * Inputs are sorted by start time and name first, so the result does not
 * depend on their order.
 *
 * @example Two overlapping calls
 * ```ts
 * import { matchRecordings } from "./match.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const t = Date.UTC(2025, 0, 1, 10);
 * const matches = matchRecordings([
 *   { name: "a.json", startMs: t, durationSeconds: 300, leadGenerated: false },
 *   { name: "b.json", startMs: t + 3000, durationSeconds: 60, leadGenerated: false },
 * ], [
 *   { name: "x.ogg", startMs: t + 1000, durationSeconds: 61, complete: true },
 *   { name: "y.ogg", startMs: t + 1000, durationSeconds: 299, complete: true },
 * ], { windowSeconds: 300 });
 * deepStrictEqual(matches.map((m) => [m.conversation, m.recording]), [
 *   ["a.json", "y.ogg"],
 *   ["b.json", "x.ogg"],
 * ]);
 * ```
 *
 * @returns The pairs, ordered by conversation start then name.
 */
export function matchRecordings(
  conversations: readonly ConversationKey[],
  recordings: readonly RecordingKey[],
  opts: MatchOptions,
): RecordingMatch[] {
  const convs = canonical(conversations, (c) => c.startMs);
  const recs = canonical(recordings, (r) => r.startMs);
  const convSeconds = convs.map(conversationSeconds);
  const convPhones = convs.map((c) => digitsOf(c.phone));
  const recPhones = recs.map((r) => digitsOf(r.phone));
  /** Cost of pairing convs[i] with recs[j], or undefined when ruled out. */
  const pairCost = (i: number, j: number): number | undefined => {
    if (digitsConflict(convPhones[i], recPhones[j])) return undefined;
    const term = durationTerm(convSeconds[i], recs[j]);
    if (term > DURATION_TOLERANCE_SECONDS) return undefined;
    return Math.abs(recs[j].startMs - convs[i].startMs) / 1000 + term;
  };
  const sweep = candidateSweep(
    convs,
    convSeconds,
    convPhones,
    recs,
    recPhones,
  );
  // Confident pairs first, so that a far-fetched pair for a leftover never
  // displaces a close one; then leftovers pair up anywhere in the window.
  // `assign` ignores edges costing twice its unmatched cost or more, so the
  // first round needs only pairs costing under CONFIDENT_COST_SECONDS, which
  // start less than that apart: a narrow sweep finds exactly those.
  const windowMs = opts.windowSeconds * 1000;
  const confidentUnmatched = CONFIDENT_COST_SECONDS / 2;
  const paired = assign(
    convs.length,
    recs.length,
    sweep(
      Math.min(windowMs, CONFIDENT_COST_SECONDS * 1000),
      2 * confidentUnmatched,
    ),
    confidentUnmatched,
  );
  const taken = new Uint8Array(recs.length);
  for (const j of paired) if (j >= 0) taken[j] = 1;
  const rest = sweep(
    windowMs,
    Infinity,
    (i) => paired[i] < 0,
    (j) => !taken[j],
  );
  const worstCost = opts.windowSeconds +
    Math.max(DURATION_TOLERANCE_SECONDS, UNKNOWN_DURATION_PENALTY_SECONDS);
  assign(convs.length, recs.length, rest, worstCost / 2 + 1).forEach((j, i) => {
    if (j >= 0) paired[i] = j;
  });
  const matches: RecordingMatch[] = [];
  paired.forEach((j, i) => {
    if (j < 0) return;
    const c = convs[i];
    const r = recs[j];
    const match: RecordingMatch = {
      conversation: c.name,
      recording: r.name,
      startDiffSeconds: (r.startMs - c.startMs) / 1000,
      cost: pairCost(i, j)!,
    };
    if (convSeconds[i] !== undefined && r.durationSeconds !== undefined) {
      match.durationDiffSeconds = r.durationSeconds - convSeconds[i];
    }
    matches.push(match);
  });
  return matches;
}

/**
 * Prepares the sweep that lists allowed pairs: a conversation and a
 * recording whose starts are at most `windowMs` apart (inclusive), whose
 * numbers do not conflict and whose durations are within tolerance, costing
 * less than `maxCost` (start difference plus duration term, seconds). Both
 * lists are sorted by start, so the window's lower end only moves forward.
 * Numbers are compared by their last seven digits first ({@link phoneKey});
 * only equal keys need the full {@link digitsConflict} test.
 */
function candidateSweep(
  convs: readonly ConversationKey[],
  convSeconds: readonly (number | undefined)[],
  convPhones: readonly (string | undefined)[],
  recs: readonly RecordingKey[],
  recPhones: readonly (string | undefined)[],
): (
  windowMs: number,
  maxCost: number,
  convOk?: (i: number) => boolean,
  recOk?: (j: number) => boolean,
) => Edge[] {
  const n = recs.length;
  const recStart = Float64Array.from(recs, (r) => r.startMs);
  const recKey = Float64Array.from(recPhones, phoneKey);
  // NaN: duration unknown (the fixed penalty applies).
  const recSeconds = Float64Array.from(recs, (r) => r.durationSeconds ?? NaN);
  const recComplete = Uint8Array.from(recs, (r) => r.complete ? 1 : 0);
  const convKey = Float64Array.from(convPhones, phoneKey);
  return (windowMs, maxCost, convOk = () => true, recOk = () => true) => {
    const edges: Edge[] = [];
    let lo = 0;
    for (let i = 0; i < convs.length; i++) {
      const t = convs[i].startMs;
      const from = t - windowMs;
      const to = t + windowMs;
      while (lo < n && recStart[lo] < from) lo++;
      if (!convOk(i)) continue;
      const cKey = convKey[i];
      const cSeconds = convSeconds[i];
      for (let j = lo; j < n && recStart[j] <= to; j++) {
        const rKey = recKey[j];
        if (cKey >= 0 && rKey >= 0) {
          if (cKey !== rKey) continue;
          if (digitsConflict(convPhones[i], recPhones[j])) continue;
        }
        let term: number;
        const rSeconds = recSeconds[j];
        if (cSeconds === undefined || rSeconds !== rSeconds) {
          term = UNKNOWN_DURATION_PENALTY_SECONDS;
        } else {
          const diff = rSeconds - cSeconds;
          term = recComplete[j] ? Math.abs(diff) : Math.max(0, diff);
        }
        if (term > DURATION_TOLERANCE_SECONDS) continue;
        const cost = Math.abs(recStart[j] - t) / 1000 + term;
        if (cost < maxCost && recOk(j)) edges.push({ left: i, right: j, cost });
      }
    }
    return edges;
  };
}

/**
 * A number's last seven digits (shorter numbers: the digits and their
 * count), or -1 when unknown. Two numbers that do not conflict have equal
 * keys, so unequal keys mean a conflict.
 */
function phoneKey(digits: string | undefined): number {
  if (digits === undefined) return -1;
  return digits.length >= 7
    ? Number(digits.slice(-7))
    : digits.length * 1e7 + Number(digits);
}

/** Duration part of a pairing's cost; above the tolerance the pair is impossible. */
function durationTerm(
  convSeconds: number | undefined,
  r: RecordingKey,
): number {
  if (convSeconds === undefined || r.durationSeconds === undefined) {
    return UNKNOWN_DURATION_PENALTY_SECONDS;
  }
  const diff = r.durationSeconds - convSeconds;
  return r.complete ? Math.abs(diff) : Math.max(0, diff);
}
