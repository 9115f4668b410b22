/**
 * What grouping knows about each file (the keys), and the small pure helpers
 * both pairings share: caller-number comparison, canonical order, and the
 * sorted-window sweep.
 *
 * @module
 */

export type { ConversationKey, LeadKey, RecordingKey } from "../source/keys.ts";
import type { ConversationKey } from "../source/keys.ts";

/** A conversation paired with its recording. */
export interface RecordingMatch {
  /** Conversation name. */
  conversation: string;
  /** Recording name. */
  recording: string;
  /** Recording start minus conversation start, seconds. */
  startDiffSeconds: number;
  /** Recording duration minus conversation duration, seconds, when both are known. */
  durationDiffSeconds?: number;
  /** The pairing's cost (lower is better). */
  cost: number;
}

/** A lead attached to a conversation. */
export interface LeadMatch {
  /** Conversation name. */
  conversation: string;
  /** Lead name. */
  lead: string;
  /** Which rule attached it. */
  reason: "session-timestamp" | "session-id" | "nearest-end";
  /** For "nearest-end": lead time minus conversation end, seconds. */
  endDiffSeconds?: number;
}

/** Options for {@linkcode matchRecordings} and {@linkcode matchLeads}. */
export interface MatchOptions {
  /** Largest start-time (recordings) or end-time (legacy leads) difference, seconds. */
  windowSeconds: number;
}

/**
 * Tells whether two caller numbers rule out being the same call: `true` only
 * when both are known and differ. Non-digits are ignored. Numbers of different
 * lengths agree when the longer ends with the shorter and the shorter has at
 * least 7 digits, so a number with and without its country code agree.
 *
 * @example
 * ```ts
 * import { phonesConflict } from "./match.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(!phonesConflict("+91 86550 66243", "8655066243"));
 * ok(!phonesConflict(undefined, "8655066243"));
 * ok(phonesConflict("8655066243", "8655066244"));
 * ```
 */
export function phonesConflict(a?: string, b?: string): boolean {
  return digitsConflict(digitsOf(a), digitsOf(b));
}

export function digitsOf(phone?: string): string | undefined {
  const digits = phone?.replace(/\D/g, "");
  return digits ? digits : undefined;
}

export function digitsConflict(a?: string, b?: string): boolean {
  if (a === undefined || b === undefined || a === b) return false;
  const [shorter, longer] = a.length < b.length ? [a, b] : [b, a];
  return shorter.length === longer.length || shorter.length < 7 ||
    !longer.endsWith(shorter);
}

/** Duration of a conversation in seconds, if known. */
export function conversationSeconds(c: ConversationKey): number | undefined {
  if (c.durationSeconds !== undefined) return c.durationSeconds;
  return c.endMs === undefined ? undefined : (c.endMs - c.startMs) / 1000;
}

/** End of a conversation in unix ms, if known. */
export function conversationEndMs(c: ConversationKey): number | undefined {
  if (c.endMs !== undefined) return c.endMs;
  return c.durationSeconds === undefined
    ? undefined
    : c.startMs + c.durationSeconds * 1000;
}

/** Sorts a copy by `key` then name, so results do not depend on input order. */
export function canonical<T extends { name: string }>(
  items: readonly T[],
  key: (item: T) => number,
): T[] {
  return items.map((item) => ({ item, k: key(item) }))
    .sort((a, b) =>
      a.k - b.k ||
      (a.item.name < b.item.name ? -1 : +(a.item.name > b.item.name))
    )
    .map(({ item }) => item);
}

/** Index of the first element of ascending `sorted` that is `>= value`. */
export function lowerBound(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Calls `visit(i, j)` for every conversation `i` and sorted item `j` whose
 * time lies within `windowMs` of the conversation's time (inclusive).
 */
export function forEachInWindow(
  conversationTimes: readonly (number | undefined)[],
  sortedTimes: Float64Array,
  windowMs: number,
  visit: (i: number, j: number) => void,
): void {
  conversationTimes.forEach((t, i) => {
    if (t === undefined) return;
    for (
      let j = lowerBound(sortedTimes, t - windowMs);
      j < sortedTimes.length && sortedTimes[j] <= t + windowMs;
      j++
    ) visit(i, j);
  });
}
