/**
 * What pairing knows about each file (the keys, read by `source/`), and the
 * small pure helpers every pairing shares: caller-number comparison, call
 * ends, canonical order, binary search.
 *
 * @module
 */
import type { ConversationKey, RecordingKey } from "../source/keys.ts";
import type { TimeReading } from "../source/readings.ts";

export type { ConversationKey, LeadKey, RecordingKey } from "../source/keys.ts";

/**
 * Tells whether two caller numbers rule out being the same call: `true` only
 * when both are known and differ. Non-digits are ignored. Numbers of
 * different lengths agree when the longer ends with the shorter and the
 * shorter has at least 7 digits, so a number with and without its country
 * code agree.
 *
 * @example
 * ```ts
 * import { phonesConflict } from "./keys.ts";
 *
 * phonesConflict("+91 86550 66243", "8655066243"); // false
 * phonesConflict(undefined, "8655066243"); // false
 * phonesConflict("8655066243", "8655066244"); // true
 * ```
 */
export function phonesConflict(a?: string, b?: string): boolean {
  return compareDigits(digitsOf(a), digitsOf(b)) < 0;
}

/**
 * How two numbers, already reduced to digits ({@linkcode digitsOf}), relate:
 * −1 they conflict, 1 they agree, 0 at least one is unknown.
 */
export function compareDigits(a?: string, b?: string): -1 | 0 | 1 {
  if (a === undefined || b === undefined) return 0;
  if (a === b) return 1;
  const [shorter, longer] = a.length < b.length ? [a, b] : [b, a];
  const conflict = shorter.length === longer.length || shorter.length < 7 ||
    !longer.endsWith(shorter);
  return conflict ? -1 : 1;
}

/** Digits of a phone number, or `undefined` when there are none. */
export function digitsOf(phone?: string): string | undefined {
  const digits = phone?.replace(/\D/g, "");
  return digits ? digits : undefined;
}

/** The readings of a conversation: its own, or the one its fields give. */
export function readingsOf(c: ConversationKey): readonly TimeReading[] {
  return c.readings?.length
    ? c.readings
    : [{ startMs: c.startMs, endMs: conversationEndMs(c), savedMs: c.savedMs }];
}

/** End of a conversation in unix ms, if known. */
export function conversationEndMs(c: ConversationKey): number | undefined {
  if (c.endMs !== undefined) return c.endMs;
  return c.durationSeconds === undefined
    ? undefined
    : c.startMs + c.durationSeconds * 1000;
}

/** End of a finished recording by its name and container, unix ms. */
export function recordingEndMs(r: RecordingKey): number | undefined {
  return r.complete && r.durationSeconds !== undefined
    ? r.startMs + r.durationSeconds * 1000
    : undefined;
}

/** Sorts a copy by `key` then name, so results do not depend on input order. */
export function canonical<T extends { name: string }>(
  items: readonly T[],
  key: (item: T) => number,
): T[] {
  const keys = Float64Array.from(items, key);
  return Array.from(items.keys())
    .sort((a, b) =>
      keys[a] - keys[b] ||
      (items[a].name < items[b].name ? -1 : +(items[a].name > items[b].name))
    )
    .map((i) => items[i]);
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
